#!/bin/sh
# The closing scenario: Pidgin (libpurple) on Myna meets a Prosody user (tests/s2s/peers.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/s2s/peers.py" --builddir="$PWD" purple
