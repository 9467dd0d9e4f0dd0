#!/bin/sh
# Runs the libstrophe program tests/modules/strophe_muc (built by make check) against a
# fresh mynad with the muc module, through modharness.py.
MODTEST_MODULES=muc
export MODTEST_MODULES
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "$PWD/tests/modules/strophe_muc"
