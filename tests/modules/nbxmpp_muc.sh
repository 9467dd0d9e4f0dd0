#!/bin/sh
# Runs tests/modules/test_nbxmpp_muc.py against a fresh mynad with the muc module enabled.
MODTEST_MODULES=muc
MODTEST_MYNA_CONF='muc = { join_burst = 8; join_per_minute = 30; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_muc.py"
