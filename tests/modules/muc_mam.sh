#!/bin/sh
# Runs tests/modules/test_muc_mam.py (rooms' archives: XEP-0313 on the room JID, history on
# entering from the archive, moderation tombstones, destruction) against a fresh mynad with
# the muc and mam modules enabled.
MODTEST_MODULES="muc mam"
MODTEST_MYNA_CONF='muc = { join_burst = 30; join_per_minute = 120; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc_mam.py"
