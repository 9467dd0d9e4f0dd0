#!/bin/sh
# tests/e2e/limits-slowreader.sh — test_limits.py slowreader: a client that never reads is
# dropped once its queue limit is reached; fast senders (no rate limit here) stay healthy.
E2E_MYNA_LIMITS="c2s_rate = 1000000000; c2s_burst = 1000000000;" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_limits.py" slowreader
