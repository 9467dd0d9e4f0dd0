#!/bin/sh
# Runs tests/modules/test_stream_fuzz.py (2 x 20 s of mutated stanzas) against a fresh mynad
# with every feature module loaded.
MODTEST_MODULES="carbons offline private muc pubsub" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_stream_fuzz.py" 20
