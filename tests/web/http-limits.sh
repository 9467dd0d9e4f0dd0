#!/bin/sh
# tests/web/http-limits.sh — runs tests/web/test_http_limits.py with every HTTP limit set.
WEBTEST_HTTP_CONF='max_header_size = 2048; max_body_size = 4096; request_timeout = 3;
    idle_timeout = 3; rate_per_connection = 2; rate_per_address = 5;
    connections_per_address = 6;'
export WEBTEST_HTTP_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_http_limits.py"
