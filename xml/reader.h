/* xml/reader.h — a streaming reader for large XML documents (data exports, e.g. XEP-0227
 * files of many gigabytes) on libexpat, in constant memory.
 *
 * The caller walks the document top-down: for every element that opens inside one it
 * descended into, start() decides whether to descend into it too (children reported one by
 * one), take it whole as a tree, take each of its children as a tree (a long list), or
 * skip it. Trees are bounded (max_tree_bytes); a bigger one is skipped and reported, and
 * reading goes on. DTDs and entity declarations end the read with an error; comments and
 * processing instructions are ignored. Reading can be paused from a callback and resumed
 * later, so a caller on an event loop can work in slices. Knows nothing of XMPP.
 */
#ifndef MYNA_XML_READER_H
#define MYNA_XML_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/xml.h"

enum xml_read_status {
    XML_READ_OK = 0,  /* all input given so far was read */
    XML_READ_PAUSED,  /* a callback paused: call xml_reader_resume() (not feed) later */
    XML_READ_ERROR,   /* the document is refused; xml_reader_error() says why */
};

/* What start() wants done with an element. */
enum xml_read_take {
    XML_TAKE_DESCEND = 0, /* report its children one by one (start/end for each) */
    XML_TAKE_TREE,        /* build it whole and pass it to tree() */
    XML_TAKE_ITEMS,       /* build each child element whole and pass it to tree() */
    XML_TAKE_SKIP,        /* ignore it and everything inside */
};

struct xml_reader_limits {
    size_t max_tree_bytes;  /* memory of one tree (default 4 MiB) */
    unsigned max_depth;     /* nesting of the whole document (default 128) */
    unsigned max_attrs;     /* attributes on one element (default 64) */
};

struct xml_reader_callbacks {
    /* An element opened at `depth` (the root is 0) inside an element that was descended
     * into. `el` has its name, namespace and attributes and no children; it stays valid
     * until end() for it. */
    enum xml_read_take (*start)(void *ud, unsigned depth, struct myna_xml *el);
    /* A whole element: one taken as TREE (`parent` NULL), or one child of an ITEMS
     * element (`parent` is that element, as given to start()). Text between the items is
     * dropped. `el` and its arena belong to the reader and are freed after the call. */
    void (*tree)(void *ud, struct myna_xml *parent, struct myna_xml *el);
    /* The end of an element start() descended into, took as ITEMS, or skipped. */
    void (*end)(void *ud, unsigned depth, struct myna_xml *el);
    /* A tree went over max_tree_bytes: it was dropped, the reader skips the rest of it.
     * `el` is the tree's root (name, namespace, attributes only). */
    void (*too_big)(void *ud, struct myna_xml *parent, struct myna_xml *el);
};

struct xml_reader;

/* limits NULL (or zero fields) means the defaults. */
struct xml_reader *xml_reader_new(const struct xml_reader_limits *limits,
                                  const struct xml_reader_callbacks *cb, void *ud);
void xml_reader_free(struct xml_reader *r);

/* Reads `len` more bytes of the document (any split is fine). Callbacks run inside. */
enum xml_read_status xml_reader_feed(struct xml_reader *r, const char *data, size_t len);
/* After XML_READ_PAUSED: goes on with the input already given. */
enum xml_read_status xml_reader_resume(struct xml_reader *r);
/* The input ended: XML_READ_OK only if the document was complete. */
enum xml_read_status xml_reader_finish(struct xml_reader *r);
/* From inside a callback: pause once this callback returns. */
void xml_reader_pause(struct xml_reader *r);
/* From inside a callback: end the read with an error (the message is copied). */
void xml_reader_abort(struct xml_reader *r, const char *why);

/* Why the document was refused: "line 12: not well-formed (invalid token)". */
const char *xml_reader_error(const struct xml_reader *r);
/* The line being read (for messages from callbacks). */
unsigned long xml_reader_line(const struct xml_reader *r);

#endif
