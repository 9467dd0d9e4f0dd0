#!/bin/sh
# tests/e2e/login-abuse.sh — test_login_abuse.py with low login-failure limits.
E2E_MYNA_LIMITS="auth_failures_address = 3; auth_failures_account = 5; auth_lockout = 60;" \
    exec /usr/bin/python3 "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/e2e/test_login_abuse.py"
