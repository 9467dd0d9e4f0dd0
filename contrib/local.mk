# contrib/: what `make install` puts around the programs: the systemd unit, the man pages,
# the documentation with the example config and example modules, and a first config in
# $(sysconfdir)/myna (only if there is none: an admin's config is never overwritten).
man_MANS = docs/man/mynad.8 docs/man/mynactl.8 docs/man/myna.conf.5
EXTRA_DIST += $(man_MANS) contrib/myna.service.in

dist_doc_DATA = README.md docs/architecture.md docs/configuration.md docs/modules.md \
	docs/modules-builtin.md docs/operations.md docs/protocols.md
exampledir = $(docdir)/examples
dist_example_DATA = contrib/myna.conf examples/echo/echo.c examples/filter/filter.c

if HAVE_SYSTEMD_UNITDIR
systemdsystemunit_DATA = contrib/myna.service
endif
contrib/myna.service: $(top_srcdir)/contrib/myna.service.in Makefile
	$(AM_V_GEN)mkdir -p contrib && sed -e 's|%sbindir%|$(sbindir)|g' \
		-e 's|%sysconfdir%|$(sysconfdir)|g' $(top_srcdir)/contrib/myna.service.in > $@
CLEANFILES += contrib/myna.service

# The installed first config: the example with data in /var/lib/myna (the unit's state
# directory) and user myna.
install-data-hook: install-first-config
install-first-config:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/myna/certs'
	@if [ -e '$(DESTDIR)$(sysconfdir)/myna/myna.conf' ]; then \
		echo "keeping the existing $(sysconfdir)/myna/myna.conf"; \
	else \
		sed -e 's|^data_dir = "data";|data_dir = "/var/lib/myna";|' \
			-e 's|^# user = "myna";|user = "myna";|' $(top_srcdir)/contrib/myna.conf \
			> '$(DESTDIR)$(sysconfdir)/myna/myna.conf' && \
		echo "installed $(sysconfdir)/myna/myna.conf"; \
	fi
.PHONY: install-first-config

# Uninstall removes the first config only if it was never edited.
uninstall-hook:
	@f='$(DESTDIR)$(sysconfdir)/myna/myna.conf'; \
	if [ -e "$$f" ] && sed -e 's|^data_dir = "data";|data_dir = "/var/lib/myna";|' \
		-e 's|^# user = "myna";|user = "myna";|' $(top_srcdir)/contrib/myna.conf | cmp -s - "$$f"; then \
		rm -f "$$f"; fi; \
	rmdir '$(DESTDIR)$(sysconfdir)/myna/certs' '$(DESTDIR)$(sysconfdir)/myna' 2>/dev/null || true

AM_DISTCHECK_CONFIGURE_FLAGS = --with-systemdsystemunitdir='$${libdir}/systemd/system'
