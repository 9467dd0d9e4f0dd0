#!/bin/sh
# tests/web/upload.sh — runs tests/web/test_upload.py with the upload module and small limits.
WEBTEST_MODULES=upload
WEBTEST_HTTP_CONF='external_url = "http://127.0.0.1:{port}/"; upload_expire = 6;'
WEBTEST_MYNA_CONF='upload = { max_size = 100000; quota = 150000; types = "image/*, text/plain";
    slot_ttl = 3; };
'
export WEBTEST_MODULES WEBTEST_HTTP_CONF WEBTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_upload.py"
