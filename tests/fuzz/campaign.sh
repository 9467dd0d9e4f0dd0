#!/bin/sh
# tests/fuzz/campaign.sh [-d DIR] TARGET[:CPU_SECONDS]... — a long fuzzing campaign, run by
# hand from a build directory (not part of `make check`). Each target (as fuzz-run.sh names
# them; CPU_SECONDS default 3600, or FUZZ_CPU) is built with ASan and UBSan by fuzz-run.sh,
# then runs from its committed seeds and a corpus kept in DIR/corpus-TARGET (default DIR:
# ./fuzz-campaign), so a later campaign goes on where this one stopped, until the process
# has used CPU_SECONDS of CPU time (counted from /proc, so a busy machine gets the same
# amount of fuzzing, only later), then gets SIGINT and prints its final stats. Targets run
# one after another; start two campaigns for two cores. Per target: DIR/TARGET.log
# (libFuzzer's output), DIR/art-TARGET/ (inputs that failed), and one line in
# DIR/summary.txt: CPU seconds, executions, edges (cov), features (ft), corpus size and
# artifacts. Never stop a fuzzer with SIGSTOP: libFuzzer's wall-clock watchdog then
# reports the input it was on as a timeout.
set -u
src=${srcdir:-$(dirname "$0")/../..}
dir=./fuzz-campaign
if [ "${1:-}" = -d ]; then
    dir=$2
    shift 2
fi
[ $# -gt 0 ] || { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
mkdir -p "$dir"
hz=$(getconf CLK_TCK)
for spec in "$@"; do
    t=${spec%%:*}
    cpu=${FUZZ_CPU:-3600}
    [ "$spec" != "$t" ] && cpu=${spec#*:}
    settings=$(FUZZ_BUILD_ONLY=1 srcdir=$src sh "$src/tests/fuzz/fuzz-run.sh" "$t" 2>"$dir/$t.build.log" |
               tail -n 1)
    case $settings in bin=*) ;; *) echo "$t: build failed (see $dir/$t.build.log)" | tee -a "$dir/summary.txt"; continue ;; esac
    bin= seeds= maxlen= dict=
    eval "$settings"
    cp "$bin" "$dir/fuzz_$t"
    mkdir -p "$dir/corpus-$t" "$dir/art-$t"
    # shellcheck disable=SC2086
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" "$dir/fuzz_$t" \
        -max_total_time=1000000 -max_len="$maxlen" -timeout=10 -rss_limit_mb=1536 $dict \
        -print_final_stats=1 -artifact_prefix="$dir/art-$t/" "$dir/corpus-$t" "$seeds" \
        > "$dir/$t.log" 2>&1 &
    pid=$!
    used=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 10
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || break
        [ -n "$ticks" ] || break
        used=$((ticks / hz))
        [ "$used" -ge "$cpu" ] && kill -INT "$pid"
    done
    wait "$pid"
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log" | tail -n 1)
    last=$(grep -a ' cov: ' "$dir/$t.log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(ls "$dir/corpus-$t" | wc -l)
    arts=$(ls "$dir/art-$t" | wc -l)
    echo "$t: cpu ${used}s, execs ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus $corp, artifacts $arts, rc $rc" |
        tee -a "$dir/summary.txt"
done
