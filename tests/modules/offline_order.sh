#!/bin/sh
# Runs tests/modules/test_offline_order.py (a sender racing the recipient's login) against a
# fresh mynad with offline storage and quotas large enough for its 4,000 messages.
MODTEST_MODULES=offline
MODTEST_MYNA_CONF='offline = { max_messages = 100000; max_bytes = 67108864; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_offline_order.py"
