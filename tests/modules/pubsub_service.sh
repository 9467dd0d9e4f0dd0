#!/bin/sh
# Runs tests/modules/test_pubsub_service.py (the generic service on pubsub.DOMAIN, raw XML)
# against a fresh mynad where only u44, u46 and u48 may create nodes, and with the avatar
# and bookmark conversions off.
MODTEST_MODULES="private pubsub" MODTEST_MYNA_CONF='
pubsub = { create_nodes = "u44@myna.test, u46@myna.test u48@myna.test";
           convert_avatars = false; convert_bookmarks = false; };
' exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_pubsub_service.py"
