#!/bin/sh
# Runs tests/modules/test_slixmpp_mam.py (500 archived messages through slixmpp's XEP-0313
# plugin) against a fresh mynad with the archive.
MODTEST_MODULES="mam"
E2E_TIMEOUT=${E2E_TIMEOUT:-240}
export MODTEST_MODULES E2E_TIMEOUT
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_slixmpp_mam.py"
