#!/bin/bash
# bench/s2s.sh: s2s message throughput Myna -> Myna. Two mynad on their own loopback
# addresses (a.bench on 127.0.0.61, b.bench on 127.0.0.62, standard ports, one CA, SASL
# EXTERNAL between them), P chat pairs with one partner on each server, so every message
# crosses a server-to-server stream (both directions are used). Reports myna-bench chat
# at a fixed rate and the highest rate followed (--find-max), with both servers' CPU per
# message. Not part of `make check`. Results: bench/results/s2s-latest.json and .md.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC}
WORK=${BENCH_WORK:-/tmp/myna-bench-s2s}
OUT=$SRC/bench/results
PAIRS=50
RATE=1000
DURATION=10
while [ $# -gt 0 ]; do
    case $1 in
        --build) BUILD=$2; shift ;;
        --work) WORK=$2; shift ;;
        --out) OUT=$2; shift ;;
        --pairs) PAIRS=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        -h|--help) echo "usage: bench/s2s.sh [--build DIR] [--work DIR] [--out DIR]" \
                        "[--pairs P (50)] [--rate MSG/S (1000)] [--duration S (10)]"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
BENCH=$BUILD/bench/myna-bench
for f in "$BUILD/mynad" "$BENCH" "$BUILD/bench/myna-bench-adduser"; do
    [ -x "$f" ] || { log "missing $f (build first)"; exit 2; }
done
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
sh "$SRC/tests/e2e/mkcerts.sh" "$WORK/certs" a.bench b.bench || exit 2
declare -A IP=([a.bench]=127.0.0.61 [b.bench]=127.0.0.62)
declare -A PEER=([a.bench]=b.bench [b.bench]=a.bench)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

start() { # domain, first account, last account
    local d=$1 dir=$WORK/$1 p=${PEER[$1]}
    mkdir -p "$dir/data"
    cat > "$dir/myna.conf" <<CONF
data_dir = "$dir/data";
store_map_mb = 4096;
log = { level = "warn"; syslog = false; };
hosts = ( { domain = "$d"; certificate = "$WORK/certs/$d.crt"; key = "$WORK/certs/$d.key"; } );
listen = (
    { type = "c2s"; address = "${IP[$d]}"; port = 5222; tls = "starttls"; },
    { type = "s2s"; address = "${IP[$d]}"; port = 5269; tls = "starttls"; }
);
modules = { path = "$BUILD/modules/.libs"; enabled = [ "disco", "ping", "roster" ]; };
limits = { max_sessions = 30000; c2s_rate = 104857600; c2s_burst = 104857600; };
s2s = {
    ca_file = "$WORK/certs/ca.crt";
    domains = ( { domain = "$p"; host = "${IP[$p]}"; port = 5269; } );
    rate = 1073741824;
};
CONF
    "$BUILD/bench/myna-bench-adduser" "$dir/data" 4096 "$d" u "$2" "$3" benchpass >/dev/null \
        || { log "adduser failed for $d"; exit 1; }
    "$BUILD/mynad" -c "$dir/myna.conf" >> "$dir/mynad.log" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/${IP[$d]}/5222") 2>/dev/null && return 0
        sleep 0.1
    done
    log "mynad for $d did not start"; exit 1
}
start a.bench 1 "$PAIRS"
start b.bench $((PAIRS + 1)) $((2 * PAIRS))
COMMON=(--host 127.0.0.61 --domain a.bench --peer-host 127.0.0.62 --peer-domain b.bench
        --server-pid "${PIDS[0]}" --peer-pid "${PIDS[1]}" --cafile "$WORK/certs/ca.crt"
        --pairs "$PAIRS" --label myna-s2s --src 127.0.0.70 --src-count 4)
log "chat across s2s: $PAIRS pairs at $RATE msg/s for $DURATION s"
"$BENCH" chat "${COMMON[@]}" --msg-rate "$RATE" --duration "$DURATION" > "$WORK/fixed.json" \
    2> "$WORK/fixed.txt"
cat "$WORK/fixed.txt" >&2
log "chat across s2s: highest rate followed (p99 < 100 ms, nothing lost)"
"$BENCH" chat "${COMMON[@]}" --msg-rate 1000 --duration 5 --find-max > "$WORK/max.json" \
    2> "$WORK/max.txt"
cat "$WORK/max.txt" >&2
{ printf '{"fixed":'; cat "$WORK/fixed.json"; printf ',"max":'; cat "$WORK/max.json"; printf '}\n'; } \
    > "$OUT/s2s-latest.json"
{ echo "# s2s throughput Myna -> Myna ($(date -u +%Y-%m-%d))"; echo; echo '```'
  cat "$WORK/fixed.txt" "$WORK/max.txt"; echo '```'; } > "$OUT/s2s-latest.md"
log "results: $OUT/s2s-latest.json, $OUT/s2s-latest.md"
