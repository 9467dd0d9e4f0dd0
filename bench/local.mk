# bench/: the load generator myna-bench and the benchmark driver (bench/run.sh).
# Benchmarks never run in `make check`; see docs/performance.md.
noinst_PROGRAMS += bench/myna-bench
bench_myna_bench_SOURCES = bench/loadgen.c bench/lg_conn.c bench/lg_hist.c bench/lg_soak.c bench/loadgen.h
bench_myna_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_myna_bench_LDADD = $(OPENSSL_LIBS) -lm
EXTRA_DIST += bench/run.sh bench/soak.sh bench/soak_check.py bench/s2s.sh bench/report.py bench/README.md

# Bulk account writer for the Myna side of bench/run.sh (shares one salt; bench only).
noinst_PROGRAMS += bench/myna-bench-adduser
bench_myna_bench_adduser_SOURCES = bench/bulkadd.c
bench_myna_bench_adduser_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)
bench_myna_bench_adduser_LDADD = server/libmynabase.la

# The single-core TLS handshake limit (accept-and-handshake loop, no XMPP; bench only).
noinst_PROGRAMS += bench/myna-bench-tls
bench_myna_bench_tls_SOURCES = bench/tlsloop.c
bench_myna_bench_tls_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_myna_bench_tls_LDADD = $(OPENSSL_LIBS)
