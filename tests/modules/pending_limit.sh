#!/bin/sh
# Runs tests/modules/test_pending_limit.py against a mynad whose roster module has
# max_items = 3: stored requests from strangers are capped at twice that.
MODTEST_MYNA_CONF='roster = { max_items = 3; };
'
export MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pending_limit.py"
