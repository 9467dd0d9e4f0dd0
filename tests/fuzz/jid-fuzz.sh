#!/bin/sh
# tests/fuzz/jid-fuzz.sh — the JID fuzz target for 15 s (see peer-fuzz.sh).
exec sh "${srcdir:-.}/tests/fuzz/peer-fuzz.sh" jid
