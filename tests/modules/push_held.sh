#!/bin/sh
# Runs tests/modules/test_push.py scenario "held": push notifications for messages to a
# session XEP-0198 holds for resumption (2 s resumption timeout).
MODTEST_MODULES="push offline" E2E_MYNA_LIMITS='sm_resume_timeout = 2;' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_push.py" held
