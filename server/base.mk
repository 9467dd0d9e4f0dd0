# libmynabase: what mynad and mynactl share — server/base/ (logging, config, JIDs, SCRAM,
# dropping privileges), server/store/ (LMDB, accounts) and the module descriptor check
# (server/modhost/moddesc.c) — and mynactl itself (server/admin/). It pulls in
# xml/libmynaxml.la (arenas), so linking libmynabase.la alone works.
noinst_LTLIBRARIES += server/libmynabase.la
server_libmynabase_la_SOURCES = \
	server/base/log.c server/base/log.h server/base/asan.h server/base/config.c server/base/config.h \
	server/base/jid.c server/base/scram.c server/base/scram.h \
	server/base/privs.c server/base/privs.h server/base/siphash.c server/base/siphash.h \
	server/base/plain.c server/base/plain.h \
	server/store/store.c server/store/store_tools.h server/store/accounts.c \
	server/store/accounts.h server/modhost/moddesc.c server/modhost/moddesc.h
server_libmynabase_la_CFLAGS = $(AM_CFLAGS) -fPIC $(LMDB_CFLAGS) $(LIBCONFIG_CFLAGS) \
	$(LIBIDN_CFLAGS) $(OPENSSL_CFLAGS)
server_libmynabase_la_LIBADD = xml/libmynaxml.la $(LMDB_LIBS) $(LIBCONFIG_LIBS) $(LIBIDN_LIBS) $(OPENSSL_LIBS) \
	$(PTHREAD_LIBS)
mynainc_HEADERS += include/myna/jid.h include/myna/store.h

sbin_PROGRAMS += mynactl
mynactl_SOURCES = server/admin/mynactl.c server/admin/mynactl.h server/admin/mynactl_check.c \
	server/admin/mynactl_pie.c server/admin/mynactl_cert.c server/admin/ctlproto.h
mynactl_CPPFLAGS = $(AM_CPPFLAGS) -DMYNA_SBINDIR='"$(sbindir)"'
mynactl_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS)
mynactl_LDADD = server/libmynabase.la $(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS) \
	$(RESOLV_LIBS)
