#!/bin/sh
# tests/web/converse-ws.sh — runs tests/web/converse.mjs through tests/web/webharness.py.
# Converse, Chromium and a Pidgin user: more than the harness's default 90 s on a busy machine.
E2E_TIMEOUT=${E2E_TIMEOUT:-170} exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/converse.mjs" websocket
