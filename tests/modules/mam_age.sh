#!/bin/sh
# Runs tests/modules/test_mam_retention.py, scenario "age": archive retention by
# the age limit (max_age = 3 seconds).
MODTEST_MODULES="mam"
MODTEST_MYNA_CONF='mam = { max_age = 3; };
'
export MODTEST_MODULES MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_mam_retention.py" age
