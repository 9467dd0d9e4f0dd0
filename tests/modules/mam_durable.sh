#!/bin/sh
# Runs tests/modules/test_mam_durable.py: delivered messages are in the archive after
# SIGKILL (the test starts and restarts mynad itself).
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/test_mam_durable.py" --builddir="$PWD"
