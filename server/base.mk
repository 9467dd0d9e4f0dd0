# server/ base: logging, config, storage, JIDs, SCRAM, accounts, and mynactl.
# libmynabase pulls in xml/libmynaxml.la (arenas), so linking libmynabase.la alone works.
noinst_LTLIBRARIES += server/libmynabase.la
server_libmynabase_la_SOURCES = \
	server/log.c server/log.h server/config.c server/config.h \
	server/store.c server/store_tools.h server/jid.c server/scram.c server/scram.h \
	server/accounts.c server/accounts.h server/moddesc.c server/moddesc.h \
	server/privs.c server/privs.h
server_libmynabase_la_CFLAGS = $(AM_CFLAGS) -fPIC $(LMDB_CFLAGS) $(LIBCONFIG_CFLAGS) \
	$(LIBIDN_CFLAGS) $(OPENSSL_CFLAGS)
server_libmynabase_la_LIBADD = xml/libmynaxml.la $(LMDB_LIBS) $(LIBCONFIG_LIBS) $(LIBIDN_LIBS) $(OPENSSL_LIBS) \
	$(PTHREAD_LIBS)
mynainc_HEADERS += include/myna/jid.h include/myna/store.h

sbin_PROGRAMS += mynactl
mynactl_SOURCES = server/mynactl.c server/mynactl.h server/mynactl_check.c \
	server/mynactl_pie.c server/mynactl_cert.c server/ctlproto.h
mynactl_CPPFLAGS = $(AM_CPPFLAGS) -DMYNA_SBINDIR='"$(sbindir)"'
mynactl_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS)
mynactl_LDADD = server/libmynabase.la $(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS) \
	$(RESOLV_LIBS)
