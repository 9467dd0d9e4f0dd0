#!/bin/sh
# Runs tests/modules/test_pep_slixmpp.py (OMEMO nodes and XEP-0223 with slixmpp's generic
# PEP plugins) against a fresh mynad with the pubsub and private modules.
MODTEST_MODULES="private pubsub" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pep_slixmpp.py"
