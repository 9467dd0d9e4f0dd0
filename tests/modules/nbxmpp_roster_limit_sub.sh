#!/bin/sh
# Runs tests/modules/test_nbxmpp_roster.py scenario "limit_subscriptions" against a mynad
# whose roster module has max_items = 3: outbound subscribe and approving a request must not
# grow a full roster.
MODTEST_MYNA_CONF='roster = { max_items = 3; };
'
export MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_roster.py" limit_subscriptions
