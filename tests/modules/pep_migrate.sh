#!/bin/sh
# Runs tests/modules/test_pep_migrate.py: mynad starts with the private module only; the
# test enables pubsub with mynactl reload.
MODTEST_MODULES="private" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_pep_migrate.py"
