# xml/: streaming parser, stanza tree, serializer. Depends on nothing of ours.
noinst_LTLIBRARIES += xml/libmynaxml.la
xml_libmynaxml_la_SOURCES = \
	xml/arena.c xml/arena.h xml/tree.c xml/serialize.c xml/parser.c xml/parser.h \
	xml/reader.c xml/reader.h
xml_libmynaxml_la_CFLAGS = $(AM_CFLAGS) -fPIC $(EXPAT_CFLAGS)
xml_libmynaxml_la_LIBADD = $(EXPAT_LIBS)
mynainc_HEADERS += include/myna/xml.h
