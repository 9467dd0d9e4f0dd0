#!/bin/sh
# Runs tests/modules/test_pep.py (PEP on raw XML) against a fresh mynad with the pubsub and
# private modules and small quotas, so every limit is reached with a few requests.
MODTEST_MODULES="private pubsub" MODTEST_MYNA_CONF='
pubsub = { max_nodes = 6; max_items = 20; max_account_items = 30; max_payload_bytes = 4096; };
' exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_pep.py"
