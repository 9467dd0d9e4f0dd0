#!/bin/sh
# tests/web/npm-setup.sh DIR — installs the npm packages of the web tests (package.json
# beside this script, exact versions; package-node18.json under Debian 12's node 18, for
# which the newest playwright-core is too new) into DIR/node_modules from the npm
# registry, once:
# later runs find them there (the cache lives in the build directory). Serialized with
# flock, since tests run in parallel. Exit status 0 when the packages are there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir" || exit 1
command -v npm >/dev/null 2>&1 || { echo "npm not found (apt-get install npm)"; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || major=0
pkg=$here/package.json
[ "$major" -lt 20 ] && pkg=$here/package-node18.json
exec 9>"$dir/.npm-lock"
flock 9
if [ -d "$dir/node_modules" ] && cmp -s "$pkg" "$dir/package.json"; then
    exit 0
fi
cp "$pkg" "$dir/package.json" || exit 1
rm -rf "$dir/node_modules"
cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error \
    --cache "$dir/.npm-cache" >"$dir/npm-install.log" 2>&1 || {
    cat "$dir/npm-install.log"
    rm -rf "$dir/node_modules"
    exit 1
}
