#!/bin/sh
# scripts/quickstart.sh — build Myna and run it for domain "localhost" in ./run/.
# First run: installs missing build packages (as root), builds in ./build, writes
# ./run/myna.conf, a self-signed certificate (./run/certs), the data dir (./run/data) and
# the account admin@localhost with a random password, kept in ./run/credentials (mode 600).
# Later runs reuse all of it and never re-create the account. Ends by running mynad in the
# foreground (Ctrl-C stops it). Clients: connect to localhost:5222 (STARTTLS) or 5223 (TLS)
# and accept the self-signed certificate (or trust ./run/certs/localhost.crt).
set -eu
cd "$(dirname "$0")/.."
SRC=$(pwd)
RUN=$SRC/run
BUILD=$SRC/build
DOMAIN=localhost

PACKAGES="build-essential autoconf automake libtool pkg-config libexpat1-dev libssl-dev
liblmdb-dev libstrophe-dev libconfig-dev libidn-dev libcmocka-dev libhttp-parser-dev
libwslay-dev openssl"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "please install (as root):$missing" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

[ -x configure ] || autoreconf -fi
mkdir -p "$BUILD"
# -k: build everything that can be built; what the quick start needs is checked below.
( cd "$BUILD" && { [ -f Makefile ] || "$SRC/configure" -q; } && make -k -j2 >build.log 2>&1 ) ||
    echo "note: parts of the build failed (see $BUILD/build.log)" >&2
[ -x "$BUILD/mynad" ] && [ -d "$BUILD/modules/.libs" ] || {
    echo "mynad did not build; see $BUILD/build.log" >&2; exit 1; }

# The certificate is public (a desktop client running as a normal user must be able to
# read it to trust it); the key, the data and the credentials are not.
mkdir -p "$RUN/certs" "$RUN/data"
chmod 755 "$RUN" "$RUN/certs"
chmod 700 "$RUN/data"
if [ ! -s "$RUN/certs/$DOMAIN.key" ]; then
    (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 3650 -subj "/CN=$DOMAIN" -addext "subjectAltName=DNS:$DOMAIN,DNS:*.$DOMAIN" \
        -keyout "$RUN/certs/$DOMAIN.key" -out "$RUN/certs/$DOMAIN.crt" 2>/dev/null)
    echo "created a self-signed certificate: $RUN/certs/$DOMAIN.crt"
fi
chmod 644 "$RUN/certs/$DOMAIN.crt"
chmod 600 "$RUN/certs/$DOMAIN.key"
[ ! -e "$RUN/credentials" ] || chmod 600 "$RUN/credentials"
[ ! -e "$RUN/myna.conf" ] || chmod 600 "$RUN/myna.conf"

# Debian resolves localhost to ::1 first: listen on both loopbacks where IPv6 exists.
LISTEN="    { type = \"c2s\"; address = \"127.0.0.1\"; port = 5222; tls = \"starttls\"; },
    { type = \"c2s\"; address = \"127.0.0.1\"; port = 5223; tls = \"direct\"; }"
if [ -e /proc/net/if_inet6 ] && grep -q ' lo$' /proc/net/if_inet6 2>/dev/null; then
    LISTEN="$LISTEN,
    { type = \"c2s\"; address = \"::1\"; port = 5222; tls = \"starttls\"; },
    { type = \"c2s\"; address = \"::1\"; port = 5223; tls = \"direct\"; }"
fi
if [ ! -s "$RUN/myna.conf" ]; then
    cat > "$RUN/myna.conf" <<CONF
# Written by scripts/quickstart.sh; see contrib/myna.conf for every setting.
data_dir = "data";
log = { level = "info"; syslog = false; };
hosts = (
    { domain = "$DOMAIN"; certificate = "certs/$DOMAIN.crt"; key = "certs/$DOMAIN.key"; }
);
listen = (
$LISTEN
);
modules = {
    path = "$BUILD/modules/.libs";
    enabled = [ "disco", "ping", "version", "time", "roster", "blocking", "carbons", "offline", "private", "muc", "pubsub", "mam" ];
};
allow_registration = false;
CONF
    chmod 600 "$RUN/myna.conf"
    echo "wrote $RUN/myna.conf"
fi

JID=admin@$DOMAIN
if [ -s "$RUN/credentials" ]; then
    echo "account: $JID (password set on first run, see $RUN/credentials)"
else
    PASS=$(openssl rand -base64 15 | tr -d '/+=' | cut -c1-16)
    if [ -x "$BUILD/mynactl" ]; then
        "$BUILD/mynactl" -c "$RUN/myna.conf" adduser "$JID" "$PASS"
    else  # mynactl not built yet in this tree: the test helper writes the same record
        ( cd "$BUILD" && make tests/e2e/e2e_adduser >/dev/null )
        "$BUILD/tests/e2e/e2e_adduser" "$RUN/data" 1024 "$JID" "$PASS"
    fi
    (umask 077; printf 'jid=%s\npassword=%s\n' "$JID" "$PASS" > "$RUN/credentials")
    echo "account: $JID  password: $PASS  (saved in $RUN/credentials)"
fi
echo "starting mynad (Ctrl-C to stop)"
exec "$BUILD/mynad" -c "$RUN/myna.conf"
