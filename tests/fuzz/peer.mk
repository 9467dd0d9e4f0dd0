# tests/fuzz/peer.mk — libFuzzer targets for what a peer sends before it is authenticated:
# SASL messages (fuzz_sasl.c) and JIDs (fuzz_jid.c). `make check` runs each for 15 s
# (sasl-fuzz.sh, jid-fuzz.sh through fuzz-run.sh); `make fuzz-sasl` / `make fuzz-jid`
# build them for longer runs by hand (tests/fuzz/README.md).
TESTS += tests/fuzz/sasl-fuzz.sh tests/fuzz/jid-fuzz.sh
EXTRA_DIST += tests/fuzz/sasl-fuzz.sh tests/fuzz/jid-fuzz.sh \
	tests/fuzz/fuzz_sasl.c tests/fuzz/fuzz_jid.c tests/fuzz/corpus-sasl tests/fuzz/corpus-jid
CLEANFILES += tests/fuzz/fuzz_sasl tests/fuzz/fuzz_jid

FUZZ_PEER_CC = clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(top_srcdir)/include \
	-I$(top_srcdir)
FUZZ_PEER_COMMON = $(top_srcdir)/server/base/jid.c $(top_srcdir)/server/base/log.c \
	$(top_srcdir)/xml/arena.c $(top_srcdir)/xml/serialize.c

fuzz-sasl:
	$(FUZZ_PEER_CC) $(top_srcdir)/tests/fuzz/fuzz_sasl.c $(top_srcdir)/server/base/scram.c \
		$(top_srcdir)/server/base/plain.c $(FUZZ_PEER_COMMON) -lssl -lcrypto -lidn -lpthread \
		-o fuzz_sasl
fuzz-jid:
	$(FUZZ_PEER_CC) $(top_srcdir)/tests/fuzz/fuzz_jid.c $(FUZZ_PEER_COMMON) -lidn -lpthread \
		-o fuzz_jid
.PHONY: fuzz-sasl fuzz-jid
CLEANFILES += fuzz_sasl fuzz_jid
