#!/bin/sh
# Runs tests/modules/test_resume.py (XEP-0198 resumption, in the core) against a fresh mynad
# with offline storage, a 3 s resumption timeout, a cap of 50 unacknowledged stanzas and a
# resumption location on the host and another on the STARTTLS listener.
MODTEST_MODULES=offline MODTEST_HOST_CONF='sm_location = "resume.myna.test:5222";' \
MODTEST_STARTTLS_CONF='sm_location = "[2001:db8::7]:5222";' \
E2E_MYNA_LIMITS='sm_resume_timeout = 3; sm_max_unacked = 50;' \
    exec /usr/bin/python3 "${srcdir:-.}/tests/modules/modharness.py" \
    --builddir="$PWD" "${srcdir:-.}/tests/modules/test_resume.py"
