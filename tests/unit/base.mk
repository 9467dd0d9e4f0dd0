# tests/unit/base.mk — unit tests of the server base layer (cmocka): JIDs, SCRAM, store, config.
BASE_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS) $(LMDB_CFLAGS) \
	$(LIBCONFIG_CFLAGS) -DBASE_TEST_DATA='"$(top_srcdir)/tests/unit/data"'
BASE_TEST_LIBS = server/libmynabase.la xml/libmynaxml.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_jid tests/unit/test_scram tests/unit/test_store \
	tests/unit/test_config
TESTS += tests/unit/test_jid tests/unit/test_scram tests/unit/test_store tests/unit/test_config

tests_unit_test_jid_SOURCES = tests/unit/test_jid.c
tests_unit_test_jid_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_jid_LDADD = $(BASE_TEST_LIBS)

tests_unit_test_scram_SOURCES = tests/unit/test_scram.c
tests_unit_test_scram_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_scram_LDADD = $(BASE_TEST_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_store_LDADD = $(BASE_TEST_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_config_LDADD = $(BASE_TEST_LIBS)

# A peer's address as the limits see it (server/net/peeraddr.c) on its own.
check_PROGRAMS += tests/unit/test_peeraddr
TESTS += tests/unit/test_peeraddr
tests_unit_test_peeraddr_SOURCES = tests/unit/test_peeraddr.c server/net/peeraddr.c
tests_unit_test_peeraddr_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_peeraddr_LDADD = $(BASE_TEST_LIBS)

# The event loop (server/loop/loop.c) on its own.
check_PROGRAMS += tests/unit/test_loop
TESTS += tests/unit/test_loop
tests_unit_test_loop_SOURCES = tests/unit/test_loop.c server/loop/loop.c server/loop/loop.h
tests_unit_test_loop_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_loop_LDADD = $(BASE_TEST_LIBS) $(PTHREAD_LIBS)

EXTRA_DIST += tests/unit/data

# The job pool under ThreadSanitizer: its own compile, since TSan and ASan do not mix.
TESTS += tests/unit/jobs-tsan.sh
EXTRA_DIST += tests/unit/jobs-tsan.sh tests/unit/test_jobs_tsan.c

# The compact TLS 1.3 record layer (server/net/tlsrec.c, included by the test) on its own.
check_PROGRAMS += tests/unit/test_tlsrec
TESTS += tests/unit/test_tlsrec
tests_unit_test_tlsrec_SOURCES = tests/unit/test_tlsrec.c server/net/tls.c server/loop/pool.c
tests_unit_test_tlsrec_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_tlsrec_LDADD = $(BASE_TEST_LIBS) $(OPENSSL_LIBS)

# Server TLS contexts (server/net/tls.c): the TLS 1.2 suites enabled.
check_PROGRAMS += tests/unit/test_tls
TESTS += tests/unit/test_tls
tests_unit_test_tls_SOURCES = tests/unit/test_tls.c server/net/tls.c server/net/tlsrec.c server/loop/pool.c
tests_unit_test_tls_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_tls_LDADD = $(BASE_TEST_LIBS) $(OPENSSL_LIBS)

# The stream layer (server/stream/stream.c) on a fake transport, with what it links to.
check_PROGRAMS += tests/unit/test_stream
TESTS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c server/stream/stream.c \
	server/net/conn.c server/net/wbuf.c server/net/tls.c server/net/tlsrec.c \
	server/loop/loop.c server/loop/pool.c
tests_unit_test_stream_CFLAGS = $(BASE_TEST_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_stream_LDADD = $(BASE_TEST_LIBS) $(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS)

# Peer-keyed tables: SipHash and the hash map (server/loop/hashmap.c) under colliding keys.
check_PROGRAMS += tests/unit/test_hashmap
TESTS += tests/unit/test_hashmap
tests_unit_test_hashmap_SOURCES = tests/unit/test_hashmap.c server/loop/hashmap.c server/loop/pool.c \
	server/modhost/hash.c modules/muc/map.c
tests_unit_test_hashmap_CFLAGS = $(BASE_TEST_CFLAGS)
tests_unit_test_hashmap_LDADD = $(BASE_TEST_LIBS) $(PTHREAD_LIBS)

# XEP-0198 (server/stream/sm.c, included by the test) on fake client streams: counters
# across 2^32 and resumption; routing, sessions and c2s are stubs in the test.
check_PROGRAMS += tests/unit/test_sm
TESTS += tests/unit/test_sm
tests_unit_test_sm_SOURCES = tests/unit/test_sm.c server/stream/stream.c \
	server/net/conn.c server/net/wbuf.c server/net/tls.c server/net/tlsrec.c \
	server/loop/loop.c server/loop/pool.c server/loop/hashmap.c
tests_unit_test_sm_CFLAGS = $(BASE_TEST_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_sm_LDADD = $(BASE_TEST_LIBS) $(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS)
