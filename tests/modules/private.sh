#!/bin/sh
# Runs tests/modules/test_private.py against a fresh mynad with the private module enabled.
MODTEST_MODULES=private exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_private.py"
