# server/: the core. libmynabase (base.mk) holds what mynactl shares with mynad.
include server/base.mk

sbin_PROGRAMS += mynad
mynad_SOURCES = server/main.c server/server.h \
	server/loop.c server/loop.h server/jobs.c server/jobs.h \
	server/hashmap.c server/hashmap.h server/tls.c server/tls.h \
	server/conn.c server/conn.h server/c2s.c server/c2s.h \
	server/session.c server/session.h server/stanza.c server/stanza.h \
	server/router.c server/router.h server/host.h server/module.c server/modapi.c \
	server/component.c server/component.h server/control.c server/control.h \
	server/tlsrec.c server/tlsrec.h server/pool.c server/pool.h server/sm.c server/sm.h \
	server/control_pie.c server/ctlproto.h server/pie.h server/pie_import.c \
	server/pie_export.c server/store_tools.h \
	server/users.c server/users.h
mynad_CFLAGS = -include $(top_builddir)/config.h $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS) $(LMDB_CFLAGS) $(LIBCONFIG_CFLAGS)
mynad_LDADD = server/libmynabase.la xml/libmynaxml.la $(OPENSSL_LIBS) $(EXPAT_LIBS) \
	$(PTHREAD_LIBS)
# Modules resolve myna_* symbols against the daemon.
mynad_LDFLAGS = -export-dynamic
mynainc_HEADERS += include/myna/module.h
include_HEADERS += include/myna.h
