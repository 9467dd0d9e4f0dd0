#!/bin/sh
# tests/e2e/register-off.sh — test_register.py off: registration is off by default.
exec /usr/bin/python3 "${srcdir:-.}/tests/e2e/harness.py" --builddir="$PWD" \
    "${srcdir:-.}/tests/e2e/test_register.py" off
