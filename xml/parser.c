/* xml/parser.c — the incremental XMPP stream parser on libexpat (xml/parser.h).
 *
 * Depth 0 is outside the stream; the stream header makes it 1; each depth-1 element is
 * built into a tree in its own arena and handed over on its end tag. Invariants: input
 * reaches expat in slices, and before each slice the bytes of the unit in progress (fed -
 * mark) are checked against max_stanza_bytes, so expat never buffers much more than one
 * stanza; handlers that reject input set err, mark the parser halted and stop expat.
 * Restricted XML (RFC 6120 §11.1) and UTF-8 only (§11.6) are enforced here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "xml/parser.h"

/* A separator that can never occur in a name or a namespace name: U+0001 is not an XML
 * 1.0 character, not even as a character reference. */
#define NS_SEP '\x01'
static const XML_Char ns_sep_str[] = {NS_SEP, '\0'};

#define SLICE_MIN 4096             /* the largest overshoot past max_stanza_bytes */
/* The longest run of input expat may hold without reporting an event: in practice one
 * start tag, since character data is reported as it arrives. Expat rescans an incomplete
 * token on every feed, so this bounds the work a peer can cause by trickling one huge
 * tag in tiny pieces (a 256 KiB tag sent a byte at a time would cost 32 G byte scans). */
#define TOKEN_MAX (32 * 1024)
#define TEXT_KEEP 4096             /* text buffer capacity kept between stanzas */

/* Backported to Debian's expat 2.5; absent from older versions, hence weak. */
extern XML_Bool XML_SetReparseDeferralEnabled(XML_Parser parser, XML_Bool enabled)
    __attribute__((weak));

/* A namespace declaration seen on the stream header (to rebuild it after a shrink). */
struct ns_decl {
    char *prefix; /* NULL for the default namespace */
    char *uri;    /* "" for an undeclaration */
};

struct xml_parser {
    XML_Parser xp;                  /* NULL before the first feed, after shrink or error */
    struct xml_parser_limits lim;   /* enforced limits */
    struct xml_parser_callbacks cb; /* where results go */
    void *ud;                       /* callback user data */
    enum xml_parse_error err;       /* first error; sticky until reset */
    bool in_feed;                   /* inside xml_parser_feed (callbacks may be running) */
    bool halted;                    /* expat was told to stop; handlers ignore events */
    bool reset_requested;           /* reset asked from a callback, done after XML_Parse */
    bool stop_requested;            /* stop asked from a callback */
    bool stopped;                   /* input ignored until reset */
    bool header_seen;               /* the stream header was received on this stream */
    bool synthetic;                 /* expat is reading our rebuilt header: no callback */
    unsigned depth;                 /* open elements, the stream element included */
    long long fed;                  /* bytes given to the current expat instance */
    long long mark;                 /* byte index where the unit in progress began */
    long long tag_end;              /* end of the current stanza's start tag */
    long long last_event;           /* end of the last event expat reported */
    struct myna_arena *arena;       /* arena of the stanza being built */
    struct myna_xml *root;          /* stanza being built */
    struct myna_xml *cur;           /* innermost open element of it */
    struct myna_buf text;           /* character data not yet attached to cur */
    struct ns_decl *decls;          /* namespace declarations of the stream header */
    size_t ndecls;                  /* entries in decls */
    size_t decl_bytes;              /* heap held by decls */
    size_t expat_mem;               /* heap held by expat, from the counting allocator */
};

/* ---- Counting allocator -------------------------------------------------------------- */

/* Each block carries its size and the counter it was charged to, so frees need no
 * context. mm_owner names the parser being created or fed on this thread; expat
 * allocates only inside those calls. */
static _Thread_local struct xml_parser *mm_owner;

struct mm_head {
    size_t size;
    size_t *counter;
};
#define MM_HEAD 16 /* sizeof(struct mm_head) rounded to malloc alignment */

static void *mm_malloc(size_t n)
{
    if (n > SIZE_MAX - MM_HEAD)
        return NULL;
    struct mm_head *h = malloc(n + MM_HEAD);
    if (!h)
        return NULL;
    h->size = n + MM_HEAD;
    h->counter = mm_owner ? &mm_owner->expat_mem : NULL;
    if (h->counter)
        *h->counter += h->size;
    return (char *)h + MM_HEAD;
}

static void mm_free(void *ptr)
{
    if (!ptr)
        return;
    struct mm_head *h = (struct mm_head *)((char *)ptr - MM_HEAD);
    if (h->counter)
        *h->counter -= h->size;
    free(h);
}

static void *mm_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return mm_malloc(n);
    if (n > SIZE_MAX - MM_HEAD)
        return NULL;
    struct mm_head *h = (struct mm_head *)((char *)ptr - MM_HEAD);
    size_t old = h->size;
    size_t *counter = h->counter;
    struct mm_head *nh = realloc(h, n + MM_HEAD);
    if (!nh)
        return NULL;
    nh->size = n + MM_HEAD;
    if (counter)
        *counter = *counter - old + nh->size;
    return (char *)nh + MM_HEAD;
}

static const XML_Memory_Handling_Suite mm_suite = {mm_malloc, mm_realloc, mm_free};

/* ---- Errors -------------------------------------------------------------------------- */

const char *xml_parse_strerror(enum xml_parse_error e)
{
    switch (e) {
    case XML_PARSE_OK: return "no error";
    case XML_PARSE_NOT_WELL_FORMED: return "XML is not well-formed";
    case XML_PARSE_RESTRICTED: return "restricted XML (DTD, entity, comment or PI) refused";
    case XML_PARSE_TOO_BIG: return "stanza exceeds size, depth or attribute limits";
    case XML_PARSE_BAD_ENCODING: return "input is not valid UTF-8";
    case XML_PARSE_BAD_NAMESPACE: return "stream element is not in the streams namespace";
    }
    return "unknown XML error";
}

const char *xml_parse_condition(enum xml_parse_error e)
{
    switch (e) {
    case XML_PARSE_OK: return "";
    case XML_PARSE_NOT_WELL_FORMED: return "not-well-formed";
    case XML_PARSE_RESTRICTED: return "restricted-xml";
    case XML_PARSE_TOO_BIG: return "policy-violation";
    case XML_PARSE_BAD_ENCODING: return "unsupported-encoding";
    case XML_PARSE_BAD_NAMESPACE: return "invalid-namespace";
    }
    return "undefined-condition";
}

/* Records the first error and stops expat; later events of this feed are ignored. */
static void fail(struct xml_parser *p, enum xml_parse_error e)
{
    if (!p->err)
        p->err = e;
    if (!p->halted) {
        p->halted = true;
        XML_StopParser(p->xp, XML_FALSE);
    }
}

/* ---- Tree building ------------------------------------------------------------------- */

/* Byte index just past the current expat event. */
static long long event_end(const struct xml_parser *p)
{
    return (long long)XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);
}

/* Notes an event's end; fails if the unit in progress went over the size limit. */
static bool over_limit(struct xml_parser *p)
{
    long long end = event_end(p);
    if (end > p->last_event)
        p->last_event = end;
    if ((unsigned long long)(end - p->mark) > p->lim.max_stanza_bytes) {
        fail(p, XML_PARSE_TOO_BIG);
        return true;
    }
    return false;
}

/* Splits an expat name "uri<SEP>local" (or "local"); returns local; sets ns and ns_len. */
static const char *split_name(const char *name, const char **ns, size_t *ns_len)
{
    const char *sep = strchr(name, NS_SEP);
    if (!sep) {
        *ns = "";
        *ns_len = 0;
        return name;
    }
    *ns = name;
    *ns_len = (size_t)(sep - name);
    return sep + 1;
}

/* The namespace string for a new node: shares `near`'s copy when equal. */
static const char *node_ns(struct myna_arena *a, const char *ns, size_t len, const char *near)
{
    if (len == 0)
        return "";
    if (near && strncmp(near, ns, len) == 0 && near[len] == '\0')
        return near;
    return myna_arena_strndup(a, ns, len);
}

static void add_attrs(struct myna_xml *el, const XML_Char **atts)
{
    struct myna_arena *a = el->arena;
    struct myna_xml_attr **tail = &el->attrs;
    for (; atts[0]; atts += 2) {
        struct myna_xml_attr *at = myna_arena_alloc(a, sizeof(*at));
        const char *ns;
        size_t ns_len;
        const char *local = split_name(atts[0], &ns, &ns_len);
        if (ns_len == 0) {
            at->name = myna_arena_strdup(a, local);
        } else if (ns_len == sizeof(MYNA_NS_XML) - 1 && memcmp(ns, MYNA_NS_XML, ns_len) == 0) {
            size_t n = strlen(local); /* xml:lang and friends keep their customary name */
            char *nm = myna_arena_realloc(a, NULL, 0, n + 5);
            memcpy(nm, "xml:", 4);
            memcpy(nm + 4, local, n + 1);
            at->name = nm;
        } else {
            at->name = myna_arena_strdup(a, local);
            at->ns = myna_arena_strndup(a, ns, ns_len);
        }
        at->value = myna_arena_strdup(a, atts[1]);
        *tail = at;
        tail = &at->next;
    }
}

/* Attaches buffered character data to the element being built. */
static void flush_text(struct xml_parser *p)
{
    if (p->text.len == 0)
        return;
    struct myna_xml *t = myna_arena_alloc(p->arena, sizeof(*t));
    t->type = MYNA_XML_TEXT;
    t->arena = p->arena;
    t->text = myna_arena_strndup(p->arena, p->text.data, p->text.len);
    t->text_len = p->text.len;
    t->parent = p->cur;
    if (p->cur->last_child)
        p->cur->last_child->next = t;
    else
        p->cur->children = t;
    p->cur->last_child = t;
    p->text.len = 0;
}

static unsigned count_attrs(const XML_Char **atts)
{
    unsigned n = 0;
    while (atts[2 * n])
        n++;
    return n;
}

/* ---- Expat handlers ------------------------------------------------------------------ */

static void stream_start(struct xml_parser *p, const XML_Char *name, const XML_Char **atts)
{
    const char *ns;
    size_t ns_len;
    const char *local = split_name(name, &ns, &ns_len);
    if (strcmp(local, "stream") != 0 || ns_len != sizeof(MYNA_NS_STREAM) - 1 ||
        memcmp(ns, MYNA_NS_STREAM, ns_len) != 0) {
        fail(p, XML_PARSE_BAD_NAMESPACE);
        return;
    }
    p->depth = 1;
    p->mark = event_end(p);
    if (p->synthetic) {
        p->synthetic = false;
        return;
    }
    p->header_seen = true;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *hdr = myna_xml_new(a, MYNA_NS_STREAM, "stream");
    add_attrs(hdr, atts);
    const char *default_ns = "";
    for (size_t i = 0; i < p->ndecls; i++)
        if (!p->decls[i].prefix)
            default_ns = myna_arena_strdup(a, p->decls[i].uri);
    if (p->cb.stream_open)
        p->cb.stream_open(p->ud, hdr, default_ns);
    else
        myna_arena_free(a);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xml_parser *p = ud;
    if (p->halted)
        return;
    if (count_attrs(atts) > p->lim.max_attrs) {
        fail(p, XML_PARSE_TOO_BIG);
        return;
    }
    if (over_limit(p))
        return;
    if (p->depth == 0) {
        stream_start(p, name, atts);
        return;
    }
    if (p->depth > p->lim.max_depth) {
        fail(p, XML_PARSE_TOO_BIG);
        return;
    }
    const char *ns;
    size_t ns_len;
    const char *local = split_name(name, &ns, &ns_len);
    struct myna_xml *el;
    if (p->depth == 1) {
        p->arena = myna_arena_new();
        el = myna_arena_alloc(p->arena, sizeof(*el));
        el->ns = node_ns(p->arena, ns, ns_len, NULL);
        p->root = el;
        p->tag_end = event_end(p);
    } else {
        flush_text(p);
        el = myna_arena_alloc(p->arena, sizeof(*el));
        el->ns = node_ns(p->arena, ns, ns_len, p->cur->ns);
        el->parent = p->cur;
        if (p->cur->last_child)
            p->cur->last_child->next = el;
        else
            p->cur->children = el;
        p->cur->last_child = el;
    }
    el->type = MYNA_XML_ELEMENT;
    el->arena = p->arena;
    el->name = myna_arena_strdup(p->arena, local);
    add_attrs(el, atts);
    p->cur = el;
    p->depth++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xml_parser *p = ud;
    (void)name; /* expat has checked that it matches the start tag */
    if (p->halted)
        return;
    if (p->depth == 1) {
        p->depth = 0;
        if (p->cb.stream_close)
            p->cb.stream_close(p->ud);
        return;
    }
    if (over_limit(p))
        return;
    flush_text(p);
    p->depth--;
    if (p->depth > 1) {
        p->cur = p->cur->parent;
        return;
    }
    /* A complete top-level element: an empty-element tag reports no bytes for its end
     * event, so the start tag's end is the floor of the mark. */
    long long end = event_end(p);
    p->mark = end > p->tag_end ? end : p->tag_end;
    struct myna_xml *el = p->root;
    struct myna_arena *a = p->arena;
    p->root = p->cur = NULL;
    p->arena = NULL;
    if (p->text.cap > TEXT_KEEP)
        myna_buf_free(&p->text);
    if (p->cb.element)
        p->cb.element(p->ud, el);
    else
        myna_arena_free(a);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_parser *p = ud;
    if (p->halted)
        return;
    if (p->depth <= 1) {
        /* Whitespace between stanzas (keepalives): consumed, part of no stanza. */
        long long end = event_end(p);
        if (end > p->mark)
            p->mark = end;
        if (end > p->last_event)
            p->last_event = end;
        return;
    }
    if (over_limit(p))
        return;
    myna_buf_append(&p->text, s, (size_t)len);
}

/* Where the parser's own long-lived memory (the struct and the stream header's
 * declarations) comes from; see xml_parser_set_allocator(). */
static void *default_alloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p)
        abort();
    return p;
}

static void default_dealloc(void *p, size_t n)
{
    (void)n;
    free(p);
}

static void *(*own_alloc)(size_t) = default_alloc;
static void (*own_dealloc)(void *, size_t) = default_dealloc;

void xml_parser_set_allocator(void *(*alloc)(size_t n), void (*dealloc)(void *p, size_t n))
{
    own_alloc = alloc ? alloc : default_alloc;
    own_dealloc = dealloc ? dealloc : default_dealloc;
}

static char *own_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = own_alloc(n);
    memcpy(d, s, n);
    return d;
}

static void own_strfree(char *s)
{
    if (s)
        own_dealloc(s, strlen(s) + 1);
}

static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
    struct xml_parser *p = ud;
    if (p->halted || p->depth != 0 || p->synthetic)
        return; /* only the stream header's declarations are remembered */
    if (p->ndecls >= p->lim.max_attrs) {
        fail(p, XML_PARSE_TOO_BIG);
        return;
    }
    struct ns_decl *d = own_alloc((p->ndecls + 1) * sizeof(*d));
    if (p->ndecls)
        memcpy(d, p->decls, p->ndecls * sizeof(*d));
    if (p->decls)
        own_dealloc(p->decls, p->ndecls * sizeof(*d));
    p->decls = d;
    d = &p->decls[p->ndecls++];
    d->prefix = prefix ? own_strdup(prefix) : NULL;
    d->uri = own_strdup(uri ? uri : "");
    p->decl_bytes += sizeof(*d) + (prefix ? strlen(prefix) + 1 : 0) + strlen(d->uri) + 1;
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    struct xml_parser *p = ud;
    (void)version;
    (void)standalone;
    p->last_event = event_end(p);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(p, XML_PARSE_BAD_ENCODING); /* RFC 6120 §11.6 */
}

/* RFC 6120 §11.1: DTDs, entity declarations, PIs and comments are refused. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    fail(ud, XML_PARSE_RESTRICTED);
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    fail(ud, XML_PARSE_RESTRICTED);
}

static void XMLCALL on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    fail(ud, XML_PARSE_RESTRICTED);
}

static void XMLCALL on_comment(void *ud, const XML_Char *data)
{
    fail(ud, XML_PARSE_RESTRICTED);
}

static void XMLCALL on_skipped_entity(void *ud, const XML_Char *name, int is_param)
{
    fail(ud, XML_PARSE_RESTRICTED);
}

/* ---- Expat instances ----------------------------------------------------------------- */

static void drop_stanza(struct xml_parser *p)
{
    myna_arena_free(p->arena);
    p->arena = NULL;
    p->root = p->cur = NULL;
    p->text.len = 0;
}

static void expat_free(struct xml_parser *p)
{
    if (p->xp) {
        XML_ParserFree(p->xp);
        p->xp = NULL;
    }
}

static void expat_create(struct xml_parser *p)
{
    struct xml_parser *saved = mm_owner;
    mm_owner = p;
    /* The encoding is forced: a declaration naming another one is caught in on_xml_decl. */
    XML_Parser xp = XML_ParserCreate_MM("UTF-8", &mm_suite, ns_sep_str);
    mm_owner = saved;
    if (!xp) {
        fprintf(stderr, "myna: out of memory creating an XML parser\n");
        abort();
    }
    XML_SetUserData(xp, p);
    XML_SetElementHandler(xp, on_start, on_end);
    XML_SetCharacterDataHandler(xp, on_text);
    XML_SetStartNamespaceDeclHandler(xp, on_ns_decl);
    XML_SetXmlDeclHandler(xp, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(xp, on_doctype);
    XML_SetEntityDeclHandler(xp, on_entity_decl);
    XML_SetProcessingInstructionHandler(xp, on_pi);
    XML_SetCommentHandler(xp, on_comment);
    XML_SetSkippedEntityHandler(xp, on_skipped_entity);
    XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
    /* Deferral would hold back a stanza whose start tag arrived in pieces until more
     * input comes, which on a quiet XMPP stream may be never. */
    if (XML_SetReparseDeferralEnabled)
        XML_SetReparseDeferralEnabled(xp, XML_FALSE);
    p->xp = xp;
    p->fed = 0;
    p->mark = 0;
    p->tag_end = 0;
    p->last_event = 0;
    p->depth = 0;
    p->halted = false;
}

/* Forgets the stream: the state of a new parser (limits and callbacks kept). */
static void parser_clear(struct xml_parser *p)
{
    expat_free(p);
    drop_stanza(p);
    myna_buf_free(&p->text);
    for (size_t i = 0; i < p->ndecls; i++) {
        own_strfree(p->decls[i].prefix);
        own_strfree(p->decls[i].uri);
    }
    if (p->decls)
        own_dealloc(p->decls, p->ndecls * sizeof(*p->decls));
    p->decls = NULL;
    p->ndecls = 0;
    p->decl_bytes = 0;
    p->err = XML_PARSE_OK;
    p->halted = p->reset_requested = p->stop_requested = p->stopped = false;
    p->header_seen = p->synthetic = false;
    p->depth = 0;
    p->fed = p->mark = p->tag_end = p->last_event = 0;
}

/* ---- Public API ---------------------------------------------------------------------- */

struct xml_parser *xml_parser_new(const struct xml_parser_limits *limits,
                                  const struct xml_parser_callbacks *cb, void *ud)
{
    struct xml_parser *p = own_alloc(sizeof(*p));
    p->lim.max_stanza_bytes = 256 * 1024;
    p->lim.max_depth = 64;
    p->lim.max_attrs = 64;
    if (limits) {
        if (limits->max_stanza_bytes)
            p->lim.max_stanza_bytes = limits->max_stanza_bytes;
        if (limits->max_depth)
            p->lim.max_depth = limits->max_depth;
        if (limits->max_attrs)
            p->lim.max_attrs = limits->max_attrs;
    }
    if (cb)
        p->cb = *cb;
    p->ud = ud;
    myna_buf_init(&p->text);
    return p;
}

void xml_parser_free(struct xml_parser *p)
{
    if (!p)
        return;
    parser_clear(p);
    own_dealloc(p, sizeof(*p));
}

/* Valid UTF-8 sequence at s (n bytes available)? Used only to classify expat errors. */
static bool utf8_seq_ok(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    if (c < 0x80)
        return true;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return false;
    if (n < len)
        return true; /* cut off: cannot tell, call it a syntax error */
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return false;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
        return false;
    return true;
}

/* Maps an expat failure to a stream error. For an invalid token, looks at the byte expat
 * stopped at (in the slice just fed, or in expat's own buffer) to tell bad UTF-8 from
 * bad XML. */
static enum xml_parse_error classify(struct xml_parser *p, const char *slice, size_t len,
                                     long long slice_start)
{
    enum XML_Error code = XML_GetErrorCode(p->xp);
    switch (code) {
    case XML_ERROR_NO_MEMORY:
        return XML_PARSE_TOO_BIG;
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING:
        return XML_PARSE_BAD_ENCODING;
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_ASYNC_ENTITY:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_NOT_STANDALONE:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
        return XML_PARSE_RESTRICTED;
    case XML_ERROR_INVALID_TOKEN:
    case XML_ERROR_PARTIAL_CHAR: {
        long long idx = (long long)XML_GetCurrentByteIndex(p->xp);
        const unsigned char *at = NULL;
        size_t avail = 0;
        if (idx >= slice_start && idx < slice_start + (long long)len) {
            at = (const unsigned char *)slice + (idx - slice_start);
            avail = len - (size_t)(idx - slice_start);
        } else {
            int off = 0, size = 0;
            const char *ctx = XML_GetInputContext(p->xp, &off, &size);
            if (ctx && off >= 0 && off < size) {
                at = (const unsigned char *)ctx + off;
                avail = (size_t)(size - off);
            }
        }
        if (at && !utf8_seq_ok(at, avail))
            return XML_PARSE_BAD_ENCODING;
        return XML_PARSE_NOT_WELL_FORMED;
    }
    default:
        return XML_PARSE_NOT_WELL_FORMED;
    }
}

/* Gives expat `len` bytes; false when the feed must end (error, reset, stop). */
static bool expat_feed(struct xml_parser *p, const char *data, size_t len)
{
    struct xml_parser *saved = mm_owner;
    mm_owner = p;
    long long start = p->fed;
    enum XML_Status st = XML_Parse(p->xp, data, (int)len, XML_FALSE);
    mm_owner = saved;
    p->fed += (long long)len;
    if (p->reset_requested || p->stop_requested)
        return false;
    if (st != XML_STATUS_OK && !p->err)
        p->err = classify(p, data, len, start);
    if (!p->err && p->fed - p->last_event > TOKEN_MAX)
        p->err = XML_PARSE_TOO_BIG;
    return !p->err;
}

/* The stream header as the peer declared it, namespaces only, fed to a fresh expat. */
static bool feed_synthetic_header(struct xml_parser *p)
{
    const char *prefix = NULL;
    for (size_t i = 0; i < p->ndecls; i++)
        if (p->decls[i].prefix && strcmp(p->decls[i].uri, MYNA_NS_STREAM) == 0)
            prefix = p->decls[i].prefix;
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_append(&b, "<", 1);
    if (prefix)
        myna_buf_printf(&b, "%s:", prefix);
    myna_buf_appends(&b, "stream");
    for (size_t i = 0; i < p->ndecls; i++) {
        if (p->decls[i].prefix)
            myna_buf_printf(&b, " xmlns:%s='", p->decls[i].prefix);
        else
            myna_buf_appends(&b, " xmlns='");
        myna_buf_append_escaped(&b, p->decls[i].uri, strlen(p->decls[i].uri));
        myna_buf_append(&b, "'", 1);
    }
    myna_buf_append(&b, ">", 1);
    p->synthetic = true;
    bool ok = expat_feed(p, b.data, b.len);
    myna_buf_free(&b);
    if (ok && (p->synthetic || p->depth != 1)) {
        p->err = XML_PARSE_NOT_WELL_FORMED; /* cannot happen: the header was parsed once */
        ok = false;
    }
    p->synthetic = false;
    return ok;
}

enum xml_parse_error xml_parser_feed(struct xml_parser *p, const char *data, size_t len)
{
    if (p->err)
        return p->err;
    if (p->stopped || p->in_feed)
        return XML_PARSE_OK;
    p->in_feed = true;
    size_t off = 0;
    while (off < len) {
        if (!p->xp) {
            bool regrow = p->header_seen;
            expat_create(p);
            if (regrow && !feed_synthetic_header(p))
                break;
            if (!regrow && ((unsigned char)data[off] == 0xFE || (unsigned char)data[off] == 0xFF)) {
                p->err = XML_PARSE_BAD_ENCODING; /* a UTF-16 byte order mark */
                break;
            }
        }
        unsigned long long pending = (unsigned long long)(p->fed - p->mark);
        if (pending > p->lim.max_stanza_bytes) {
            p->err = XML_PARSE_TOO_BIG;
            break;
        }
        size_t budget = p->lim.max_stanza_bytes - (size_t)pending;
        size_t slice = len - off;
        if (budget > TOKEN_MAX)
            budget = TOKEN_MAX; /* a huge tag is caught before expat buffers much of it */
        if (budget < SLICE_MIN)
            budget = SLICE_MIN;
        if (slice > budget)
            slice = budget;
        if (slice > INT32_MAX)
            slice = INT32_MAX;
        if (!expat_feed(p, data + off, slice))
            break;
        off += slice;
    }
    if (!p->err && p->xp && !p->reset_requested && !p->stop_requested &&
        (unsigned long long)(p->fed - p->mark) > p->lim.max_stanza_bytes)
        p->err = XML_PARSE_TOO_BIG;
    p->in_feed = false;

    if (p->reset_requested) {
        parser_clear(p);
        return XML_PARSE_OK;
    }
    if (p->stop_requested) {
        expat_free(p);
        drop_stanza(p);
        p->stop_requested = false;
        p->stopped = true;
        return XML_PARSE_OK;
    }
    if (p->err) {
        /* Dead until reset: give the memory back now. */
        expat_free(p);
        drop_stanza(p);
        myna_buf_free(&p->text);
    }
    return p->err;
}

void xml_parser_set_max_stanza(struct xml_parser *p, size_t bytes)
{
    if (bytes)
        p->lim.max_stanza_bytes = bytes;
}

void xml_parser_reset(struct xml_parser *p)
{
    if (p->in_feed) {
        p->reset_requested = true;
        if (!p->halted && p->xp) {
            p->halted = true;
            XML_StopParser(p->xp, XML_FALSE);
        }
        return;
    }
    parser_clear(p);
}

void xml_parser_stop(struct xml_parser *p)
{
    if (p->in_feed) {
        p->stop_requested = true;
        if (!p->halted && p->xp) {
            p->halted = true;
            XML_StopParser(p->xp, XML_FALSE);
        }
        return;
    }
    expat_free(p);
    drop_stanza(p);
    p->stopped = true;
}

void xml_parser_shrink(struct xml_parser *p)
{
    if (p->in_feed || !p->xp || p->err || p->stopped || p->depth != 1 || p->fed != p->mark)
        return;
    expat_free(p);
    myna_buf_free(&p->text);
    p->depth = 0;
}

size_t xml_parser_memory(const struct xml_parser *p)
{
    size_t n = sizeof(*p) + p->expat_mem + p->text.cap + p->decl_bytes;
    if (p->arena)
        n += myna_arena_used(p->arena);
    return n;
}

/* ---- One element from a buffer (myna_xml_parse) ----------------------------------------
 * For modules that store stanzas as text (offline messages, archives). Lives here, not in
 * a file of its own, so every program that links the parser exports it to modules. */

struct one {
    struct myna_arena *dst;
    struct myna_xml *result;
    int count;
};

static void one_open(void *ud, struct myna_xml *header, const char *default_ns)
{
    (void)ud, (void)default_ns;
    myna_arena_free(header->arena);
}

static void one_element(void *ud, struct myna_xml *el)
{
    struct one *o = ud;
    if (o->count++ == 0)
        o->result = myna_xml_copy(o->dst, el);
    myna_arena_free(el->arena);
}

struct myna_xml *myna_xml_parse(struct myna_arena *a, const char *xml, size_t len,
                                const char *default_ns)
{
    struct one o = {a, NULL, 0};
    struct xml_parser_callbacks cb = {one_open, one_element, NULL};
    struct myna_buf head;
    myna_buf_init(&head);
    myna_buf_appends(&head, "<stream:stream xmlns:stream='" MYNA_NS_STREAM "' xmlns='");
    if (default_ns)
        myna_buf_append_escaped(&head, default_ns, strlen(default_ns));
    myna_buf_appends(&head, "'>");
    struct xml_parser_limits lim = {.max_stanza_bytes = len + head.len + 64};
    struct xml_parser *p = xml_parser_new(&lim, &cb, &o);
    enum xml_parse_error e = xml_parser_feed(p, head.data, head.len);
    if (e == XML_PARSE_OK)
        e = xml_parser_feed(p, xml, len);
    myna_buf_free(&head);
    xml_parser_free(p);
    /* Exactly one complete element, nothing else but whitespace. */
    if (e != XML_PARSE_OK || o.count != 1)
        return NULL;
    return o.result;
}
