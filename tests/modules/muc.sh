#!/bin/sh
# Runs tests/modules/test_muc.py against a fresh mynad with the muc module enabled and a
# TLS-less c2s listener (for the shared-bytes write path).
MODTEST_MODULES=muc
E2E_PLAIN_C2S=1
MODTEST_MYNA_CONF='muc = { join_burst = 8; join_per_minute = 30; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF E2E_PLAIN_C2S
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc.py"
