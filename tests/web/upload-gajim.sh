#!/bin/sh
# tests/web/upload-gajim.sh — runs tests/web/test_upload_gajim.py (Gajim's nbxmpp sends a PNG
# through HTTP upload) with the upload module.
WEBTEST_MODULES=upload
WEBTEST_HTTP_CONF='external_url = "http://127.0.0.1:{port}/";'
export WEBTEST_MODULES WEBTEST_HTTP_CONF
exec /usr/bin/python3 "${srcdir:-.}/tests/web/webharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/web/test_upload_gajim.py"
