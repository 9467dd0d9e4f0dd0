#!/bin/sh
# tests/web/web-preauth.sh — test_web_preauth.py: the unauthenticated-connection cap over
# WebSocket and BOSH (small limits).
E2E_MYNA_LIMITS="preauth_per_address = 3; preauth_total = 5;"
export E2E_MYNA_LIMITS
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_web_preauth.py"
