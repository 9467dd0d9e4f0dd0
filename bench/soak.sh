#!/bin/bash
# bench/soak.sh: the soak run. Starts one mynad (a release build: no sanitizers, unless the
# build given has them) with a fresh data directory and accounts u1..uN, holds N realistic
# sessions from two myna-bench processes (one process may open at most 20,000 files) and
# runs `myna-bench soak`'s mixed traffic for M minutes. Every 30 s it samples mynad's RSS,
# anonymous memory, descriptors, `mynactl stats` and the generators' counters into a CSV;
# at the end bench/soak_check.py judges memory, descriptors, the log, deliveries and errors
# (exit status 1 when a check fails). Never part of `make check`; loopback only. See
# docs/performance.md ("Soak").
# The whole script is one compound command: bash reads it before running it, so editing the
# file during a run cannot change the run.
{
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
SESSIONS=19000
MINUTES=30
BUILD=${BUILD:-}
WORK=${SOAK_WORK:-/tmp/myna-soak}
OUT=$SRC/bench/results
IP=${SOAK_IP:-127.0.0.20}
DOMAIN=soak.bench
PASSWORD=benchpass
PROCS=2
INTERVAL=30
LOGIN_RATE=150     # per generator process
GEN_ARGS=${SOAK_GEN_ARGS:-}
STEM=soak

usage() {
    cat <<EOF
usage: bench/soak.sh [--sessions N] [--minutes M] [--build DIR] [--work DIR] [--out DIR]
                     [--procs P] [--interval S] [--stem NAME]
  --sessions  sessions held (default 19000), split across --procs generators (default 2)
  --minutes   minutes of mixed traffic after the logins (default 30)
  --build     Myna build directory with mynad, mynactl, modules/.libs, bench/myna-bench and
              bench/myna-bench-adduser (default: \$BUILD, else the source tree). A build with
              sanitizers works too: LeakSanitizer's report is then checked at shutdown.
  --interval  seconds between samples (default 30)
  --stem      result name: OUT/STEM.csv, OUT/STEM.json, OUT/STEM.md (default soak)
Environment: SOAK_IP (127.0.0.20) the server's address; SOAK_GEN_ARGS extra myna-bench
options for every generator (rates: see 'myna-bench --help', soak).
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --sessions) SESSIONS=$2; shift ;;
        --minutes) MINUTES=$2; shift ;;
        --build) BUILD=$2; shift ;;
        --work) WORK=$2; shift ;;
        --out) OUT=$2; shift ;;
        --procs) PROCS=$2; shift ;;
        --interval) INTERVAL=$2; shift ;;
        --stem) STEM=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

[ -n "$BUILD" ] || BUILD=$SRC
BUILD=$(cd "$BUILD" && pwd)
GEN=$BUILD/bench/myna-bench
ADDUSER=$BUILD/bench/myna-bench-adduser
MYNAD=$BUILD/mynad
MYNACTL=$BUILD/mynactl
MODDIR=$BUILD/modules/.libs
for f in "$GEN" "$ADDUSER" "$MYNAD" "$MYNACTL"; do
    [ -x "$f" ] || { echo "soak.sh: $f missing (build the project in $BUILD)" >&2; exit 2; }
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

RUN=$WORK/run-$(date -u +%Y%m%d-%H%M%S)
CERTS=$WORK/certs
DIR=$RUN/myna
mkdir -p "$DIR/data" "$CERTS" "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
ulimit -c 0

# ---- certificate (one CA, one certificate for the domain) ----
if [ ! -f "$CERTS/$DOMAIN.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=myna-soak CA" -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$DOMAIN" \
        -keyout "$CERTS/$DOMAIN.key" -out "$CERTS/$DOMAIN.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:*.%s\nextendedKeyUsage=serverAuth\n' "$DOMAIN" "$DOMAIN" \
        > "$CERTS/$DOMAIN.ext"
    openssl x509 -req -in "$CERTS/$DOMAIN.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
        -CAcreateserial -days 30 -extfile "$CERTS/$DOMAIN.ext" -out "$CERTS/$DOMAIN.crt" 2>/dev/null
    chmod 600 "$CERTS/$DOMAIN.key"
fi

# ---- configuration: the benchmark template (Myna's default modules but the archive) ----
MODS=$(for m in disco ping version time roster blocking carbons offline private muc pubsub \
               last contact_info extdisco; do
           [ -f "$MODDIR/$m.so" ] && printf '"%s", ' "$m"; done | sed 's/, $//')
sed -e "s|@DIR@|$DIR|g" -e "s|@IP@|$IP|g" -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@CERTS@|$CERTS|g" \
    -e "s|@MODDIR@|$MODDIR|g" -e "s|@MODULES@|$MODS|g" -e "s|@MYNA_MAM@||g" \
    "$SRC/bench/conf/myna.conf.in" > "$DIR/myna.conf"

log "accounts u1..u$SESSIONS"
"$ADDUSER" "$DIR/data" 4096 "$DOMAIN" u 1 "$SESSIONS" "$PASSWORD" >/dev/null \
    || { log "myna-bench-adduser failed"; exit 2; }

# ---- mynad ----
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
"$MYNAD" -c "$DIR/myna.conf" > "$DIR/mynad.log" 2>&1 &
SPID=$!
GPIDS=()
cleanup() {
    local p
    for p in "${GPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    [ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/$IP/5222") 2>/dev/null && break
    kill -0 "$SPID" 2>/dev/null || { log "mynad exited:"; tail -5 "$DIR/mynad.log" >&2; exit 2; }
    sleep 0.1
done

CSV=$RUN/$STEM.csv
HZ=$(getconf CLK_TCK)
stat_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ms() { awk -v hz="$HZ" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' \
    "/proc/$1/stat" 2>/dev/null || echo 0; }
sys_busy_ms() { awk -v hz="$HZ" '/^cpu / {print int(($2+$3+$4+$7+$8+$9) * 1000 / hz)}' /proc/stat; }
ctl() { "$MYNACTL" -c "$DIR/myna.conf" stats 2>/dev/null; }
gen_sum() { # key: the sum over the generators' stats files
    cat "$RUN"/gen*.stats 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {s += $2} END {print s + 0}'
}
sample() { # phase
    local st; st=$(ctl)
    local v; v() { printf '%s\n' "$st" | awk -F= -v k="$1" '$1 == k {print $2; exit}'; }
    local gcpu=0 p
    for p in "${GPIDS[@]}"; do gcpu=$((gcpu + $(cpu_ms "$p"))); done
    local cols=(
        "$(date -u +%s)" "$1" "$(stat_kb "$SPID" VmRSS)" "$(stat_kb "$SPID" RssAnon)"
        "$(ls "/proc/$SPID/fd" 2>/dev/null | wc -l)" "$(v connections)" "$(v sessions)"
        "$(v users_online)" "$(v streams)" "$(v sm.held)" "$(v sm.ids)" "$(v sm.gone)"
        "$(v queued_bytes)" "$(v authfail_entries)" "$(v preauth_entries)" "$(v pending_iqs)"
        "$(v heap_used_bytes)" "$(v store.used_bytes)" "$(cpu_ms "$SPID")" "$gcpu"
        "$(sys_busy_ms)" "$(cut -d' ' -f1 /proc/loadavg)" "$(gen_sum sent)"
        "$(gen_sum received)" "$(gen_sum errors)" "$(gen_sum logins)" "$(gen_sum reconnects)"
        "$(gen_sum resumed)" "$(gen_sum up)")
    (IFS=,; echo "${cols[*]}") >> "$CSV"
}
echo "t,phase,rss_kb,anon_kb,fds,connections,sessions,users_online,streams,sm_held,sm_ids,sm_gone,queued_bytes,authfail_entries,preauth_entries,pending_iqs,heap_used_bytes,store_used_bytes,server_cpu_ms,gen_cpu_ms,machine_busy_ms,load1,sent,received,errors,logins,reconnects,resumed,gen_up" > "$CSV"
sleep 2
sample baseline
ctl > "$RUN/stats-baseline.txt"

# ---- generators ----
PER=$(( (SESSIONS + PROCS - 1) / PROCS ))
SECS=$(awk -v m="$MINUTES" 'BEGIN {printf "%d", m * 60}')
log "soak: $SESSIONS sessions ($PROCS x $PER), $MINUTES min of traffic; run dir $RUN"
for ((k = 0; k < PROCS; k++)); do
    first=$((1 + k * PER)); n=$PER
    [ $((first + n - 1)) -gt "$SESSIONS" ] && n=$((SESSIONS - first + 1))
    # shellcheck disable=SC2086
    "$GEN" soak --host "$IP" --port 5222 --domain "$DOMAIN" --cafile "$CERTS/ca.crt" \
        --sasl scram --password "$PASSWORD" --scram-cache "$RUN/gen.scram" \
        --src "127.0.$((k + 1)).1" --src-count 8 --rate "$LOGIN_RATE" --max-pending 100 \
        --connections "$n" --first "$first" --duration "$SECS" --stats "$RUN/gen$k.stats" \
        --seed $((k + 1)) --hold-end 120 $GEN_ARGS \
        > "$RUN/gen$k.json" 2> "$RUN/gen$k.log" &
    GPIDS+=($!)
done

phase=ramp
t_start=$(date +%s)
while :; do
    sleep "$INTERVAL" &
    wait $!
    kill -0 "$SPID" 2>/dev/null || { log "mynad died"; break; }
    states=$(cat "$RUN"/gen*.stats 2>/dev/null | tr ' ' '\n' | awk -F= '$1 == "state" {print $2}' | sort -u | tr '\n' ' ')
    done_n=$(cat "$RUN"/gen*.stats 2>/dev/null | grep -c 'state=done')
    alive=0
    for p in "${GPIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    case $states in *traffic*) phase=traffic ;; *settle*) phase=settle ;; esac
    if [ "$done_n" -ge "$PROCS" ] || [ "$alive" -eq 0 ]; then
        sample end
        ctl > "$RUN/stats-end.txt"
        break
    fi
    sample "$phase"
    log "$phase: $(tail -1 "$CSV" | cut -d, -f3-8) sent/recv/err $(gen_sum sent)/$(gen_sum received)/$(gen_sum errors)"
done
# The generators log every session out (stream close) once their stats file is gone.
rm -f "$RUN"/gen*.stats
GEN_RC=0
for p in "${GPIDS[@]}"; do wait "$p" || GEN_RC=1; done
GPIDS=()
for ((i = 0; i < 120; i++)); do
    s=$(ctl | awk -F= '$1 == "sessions" {print $2}')
    [ "${s:-1}" = 0 ] && break
    sleep 0.5
done
sleep 2
sample after
ctl > "$RUN/stats-after.txt"
log "stopping mynad"
kill -TERM "$SPID"
wait "$SPID"
SRV_RC=$?
SPID=

"$PY" "$SRC/bench/soak_check.py" --csv "$CSV" --log "$DIR/mynad.log" --server-rc "$SRV_RC" \
    --gen-rc "$GEN_RC" --sessions "$SESSIONS" --minutes "$MINUTES" --build "$BUILD" \
    --out "$OUT/$STEM" "$RUN"/gen*.json
RC=$?
cp "$CSV" "$OUT/$STEM.csv"
log "results: $OUT/$STEM.md ($OUT/$STEM.csv); raw files in $RUN"
exit $RC
}
