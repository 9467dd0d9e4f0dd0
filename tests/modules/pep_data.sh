#!/bin/sh
# Runs tests/modules/test_pep_data.py (bookmarks, avatars, vCard4, nickname, OMEMO nodes on
# raw XML) against a fresh mynad with the pubsub and private modules, the generic service
# asked for on bot.DOMAIN, which the harness's component holds (PEP must work regardless).
MODTEST_MODULES="private pubsub" MODTEST_MYNA_CONF='
pubsub = { subdomain = "bot"; };
' exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pep_data.py"
