#!/bin/sh
# Runs the libstrophe program tests/modules/strophe_roster (built by make check) against a
# fresh mynad with the feature modules, through modharness.py.
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "$PWD/tests/modules/strophe_roster"
