#!/bin/sh
# Runs tests/modules/test_sm.py (XEP-0198, in the core) against a fresh mynad with offline
# storage enabled, where unacknowledged messages end up when a stream breaks.
MODTEST_MODULES=offline exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_sm.py"
