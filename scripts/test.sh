#!/bin/sh
# scripts/test.sh — the whole test run, from a fresh Debian 12 machine (as root) or an
# existing one: installs what is missing, regenerates the build system, builds with
# sanitizers and -Werror in ./build-test (or $BUILDDIR), runs `make check` (unit + e2e
# tests), prints the logs of failed tests and ends with "N passed, N failed".
# MYNA_DISTCHECK=1 also runs `make distcheck` (slower). Exit status: 0 only if all passed.
set -u
cd "$(dirname "$0")/.."
SRC=$(pwd)
BUILD=${BUILDDIR:-$SRC/build-test}
JOBS=${JOBS:-2}

PACKAGES="build-essential autoconf automake libtool pkg-config libexpat1-dev libssl-dev
liblmdb-dev libc-ares-dev libstrophe-dev libconfig-dev libidn-dev libcmocka-dev libpurple-dev
libglib2.0-dev python3 python3-slixmpp python3-nbxmpp python3-gi gir1.2-glib-2.0 gir1.2-soup-3.0 openssl
prosody ejabberd lua-unbound clang dpkg-dev debhelper lintian mmdebstrap iproute2 systemd
libhttp-parser-dev libwslay-dev nodejs chromium"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# npm comes with Debian's nodejs as a package of its own, inside other builds of node.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "== installing:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages and not root: run as root or install them:$missing" >&2
        exit 2
    fi
    # Servers from the archive must not start on their own (ports, and tests run their own
    # instances). An existing policy-rc.d is the admin's: keep it, and put it back after.
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [ -e "$policy" ]; then
        saved=$(mktemp) && cp -p "$policy" "$saved" || exit 2
    fi
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends $missing
    apt_rc=$?
    if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
    [ $apt_rc -eq 0 ] || exit 2
    # Nor start at the next boot: they would take 5222/5269/5280 from the quick start.
    # Only the services this run installed; one the admin had before is left as it was.
    # (unit:package that brings it; epmd comes with ejabberd's Erlang.)
    for pair in prosody:prosody ejabberd:ejabberd epmd.service:ejabberd epmd.socket:ejabberd; do
        unit=${pair%%:*} pkg=${pair#*:}
        case " $missing " in *" $pkg "*) ;; *) continue ;; esac
        if command -v systemctl >/dev/null 2>&1; then
            systemctl disable "$unit" >/dev/null 2>&1 || true
        fi
        svc=${unit%.service}
        if [ "$svc" = "$unit" ] || [ ! -e "/etc/init.d/$svc" ]; then continue; fi
        command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$svc" disable >/dev/null 2>&1
    done
fi

echo "== autoreconf"
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 2; }
mkdir -p "$BUILD" && cd "$BUILD" || exit 2
echo "== configure in $BUILD"
"$SRC/configure" -q --enable-sanitizers --enable-werror || exit 2
echo "== make -j$JOBS"
make -j"$JOBS" >build.log 2>&1 || { tail -50 build.log; echo "0 passed, 1 failed"; exit 1; }
echo "== make check"
make -j"$JOBS" check >check.log 2>&1
check_rc=$?

# Failed tests: show their logs (automake writes test-suite.log with every failure in it).
if [ $check_rc -ne 0 ]; then
    if [ -f test-suite.log ]; then cat test-suite.log; else tail -60 check.log; fi
fi
grep -E '^(PASS|FAIL|XPASS|XFAIL|SKIP|ERROR):' check.log | sed 's/^/  /'

dist_rc=0
if [ "${MYNA_DISTCHECK:-0}" = 1 ] && [ $check_rc -eq 0 ]; then
    echo "== make distcheck"
    make -j"$JOBS" distcheck >distcheck.log 2>&1 || { dist_rc=1; tail -40 distcheck.log; }
fi

# Counts from automake's summary ("# PASS:  N" ...); skips count as neither.
count() { sed -n "s/^# $1: *\\([0-9]*\\).*/\\1/p" check.log | awk '{s+=$1} END {print s+0}'; }
passed=$(count PASS)
failed=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) + dist_rc ))
if [ $check_rc -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # build of tests failed
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
