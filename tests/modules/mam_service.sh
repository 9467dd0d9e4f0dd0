#!/bin/sh
# Runs tests/modules/test_mam_service.py: the archive service (myna/archive.h) through the
# test module archtest (rooms.HOST), against a fresh mynad with mam and archtest enabled.
MODTEST_MODULES="mam archtest"
export MODTEST_MODULES
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/modules/test_mam_service.py"
