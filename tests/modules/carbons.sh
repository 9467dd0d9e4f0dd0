#!/bin/sh
# Runs tests/modules/test_carbons.py against a fresh mynad with the carbons module enabled.
MODTEST_MODULES=carbons exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_carbons.py"
