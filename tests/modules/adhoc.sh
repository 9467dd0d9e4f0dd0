#!/bin/sh
# Runs tests/modules/test_adhoc.py (XEP-0050/XEP-0133 on raw XML) against a fresh mynad with
# the adhoc module (u00 its admin) and the modules whose data a deletion must remove.
MODTEST_MODULES="adhoc last offline private" \
MODTEST_MYNA_CONF='adhoc = { admins = "u00@myna.test"; max_announcement = 2000; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_adhoc.py"
