# tests/migrate/: XEP-0227 export and import end to end (tests/migrate/migrate.py): real
# Prosody and ejabberd populated over XMPP and exported with their own tools, imported
# into Myna live and with mynad stopped, then real clients (nbxmpp, slixmpp) log in with
# the old passwords; Myna to Myna round trips; hostile files.
MIGRATE_TESTS = tests/migrate/prosody.sh tests/migrate/ejabberd.sh \
	tests/migrate/roundtrip.sh tests/migrate/hostile.sh
TESTS += $(MIGRATE_TESTS)
EXTRA_DIST += $(MIGRATE_TESTS) tests/migrate/migrate.py tests/migrate/probe_slixmpp.py \
	tests/migrate/probe_nbxmpp.py

# Only these tests: make check-migrate
check-migrate:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(MIGRATE_TESTS)"
.PHONY: check-migrate
