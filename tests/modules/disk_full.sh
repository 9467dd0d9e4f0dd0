#!/bin/sh
# Runs tests/modules/test_disk_full.py against a fresh mynad whose data directory is a tmpfs
# of its own (the harness's E2E_DATA_TMPFS_KB; skipped where mounting needs a root we are
# not), with a database map far bigger than the file system, so the disk fills first.
E2E_DATA_TMPFS_KB=40960
MODTEST_MODULES="private offline"
MODTEST_STANZA_LIMIT=100000
MODTEST_MYNA_CONF='store_map_mb = 256;
private = { max_bytes = 100000; };
'
export E2E_DATA_TMPFS_KB MODTEST_MODULES MODTEST_STANZA_LIMIT MODTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_disk_full.py"
