# tests/fuzz/fuzz.mk — libFuzzer targets for the parsers of peer bytes besides the TLS
# record layer (tlsrec.mk): the XML stream parser, XEP-0004 data forms, XEP-0115 caps, and
# stanzas per client-stream state, incoming server streams, and BOSH and WebSocket
# sessions through the stream layer (with the shared fuzz_server.c). `make check` runs each for
# 15 s (tests/fuzz/fuzz-run.sh; FUZZ_SECONDS changes it); tests/fuzz/README.md has the
# longer runs.
FUZZ_TESTS = tests/fuzz/parser-fuzz.sh tests/fuzz/dataform-fuzz.sh tests/fuzz/caps-fuzz.sh \
	tests/fuzz/c2s-fuzz.sh tests/fuzz/s2s-fuzz.sh tests/fuzz/web-fuzz.sh
TESTS += $(FUZZ_TESTS)
EXTRA_DIST += $(FUZZ_TESTS) tests/fuzz/fuzz-run.sh tests/fuzz/campaign.sh tests/fuzz/fuzz_dataform.c \
	tests/fuzz/fuzz_caps.c tests/fuzz/fuzz_c2s.c tests/fuzz/fuzz_s2s.c tests/fuzz/fuzz_web.c \
	tests/fuzz/fuzz_server.c tests/fuzz/fuzz_server.h tests/fuzz/corpus-dataform \
	tests/fuzz/corpus-caps tests/fuzz/corpus-c2s tests/fuzz/corpus-s2s tests/fuzz/corpus-web
CLEANFILES += tests/fuzz/fuzz_parser tests/fuzz/fuzz_dataform tests/fuzz/fuzz_caps \
	tests/fuzz/fuzz_c2s tests/fuzz/fuzz_s2s tests/fuzz/fuzz_web
