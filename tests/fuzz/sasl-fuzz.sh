#!/bin/sh
# tests/fuzz/sasl-fuzz.sh — the SASL message fuzz target for 15 s (see peer-fuzz.sh).
exec sh "${srcdir:-.}/tests/fuzz/peer-fuzz.sh" sasl
