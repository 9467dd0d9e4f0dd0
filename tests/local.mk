# tests/: unit tests (cmocka), end-to-end tests (real clients against a real mynad), fuzz.
include tests/unit/xml.mk
include tests/unit/base.mk
include tests/fuzz/tlsrec.mk
include tests/fuzz/peer.mk
include tests/fuzz/fuzz.mk
include tests/fuzz/http.mk
include tests/e2e/local.mk
include tests/moddev/local.mk
include tests/migrate/local.mk
include tests/ops/local.mk
include tests/s2s/local.mk
include tests/package/local.mk
include tests/web/local.mk
