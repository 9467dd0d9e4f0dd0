#!/bin/sh
# Runs tests/modules/test_nbxmpp_mam.py (500 archived messages paged both ways with every
# filter, through python3-nbxmpp's MAM module) against a fresh mynad with the archive.
MODTEST_MODULES="mam"
E2E_TIMEOUT=${E2E_TIMEOUT:-240}
PYTHONPATH="${srcdir:-.}/tests/modules${PYTHONPATH:+:$PYTHONPATH}"
export MODTEST_MODULES E2E_TIMEOUT PYTHONPATH
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_nbxmpp_mam.py"
