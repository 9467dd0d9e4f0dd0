#!/bin/sh
# Runs tests/modules/test_nbxmpp_muc_mam.py (a room's archive synced as Gajim does, through
# python3-nbxmpp) against a fresh mynad with the muc and mam modules enabled.
MODTEST_MODULES="muc mam"
E2E_TIMEOUT=${E2E_TIMEOUT:-240}
PYTHONPATH="${srcdir:-.}/tests/modules${PYTHONPATH:+:$PYTHONPATH}"
export MODTEST_MODULES E2E_TIMEOUT PYTHONPATH
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_muc_mam.py"
