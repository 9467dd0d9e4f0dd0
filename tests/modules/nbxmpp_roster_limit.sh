#!/bin/sh
# Runs tests/modules/test_nbxmpp_roster.py scenario "limit" against a mynad whose roster
# module has max_items = 3 (the scenario's LIMIT).
MODTEST_MYNA_CONF='roster = { max_items = 3; };
'
export MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_roster.py" limit
