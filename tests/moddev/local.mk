# tests/moddev/: the module developer's path (issue 4): `make install DESTDIR=tmp`, example
# modules built out of tree with the one cc command of docs/modules.md, loaded into a real
# mynad (ABI refusal, reload without dropping sessions, hooks, typed options). The tests are
# extension-less Python scripts run directly; each starts its own mynad through
# tests/e2e/harness.py. MODDEV_INSTALL_TARGETS="install-includeHEADERS ..." narrows the
# install while developing.
MODDEV_TESTS = tests/moddev/echo-out-of-tree tests/moddev/bad-abi tests/moddev/reload tests/moddev/bot \
	tests/moddev/filter tests/moddev/careless
TESTS += $(MODDEV_TESTS)
EXTRA_DIST += $(MODDEV_TESTS) tests/moddev/moddev.py examples/echo/echo.c \
	examples/filter/filter.c examples/bad-abi/bad_abi.c examples/bot/bot.c tests/moddev/careless.c

# Only these tests: make check-moddev
check-moddev:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(MODDEV_TESTS)"
.PHONY: check-moddev
