#!/bin/sh
# The Debian package: build, lintian, install in a clean Debian 12 root, run, purge
# (see tests/package/package.py; skipped without root or the packaging tools).
exec /usr/bin/python3 "${srcdir:-.}/tests/package/package.py" --builddir="$PWD"
