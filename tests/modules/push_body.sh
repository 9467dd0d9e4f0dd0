#!/bin/sh
# Runs tests/modules/test_push.py, scenario "body": include_body with max_body = 10.
MODTEST_MODULES="push offline" MODTEST_MYNA_CONF='push = { include_body = true; max_body = 10; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_push.py" body
