#!/bin/sh
# tests/fuzz/tlsrec-fuzz.sh — the libFuzzer target for the compact TLS 1.3 record layer
# (tests/fuzz/fuzz_tlsrec.c), built with clang and run for FUZZ_SECONDS (default 20) from
# the committed seeds (tests/fuzz/corpus-tlsrec). A crash, a sanitizer report or a broken
# invariant fails the test and prints the input. Skipped (77) only when clang is missing.
set -u
src=${srcdir:-.}
bin=tests/fuzz/fuzz_tlsrec
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang not installed"
    exit 77
fi
mkdir -p tests/fuzz
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -I"$src/include" -I"$src" \
    "$src/tests/fuzz/fuzz_tlsrec.c" "$src/server/loop/pool.c" "$src/server/base/log.c" \
    "$src/xml/serialize.c" "$src/xml/arena.c" -lssl -lcrypto -o "$bin"; then
    echo "FAIL: cannot build $bin"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# A small ASan quarantine: the default 256 MiB makes the run hold half a GiB.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" "$bin" -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 -timeout=10 -rss_limit_mb=1536 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$src/tests/fuzz/corpus-tlsrec"
rc=$?
# libFuzzer exits 77 on a crash by default, which automake would count as a skip.
[ "$rc" -eq 77 ] && rc=1
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] || continue
    echo "input that failed ($(basename "$f")), base64:"
    base64 "$f"
done
exit $rc
