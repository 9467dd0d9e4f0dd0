#!/bin/sh
# tests/e2e/component-limits.sh — test_component_limits.py with small component limits.
E2E_MYNA_LIMITS="auth_timeout = 2; auth_failures_address = 3; preauth_stanza_size = 4096;
    component_rate = 16384;" exec /usr/bin/python3 "${srcdir:-.}/tests/e2e/harness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_component_limits.py"
