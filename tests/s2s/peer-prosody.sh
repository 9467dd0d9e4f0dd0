#!/bin/sh
# Federation Myna <-> Prosody (see tests/s2s/peers.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/s2s/peers.py" --builddir="$PWD" prosody
