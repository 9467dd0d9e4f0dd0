#!/bin/sh
# Runs tests/modules/test_muc_admin.py with the mam module loaded too: moderation then
# replaces archived messages (history.c's archive backend), with the same expectations.
MODTEST_MODULES="muc mam"
MODTEST_MYNA_CONF='muc = { join_burst = 8; join_per_minute = 30; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc_admin.py"
