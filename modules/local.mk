# modules/: first-party modules, built and loaded exactly like third-party ones (dlopen).
MODULE_LDFLAGS = -module -avoid-version -shared
# Only myna_module_desc is exported (MYNA_MODULE_DEFINE marks it); the rest stays private.
MODULE_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

mod_LTLIBRARIES += modules/disco.la modules/ping.la modules/version.la modules/time.la \
	modules/roster.la modules/blocking.la

modules_disco_la_SOURCES = modules/disco.c modules/disco.h
modules_disco_la_CFLAGS = $(MODULE_CFLAGS)
modules_disco_la_LDFLAGS = $(MODULE_LDFLAGS)

modules_ping_la_SOURCES = modules/ping.c
modules_ping_la_CFLAGS = $(MODULE_CFLAGS)
modules_ping_la_LDFLAGS = $(MODULE_LDFLAGS)

# version.c includes the generated config.h (PACKAGE_VERSION) from the top build dir.
modules_version_la_SOURCES = modules/version.c
modules_version_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)
modules_version_la_CFLAGS = $(MODULE_CFLAGS)
modules_version_la_LDFLAGS = $(MODULE_LDFLAGS)

modules_time_la_SOURCES = modules/time.c
modules_time_la_CFLAGS = $(MODULE_CFLAGS)
modules_time_la_LDFLAGS = $(MODULE_LDFLAGS)

# roster: roster (RFC 6121 §2), subscriptions (§3, appendix A) and presence (§4) in one
# module, since they share the roster store and per-session state.
modules_roster_la_SOURCES = modules/roster/roster.h \
	modules/roster/store.c \
	modules/roster/roster.c modules/roster/subscription.c modules/roster/presence.c \
	modules/roster/migrate.c
modules_roster_la_CFLAGS = $(MODULE_CFLAGS)
modules_roster_la_LDFLAGS = $(MODULE_LDFLAGS)

modules_blocking_la_SOURCES = modules/blocking.c modules/blocking.h
modules_blocking_la_CFLAGS = $(MODULE_CFLAGS)
modules_blocking_la_LDFLAGS = $(MODULE_LDFLAGS)

# End-to-end tests of the modules against a real mynad (Debian's python3 + slixmpp).
# Each .sh runs one test_*.py through modharness.py (which wraps tests/e2e/harness.py).
MODULE_TESTS = tests/modules/basic.sh tests/modules/roster.sh \
	tests/modules/subscriptions.sh tests/modules/presence.sh tests/modules/blocking.sh \
	tests/modules/slixmpp.sh
TESTS += $(MODULE_TESTS)
EXTRA_DIST += $(MODULE_TESTS) tests/modules/modharness.py tests/modules/modlib.py \
	tests/modules/test_basic.py tests/modules/test_roster.py \
	tests/modules/test_subscriptions.py tests/modules/test_presence.py \
	tests/modules/test_blocking.py tests/modules/test_slixmpp_roster.py

# The same flows with two more real client libraries: python3-nbxmpp (Gajim's library) and
# libstrophe (C), plus the roster item limit (max_items) through nbxmpp.
NBXMPP_STROPHE_MODULE_TESTS = tests/modules/nbxmpp_roster.sh \
	tests/modules/nbxmpp_roster_limit.sh tests/modules/strophe_roster.sh
TESTS += $(NBXMPP_STROPHE_MODULE_TESTS) tests/modules/nbxmpp_roster_limit_sub.sh
EXTRA_DIST += $(NBXMPP_STROPHE_MODULE_TESTS) tests/modules/test_nbxmpp_roster.py \
	tests/modules/nbxmpp_roster_limit_sub.sh
check_PROGRAMS += tests/modules/strophe_roster
tests_modules_strophe_roster_SOURCES = tests/modules/strophe_roster.c $(E2E_COMMON)
tests_modules_strophe_roster_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/e2e
tests_modules_strophe_roster_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_modules_strophe_roster_LDADD = $(STROPHE_LIBS)
TESTS += tests/modules/pending_limit.sh
EXTRA_DIST += tests/modules/pending_limit.sh tests/modules/test_pending_limit.py
mod_LTLIBRARIES += modules/carbons.la
modules_carbons_la_SOURCES = modules/carbons.c
modules_carbons_la_CFLAGS = $(MODULE_CFLAGS)
modules_carbons_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/carbons.sh
EXTRA_DIST += tests/modules/carbons.sh tests/modules/test_carbons.py
mod_LTLIBRARIES += modules/offline.la
modules_offline_la_SOURCES = modules/offline.c
modules_offline_la_CFLAGS = $(MODULE_CFLAGS)
modules_offline_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/offline.sh tests/modules/routing.sh
EXTRA_DIST += tests/modules/offline.sh tests/modules/test_offline.py \
	tests/modules/routing.sh tests/modules/test_routing.py
TESTS += tests/modules/sm.sh
EXTRA_DIST += tests/modules/sm.sh tests/modules/test_sm.py
TESTS += tests/modules/resume.sh
EXTRA_DIST += tests/modules/resume.sh tests/modules/test_resume.py
TESTS += tests/modules/slixmpp_resume.sh
EXTRA_DIST += tests/modules/slixmpp_resume.sh tests/modules/test_slixmpp_resume.py
TESTS += tests/modules/nbxmpp_resume.sh
EXTRA_DIST += tests/modules/nbxmpp_resume.sh tests/modules/test_nbxmpp_resume.py
mod_LTLIBRARIES += modules/private.la
modules_private_la_SOURCES = modules/private.c modules/private.h
modules_private_la_CFLAGS = $(MODULE_CFLAGS)
modules_private_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/private.sh
EXTRA_DIST += tests/modules/private.sh tests/modules/test_private.py
TESTS += tests/modules/csi.sh
EXTRA_DIST += tests/modules/csi.sh tests/modules/test_csi.py
TESTS += tests/modules/stream_fuzz.sh
EXTRA_DIST += tests/modules/stream_fuzz.sh tests/modules/test_stream_fuzz.py
# muc: Multi-User Chat (XEP-0045) in one module, one file per concept; the XEP-0004
# data-form helper in modules/common/ is compiled into each module that uses it.
mod_LTLIBRARIES += modules/muc.la
modules_muc_la_SOURCES = modules/common/dataform.h modules/common/dataform.c \
	modules/muc/muc.h modules/muc/map.c modules/muc/service.c modules/muc/room.c \
	modules/muc/store.c modules/muc/history.c modules/muc/history_local.c \
	modules/muc/history_archive.c modules/muc/mam.c modules/muc/occupant.c \
	modules/muc/message.c modules/muc/invite.c modules/muc/admin.c \
	modules/muc/roomconfig.c modules/muc/register.c modules/muc/moderate.c
modules_muc_la_CFLAGS = $(MODULE_CFLAGS)
modules_muc_la_LDFLAGS = $(MODULE_LDFLAGS)
# MUC end to end: raw XML (every flow, status code and permission error), restart
# durability, a 200-occupant room, python3-nbxmpp's MUC module, libstrophe and libpurple.
# The same raw-XML flows once more with the mam module loaded (rooms kept in archives),
# and the room archive itself: raw XML, the upgrade from local history, nbxmpp (Gajim).
MUC_TESTS = tests/modules/muc.sh tests/modules/muc_admin.sh tests/modules/muc_restart.sh \
	tests/modules/muc_big.sh tests/modules/nbxmpp_muc.sh tests/modules/strophe_muc.sh \
	tests/modules/muc_archived.sh tests/modules/muc_admin_archived.sh \
	tests/modules/muc_mam.sh tests/modules/muc_mam_upgrade.sh \
	tests/modules/nbxmpp_muc_mam.sh
TESTS += $(MUC_TESTS)
EXTRA_DIST += $(MUC_TESTS) tests/modules/muclib.py tests/modules/test_muc.py \
	tests/modules/test_muc_admin.py tests/modules/test_muc_restart.py \
	tests/modules/test_muc_big.py tests/modules/test_nbxmpp_muc.py \
	tests/modules/test_muc_mam.py tests/modules/test_muc_mam_upgrade.py \
	tests/modules/test_nbxmpp_muc_mam.py tests/modules/purple_muc.sh
check_PROGRAMS += tests/modules/strophe_muc
tests_modules_strophe_muc_SOURCES = tests/modules/strophe_muc.c $(E2E_COMMON)
tests_modules_strophe_muc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/e2e
tests_modules_strophe_muc_CFLAGS = $(E2E_STROPHE_CFLAGS)
tests_modules_strophe_muc_LDADD = $(STROPHE_LIBS)
if HAVE_PURPLE
check_PROGRAMS += tests/modules/purple_muc
tests_modules_purple_muc_SOURCES = tests/modules/purple_muc.c tests/e2e/e2e_purple.c \
	tests/e2e/e2e_purple.h $(E2E_COMMON)
tests_modules_purple_muc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/e2e
tests_modules_purple_muc_CFLAGS = $(E2E_STROPHE_CFLAGS) $(PURPLE_CFLAGS)
tests_modules_purple_muc_LDADD = $(STROPHE_LIBS) $(PURPLE_LIBS)
TESTS += tests/modules/purple_muc.sh
endif
# Durability: kill -9 right after acknowledgements, restart on the same data directory.
TESTS += tests/modules/durability.sh
EXTRA_DIST += tests/modules/durability.sh tests/modules/test_durability.py
# A full database: the writer gets resource-constraint, other requests go on.
TESTS += tests/modules/store_full.sh
EXTRA_DIST += tests/modules/store_full.sh tests/modules/test_store_full.py
# A full disk (a tmpfs of its own) is met like a full map; a commit the disk fails bounces
# the messages it stored offline and acknowledges nothing.
TESTS += tests/modules/disk_full.sh tests/modules/commit_fail.sh
EXTRA_DIST += tests/modules/disk_full.sh tests/modules/test_disk_full.py \
	tests/modules/commit_fail.sh tests/modules/test_commit_fail.py tests/modules/failsync.c
CLEANFILES += tests/modules/failsync.so
# Offline delivery at login races a sender: stored messages always come first.
TESTS += tests/modules/offline_order.sh
EXTRA_DIST += tests/modules/offline_order.sh tests/modules/test_offline_order.py

# pubsub: the XEP-0060 core with PEP (XEP-0163) and the generic pubsub.HOST service, and
# what clients keep there (avatars with vCard conversion, bookmarks in three forms).
# libcrypto: SHA-1/SHA-2 for entity capabilities (XEP-0115 §5) and avatar ids.
mod_LTLIBRARIES += modules/pubsub.la
modules_pubsub_la_SOURCES = modules/pubsub/pubsub.h modules/pubsub/module.c \
	modules/pubsub/config.c modules/pubsub/store.c modules/pubsub/access.c \
	modules/pubsub/errors.c modules/pubsub/ops.c modules/pubsub/owner.c \
	modules/pubsub/notify.c modules/pubsub/caps.c modules/pubsub/pep.c \
	modules/pubsub/domain.c modules/pubsub/avatar.c modules/pubsub/bookmarks.c \
	modules/pubsub/util.c modules/pubsub/migrate.c modules/common/dataform.c \
	modules/common/dataform.h modules/common/error_reply.c modules/common/error_reply.h
modules_pubsub_la_CFLAGS = $(MODULE_CFLAGS) $(OPENSSL_CFLAGS)
modules_pubsub_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_pubsub_la_LIBADD = $(OPENSSL_LIBS)
TESTS += tests/modules/pep.sh
EXTRA_DIST += tests/modules/pep.sh tests/modules/test_pep.py tests/modules/peplib.py
PEP_TESTS = tests/modules/pep_data.sh tests/modules/pubsub_service.sh \
	tests/modules/pep_nbxmpp_omemo.sh tests/modules/pep_nbxmpp_bookmarks.sh \
	tests/modules/pep_nbxmpp_avatar.sh tests/modules/pep_slixmpp.sh tests/modules/pep_migrate.sh
TESTS += $(PEP_TESTS)
EXTRA_DIST += $(PEP_TESTS) tests/modules/test_pep_data.py tests/modules/test_pubsub_service.py \
	tests/modules/test_pep_nbxmpp.py tests/modules/nbxlib.py tests/modules/test_pep_slixmpp.py \
	tests/modules/test_pep_migrate.py tests/modules/gajim_xvfb.py
# mam: the message archive (XEP-0313, XEP-0359, XEP-0441) and the archive service other
# modules (MUC) use; libcrypto for the archive ids (AES, ids.c).
mod_LTLIBRARIES += modules/mam.la
modules_mam_la_SOURCES = modules/common/dataform.h modules/common/dataform.c \
	modules/mam/mam.h modules/mam/mam.c modules/mam/archive.c \
	modules/mam/ids.c modules/mam/datetime.c modules/mam/query.c modules/mam/prefs.c \
	modules/mam/hooks.c modules/mam/service.c modules/mam/migrate.c
modules_mam_la_CFLAGS = $(MODULE_CFLAGS) $(OPENSSL_CFLAGS)
modules_mam_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_mam_la_LIBADD = $(OPENSSL_LIBS)
# Service headers of the built-in modules, installed with the module API: the message
# classification carbons and the archive share, the roster service, the archive service.
mynainc_HEADERS += include/myna/im.h include/myna/roster.h include/myna/archive.h
# The archive through two client libraries: 500 messages paged both ways with every filter.
MAM_TESTS = tests/modules/mam.sh tests/modules/nbxmpp_mam.sh tests/modules/slixmpp_mam.sh
TESTS += $(MAM_TESTS)
EXTRA_DIST += $(MAM_TESTS) tests/modules/test_mam.py tests/modules/mamlib.py \
	tests/modules/test_nbxmpp_mam.py tests/modules/test_slixmpp_mam.py
# The archive service as the MUC service will use it: a test-only module (built for make
# check, never installed) claiming rooms.HOST, driven by test_mam_service.py.
check_LTLIBRARIES += modules/archtest.la
modules_archtest_la_SOURCES = tests/modules/archtest.c
modules_archtest_la_CFLAGS = $(MODULE_CFLAGS)
modules_archtest_la_LDFLAGS = $(MODULE_LDFLAGS) -rpath $(moddir)
# Retention (count, age) and the service test.
MAM_MORE_TESTS = tests/modules/mam_count.sh tests/modules/mam_age.sh \
	tests/modules/mam_service.sh tests/modules/mam_crash.sh tests/modules/mam_durable.sh
TESTS += $(MAM_MORE_TESTS)
EXTRA_DIST += $(MAM_MORE_TESTS) tests/modules/test_mam_retention.py \
	tests/modules/test_mam_service.py tests/modules/test_mam_crash.py \
	tests/modules/test_mam_durable.py tests/modules/crashlib.py
# last: Last Activity (XEP-0012); publishes the "last" service (last.h).
mod_LTLIBRARIES += modules/last.la
modules_last_la_SOURCES = modules/last.c modules/last.h
modules_last_la_CFLAGS = $(MODULE_CFLAGS)
modules_last_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/last.sh
EXTRA_DIST += tests/modules/last.sh tests/modules/test_last.py
# contact_info: server contact addresses (XEP-0157) in the host's disco#info.
mod_LTLIBRARIES += modules/contact_info.la
modules_contact_info_la_SOURCES = modules/contact_info.c modules/common/dataform.h \
	modules/common/dataform.c
modules_contact_info_la_CFLAGS = $(MODULE_CFLAGS)
modules_contact_info_la_LDFLAGS = $(MODULE_LDFLAGS)
# upload: HTTP File Upload (XEP-0363) slots; the server stores and serves the files.
mod_LTLIBRARIES += modules/upload.la
modules_upload_la_SOURCES = modules/upload.c
modules_upload_la_CFLAGS = $(MODULE_CFLAGS)
modules_upload_la_LDFLAGS = $(MODULE_LDFLAGS)
# extdisco: external services (XEP-0215); libcrypto for the TURN credentials' HMAC-SHA1.
mod_LTLIBRARIES += modules/extdisco.la
modules_extdisco_la_SOURCES = modules/extdisco.c
modules_extdisco_la_CFLAGS = $(MODULE_CFLAGS) $(OPENSSL_CFLAGS)
modules_extdisco_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_extdisco_la_LIBADD = $(OPENSSL_LIBS)
# Both end to end, with a raw XEP-0114 component (complib.py) as a non-local requester.
TESTS += tests/modules/serverinfo.sh
EXTRA_DIST += tests/modules/serverinfo.sh tests/modules/test_serverinfo.py \
	tests/modules/complib.py
# adhoc: ad-hoc commands (XEP-0050) and service administration (XEP-0133).
mod_LTLIBRARIES += modules/adhoc.la
modules_adhoc_la_SOURCES = modules/adhoc/adhoc.h modules/adhoc/adhoc.c \
	modules/adhoc/admin.c modules/common/dataform.h modules/common/dataform.c \
	modules/common/error_reply.h modules/common/error_reply.c
modules_adhoc_la_CFLAGS = $(MODULE_CFLAGS)
modules_adhoc_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/adhoc.sh
EXTRA_DIST += tests/modules/adhoc.sh tests/modules/test_adhoc.py
# push: push notifications (XEP-0357) to app servers, published over pubsub; tested with
# a component as the app server.
mod_LTLIBRARIES += modules/push.la
modules_push_la_SOURCES = modules/push/push.h modules/push/module.c modules/push/devices.c \
	modules/push/notify.c modules/common/dataform.h modules/common/dataform.c
modules_push_la_CFLAGS = $(MODULE_CFLAGS)
modules_push_la_LDFLAGS = $(MODULE_LDFLAGS)
TESTS += tests/modules/push.sh tests/modules/push_body.sh tests/modules/push_held.sh
EXTRA_DIST += tests/modules/push.sh tests/modules/push_body.sh tests/modules/push_held.sh \
	tests/modules/test_push.py
# Last activity, contact addresses and administration through the clients' own libraries.
SERVICE_LIB_TESTS = tests/modules/services_slixmpp.sh tests/modules/services_nbxmpp.sh
TESTS += $(SERVICE_LIB_TESTS)
EXTRA_DIST += $(SERVICE_LIB_TESTS) tests/modules/test_services_slixmpp.py \
	tests/modules/test_services_nbxmpp.py
