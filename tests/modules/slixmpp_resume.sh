#!/bin/sh
# Runs tests/modules/test_slixmpp_resume.py (XEP-0198 resumption with slixmpp's plugin).
MODTEST_MODULES=offline \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_slixmpp_resume.py"
