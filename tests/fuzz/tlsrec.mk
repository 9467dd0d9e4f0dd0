# tests/fuzz/tlsrec.mk — libFuzzer target for the compact TLS 1.3 record layer. `make check`
# runs it for 20 s (tests/fuzz/tlsrec-fuzz.sh); `make fuzz-tlsrec` builds it for longer
# runs by hand (tests/fuzz/README.md).
TESTS += tests/fuzz/tlsrec-fuzz.sh
EXTRA_DIST += tests/fuzz/tlsrec-fuzz.sh tests/fuzz/fuzz_tlsrec.c tests/fuzz/corpus-tlsrec
CLEANFILES += tests/fuzz/fuzz_tlsrec

fuzz-tlsrec:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(top_srcdir)/include -I$(top_srcdir) \
		$(top_srcdir)/tests/fuzz/fuzz_tlsrec.c $(top_srcdir)/server/loop/pool.c \
		$(top_srcdir)/server/base/log.c $(top_srcdir)/xml/serialize.c $(top_srcdir)/xml/arena.c \
		-lssl -lcrypto -o fuzz_tlsrec
.PHONY: fuzz-tlsrec
CLEANFILES += fuzz_tlsrec
