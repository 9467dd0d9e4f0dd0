/* xml/serialize.c — growable byte buffers and the stanza serializer (include/myna/xml.h).
 *
 * Output is always well-formed, namespace-well-formed XML 1.0 whatever the tree holds:
 * markup characters are escaped, characters XML 1.0 cannot carry (C0 controls, invalid
 * UTF-8, U+FFFE/U+FFFF) become U+FFFD, and whitespace that attribute-value normalization
 * would eat is written as character references. Elements are written with a default
 * namespace (xmlns only where it changes); elements of the streams namespace keep the
 * customary "stream:" prefix (RFC 6120 §4.8.5); foreign-namespace attributes get
 * generated prefixes declared on their element.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"

/* ---- Buffers ------------------------------------------------------------------------- */

void myna_buf_init(struct myna_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void myna_buf_free(struct myna_buf *b)
{
    free(b->data);
    myna_buf_init(b);
}

static void buf_reserve(struct myna_buf *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return; /* keeps room for a NUL terminator */
    size_t need = b->len + extra + 1;
    if (need < b->len) {
        fprintf(stderr, "myna: buffer size overflow\n");
        abort();
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    char *d = realloc(b->data, cap);
    if (!d) {
        fprintf(stderr, "myna: out of memory growing a buffer to %zu bytes\n", cap);
        abort();
    }
    b->data = d;
    b->cap = cap;
}

void myna_buf_append(struct myna_buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void myna_buf_appends(struct myna_buf *b, const char *s)
{
    myna_buf_append(b, s, strlen(s));
}

void myna_buf_printf(struct myna_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- Escaping ------------------------------------------------------------------------ */

/* Per byte: 0 = copy as is; otherwise needs a look (markup, control, non-ASCII). */
enum { ESC_TEXT = 1, ESC_ATTR = 2 };

static const unsigned char esc_class[256] = {
    /* C0 controls: all need attention (tab/LF/CR only in attributes, others replaced). */
    [0x00] = 3, [0x01] = 3, [0x02] = 3, [0x03] = 3, [0x04] = 3, [0x05] = 3, [0x06] = 3,
    [0x07] = 3, [0x08] = 3, [0x09] = 2, [0x0A] = 2, [0x0B] = 3, [0x0C] = 3, [0x0D] = 3,
    [0x0E] = 3, [0x0F] = 3, [0x10] = 3, [0x11] = 3, [0x12] = 3, [0x13] = 3, [0x14] = 3,
    [0x15] = 3, [0x16] = 3, [0x17] = 3, [0x18] = 3, [0x19] = 3, [0x1A] = 3, [0x1B] = 3,
    [0x1C] = 3, [0x1D] = 3, [0x1E] = 3, [0x1F] = 3,
    ['&'] = 3, ['<'] = 3, ['>'] = 3, ['"'] = 2, ['\''] = 2,
    [0x80 ... 0xFF] = 3,
};

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence of an XML Char at s (1..4), or 0 if invalid. */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
            return 0; /* U+FFFE, U+FFFF: not XML characters */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;
        if (c == 0xF4 && s[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

static void escape(struct myna_buf *b, const char *str, size_t len, int mode)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    buf_reserve(b, len + len / 8);
    while (i < len) {
        unsigned char c = s[i];
        if (!(esc_class[c] & mode)) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_char_len(s + i, len - i);
            if (n) {
                i += n;
                continue;
            }
        }
        myna_buf_append(b, s + run, i - run);
        const char *rep;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\t': rep = "&#9;"; break;
        case '\n': rep = "&#10;"; break;
        case '\r': rep = "&#13;"; break;
        default: rep = replacement; break; /* control char or invalid UTF-8 byte */
        }
        myna_buf_appends(b, rep);
        i++;
        run = i;
    }
    myna_buf_append(b, s + run, len - run);
}

void myna_buf_append_escaped(struct myna_buf *b, const char *s, size_t len)
{
    escape(b, s, len, ESC_ATTR);
}

/* ---- Serializer ---------------------------------------------------------------------- */

#define MAX_ATTR_PREFIXES 64

/* Writes one attribute in a foreign namespace, declaring a generated prefix for it. */
static void write_ns_attr(struct myna_buf *b, const struct myna_xml_attr *at,
                          const char **seen, unsigned *nseen)
{
    if (strcmp(at->ns, MYNA_NS_XML) == 0) {
        /* The xml prefix is bound by definition and must not be declared. */
        myna_buf_append(b, " ", 1);
        if (strncmp(at->name, "xml:", 4) != 0)
            myna_buf_append(b, "xml:", 4);
        myna_buf_appends(b, at->name);
        myna_buf_append(b, "='", 2);
        escape(b, at->value, strlen(at->value), ESC_ATTR);
        myna_buf_append(b, "'", 1);
        return;
    }
    unsigned idx = *nseen;
    for (unsigned i = 0; i < *nseen; i++) {
        if (strcmp(seen[i], at->ns) == 0) {
            idx = i;
            break;
        }
    }
    if (idx == *nseen) {
        if (*nseen < MAX_ATTR_PREFIXES)
            seen[(*nseen)++] = at->ns;
        myna_buf_printf(b, " xmlns:ns%u='", idx);
        escape(b, at->ns, strlen(at->ns), ESC_ATTR);
        myna_buf_append(b, "'", 1);
    }
    myna_buf_printf(b, " ns%u:%s='", idx, at->name);
    escape(b, at->value, strlen(at->value), ESC_ATTR);
    myna_buf_append(b, "'", 1);
}

/* Elements of these namespaces are written prefixed: the streams namespace by custom, the
 * xml namespace because it can never be a default namespace (Namespaces in XML §3). */
static const char *element_prefix(const char *ns)
{
    if (strcmp(ns, MYNA_NS_STREAM) == 0)
        return "stream:";
    if (strcmp(ns, MYNA_NS_XML) == 0)
        return "xml:";
    return NULL;
}

static void write_node(const struct myna_xml *el, const char *scope_ns, bool stream_bound,
                       struct myna_buf *b)
{
    if (el->type == MYNA_XML_TEXT) {
        escape(b, el->text, el->text_len, ESC_TEXT);
        return;
    }
    const char *ns = el->ns ? el->ns : "";
    const char *prefix = element_prefix(ns);
    const char *child_scope = scope_ns;

    myna_buf_append(b, "<", 1);
    if (prefix)
        myna_buf_appends(b, prefix);
    myna_buf_appends(b, el->name);
    if (prefix) {
        /* the xml prefix is bound by definition and may never be declared */
        if (prefix[0] == 's' && !stream_bound)
            myna_buf_appends(b, " xmlns:stream='" MYNA_NS_STREAM "'");
        if (prefix[0] == 's')
            stream_bound = true;
    } else if (strcmp(ns, scope_ns) != 0) {
        myna_buf_append(b, " xmlns='", 8);
        escape(b, ns, strlen(ns), ESC_ATTR);
        myna_buf_append(b, "'", 1);
        child_scope = ns;
    }

    const char *seen[MAX_ATTR_PREFIXES];
    unsigned nseen = 0;
    for (const struct myna_xml_attr *at = el->attrs; at; at = at->next) {
        if (at->ns && *at->ns) {
            write_ns_attr(b, at, seen, &nseen);
            continue;
        }
        /* Namespaces come from the tree, never from attributes that look like them. */
        if (strncmp(at->name, "xmlns", 5) == 0 && (at->name[5] == '\0' || at->name[5] == ':'))
            continue;
        myna_buf_append(b, " ", 1);
        myna_buf_appends(b, at->name);
        myna_buf_append(b, "='", 2);
        escape(b, at->value, strlen(at->value), ESC_ATTR);
        myna_buf_append(b, "'", 1);
    }

    if (!el->children) {
        myna_buf_append(b, "/>", 2);
        return;
    }
    myna_buf_append(b, ">", 1);
    for (const struct myna_xml *c = el->children; c; c = c->next)
        write_node(c, child_scope, stream_bound, b);
    myna_buf_append(b, "</", 2);
    if (prefix)
        myna_buf_appends(b, prefix);
    myna_buf_appends(b, el->name);
    myna_buf_append(b, ">", 1);
}

void myna_xml_serialize(const struct myna_xml *el, const char *parent_ns, struct myna_buf *b)
{
    write_node(el, parent_ns ? parent_ns : "", false, b);
}

const char *myna_xml_to_string(const struct myna_xml *el, const char *parent_ns)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, parent_ns, &b);
    char *s = myna_arena_strndup(el->arena, b.data ? b.data : "", b.len);
    myna_buf_free(&b);
    return s;
}
