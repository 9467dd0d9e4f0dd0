# tests/unit/xml.mk — unit tests of the xml/ layer (cmocka).
check_PROGRAMS += tests/unit/test_xml
TESTS += tests/unit/test_xml
tests_unit_test_xml_SOURCES = tests/unit/test_xml.c
tests_unit_test_xml_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(EXPAT_CFLAGS) \
	-DXML_CORPUS_DIR='"$(top_srcdir)/tests/fuzz/corpus"'
tests_unit_test_xml_LDADD = xml/libmynaxml.la $(EXPAT_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz_parser.c tests/fuzz/corpus tests/fuzz/xml.dict

# libFuzzer target (not part of make check): make fuzz-parser, then see tests/fuzz/README.md.
fuzz-parser:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(top_srcdir)/include -I$(top_srcdir) \
		$(top_srcdir)/xml/arena.c $(top_srcdir)/xml/tree.c $(top_srcdir)/xml/serialize.c \
		$(top_srcdir)/xml/parser.c $(top_srcdir)/tests/fuzz/fuzz_parser.c \
		-lexpat -o fuzz_parser
.PHONY: fuzz-parser
CLEANFILES += fuzz_parser

# The XEP-0004 data-form helper modules share (modules/common/), on the xml/ layer alone.
check_PROGRAMS += tests/unit/test_dataform
TESTS += tests/unit/test_dataform
tests_unit_test_dataform_SOURCES = tests/unit/test_dataform.c modules/common/dataform.c \
	modules/common/dataform.h
tests_unit_test_dataform_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_dataform_LDADD = xml/libmynaxml.la $(EXPAT_LIBS) $(CMOCKA_LIBS)

# The pubsub module's pure parts: XEP-0115 verification strings and cache, base64/SHA-1
# helpers (compiled from the module's sources, with the data-form helper they use).
check_PROGRAMS += tests/unit/test_pubsub
TESTS += tests/unit/test_pubsub
tests_unit_test_pubsub_SOURCES = tests/unit/test_pubsub.c modules/common/dataform.c \
	modules/pubsub/caps.c modules/pubsub/util.c
tests_unit_test_pubsub_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_test_pubsub_LDADD = xml/libmynaxml.la $(EXPAT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

# The streaming document reader (xml/reader.c) that mynad's XEP-0227 import uses.
check_PROGRAMS += tests/unit/test_reader
TESTS += tests/unit/test_reader
tests_unit_test_reader_SOURCES = tests/unit/test_reader.c
tests_unit_test_reader_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_reader_LDADD = xml/libmynaxml.la $(EXPAT_LIBS) $(CMOCKA_LIBS)
