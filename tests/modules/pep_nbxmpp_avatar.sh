#!/bin/sh
# Runs tests/modules/test_pep_nbxmpp.py scenario "avatar" (python3-nbxmpp, Gajim's library)
# against a fresh mynad with the pubsub and private modules.
MODTEST_MODULES="private pubsub" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pep_nbxmpp.py" avatar
