# tests/web/: HTTP listeners, WebSocket (RFC 7395), BOSH (XEP-0206) and the web clients
# that use them (raw clients in weblib.py for the edge cases):
# xmpp.js in node and Converse.js in Debian's headless Chromium (npm packages installed into
# the build directory by tests/web/npm-setup.sh), through tests/web/webharness.py.
WEB_TESTS = tests/web/xmppjs-ws.sh tests/web/converse-ws.sh tests/web/converse-bosh.sh \
	tests/web/bosh.sh tests/web/http.sh tests/web/http-limits.sh tests/web/upload.sh tests/web/upload-gajim.sh \
	tests/web/upload-stream.sh tests/web/upload-slowdisk.sh \
	tests/web/web-preauth.sh tests/web/metrics.sh tests/web/forwarded.sh
TESTS += $(WEB_TESTS)
EXTRA_DIST += $(WEB_TESTS) tests/web/webharness.py tests/web/npm-setup.sh \
	tests/web/package.json tests/web/package-node18.json tests/web/xmppjs_ws.mjs tests/web/converse.mjs \
	tests/web/weblib.py tests/web/test_bosh.py tests/web/test_http.py tests/web/test_http_limits.py \
	tests/web/test_upload.py tests/web/test_upload_gajim.py \
	tests/web/test_upload_stream.py tests/web/test_web_preauth.py tests/web/test_metrics.py \
	tests/web/test_upload_slowdisk.py tests/web/slowfsync.c tests/web/test_forwarded.py

check-web:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(WEB_TESTS)"
.PHONY: check-web
