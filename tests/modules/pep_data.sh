#!/bin/sh
# Runs tests/modules/test_pep_data.py (bookmarks, avatars, vCard4, nickname, OMEMO nodes on
# raw XML) against a fresh mynad with the pubsub and private modules.
MODTEST_MODULES="private pubsub" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pep_data.py"
