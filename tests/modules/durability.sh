#!/bin/sh
# Runs tests/modules/test_durability.py (kill -9 right after acknowledgements, restart on the
# same data) against a fresh mynad with offline storage and private XML storage enabled.
MODTEST_MODULES="offline private" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_durability.py"
