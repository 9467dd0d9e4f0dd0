#!/bin/sh
# tests/e2e/mkcerts.sh — a throwaway test CA and one certificate per domain (with *.DOMAIN),
# made with the openssl CLI only. Used by the e2e harness and by anyone who wants test certs.
# Usage: mkcerts.sh DIR DOMAIN...   -> DIR/ca.crt, DIR/ca.key, DIR/DOMAIN.crt (leaf + CA chain),
#        DIR/DOMAIN.key. ECDSA P-256, SHA-256 signatures (RFC 5929 tls-server-end-point hashes
#        with SHA-256 then). Existing files are reused, so the CA stays stable within DIR.
#        MKCERTS_IPS="127.0.0.1 ..." adds IP subjectAltNames (libpurple checks the certificate
#        against its connect_server, which the tests set to the IP).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR DOMAIN..." >&2; exit 2; }
dir=$1; shift
mkdir -p "$dir"
cd "$dir"
umask 077

if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Myna test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt 2>/dev/null
fi

for d in "$@"; do
    [ -s "$d.crt" ] && [ -s "$d.key" ] && continue
    openssl ecparam -name prime256v1 -genkey -noout -out "$d.key" 2>/dev/null
    openssl req -new -key "$d.key" -subj "/CN=$d" -out "$d.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectAltName=DNS:$d,DNS:*.$d$(for ip in ${MKCERTS_IPS:-}; do printf ',IP:%s' "$ip"; done)" \
        > "$d.ext"
    openssl x509 -req -in "$d.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
        -days 825 -extfile "$d.ext" -out "$d.leaf" 2>/dev/null
    cat "$d.leaf" ca.crt > "$d.crt"
    rm -f "$d.csr" "$d.ext" "$d.leaf"
done
chmod 644 ca.crt ./*.crt
