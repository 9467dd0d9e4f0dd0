#!/bin/sh
# tests/web/forwarded.sh — test_forwarded.py: clients behind a trusted reverse proxy
# (X-Forwarded-For) under small per-address limits.
E2E_MYNA_LIMITS="preauth_per_address = 2; auth_failures_address = 2;"
WEBTEST_HTTP_CONF='trusted_proxies = [ "127.0.0.51" ];'
export E2E_MYNA_LIMITS WEBTEST_HTTP_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_forwarded.py"
