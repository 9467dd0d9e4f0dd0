#!/bin/sh
# tests/unit/jobs-tsan.sh — builds tests/unit/test_jobs_tsan.c with the job pool and the
# event loop under ThreadSanitizer (not combinable with the suite's ASan build, hence its
# own compile) and runs it; any TSan report fails the test. Skips (77) where no compiler
# here can link -fsanitize=thread.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for cc in ${CC_TSAN:-clang gcc}; do
    command -v "$cc" >/dev/null 2>&1 || continue
    if "$cc" -std=gnu11 -O1 -g -fsanitize=thread -I"$SRC" -I"$SRC/include" \
        -o "$OUT/test_jobs_tsan" "$SRC/tests/unit/test_jobs_tsan.c" "$SRC/server/loop/jobs.c" \
        "$SRC/server/loop/loop.c" "$SRC/server/base/log.c" -lpthread 2>"$OUT/cc.log"; then
        echo "# built with $cc -fsanitize=thread"
        TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" "$OUT/test_jobs_tsan"
        rc=$?
        [ $rc -eq 0 ] && echo "PASS: job pool free of data races" || echo "FAIL: exit $rc"
        exit $rc
    fi
done
cat "$OUT/cc.log" 2>/dev/null
echo "SKIP: no compiler links -fsanitize=thread here"
exit 77
