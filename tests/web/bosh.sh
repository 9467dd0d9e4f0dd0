#!/bin/sh
# tests/web/bosh.sh — runs tests/web/test_bosh.py with short BOSH timers.
WEBTEST_HTTP_CONF='bosh_inactivity = 4; bosh_polling = 2; bosh_max_pause = 9;'
E2E_TIMEOUT=180
export WEBTEST_HTTP_CONF E2E_TIMEOUT
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_bosh.py"
