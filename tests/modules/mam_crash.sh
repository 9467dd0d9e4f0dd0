#!/bin/sh
# Runs tests/modules/test_mam_crash.py: archive ids across SIGKILL and SIGTERM of mynad
# (the test starts and restarts mynad itself).
exec /usr/bin/python3 "${srcdir:-.}/tests/modules/test_mam_crash.py" --builddir="$PWD"
