#!/bin/sh
# tests/web/xmppjs-ws.sh — runs tests/web/xmppjs_ws.mjs through tests/web/webharness.py.
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/xmppjs_ws.mjs"
