#!/bin/sh
# Runs tests/modules/test_services_slixmpp.py (XEP-0012, XEP-0157 via xep_0128, XEP-0050 and
# XEP-0133 through slixmpp's plugins) against a fresh mynad; u60 is the admin.
MODTEST_MODULES="last adhoc contact_info" \
MODTEST_MYNA_CONF='adhoc = { admins = "u60@myna.test"; };
contact_info = { admin = "mailto:xmpp@myna.test";
    support = "https://myna.test/help, xmpp:help@myna.test"; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_services_slixmpp.py"
