#!/bin/sh
# Runs tests/modules/test_mam_retention.py, scenario "count": archive retention by
# the count limit (max_messages = 5).
MODTEST_MODULES="mam"
MODTEST_MYNA_CONF='mam = { max_messages = 5; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_mam_retention.py" count
