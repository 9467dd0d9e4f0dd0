# tests/fuzz/http.mk — libFuzzer target for the HTTP request path and the WebSocket frame
# path. `make check` runs it for 20 s (tests/fuzz/http-fuzz.sh); longer runs by hand with
# FUZZ_SECONDS (tests/fuzz/README.md).
TESTS += tests/fuzz/http-fuzz.sh
EXTRA_DIST += tests/fuzz/http-fuzz.sh tests/fuzz/fuzz_http.c tests/fuzz/corpus-http
CLEANFILES += tests/fuzz/fuzz_http
