/* xml/parser.h — incremental XMPP stream parser on libexpat.
 *
 * Turns the bytes of one XML stream into: the stream header, complete top-level elements
 * (stanzas and nonzas, each in its own arena), and the stream close. Input may be split at
 * any byte. Limits (stanza size, depth, attributes) are enforced while parsing; DTDs,
 * entity declarations and non-predefined entity references, processing instructions and
 * comments are refused (RFC 6120 §11.1). Knows nothing of XMPP beyond the stream element.
 */
#ifndef MYNA_XML_PARSER_H
#define MYNA_XML_PARSER_H

#include <stddef.h>

#include "myna/xml.h"

/* What went wrong, in terms of RFC 6120 §4.9.3 stream error conditions. */
enum xml_parse_error {
    XML_PARSE_OK = 0,
    XML_PARSE_NOT_WELL_FORMED,    /* <not-well-formed/> */
    XML_PARSE_RESTRICTED,         /* <restricted-xml/>: DTD, entity decl, PI, comment */
    XML_PARSE_TOO_BIG,            /* <policy-violation/>: stanza size/depth/attr limits */
    XML_PARSE_BAD_ENCODING,       /* <unsupported-encoding/>: invalid UTF-8, other charset */
    XML_PARSE_BAD_NAMESPACE,      /* <invalid-namespace/>: stream element not in streams ns */
};

struct xml_parser_limits {
    size_t max_stanza_bytes; /* bytes of one top-level element (default 256 KiB); one
                              * start tag may in any case not exceed 32 KiB */
    unsigned max_depth;      /* element depth below the stream element (default 64) */
    unsigned max_attrs;      /* attributes on one element (default 64) */
};

struct xml_parser_callbacks {
    /* The stream header <stream:stream ...>. `header` is an element in its own arena,
     * with ns/name of the stream element and its attributes; ownership passes to the
     * callee (free with myna_arena_free(header->arena)). The default namespace declared on
     * the header (jabber:client, jabber:server, ...) is given in `default_ns`, "" if none;
     * it stays valid as long as header->arena. The header counts against max_stanza_bytes. */
    void (*stream_open)(void *ud, struct myna_xml *header, const char *default_ns);
    /* A complete top-level element. Ownership of el->arena passes to the callee. */
    void (*element)(void *ud, struct myna_xml *el);
    /* </stream:stream> was received. */
    void (*stream_close)(void *ud);
};

struct xml_parser;

/* limits NULL means the defaults (so does a zero field). Callbacks may call
 * xml_parser_reset()/xml_parser_stop() but must not free the parser; free it after
 * xml_parser_feed() returns. */
struct xml_parser *xml_parser_new(const struct xml_parser_limits *limits,
                                  const struct xml_parser_callbacks *cb, void *ud);
void xml_parser_free(struct xml_parser *p);

/* Feeds bytes. Returns XML_PARSE_OK, or the first error (the parser is then dead until
 * reset, and has already freed its expat instance). Callbacks run from inside this call;
 * they must not call xml_parser_feed() on the same parser. */
enum xml_parse_error xml_parser_feed(struct xml_parser *p, const char *data, size_t len);

/* Changes max_stanza_bytes (0: unchanged), e.g. a small limit until the peer is
 * authenticated; applies from the next element on. */
void xml_parser_set_max_stanza(struct xml_parser *p, size_t bytes);

/* Starts a new stream on the same connection (after STARTTLS or SASL success): forgets
 * all state, the next bytes must begin a new stream header. Safe to call from a callback;
 * the rest of the buffer being fed at that moment is discarded (the caller re-feeds
 * anything that followed, e.g. TLS bytes are never mixed with plaintext). */
void xml_parser_reset(struct xml_parser *p);
/* Stops the current feed from inside a callback (rest of buffer ignored). The parser then
 * ignores all input until xml_parser_reset(). */
void xml_parser_stop(struct xml_parser *p);

/* Gives back expat's memory while the stream is idle: if the parser sits between two
 * top-level elements with nothing buffered, the expat instance is freed; the next feed
 * creates a new one primed with the namespace declarations of the original stream header
 * (stream_open is not called again). Otherwise does nothing. Not from a callback. */
void xml_parser_shrink(struct xml_parser *p);

/* Sets where parsers allocate their own long-lived memory (the parser object and the
 * stream header's namespace declarations; not expat's buffers, which are freed by
 * xml_parser_shrink). alloc returns zeroed memory or aborts; dealloc gets the size that
 * was allocated. NULL restores calloc/free. Call once before creating parsers. The server
 * uses it to keep idle-session objects together, away from churned heap memory. */
void xml_parser_set_allocator(void *(*alloc)(size_t n), void (*dealloc)(void *p, size_t n));

/* Human-readable text for an error (for logs and <text/>). */
const char *xml_parse_strerror(enum xml_parse_error e);
/* Stream error condition name for an error ("not-well-formed", ...). */
const char *xml_parse_condition(enum xml_parse_error e);

/* Approximate heap bytes held by this parser (for memory accounting). */
size_t xml_parser_memory(const struct xml_parser *p);

#endif
