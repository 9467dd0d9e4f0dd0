#!/bin/sh
# tests/e2e/limits-rate.sh — test_limits.py rate: a flooding client is held to its rate.
E2E_MYNA_LIMITS="c2s_rate = 50000; c2s_burst = 16384;" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_limits.py" rate
