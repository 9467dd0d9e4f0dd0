#!/bin/sh
# Runs tests/modules/test_muc_big.py: 201 accounts, the muc module with max_occupants = 200.
MODTEST_MODULES=muc
MODTEST_USERS=201
MODTEST_MYNA_CONF='muc = { max_occupants = 200; };
'
export MODTEST_MODULES MODTEST_USERS MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc_big.py"
