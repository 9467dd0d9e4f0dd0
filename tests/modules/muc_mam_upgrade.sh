#!/bin/sh
# Runs tests/modules/test_muc_mam_upgrade.py: mynad starts with the muc module only; the
# test adds the mam module with mynactl reload (rooms' history moves into their archives),
# then restarts mynad on the same data.
MODTEST_MODULES="muc"
PYTHONPATH="${srcdir:-.}/tests/modules${PYTHONPATH:+:$PYTHONPATH}"
export MODTEST_MODULES PYTHONPATH
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_muc_mam_upgrade.py"
