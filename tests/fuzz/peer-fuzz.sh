#!/bin/sh
# tests/fuzz/peer-fuzz.sh TARGET — builds a libFuzzer target for peer input before login
# (sasl: tests/fuzz/fuzz_sasl.c, jid: tests/fuzz/fuzz_jid.c) with clang and runs it for
# FUZZ_SECONDS (default 15) from its committed seeds (tests/fuzz/corpus-TARGET). A crash, a
# sanitizer report or a broken invariant fails the test and prints the input. Skipped (77)
# only when clang is missing. sasl-fuzz.sh and jid-fuzz.sh are the `make check` entries.
set -u
src=${srcdir:-.}
target=$1
bin=tests/fuzz/fuzz_$target
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang not installed"
    exit 77
fi
mkdir -p tests/fuzz
case $target in
sasl) extra="$src/server/base/scram.c $src/server/base/plain.c"; libs="-lssl -lcrypto" ;;
jid) extra=""; libs="" ;;
*) echo "unknown target $target"; exit 99 ;;
esac
# shellcheck disable=SC2086
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -I"$src/include" -I"$src" \
    "$src/tests/fuzz/fuzz_$target.c" $extra "$src/server/base/jid.c" "$src/server/base/log.c" \
    "$src/xml/arena.c" "$src/xml/serialize.c" $libs -lidn -lpthread -o "$bin"; then
    echo "FAIL: cannot build $bin"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" "$bin" \
    -max_total_time="${FUZZ_SECONDS:-15}" -max_len=2048 -timeout=10 -rss_limit_mb=1536 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$src/tests/fuzz/corpus-$target"
rc=$?
# libFuzzer exits 77 on a crash by default, which automake would count as a skip.
[ "$rc" -eq 77 ] && rc=1
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] || continue
    echo "input that failed ($(basename "$f")), base64:"
    base64 "$f"
done
exit $rc
