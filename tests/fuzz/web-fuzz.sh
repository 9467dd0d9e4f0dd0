#!/bin/sh
# The web fuzz target (BOSH and WebSocket sessions into the real server) for a short run in
# make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" web
