#!/bin/sh
# The s2s fuzz target for a short run in make check (tests/fuzz/fuzz-run.sh).
exec "${srcdir:-.}/tests/fuzz/fuzz-run.sh" s2s
