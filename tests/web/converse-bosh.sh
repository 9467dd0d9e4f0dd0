#!/bin/sh
# tests/web/converse-bosh.sh — runs tests/web/converse.mjs through tests/web/webharness.py.
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/converse.mjs" bosh
