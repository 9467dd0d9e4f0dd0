/* myna/xml.h — the stanza tree: elements, attributes and text allocated from an arena.
 *
 * Public API (modules use it). Every node, attribute and string of a tree lives in one
 * arena and is freed with it; nothing is freed individually. Elements carry their
 * namespace URI explicitly (prefixes are resolved by the parser and re-made by the
 * serializer), so `ns` is always the real namespace, never a prefix.
 * Implemented in xml/tree.c, xml/serialize.c, xml/arena.c.
 */
#ifndef MYNA_XML_H
#define MYNA_XML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Arena ------------------------------------------------------------------------- */

/* A bump allocator. Allocation failure aborts the process with a log line (never NULL). */
struct myna_arena;

struct myna_arena *myna_arena_new(void);
/* Frees the arena and everything allocated from it. NULL is allowed. */
void myna_arena_free(struct myna_arena *a);
/* Zeroed memory, aligned for any type; valid until the arena is freed. */
void *myna_arena_alloc(struct myna_arena *a, size_t size);
char *myna_arena_strdup(struct myna_arena *a, const char *s);
char *myna_arena_strndup(struct myna_arena *a, const char *s, size_t n);
char *myna_arena_printf(struct myna_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *myna_arena_vprintf(struct myna_arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Grows an allocation of old_size bytes to new_size (in place when it is the newest one),
 * keeping its contents; ptr NULL allocates. The old pointer must not be used afterwards. */
void *myna_arena_realloc(struct myna_arena *a, void *ptr, size_t old_size, size_t new_size);
/* Bytes handed out so far (for limits and statistics). */
size_t myna_arena_used(const struct myna_arena *a);

/* ---- Tree -------------------------------------------------------------------------- */

enum myna_xml_type {
    MYNA_XML_ELEMENT = 0,
    MYNA_XML_TEXT = 1,
};

/* Attributes of the xml namespace (xml:lang, xml:space) are stored as plain attributes
 * named "xml:lang"/"xml:space" with ns NULL; only other prefixed attributes have ns set,
 * and the lookup functions below see plain attributes only. */
struct myna_xml_attr {
    const char *name;  /* local name; "xml:lang" for the xml namespace's lang attribute */
    const char *ns;    /* namespace URI of a prefixed attribute, NULL for plain ones */
    const char *value; /* unescaped value, NUL-terminated */
    struct myna_xml_attr *next;
};

/* A node. Fields are readable by anyone; change them only through the functions below. */
struct myna_xml {
    enum myna_xml_type type;
    const char *name;              /* element local name (NULL for text) */
    const char *ns;                /* element namespace URI ("" if none) */
    const char *text;              /* text node content, unescaped, NUL-terminated */
    size_t text_len;               /* length of text (text may contain no NUL) */
    struct myna_xml_attr *attrs;   /* attributes in document order */
    struct myna_xml *parent;       /* NULL for the root */
    struct myna_xml *children;     /* first child (elements and text, in order) */
    struct myna_xml *last_child;   /* last child, for O(1) append */
    struct myna_xml *next;         /* next sibling */
    struct myna_arena *arena;      /* the arena that owns this node */
};

/* A new root element in arena `a`. ns and name are copied. */
struct myna_xml *myna_xml_new(struct myna_arena *a, const char *ns, const char *name);
/* Appends and returns a new child element. ns NULL means "same namespace as parent". */
struct myna_xml *myna_xml_add_child(struct myna_xml *parent, const char *ns, const char *name);
/* Appends a text child (copied). Adjacent text is merged. */
void myna_xml_add_text(struct myna_xml *parent, const char *text, size_t len);
/* Appends a deep copy of `child` (which may live in another arena) to `parent`. */
struct myna_xml *myna_xml_add_copy(struct myna_xml *parent, const struct myna_xml *child);
/* Deep copy of a whole tree into arena `a`. */
struct myna_xml *myna_xml_copy(struct myna_arena *a, const struct myna_xml *el);
/* Unlinks `child` from its parent (memory stays in the arena). */
void myna_xml_remove(struct myna_xml *child);

/* Attribute value or NULL. `name` is a plain local name, or "xml:lang". Attributes in
 * other namespaces (ns != NULL) are never matched. */
const char *myna_xml_attr(const struct myna_xml *el, const char *name);
/* Sets (adds or replaces) an attribute; value copied. value NULL removes it. */
void myna_xml_set_attr(struct myna_xml *el, const char *name, const char *value);
/* printf-style variant of myna_xml_set_attr. */
void myna_xml_set_attrf(struct myna_xml *el, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* First child element with this namespace and name; ns NULL or name NULL matches any. */
struct myna_xml *myna_xml_find(const struct myna_xml *el, const char *ns, const char *name);
/* Next sibling element after `prev` matching ns/name (NULL = any); for iteration:
 *   for (c = myna_xml_find(el, NS, "item"); c; c = myna_xml_find_next(c, NS, "item")) */
struct myna_xml *myna_xml_find_next(const struct myna_xml *prev, const char *ns,
                                    const char *name);
/* First child element of any name (the payload of an iq), or NULL. */
struct myna_xml *myna_xml_first_element(const struct myna_xml *el);
/* Concatenated text of the direct text children, in el's arena ("" if none). */
const char *myna_xml_text(const struct myna_xml *el);
/* Text of the first child element ns/name, or NULL when there is no such child. */
const char *myna_xml_child_text(const struct myna_xml *el, const char *ns, const char *name);
bool myna_xml_is(const struct myna_xml *el, const char *ns, const char *name);

/* ---- Serialization ----------------------------------------------------------------- */

/* A growable byte buffer (heap). */
struct myna_buf {
    char *data;
    size_t len;
    size_t cap;
};
void myna_buf_init(struct myna_buf *b);
void myna_buf_free(struct myna_buf *b);
void myna_buf_append(struct myna_buf *b, const void *data, size_t len);
void myna_buf_appends(struct myna_buf *b, const char *s);
void myna_buf_printf(struct myna_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the five XML escapes applied (&amp; &lt; &gt; &quot; &apos;), safe in
 * text and in attribute values: tab, LF and CR become character references, and bytes
 * XML cannot carry (C0 controls, invalid UTF-8, U+FFFE/U+FFFF) become U+FFFD. */
void myna_buf_append_escaped(struct myna_buf *b, const char *s, size_t len);

/* Serializes el and its subtree, appending to b. `parent_ns` is the default namespace in
 * scope where el is written (e.g. "jabber:client" for a stanza on a client stream): an
 * xmlns attribute is written only when an element's namespace differs from the one in
 * scope. Output is canonical enough for XMPP: attributes in order, text escaped,
 * empty elements self-closed. Elements of the streams namespace are written as
 * <stream:NAME> (xmlns:stream declared on the outermost one), foreign-namespace
 * attributes with generated prefixes (ns0, ns1, ...) declared on their element. */
void myna_xml_serialize(const struct myna_xml *el, const char *parent_ns, struct myna_buf *b);
/* Convenience: serialized form in el's arena (for logs and tests). */
const char *myna_xml_to_string(const struct myna_xml *el, const char *parent_ns);

/* Parses one complete element from `xml` (len bytes) into arena `a`, as if it stood in
 * a stream whose default namespace is `default_ns` (e.g. MYNA_NS_CLIENT for stanzas
 * serialized with parent_ns MYNA_NS_CLIENT). Returns NULL for anything but exactly one
 * well-formed element (restricted XML refused as on streams). For modules that store
 * stanzas as text. */
struct myna_xml *myna_xml_parse(struct myna_arena *a, const char *xml, size_t len,
                                const char *default_ns);

/* Common namespaces. */
#define MYNA_NS_CLIENT "jabber:client"
#define MYNA_NS_SERVER "jabber:server"
#define MYNA_NS_COMPONENT "jabber:component:accept"
#define MYNA_NS_STREAM "http://etherx.jabber.org/streams"
#define MYNA_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define MYNA_NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define MYNA_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define MYNA_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define MYNA_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define MYNA_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define MYNA_NS_XML "http://www.w3.org/XML/1998/namespace"

#ifdef __cplusplus
}
#endif
#endif
