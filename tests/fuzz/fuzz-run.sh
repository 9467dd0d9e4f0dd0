#!/bin/sh
# tests/fuzz/fuzz-run.sh TARGET — builds one libFuzzer target with clang (ASan, UBSan) and
# runs it for FUZZ_SECONDS (default 15) from its committed seeds, as `make check` (and so
# .ci/run) does for every parser of peer bytes: parser (XML stream), dataform (XEP-0004),
# caps (XEP-0115), c2s (stanzas per client-stream state), s2s (incoming server
# streams: TLS, SASL EXTERNAL, dialback, XEP-0288, addressing), web (BOSH and WebSocket
# sessions into the real server), sasl (SCRAM and PLAIN messages),
# jid (RFC 7622), http (HTTP requests and WebSocket frames), tlsrec (the compact TLS 1.3
# record layer). A crash, a sanitizer report, a
# leak or a broken invariant fails the test and prints the input in base64. Skipped (77)
# only when clang is missing. Run from the build directory (config.h is there).
# FUZZ_BUILD_ONLY=1: build, then print the target's run settings as shell assignments
# (seeds, max_len, dict) instead of running (tests/fuzz/campaign.sh uses this).
set -u
src=${srcdir:-.}
target=$1
# Per target below: the files, libraries, seeds; XML targets use the XML dictionary.
seconds=15 maxlen=4096 dict="-dict=$src/tests/fuzz/xml.dict"
case $target in
parser)
    files="$src/tests/fuzz/fuzz_parser.c $src/xml/*.c"
    libs="-lexpat"
    corpus=$src/tests/fuzz/corpus ;;
dataform)
    files="$src/tests/fuzz/fuzz_dataform.c $src/modules/common/dataform.c $src/xml/*.c"
    libs="-lexpat"
    corpus=$src/tests/fuzz/corpus-dataform ;;
caps)
    # caps.c keys its cache with myna_hash (server/modhost/hash.c on base/siphash.c).
    files="$src/tests/fuzz/fuzz_caps.c $src/modules/pubsub/caps.c $src/modules/common/dataform.c $src/server/modhost/hash.c $src/server/base/siphash.c $src/xml/*.c"
    libs="-lexpat -lcrypto -lpthread"
    corpus=$src/tests/fuzz/corpus-caps ;;
c2s)
    # mynad's core without main.c; c2s.c is included by the harness (its statics).
    files="$src/tests/fuzz/fuzz_c2s.c $src/tests/fuzz/fuzz_server.c $(ls "$src"/server/loop/*.c "$src"/server/net/*.c \
        "$src"/server/route/*.c "$src"/server/modhost/*.c "$src"/server/base/*.c \
        "$src"/server/store/*.c "$src"/server/stream/*.c "$src"/server/admin/control.c \
        "$src"/server/admin/control_pie.c "$src"/server/admin/pie_*.c "$src"/server/web/*.c |
        grep -v '/stream/c2s\.c$') $src/xml/*.c"
    libs="-lexpat -lssl -lcrypto -llmdb -lconfig -lidn -lhttp_parser -lwslay -lcares -lpthread -ldl"
    corpus=$src/tests/fuzz/corpus-c2s ;;
s2s)
    # mynad's core without main.c; s2s_in.c is included by the harness (its statics).
    files="$src/tests/fuzz/fuzz_s2s.c $src/tests/fuzz/fuzz_server.c $(ls "$src"/server/loop/*.c \
        "$src"/server/net/*.c "$src"/server/route/*.c "$src"/server/modhost/*.c \
        "$src"/server/base/*.c "$src"/server/store/*.c "$src"/server/stream/*.c \
        "$src"/server/admin/control.c "$src"/server/admin/control_pie.c \
        "$src"/server/admin/pie_*.c "$src"/server/web/*.c | grep -v '/stream/s2s_in\.c$') \
        $src/xml/*.c"
    libs="-lexpat -lssl -lcrypto -llmdb -lconfig -lidn -lhttp_parser -lwslay -lcares -lpthread -ldl"
    corpus=$src/tests/fuzz/corpus-s2s ;;
web)
    # mynad's core without main.c: BOSH and WebSocket sessions over socketpairs.
    files="$src/tests/fuzz/fuzz_web.c $src/tests/fuzz/fuzz_server.c $(ls "$src"/server/loop/*.c \
        "$src"/server/net/*.c "$src"/server/route/*.c "$src"/server/modhost/*.c \
        "$src"/server/base/*.c "$src"/server/store/*.c "$src"/server/stream/*.c \
        "$src"/server/admin/control.c "$src"/server/admin/control_pie.c \
        "$src"/server/admin/pie_*.c "$src"/server/web/*.c) $src/xml/*.c"
    libs="-lexpat -lssl -lcrypto -llmdb -lconfig -lidn -lhttp_parser -lwslay -lcares -lpthread -ldl"
    corpus=$src/tests/fuzz/corpus-web maxlen=8192 ;;
sasl|jid)
    files="$src/tests/fuzz/fuzz_$target.c $src/server/base/jid.c $src/server/base/log.c $src/xml/arena.c $src/xml/serialize.c"
    [ "$target" = sasl ] && files="$files $src/server/base/scram.c $src/server/base/plain.c"
    libs="-lssl -lcrypto -lidn -lpthread"
    corpus=$src/tests/fuzz/corpus-$target maxlen=2048 dict= ;;
http)
    files="$src/tests/fuzz/fuzz_http.c $src/server/base/log.c $src/server/loop/pool.c $src/server/net/wbuf.c $src/xml/arena.c $src/xml/serialize.c $src/xml/parser.c $src/xml/tree.c $src/server/loop/hashmap.c $src/server/base/siphash.c $src/server/net/peeraddr.c"
    libs="-lhttp_parser -lwslay -lexpat -lssl -lcrypto"
    corpus=$src/tests/fuzz/corpus-http seconds=20 maxlen=8192 dict= ;;
tlsrec)
    files="$src/tests/fuzz/fuzz_tlsrec.c $src/server/loop/pool.c $src/server/base/log.c $src/xml/serialize.c $src/xml/arena.c"
    libs="-lssl -lcrypto"
    corpus=$src/tests/fuzz/corpus-tlsrec seconds=20 dict= ;;
*)
    echo "usage: $0 parser|dataform|caps|c2s|s2s|web|sasl|jid|http|tlsrec" >&2
    exit 99 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang not installed"
    exit 77
fi
mkdir -p tests/fuzz
bin=tests/fuzz/fuzz_$target
# shellcheck disable=SC2086
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -include ./config.h -I"$src/include" \
    -I"$src" $files $libs -o "$bin"; then
    echo "FAIL: cannot build $bin"
    exit 1
fi
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
    printf "bin='%s' seeds='%s' maxlen='%s' dict='%s'\n" "$bin" "$corpus" "$maxlen" "$dict"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# A small ASan quarantine: the default 256 MiB makes a run hold half a GiB.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" "$bin" \
    -max_total_time="${FUZZ_SECONDS:-$seconds}" -max_len="$maxlen" -timeout=10 \
    -rss_limit_mb=1536 $dict -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/corpus" "$corpus"
rc=$?
# libFuzzer exits 77 on a crash by default, which automake would count as a skip.
[ "$rc" -eq 77 ] && rc=1
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] || continue
    echo "input that failed ($(basename "$f")), base64:"
    base64 "$f"
done
exit $rc
