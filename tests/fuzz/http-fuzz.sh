#!/bin/sh
# The HTTP request and WebSocket frame fuzz target for a short run in make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" http
