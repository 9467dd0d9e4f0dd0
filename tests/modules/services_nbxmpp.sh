#!/bin/sh
# Runs tests/modules/test_services_nbxmpp.py (XEP-0012 and XEP-0050/0133 through
# python3-nbxmpp's LastActivity and AdHoc modules) against a fresh mynad; u70 is the admin.
MODTEST_MODULES="last adhoc" MODTEST_MYNA_CONF='adhoc = { admins = "u70@myna.test"; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_services_nbxmpp.py"
