#!/bin/bash
# bench/run.sh: runs Myna, Prosody 0.12 and ejabberd 23.01 side by side on loopback and
# measures them with myna-bench. Each server gets its own address and standard ports,
# its own throwaway certificate (one CA for all), TLS required, rate limits lifted, and the
# same accounts (u1..uN, password "benchpass"). Every scenario runs on a freshly started
# server. Results: bench/results/latest.json and bench/results/latest.md (ratios included).
# Never part of `make check`. Only 127.0.0.0/8 is used. See docs/performance.md.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
MODE=quick
MUC_RUNS_ARG=
SERVERS="myna prosody ejabberd"
SCENARIOS="idle connections reconnect chat chatmax muc offline mam chatmam mucmam websocket"
BUILD=${BUILD:-}
WORK=${BENCH_WORK:-/tmp/myna-bench}
OUT=$SRC/bench/results
SASL=scram
PASSWORD=benchpass
# What a session does at login in the connections scenario: "realistic" (roster get and
# initial presence after bind, as every client does) or "bare" (bind only).
SESSION=realistic
PIN=no
ISSUE14=no

usage() {
    cat <<EOF
usage: bench/run.sh [--quick|--full] [--servers "myna prosody ejabberd"]
                    [--scenarios "idle connections reconnect chat chatmax muc offline mam chatmam mucmam
                                  websocket"]
                    [--build DIR] [--work DIR] [--out DIR] [--sasl scram|plain]
                    [--muc-runs "OCCUPANTS:MSG_PER_S:STEM ..."] [--bare] [--pin]
                    [--issue14]
  --quick   connections 1000; chat 50 pairs at 500 msg/s for 10 s; muc 100 occupants at
            20 and 200 msg/s, 1000 occupants at 2 and 20 msg/s;
            offline 10000 messages; chatmax steps of 5 s (default)
  reconnect 1000 sessions (roster and presence) cut 3 times (no stream close): back with
            a full login, then with an XEP-0198 resume; Myna only for now
  mam       the server restarted with its message archive (Myna mam, Prosody mod_mam,
            ejabberd mod_mam): 100000 messages archived, then 200 queries for the last 50
  chatmam   the chat scenario again with the archive on (compare server CPU/msg with chat)
  mucmam    the muc runs again with the archive on: Myna's rooms then log into their
            archives (compare server CPU/delivery with muc); Myna only for now
  websocket XMPP over WebSocket next to TCP (bench/wsbench.py, the same client code for
            both): KiB per idle session (1000 sessions; --full 5000) and chat msg/s with
            the chat scenario's pairs and rate
  --full    connections 1000, 10000 and 19500 (the 20000 file limit); chat 500 pairs at
            500 and 2000 msg/s for 30 s; chatmax steps of 10 s
  tlslimit  the single-core TLS 1.3 handshake limit: bench/myna-bench-tls serve (Myna's TLS
            settings, Myna's certificate) pinned to core 0, its client pinned to core 1;
            full handshakes, then resumed ones (tickets); run once, not per server
  --pin     the server on core 0 (taskset -a, every thread), the generator on core 1, so
            a server's single-core ceiling shows (chatmax) and the generator cannot steal
            its core
  --issue14 the rows of issue 14 side by side: --pin, scenarios "connections chat chatmax
            tlslimit", chat 100 pairs at 500 and 2000 msg/s; connections also measures
            logins resuming TLS tickets (where a server resumes: "TLS handshakes resumed")
  --bare    connections log in and bind only (default: realistic sessions that also get
            their roster and send initial presence, as clients do)
  --muc-runs  MUC runs instead of the mode's (e.g. "100:1000:muc-100-sat" for saturation)
  --build   Myna build directory holding mynad, mynactl, modules/.libs and
            bench/myna-bench (default: \$BUILD, else the source tree)
Results go to OUT/latest.json and OUT/latest.md; raw files stay in the work dir.
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --quick) MODE=quick ;;
        --full) MODE=full ;;
        --servers) SERVERS=$2; shift ;;
        --scenarios) SCENARIOS=$2; shift ;;
        --build) BUILD=$2; shift ;;
        --work) WORK=$2; shift ;;
        --out) OUT=$2; shift ;;
        --sasl) SASL=$2; shift ;;
        --muc-runs) MUC_RUNS_ARG=$2; shift ;;
        --bare) SESSION=bare ;;
        --pin) PIN=yes ;;
        --issue14) ISSUE14=yes ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$MODE" = full ]; then
    CONN_SIZES="1000 10000 19500"
    WS_IDLE=5000
    CHAT_PAIRS=500; CHAT_RATES="500 2000"; CHAT_DUR=30; STEP_DUR=10
    MUC_RATE=50; MUC_DUR=20
    MUC_RUNS="100:50:muc 100:500:muc-100-high 1000:5:muc-1000 1000:50:muc-1000-high"
else
    CONN_SIZES=${BENCH_CONN_SIZES:-1000}
    WS_IDLE=${BENCH_WS_IDLE:-1000}
    CHAT_PAIRS=50; CHAT_RATES="500"; CHAT_DUR=10; STEP_DUR=5
    MUC_RATE=20; MUC_DUR=10
    MUC_RUNS="100:20:muc 100:200:muc-100-high 1000:2:muc-1000 1000:20:muc-1000-high"
fi
if [ "$ISSUE14" = yes ]; then
    PIN=yes
    SCENARIOS="connections chat chatmax tlslimit"
    CHAT_PAIRS=100; CHAT_RATES="500 2000"
fi
# MUC runs: occupants:msg/s:result stem (a fixed load, then ten times that).
MUC_RUNS=${MUC_RUNS_ARG:-$MUC_RUNS}
MUC_OCC=1000
OFFLINE_MSGS=10000
MAM_MSGS=${BENCH_MAM_MESSAGES:-100000}; MAM_QUERIES=200; MAM_MAX=50
MAM=no # the archive is enabled for the mam and chatmam scenarios only
USERS=$MUC_OCC
SESSION_ARGS=
[ "$SESSION" = realistic ] && SESSION_ARGS="--roster --presence"
for n in $CONN_SIZES $((2 * CHAT_PAIRS)); do [ "$n" -gt "$USERS" ] && USERS=$n; done

[ -n "$BUILD" ] || BUILD=$SRC
GEN=$BUILD/bench/myna-bench
GEN_PIN=
[ "$PIN" = yes ] && GEN_PIN="taskset -c 1"
if [ ! -x "$GEN" ]; then
    echo "run.sh: $GEN not found: build it with 'make bench/myna-bench' in the build dir" >&2
    exit 2
fi

# Override with BENCH_MYNA_IP etc. when another run already uses these (shared machines).
declare -A IP=([myna]=${BENCH_MYNA_IP:-127.0.0.10} [prosody]=${BENCH_PROSODY_IP:-127.0.0.11}
               [ejabberd]=${BENCH_EJABBERD_IP:-127.0.0.12})
# WebSocket endpoints (the websocket scenario): Prosody's mod_websocket and ejabberd's
# ejabberd_http_ws on each server's HTTP port.
declare -A WS_PATH=([myna]=/xmpp-websocket [prosody]=/xmpp-websocket [ejabberd]=/ws)
declare -A DOMAIN=([myna]=myna.bench [prosody]=prosody.bench [ejabberd]=ejabberd.bench)
# ejabberd's Erlang node name: another run on the machine (BENCH_EJ_NODE) must not share
# it, or ejabberdctl would start, stop or register on that run's node.
EJ_NODE=${BENCH_EJ_NODE:-mynabench}
SPID=
NEEDS_WARM=no

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

RUN=$WORK/run-$(date +%Y%m%d-%H%M%S)
CERTS=$WORK/certs
mkdir -p "$RUN" "$CERTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ---- certificates: one CA, one certificate per domain with *.DOMAIN ----
make_certs() {
    [ -f "$CERTS/ca.crt" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=myna-bench CA" -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" 2>/dev/null
    local d
    for d in "${DOMAIN[@]}"; do
        [ -f "$CERTS/$d.crt" ] && continue
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$d" -keyout "$CERTS/$d.key" \
            -out "$CERTS/$d.csr" 2>/dev/null
        printf 'subjectAltName=DNS:%s,DNS:*.%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$d" "$d" \
            > "$CERTS/$d.ext"
        openssl x509 -req -in "$CERTS/$d.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
            -CAcreateserial -days 30 -extfile "$CERTS/$d.ext" -out "$CERTS/$d.crt" 2>/dev/null
        cat "$CERTS/$d.crt" "$CERTS/$d.key" > "$CERTS/$d.pem"
        chmod 600 "$CERTS/$d.key" "$CERTS/$d.pem"
    done
}

fill() { # template dir name: writes the server's config with @VARS@ replaced
    sed -e "s|@DIR@|$2|g" -e "s|@IP@|${IP[$3]}|g" -e "s|@DOMAIN@|${DOMAIN[$3]}|g" \
        -e "s|@CERTS@|$CERTS|g" -e "s|@NODE@|$EJ_NODE|g" -e "s|@MODDIR@|${MODDIR:-}|g" \
        -e "s|@MODULES@|${MYNA_MODULES:-}|g" -e "s|@MYNA_MAM@|$(mam_conf myna)|g" \
        -e "s|@PROSODY_MAM@|$(mam_conf prosody)|g" -e "s|@EJABBERD_MAM@|$(mam_conf ejabberd)|g" \
        "$1"
}

# The archive's piece of each server's config when MAM=yes: kept forever, archive every
# 1:1 message (Myna's default too), queries of up to 250. Prosody 0.12 and ejabberd 23.01
# keep it in their default stores (Prosody: internal files; ejabberd: Mnesia).
mam_conf() {
    [ "$MAM" = yes ] || return 0
    case $1 in
        myna) printf 'mam = { max_messages = 0; max_age = 0; max_page = 250; };' ;;
        prosody) printf '"mam"; ' ;;
        ejabberd) printf 'mod_mam: { default: always, use_cache: true }' ;;
    esac
}

wait_port() { # ip port seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- per-server start/stop/provision ----
myna_setup() {
    local dir=$WORK/myna
    MYNAD=$BUILD/mynad; MYNACTL=$BUILD/mynactl; MODDIR=$BUILD/modules/.libs
    [ -x "$MYNAD" ] || { log "myna: $MYNAD missing"; return 1; }
    [ -x "$MYNACTL" ] || [ -x "$BUILD/bench/myna-bench-adduser" ] \
        || { log "myna: neither $MYNACTL nor bench/myna-bench-adduser is built"; return 1; }
    # Myna's default module set (server/base/config.c) except the archive, which only the
    # mam, chatmam and mucmam scenarios load (the peers archive only there too).
    local mods="disco ping version time roster blocking carbons offline private muc pubsub last"
    mods="$mods contact_info extdisco"
    [ "$MAM" = yes ] && mods="$mods mam"
    MYNA_MODULES=$(for m in $mods; do
        [ -f "$MODDIR/$m.so" ] && printf '"%s", ' "$m"; done | sed 's/, $//')
    mkdir -p "$dir/data"
    fill "$SRC/bench/conf/myna.conf.in" "$dir" myna > "$dir/myna.conf"
}
myna_start() {
    local dir=$WORK/myna
    "$MYNAD" -c "$dir/myna.conf" >> "$dir/mynad.log" 2>&1 &
    SPID=$!
    wait_port "${IP[myna]}" 5222 20
}
myna_stop() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null
    local i; for ((i = 0; i < 100; i++)); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=
}
myna_provision() { # accounts u1..uN: the bench bulk writer, else mynactl in a loop
    local dir=$WORK/myna n=$1 i
    [ "$(cat "$dir/provisioned" 2>/dev/null || echo 0)" -ge "$n" ] && return 0
    myna_stop
    if [ -x "$BUILD/bench/myna-bench-adduser" ]; then
        "$BUILD/bench/myna-bench-adduser" "$dir/data" 4096 "${DOMAIN[myna]}" u 1 "$n" "$PASSWORD" \
            || { log "myna: myna-bench-adduser failed"; return 1; }
    else
        NEEDS_WARM=yes
        for ((i = 1; i <= n; i++)); do
            "$MYNACTL" -c "$dir/myna.conf" adduser "u$i@${DOMAIN[myna]}" "$PASSWORD" >/dev/null 2>&1 \
                || { log "myna: mynactl adduser u$i failed"; return 1; }
        done
    fi
    echo "$n" > "$dir/provisioned"
}

prosody_setup() {
    local dir=$WORK/prosody
    mkdir -p "$dir/data"
    fill "$SRC/bench/conf/prosody.cfg.lua.in" "$dir" prosody > "$dir/prosody.cfg.lua"
}
prosody_start() {
    local dir=$WORK/prosody
    prosody --config "$dir/prosody.cfg.lua" -F >> "$dir/stdout.log" 2>&1 &
    SPID=$!
    wait_port "${IP[prosody]}" 5222 20
}
prosody_stop() { myna_stop; }
prosody_provision() { # one account made by prosodyctl, copied under the other names
    local dir=$WORK/prosody n=$1
    local acc="$dir/data/$(echo "${DOMAIN[prosody]}" | sed 's/\./%2e/g')/accounts"
    if [ ! -f "$acc/u1.dat" ]; then
        prosodyctl --config "$dir/prosody.cfg.lua" register u1 "${DOMAIN[prosody]}" "$PASSWORD" \
            >/dev/null 2>&1 || { log "prosody: prosodyctl register failed"; return 1; }
    fi
    /usr/bin/python3 - "$acc" "$n" <<'EOF'
import os, shutil, sys
acc, n = sys.argv[1], int(sys.argv[2])
for i in range(2, n + 1):
    p = os.path.join(acc, "u%d.dat" % i)
    if not os.path.exists(p):
        shutil.copyfile(os.path.join(acc, "u1.dat"), p)
EOF
}

ejabberd_setup() {
    local dir=$WORK/ejabberd
    mkdir -p "$dir/log" "$dir/db"
    fill "$SRC/bench/conf/ejabberd.yml.in" "$dir" ejabberd > "$dir/ejabberd.yml"
    fill "$SRC/bench/conf/ejabberdctl.cfg.in" "$dir" ejabberd > "$dir/ejabberdctl.cfg"
    cp /etc/ejabberd/inetrc "$dir/inetrc"
    # Run as root (the ejabberd user's 1024 file limit is too low for load tests).
    sed -e 's/^INSTALLUSER=ejabberd$/INSTALLUSER=/' /usr/sbin/ejabberdctl > "$dir/ejabberdctl"
    chmod +x "$dir/ejabberdctl"
}
ejctl() {
    local dir=$WORK/ejabberd
    "$dir/ejabberdctl" --config-dir "$dir" --config "$dir/ejabberd.yml" \
        --ctl-config "$dir/ejabberdctl.cfg" --logs "$dir/log" --spool "$dir/db" \
        --node "$EJ_NODE@localhost" "$@"
}
ejabberd_start() {
    ejctl start >/dev/null 2>&1
    wait_port "${IP[ejabberd]}" 5222 60 || return 1
    ejctl started >/dev/null 2>&1
    SPID=$(pgrep -f "beam.smp.*-sname $EJ_NODE@localhost" | head -1)
    [ -n "$SPID" ]
}
ejabberd_stop() {
    [ -n "$SPID" ] || return 0
    ejctl stop >/dev/null 2>&1
    local i; for ((i = 0; i < 200; i++)); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null; SPID=
}
ejabberd_provision() { # mod_http_api register over keep-alive connections, 2 threads
    local n=$1 dir=$WORK/ejabberd
    NEEDS_WARM=yes # one salt per account: fill the generator's SCRAM cache once
    [ "$(cat "$dir/provisioned" 2>/dev/null || echo 0)" -ge "$n" ] && return 0
    /usr/bin/python3 - "${IP[ejabberd]}" "${DOMAIN[ejabberd]}" "$n" "$PASSWORD" <<'EOF' || return 1
import http.client, json, sys, threading
ip, host, n, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
errors = []
def work(k):
    c = http.client.HTTPConnection(ip, 5280, timeout=30)
    for i in range(1 + k, n + 1, 2):
        body = json.dumps({"user": "u%d" % i, "host": host, "password": pw})
        c.request("POST", "/api/register", body, {"Content-Type": "application/json"})
        r = c.getresponse(); txt = r.read()
        if r.status != 200 and b"already" not in txt:
            errors.append("u%d: %d %s" % (i, r.status, txt[:100])); return
ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
if errors:
    print("ejabberd register failed:", errors[0], file=sys.stderr); sys.exit(1)
EOF
    echo "$n" > "$dir/provisioned"
}

# ---- scenarios ----
gen() { # server name, file stem, scenario args...: JSON to RUN/stem.json, table to .txt
    local s=$1 stem=$2; shift 2
    log "$s: myna-bench $*"
    $GEN_PIN "$GEN" "$@" --host "${IP[$s]}" --domain "${DOMAIN[$s]}" --label "$s" --server-pid "$SPID" \
        --cafile "$CERTS/ca.crt" --sasl "$SASL" --password "$PASSWORD" \
        --scram-cache "$WORK/$s.scram" --src 127.0.0.2 --src-count 4 \
        > "$RUN/$s.$stem.json" 2> "$RUN/$s.$stem.txt"
    local rc=$?
    cat "$RUN/$s.$stem.txt" >&2
    [ -s "$RUN/$s.$stem.json" ] || echo "{\"scenario\":\"$stem\",\"server\":\"$s\",\"error\":\"myna-bench exited $rc\"}" > "$RUN/$s.$stem.json"
    return $rc
}

# --pin: every thread of the server on core 0 (the generator runs on core 1).
pin_server() { [ "$PIN" = yes ] && [ -n "$SPID" ] && taskset -a -p -c 0 "$SPID" >/dev/null 2>&1; return 0; }
restart() { "${1}_stop"; sleep 1; "${1}_start" || { log "$1: did not start"; return 1; }; pin_server; sleep 1; }

bench_server() {
    local s=$1 n
    "${s}_setup" || { echo "{\"scenario\":\"all\",\"server\":\"$s\",\"error\":\"setup failed\"}" > "$RUN/$s.setup.json"; return; }
    "${s}_start" || { log "$s: did not start"; "${s}_stop"; echo "{\"scenario\":\"all\",\"server\":\"$s\",\"error\":\"did not start\"}" > "$RUN/$s.setup.json"; return; }
    if [[ " $SCENARIOS " == *" idle "* ]]; then
        restart "$s" || return
        sleep 3
        echo "{\"scenario\":\"idle\",\"server\":\"$s\",\"server_rss_kb\":$(rss_kb "$SPID")}" > "$RUN/$s.idle.json"
        log "$s: idle RSS $(rss_kb "$SPID") KiB"
    fi
    log "$s: provisioning $USERS accounts"
    NEEDS_WARM=no
    local t0=$SECONDS
    "${s}_provision" "$USERS" || { "${s}_stop"; echo "{\"scenario\":\"all\",\"server\":\"$s\",\"error\":\"provisioning failed\"}" > "$RUN/$s.setup.json"; return; }
    log "$s: provisioned in $((SECONDS - t0)) s"
    restart "$s" || return
    # Fill the generator's SCRAM cache (one PBKDF2 per salt) so no measured run pays it.
    if [ "$SASL" = scram ] && [ "$NEEDS_WARM" = yes ]; then
        "$GEN" connections --connections "$USERS" --rate 3000 --hold 0 --host "${IP[$s]}" \
            --domain "${DOMAIN[$s]}" --sasl scram --password "$PASSWORD" \
            --scram-cache "$WORK/$s.scram" --src 127.0.0.2 --src-count 4 >/dev/null 2>"$RUN/$s.warm.txt"
    fi
    if [[ " $SCENARIOS " == *" connections "* ]]; then
        for n in $CONN_SIZES; do
            restart "$s" || return
            gen "$s" "connections-$n" connections --connections "$n" --rate 3000 --max-pending 200 \
                --hold 10 $SESSION_ARGS
        done
        # The same logins resuming TLS sessions (tickets from an unmeasured first round).
        n=${CONN_SIZES%% *}
        restart "$s" || return
        gen "$s" "connections-resume-$n" connections --connections "$n" --rate 3000 \
            --max-pending 200 --hold 2 --tls-resume $SESSION_ARGS
    fi
    if [[ " $SCENARIOS " == *" reconnect "* && $s == myna ]]; then
        # The cost of a network switch: server CPU per reconnect, full login vs resume.
        restart "$s" || return
        gen "$s" reconnect-login reconnect --connections 1000 --rounds 3 --rate 3000 \
            --roster --presence
        restart "$s" || return
        gen "$s" reconnect-resume reconnect --connections 1000 --rounds 3 --rate 3000 \
            --roster --presence --resume
    elif [[ " $SCENARIOS " == *" reconnect "* ]]; then
        log "$s: reconnect is measured for Myna only"
    fi
    if [[ " $SCENARIOS " == *" chat "* ]]; then
        for r in $CHAT_RATES; do
            restart "$s" || return
            gen "$s" "chat-$r" chat --pairs "$CHAT_PAIRS" --msg-rate "$r" --duration "$CHAT_DUR" --warmup 3
        done
    fi
    if [[ " $SCENARIOS " == *" chatmax "* ]]; then
        restart "$s" || return
        gen "$s" chatmax chat --pairs "$CHAT_PAIRS" --find-max --msg-rate 1000 --step-factor 1.3 \
            --duration "$STEP_DUR" --warmup 2 --max-p99-ms 100
    fi
    if [[ " $SCENARIOS " == *" muc "* ]]; then
        local run occ rate stem
        for run in $MUC_RUNS; do
            IFS=: read -r occ rate stem <<< "$run"
            restart "$s" || return
            gen "$s" "$stem" muc --occupants "$occ" --senders 1 --msg-rate "$rate" \
                --duration "$MUC_DUR" --warmup 2
        done
    fi
    if [[ " $SCENARIOS " == *" offline "* ]]; then
        restart "$s" || return
        gen "$s" offline offline --messages "$OFFLINE_MSGS" --first $((USERS - 1))
    fi
    if [[ " $SCENARIOS " == *" mam "* || " $SCENARIOS " == *" chatmam "* ||
          " $SCENARIOS " == *" mucmam "* ]]; then
        # The same server with its archive: a new config, then a restart per scenario.
        "${s}_stop"; MAM=yes; "${s}_setup" || { MAM=no; return; }
        if [[ " $SCENARIOS " == *" mam "* ]]; then
            restart "$s" || { MAM=no; return; }
            gen "$s" mam mam --messages "$MAM_MSGS" --queries "$MAM_QUERIES" \
                --query-max "$MAM_MAX" --first $((USERS - 3))
        fi
        if [[ " $SCENARIOS " == *" chatmam "* ]]; then
            for r in $CHAT_RATES; do
                restart "$s" || { MAM=no; return; }
                gen "$s" "chatmam-$r" chat --pairs "$CHAT_PAIRS" --msg-rate "$r" \
                    --duration "$CHAT_DUR" --warmup 3
            done
        fi
        # Room archives: Myna's rooms log by default when its mam module is loaded. The
        # peers would need mod_muc_mam (Prosody) or the rooms' mam option (ejabberd).
        if [[ " $SCENARIOS " == *" mucmam "* && $s == myna ]]; then
            local run occ rate stem
            for run in $MUC_RUNS; do
                IFS=: read -r occ rate stem <<< "$run"
                restart "$s" || { MAM=no; return; }
                gen "$s" "$stem-mam" muc --occupants "$occ" --senders 1 --msg-rate "$rate" \
                    --duration "$MUC_DUR" --warmup 2
            done
        elif [[ " $SCENARIOS " == *" mucmam "* ]]; then
            log "$s: mucmam is measured for Myna only (room archives not configured here)"
        fi
        "${s}_stop"; MAM=no; "${s}_setup"
    fi
    if [[ " $SCENARIOS " == *" websocket "* ]]; then
        local tr
        for tr in tcp ws; do
            restart "$s" || return
            wsgen "$s" "ws-idle-$tr" idle --transport "$tr" --sessions "$WS_IDLE"
            restart "$s" || return
            wsgen "$s" "ws-chat-$tr" chat --transport "$tr" --pairs "$CHAT_PAIRS" \
                --rate "${CHAT_RATES%% *}" --duration "$CHAT_DUR"
        done
    fi
    "${s}_stop"
}

tls_limit() { # full|resumed: the bare handshake loop, server pinned to core 0, client to core 1
    local kind=$1 tls=$BUILD/bench/myna-bench-tls n=${BENCH_TLS_HANDSHAKES:-3000} pid
    if [ ! -x "$tls" ]; then
        echo "{\"scenario\":\"tlslimit-$kind\",\"error\":\"$tls not built\"}" > "$RUN/myna.tlslimit-$kind.json"
        return
    fi
    log "tlslimit: $n $kind handshakes (myna-bench-tls, server on core 0, client on core 1)"
    taskset -c 0 "$tls" serve "${IP[myna]}" 5399 "$CERTS/${DOMAIN[myna]}.crt" \
        "$CERTS/${DOMAIN[myna]}.key" 600 > "$RUN/myna.tlslimit-$kind.json" 2> "$RUN/myna.tlslimit-$kind.txt" &
    pid=$!
    # Wait for the listener without connecting (a probe would count as a failed handshake).
    local i; for ((i = 0; i < 50; i++)); do
        ss -Hltn "src ${IP[myna]}:5399" 2>/dev/null | grep -q . && break; sleep 0.1
    done
    # Resumed: each of the 32 client slots resumes the ticket of its previous connection.
    taskset -c 1 "$tls" connect "${IP[myna]}" 5399 "${DOMAIN[myna]}" "$CERTS/ca.crt" "$n" 32 \
        $([ "$kind" = resumed ] && echo resume) 2>> "$RUN/myna.tlslimit-$kind.txt"
    kill -TERM "$pid"; wait "$pid"
    cat "$RUN/myna.tlslimit-$kind.txt" >&2
    [ -s "$RUN/myna.tlslimit-$kind.json" ] || echo "{\"scenario\":\"tlslimit-$kind\",\"error\":\"myna-bench-tls failed\"}" > "$RUN/myna.tlslimit-$kind.json"
}

wsgen() { # server, file stem, wsbench args...: JSON to RUN/stem.json
    local s=$1 stem=$2; shift 2
    log "$s: wsbench $*"
    /usr/bin/python3 "$SRC/bench/wsbench.py" "$@" --url "ws://${IP[$s]}:5280${WS_PATH[$s]}" \
        --host "${IP[$s]}" --cafile "$CERTS/ca.crt" --domain "${DOMAIN[$s]}" \
        --password "$PASSWORD" --server-pid "$SPID" --label "$s" > "$RUN/$s.$stem.json"
    [ -s "$RUN/$s.$stem.json" ] || echo "{\"scenario\":\"$stem\",\"server\":\"$s\",\"error\":\"wsbench failed\"}" > "$RUN/$s.$stem.json"
}

trap 'for s in $SERVERS; do "${s}_stop" 2>/dev/null; done' EXIT
make_certs
if [[ " $SCENARIOS " == *" tlslimit "* ]]; then
    tls_limit full
    tls_limit resumed
fi
for s in $SERVERS; do
    SPID=
    bench_server "$s"
done
trap - EXIT

mkdir -p "$OUT"
/usr/bin/python3 "$SRC/bench/report.py" --mode "$MODE" --run "$RUN" --json "$OUT/latest.json" \
    --md "$OUT/latest.md"
log "results: $OUT/latest.json $OUT/latest.md (raw: $RUN)"
