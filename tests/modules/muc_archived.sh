#!/bin/sh
# Runs tests/modules/test_muc.py with the mam module loaded too: rooms log by default, so
# stanza ids and history on entering come from the rooms' archives (history.c's other
# backend), with the same expectations.
MODTEST_MODULES="muc mam"
E2E_PLAIN_C2S=1
MODTEST_MYNA_CONF='muc = { join_burst = 8; join_per_minute = 30; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF E2E_PLAIN_C2S
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc.py"
