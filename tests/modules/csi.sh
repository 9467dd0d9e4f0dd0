#!/bin/sh
# Runs tests/modules/test_csi.py (XEP-0352, in the core) against a fresh mynad with the
# roster module (presence between contacts).
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_csi.py"
