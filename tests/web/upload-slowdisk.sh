#!/bin/sh
# tests/web/upload-slowdisk.sh — runs tests/web/test_upload_slowdisk.py with mynad's fsync of
# upload files slowed to 3 s (tests/web/slowfsync.c, preloaded into mynad only).
set -e
mkdir -p tests/web
${CC:-cc} -shared -fPIC -o tests/web/slowfsync.so "${srcdir:-.}/tests/web/slowfsync.c" -ldl
E2E_MYNA_PRELOAD="$PWD/tests/web/slowfsync.so"
MYNA_TEST_FSYNC_DELAY_MS=3000
WEBTEST_MODULES=upload
WEBTEST_HTTP_CONF='external_url = "http://127.0.0.1:{port}/";'
WEBTEST_MYNA_CONF='upload = { max_size = 1048576; quota = 0; };
'
export E2E_MYNA_PRELOAD MYNA_TEST_FSYNC_DELAY_MS WEBTEST_MODULES WEBTEST_HTTP_CONF WEBTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_upload_slowdisk.py"
