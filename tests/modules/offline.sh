#!/bin/sh
# Runs tests/modules/test_offline.py against a fresh mynad with the offline module enabled
# and a small queue (max_messages = 5).
MODTEST_MODULES=offline
MODTEST_MYNA_CONF='offline = { max_messages = 5; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_offline.py"
