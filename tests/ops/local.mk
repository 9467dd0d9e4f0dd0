# tests/ops/: running Myna as an admin does (tests/ops/ops.py): mynactl check (certificates
# for hosts and claimed sub-domains, expiry, SRV records, ports), mynactl cert import with
# reload, and mynad giving up root for the configured user.
OPS_TESTS = tests/ops/check.sh tests/ops/cert.sh tests/ops/user.sh tests/ops/unit.sh
TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/ops/ops.py

check-ops:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(OPS_TESTS)"
.PHONY: check-ops
