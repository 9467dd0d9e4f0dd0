#!/bin/sh
# Runs tests/modules/test_mam.py against a fresh mynad with the message archive, offline
# storage and carbons enabled (and roster, blocking from modharness.py).
MODTEST_MODULES="mam offline carbons"
export MODTEST_MODULES
MYNACTL="$PWD/mynactl"
export MYNACTL
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_mam.py"
