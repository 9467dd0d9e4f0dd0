#!/bin/sh
# Runs tests/modules/test_routing.py (RFC 6121 §8.5 row by row, presence errors for
# unreachable local sub-domains, the login order) with the roster and offline modules.
MODTEST_MODULES=offline
export MODTEST_MODULES
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_routing.py"
