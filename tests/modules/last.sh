#!/bin/sh
# Runs tests/modules/test_last.py (XEP-0012 on raw XML) against a fresh mynad with the last
# module (and roster, blocking) enabled.
MODTEST_MODULES=last exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_last.py"
