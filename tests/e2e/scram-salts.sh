#!/bin/sh
# tests/e2e/scram-salts.sh — test_scram_salts.py with a configured PBKDF2 iteration count.
E2E_MYNA_CONFIG="scram_iterations = 5000;" exec /usr/bin/python3 \
    "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" "${srcdir:-.}/tests/e2e/test_scram_salts.py"
