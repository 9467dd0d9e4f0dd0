#!/bin/sh
# The compact TLS 1.3 record layer fuzz target for a short run in make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" tlsrec
