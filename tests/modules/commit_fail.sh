#!/bin/sh
# Runs tests/modules/test_commit_fail.py against a fresh mynad whose database syncs fail
# with EIO while a flag file exists (tests/modules/failsync.c, preloaded into mynad only).
set -e
mkdir -p tests/modules
${CC:-cc} -shared -fPIC -o tests/modules/failsync.so "${srcdir:-.}/tests/modules/failsync.c" -ldl
E2E_MYNA_PRELOAD="$PWD/tests/modules/failsync.so"
MYNA_TEST_FAILSYNC_FLAG="$PWD/tests/modules/failsync.flag.$$"
rm -f "$MYNA_TEST_FAILSYNC_FLAG"
MODTEST_MODULES="private offline"
export E2E_MYNA_PRELOAD MYNA_TEST_FAILSYNC_FLAG MODTEST_MODULES
set +e
/usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_commit_fail.py"
rc=$?
rm -f "$MYNA_TEST_FAILSYNC_FLAG"
exit $rc
