#!/bin/sh
# tests/e2e/register.sh — test_register.py with in-band registration on (XEP-0077).
E2E_MYNA_CONFIG='allow_registration = true; registration_allow = [ "127.0.0.0/29" ];' \
E2E_MYNA_LIMITS="registration_interval = 3;" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_register.py"
