#!/bin/sh
# tests/web/http.sh — runs tests/web/test_http.py (HTTP listener, host-meta, WebSocket).
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_http.py"
