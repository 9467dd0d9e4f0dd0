#!/bin/sh
# Runs tests/modules/test_nbxmpp_resume.py (XEP-0198 resumption as Gajim's nbxmpp does it).
MODTEST_MODULES=offline \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_nbxmpp_resume.py"
