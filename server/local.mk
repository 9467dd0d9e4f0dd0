# server/: the core. libmynabase (base.mk) holds what mynactl shares with mynad.
include server/base.mk

sbin_PROGRAMS += mynad
mynad_SOURCES = server/main.c
mynad_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS)
mynad_LDADD = server/libmynabase.la xml/libmynaxml.la $(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS)
# Modules resolve myna_* symbols against the daemon.
mynad_LDFLAGS = -export-dynamic
mynainc_HEADERS += include/myna/module.h
include_HEADERS += include/myna.h
