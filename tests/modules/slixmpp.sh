#!/bin/sh
# Runs tests/modules/test_slixmpp_roster.py against a fresh mynad with the feature modules.
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_slixmpp_roster.py"
