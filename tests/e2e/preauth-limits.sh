#!/bin/sh
# tests/e2e/preauth-limits.sh — test_preauth_limits.py with small pre-login limits.
E2E_MYNA_LIMITS="preauth_stanza_size = 4096; preauth_per_address = 3; preauth_total = 5;
    sessions_per_account = 2;" exec /usr/bin/python3 "${srcdir:-.}/tests/e2e/harness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_preauth_limits.py"
