#!/bin/sh
# Runs tests/modules/test_push.py (XEP-0357, scenario "flows" and hostile requests) against
# a fresh mynad with the push and offline modules; the harness's component is the app server.
MODTEST_MODULES="push offline" MODTEST_MYNA_CONF='push = { max_devices = 3; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_push.py" flows
