#!/bin/sh
# The SASL message fuzz target (SCRAM, PLAIN) for a short run in make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" sasl
