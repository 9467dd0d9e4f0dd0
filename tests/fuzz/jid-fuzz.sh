#!/bin/sh
# The JID fuzz target (RFC 7622) for a short run in make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" jid
