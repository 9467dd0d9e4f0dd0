#!/bin/sh
# Runs tests/modules/test_offline.py against a fresh mynad with the offline module enabled
# and small quotas (5 messages, 3000 bytes per account, 1000 bytes per message).
MODTEST_MODULES=offline
MODTEST_MYNA_CONF='offline = { max_messages = 5; max_bytes = 3000; max_message_bytes = 1000; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_offline.py"
