#!/bin/sh
# tests/fuzz/http-fuzz.sh — the libFuzzer target for the HTTP request path and the
# WebSocket frame path (tests/fuzz/fuzz_http.c), built with clang and run for
# FUZZ_SECONDS (default 20) from the committed seeds (tests/fuzz/corpus-http). A crash, a
# sanitizer report or a broken invariant fails the test and prints the input. Skipped (77)
# only when clang is missing.
set -u
src=${srcdir:-.}
bin=tests/fuzz/fuzz_http
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang not installed"
    exit 77
fi
mkdir -p tests/fuzz
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -I"$src/include" -I"$src" \
    "$src/tests/fuzz/fuzz_http.c" "$src/server/base/log.c" "$src/server/loop/pool.c" \
    "$src/server/net/wbuf.c" "$src"/xml/arena.c "$src"/xml/serialize.c "$src"/xml/parser.c \
    "$src"/xml/tree.c -lhttp_parser -lwslay -lexpat -lssl -lcrypto -o "$bin"; then
    echo "FAIL: cannot build $bin"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" "$bin" \
    -max_total_time="${FUZZ_SECONDS:-20}" -max_len=8192 -timeout=10 -rss_limit_mb=1536 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$src/tests/fuzz/corpus-http"
rc=$?
# libFuzzer exits 77 on a crash by default, which automake would count as a skip.
[ "$rc" -eq 77 ] && rc=1
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] || continue
    echo "input that failed ($(basename "$f")), base64:"
    base64 "$f"
done
exit $rc
