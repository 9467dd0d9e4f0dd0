# tests/e2e/: end-to-end tests: real clients (libstrophe, raw XML, slixmpp, nbxmpp, libpurple)
# against a real mynad started per test by tests/e2e/harness.py (fresh config, test CA,
# free ports, temp data dir; always cleaned up). E2E_SERVER=prosody runs the same tests
# against Debian's Prosody to check the tests themselves. See docs/testing.md.
E2E_PY = /usr/bin/python3
E2E_HARNESS = $(E2E_PY) $(top_srcdir)/tests/e2e/harness.py --builddir=$(abs_top_builddir)

# Tests named *.e2e name a check program and its arguments; *.py are Python tests. Both run
# through the harness; extension-less tests (unit tests) keep running directly.
TEST_EXTENSIONS = .e2e .py
E2E_LOG_COMPILER = $(E2E_HARNESS)
PY_LOG_COMPILER = $(E2E_HARNESS)

E2E_STROPHE_CFLAGS = $(AM_CFLAGS) $(STROPHE_CFLAGS)
E2E_COMMON = tests/e2e/e2e_strophe.c tests/e2e/e2e_strophe.h

check_PROGRAMS += tests/e2e/strophe_login tests/e2e/strophe_message \
	tests/e2e/strophe_conflict tests/e2e/strophe_iq tests/e2e/strophe_component
check_PROGRAMS += tests/e2e/scram_exporter tests/e2e/tls_records
tests_e2e_tls_records_SOURCES = tests/e2e/tls_records.c
tests_e2e_tls_records_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_e2e_tls_records_LDADD = $(OPENSSL_LIBS)
tests_e2e_scram_exporter_SOURCES = tests/e2e/scram_exporter.c
tests_e2e_scram_exporter_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_e2e_scram_exporter_LDADD = $(OPENSSL_LIBS)
tests_e2e_strophe_component_SOURCES = tests/e2e/strophe_component.c $(E2E_COMMON)
tests_e2e_strophe_component_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_e2e_strophe_component_LDADD = $(STROPHE_LIBS)
tests_e2e_strophe_login_SOURCES = tests/e2e/strophe_login.c $(E2E_COMMON)
tests_e2e_strophe_login_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_e2e_strophe_login_LDADD = $(STROPHE_LIBS)
tests_e2e_strophe_message_SOURCES = tests/e2e/strophe_message.c $(E2E_COMMON)
tests_e2e_strophe_message_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_e2e_strophe_message_LDADD = $(STROPHE_LIBS)
tests_e2e_strophe_conflict_SOURCES = tests/e2e/strophe_conflict.c $(E2E_COMMON)
tests_e2e_strophe_conflict_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_e2e_strophe_conflict_LDADD = $(STROPHE_LIBS)
tests_e2e_strophe_iq_SOURCES = tests/e2e/strophe_iq.c $(E2E_COMMON)
tests_e2e_strophe_iq_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_e2e_strophe_iq_LDADD = $(STROPHE_LIBS)

E2E_STROPHE_TESTS = \
	tests/e2e/strophe-login-starttls.e2e \
	tests/e2e/strophe-login-direct.e2e \
	tests/e2e/strophe-login-wrong-password.e2e \
	tests/e2e/strophe-login-direct-wrong-password.e2e \
	tests/e2e/strophe-message.e2e \
	tests/e2e/strophe-bind-conflict.e2e \
	tests/e2e/strophe-iq-ping.e2e \
	tests/e2e/strophe-iq-ping-bare.e2e \
	tests/e2e/strophe-iq-disco.e2e \
	tests/e2e/strophe-iq-version.e2e \
	tests/e2e/strophe-iq-time.e2e \
	tests/e2e/strophe-iq-unknown.e2e \
	tests/e2e/strophe-component.e2e \
	tests/e2e/scram-exporter.e2e \
	tests/e2e/tls-records.e2e
E2E_PY_TESTS = \
	tests/e2e/test_protocol.py \
	tests/e2e/test_hostile.py \
	tests/e2e/test_slixmpp.py \
	tests/e2e/test_nbxmpp.py \
	tests/e2e/test_tls.py \
	tests/e2e/test_shutdown.py \
	tests/e2e/test_passwd.py \
	tests/e2e/test_reload.py
E2E_LIMIT_TESTS = tests/e2e/limits-rate.sh tests/e2e/limits-slowreader.sh tests/e2e/login-abuse.sh \
	tests/e2e/scram-salts.sh tests/e2e/preauth-limits.sh tests/e2e/component-limits.sh \
	tests/e2e/register.sh tests/e2e/register-off.sh
TESTS += $(E2E_STROPHE_TESTS) $(E2E_PY_TESTS) $(E2E_LIMIT_TESTS)
EXTRA_DIST += $(E2E_LIMIT_TESTS) tests/e2e/test_limits.py tests/e2e/test_login_abuse.py \
	tests/e2e/test_scram_salts.py tests/e2e/test_preauth_limits.py \
	tests/e2e/test_component_limits.py tests/e2e/test_register.py

if HAVE_PURPLE
check_PROGRAMS += tests/e2e/purple_smoke
tests_e2e_purple_smoke_SOURCES = tests/e2e/purple_smoke.c tests/e2e/e2e_purple.c \
	tests/e2e/e2e_purple.h $(E2E_COMMON)
tests_e2e_purple_smoke_CFLAGS = $(E2E_STROPHE_CFLAGS) $(PURPLE_CFLAGS)
tests_e2e_purple_smoke_LDADD = $(STROPHE_LIBS) $(PURPLE_LIBS)
TESTS += tests/e2e/purple-smoke.e2e
endif

EXTRA_DIST += $(E2E_STROPHE_TESTS) $(E2E_PY_TESTS) tests/e2e/purple-smoke.e2e tests/e2e/procs.py tests/e2e/nbxtrust.py \
	tests/e2e/harness.py tests/e2e/xmpplib.py tests/e2e/mkcerts.sh

# Only the e2e tests, e.g. against Prosody: make check-e2e E2E_SERVER=prosody
check-e2e:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(E2E_STROPHE_TESTS) $(E2E_PY_TESTS) \
		$(if $(HAVE_PURPLE_TRUE),,tests/e2e/purple-smoke.e2e)"
.PHONY: check-e2e

# Test-only account writer used by the harness while mynactl is not built.
check_PROGRAMS += tests/e2e/e2e_adduser
tests_e2e_e2e_adduser_SOURCES = tests/e2e/e2e_adduser.c
tests_e2e_e2e_adduser_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)
tests_e2e_e2e_adduser_LDADD = server/libmynabase.la
