#!/bin/sh
# Runs tests/modules/test_store_full.py against a fresh mynad whose database map is 1 MiB
# (store_map_mb), with big stanzas and private XML elements allowed so that it fills fast.
MODTEST_MODULES="private last push"
MODTEST_STANZA_LIMIT=300000
MODTEST_MYNA_CONF='store_map_mb = 1;
private = { max_bytes = 300000; };
'
export MODTEST_MODULES MODTEST_STANZA_LIMIT MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_store_full.py"
