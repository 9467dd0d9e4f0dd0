#!/bin/sh
# Runs tests/modules/test_nbxmpp_roster.py (scenario "flows": roster, subscriptions, presence,
# blocking with python3-nbxmpp) against a fresh mynad with the feature modules.
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_roster.py" flows
