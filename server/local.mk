# server/: mynad, one folder per layer (docs/architecture.md says what each folder may use).
# libmynabase (base.mk) holds what mynactl shares with mynad.
include server/base.mk

sbin_PROGRAMS += mynad
MYNAD_LOOP = server/loop/loop.c server/loop/loop.h server/loop/jobs.c server/loop/jobs.h \
	server/loop/pool.c server/loop/pool.h server/loop/hashmap.c server/loop/hashmap.h
MYNAD_NET = server/net/conn.c server/net/conn.h server/net/transport.h server/net/wbuf.c \
	server/net/wbuf.h server/net/tls.c server/net/tls.h \
	server/net/tlsrec.c server/net/tlsrec.h server/net/http.c server/net/http.h \
	server/net/websocket.c server/net/websocket.h server/net/bosh.c server/net/bosh.h \
	server/net/xmlframe.c server/net/xmlframe.h server/net/resolve.c server/net/resolve.h \
	server/net/peeraddr.c server/net/peeraddr.h
MYNAD_STREAM = server/stream/stream.c server/stream/stream.h server/stream/sasl.c \
	server/stream/sasl.h server/stream/authfail.c server/stream/authfail.h \
	server/stream/preauth.c server/stream/preauth.h server/stream/register.c \
	server/stream/register.h server/stream/c2s.c \
	server/stream/c2s.h server/stream/component.c server/stream/component.h \
	server/stream/sm.c server/stream/sm.h server/stream/csi.c server/stream/csi.h \
	server/stream/s2s.c server/stream/s2s.h server/stream/s2s_in.c server/stream/s2s_out.c
MYNAD_ROUTE = server/route/router.c server/route/router.h server/route/session.c \
	server/route/session.h server/route/stanza.c server/route/stanza.h
MYNAD_MODHOST = server/modhost/host.h server/modhost/module.c server/modhost/modapi.c \
	server/modhost/users.c server/modhost/users.h server/modhost/hash.c
MYNAD_ADMIN = server/admin/control.c server/admin/control.h server/admin/control_pie.c \
	server/admin/ctlproto.h server/admin/pie.h server/admin/pie_import.c \
	server/admin/pie_export.c
MYNAD_WEB = server/web/hostmeta.c server/web/hostmeta.h server/web/upload.c \
	server/web/upload.h server/web/metrics.c server/web/metrics.h
mynad_SOURCES = server/main.c server/server.h $(MYNAD_LOOP) $(MYNAD_NET) $(MYNAD_STREAM) \
	$(MYNAD_WEB) \
	$(MYNAD_ROUTE) $(MYNAD_MODHOST) $(MYNAD_ADMIN) server/store/store_tools.h
mynad_CFLAGS = -include $(top_builddir)/config.h $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS) $(LMDB_CFLAGS) $(LIBCONFIG_CFLAGS) $(CARES_CFLAGS)
mynad_LDADD = server/libmynabase.la xml/libmynaxml.la $(OPENSSL_LIBS) $(EXPAT_LIBS) \
	$(HTTP_PARSER_LIBS) $(WSLAY_LIBS) $(CARES_LIBS) $(PTHREAD_LIBS)
# Modules resolve myna_* symbols against the daemon.
mynad_LDFLAGS = -export-dynamic
mynainc_HEADERS += include/myna/module.h
include_HEADERS += include/myna.h
