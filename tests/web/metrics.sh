#!/bin/sh
# tests/web/metrics.sh — runs tests/web/test_metrics.py (/metrics and /health).
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_metrics.py"
