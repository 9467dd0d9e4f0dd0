#!/bin/sh
# tests/web/upload-stream.sh — runs tests/web/test_upload_stream.py: large and aborted PUTs
# (the upload module's max_size raised to the server's 64 MiB).
WEBTEST_MODULES=upload
WEBTEST_HTTP_CONF='external_url = "http://127.0.0.1:{port}/";'
WEBTEST_MYNA_CONF='upload = { max_size = 67108864; quota = 0; };
'
export WEBTEST_MODULES WEBTEST_HTTP_CONF WEBTEST_MYNA_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_upload_stream.py"
