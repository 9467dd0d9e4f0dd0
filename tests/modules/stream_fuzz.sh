#!/bin/sh
# Runs tests/modules/test_stream_fuzz.py (2 x 20 s of mutated stanzas) against a fresh mynad
# with every feature module loaded.
MODTEST_MODULES="carbons offline private muc pubsub last adhoc push contact_info extdisco mam" \
MODTEST_MYNA_CONF='adhoc = { admins = "u10@myna.test"; };
extdisco = { services = "turn turn.myna.test 3478 udp"; secret = "s"; };' exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_stream_fuzz.py" 20
