# tests/web/: HTTP listeners, WebSocket (RFC 7395) and the web clients that use them:
# xmpp.js in node and Converse.js in Debian's headless Chromium (npm packages installed into
# the build directory by tests/web/npm-setup.sh), through tests/web/webharness.py.
WEB_TESTS = tests/web/xmppjs-ws.sh tests/web/converse-ws.sh
TESTS += $(WEB_TESTS)
EXTRA_DIST += $(WEB_TESTS) tests/web/webharness.py tests/web/npm-setup.sh \
	tests/web/package.json tests/web/xmppjs_ws.mjs tests/web/converse.mjs

check-web:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(WEB_TESTS)"
.PHONY: check-web
