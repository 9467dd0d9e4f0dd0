#!/bin/sh
# Runs tests/modules/test_serverinfo.py (XEP-0157 contact addresses, XEP-0215 external
# services with TURN credentials) against a fresh mynad configured with both.
MODTEST_MODULES="contact_info extdisco" \
MODTEST_MYNA_CONF='contact_info = { admin = "mailto:xmpp@myna.test xmpp:admin@myna.test";
    abuse = "mailto:abuse@myna.test"; status = "https://status.myna.test/"; };
extdisco = { services = "stun stun.myna.test 3478 udp, turn turn.myna.test 3478 udp,
    turns turn.myna.test 5349 tcp, turn 192.0.2.1 3478 tcp"; secret = "s3cr3t-turn";
    ttl = 600; };' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_serverinfo.py"
