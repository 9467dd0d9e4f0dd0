/* xml/reader.c — the streaming document reader (xml/reader.h) on libexpat.
 *
 * Invariants: every open element is either a frame (descended into, taken as ITEMS, or
 * skipped: one small arena each), or inside the one tree being built, or inside a skip.
 * Memory is bounded by the frames, one tree (max_tree_bytes), one pending input chunk and
 * expat's buffer, which holds at most TOKEN_MAX bytes past the last event: input reaches
 * expat in chunks of CHUNK bytes and a longer token ends the read.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "xml/reader.h"

#define NS_SEP '\x01'
#define CHUNK (64 * 1024)
#define TOKEN_MAX (1024 * 1024)
#define DEF_TREE_BYTES (4u << 20)
#define DEF_DEPTH 128
#define DEF_ATTRS 64

struct frame {
    struct myna_arena *arena; /* owns el */
    struct myna_xml *el;
    enum xml_read_take take;
    unsigned level;           /* the element's depth (root 0) */
};

struct xml_reader {
    XML_Parser xp;
    struct xml_reader_limits lim;
    struct xml_reader_callbacks cb;
    void *ud;
    unsigned depth;              /* open elements */
    struct frame *frames;        /* the open frames, outermost first */
    size_t nframes, capframes;
    struct myna_arena *tarena;   /* the tree being built (NULL if none or dropped) */
    struct myna_xml *troot, *tcur;
    struct myna_xml *tparent;    /* its ITEMS element, or NULL */
    bool in_tree, tdrop;         /* inside a tree; that tree went over the limit */
    unsigned tree_level;         /* depth of the tree's root */
    bool skipping;               /* inside a skipped element */
    unsigned skip_level;         /* its depth */
    struct myna_buf text;        /* character data not yet attached to tcur */
    long long fed, last_event;   /* bytes given to expat; end of its last event */
    char *pending;               /* input not yet given to expat (after a pause) */
    size_t npending;
    bool pause_req, paused, failed, done;
    char err[300];
};

static const char *reason(struct xml_reader *r)
{
    return XML_ErrorString(XML_GetErrorCode(r->xp));
}

static void failf(struct xml_reader *r, const char *why)
{
    if (r->failed)
        return;
    r->failed = true;
    snprintf(r->err, sizeof r->err, "line %lu: %s", xml_reader_line(r), why);
    XML_StopParser(r->xp, XML_FALSE);
}

static void note_event(struct xml_reader *r)
{
    long long end = (long long)XML_GetCurrentByteIndex(r->xp) + XML_GetCurrentByteCount(r->xp);
    if (end > r->last_event)
        r->last_event = end;
}

/* After a callback: a pause it asked for takes effect now. */
static void after_callback(struct xml_reader *r)
{
    if (r->pause_req && !r->failed) {
        r->pause_req = false;
        r->paused = true;
        XML_StopParser(r->xp, XML_TRUE);
    }
}

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

/* A new element with its attributes: a root in `a` (parent NULL) or a child of parent. */
static struct myna_xml *make_element(struct myna_arena *a, struct myna_xml *parent,
                                     const XML_Char *name, const XML_Char **atts)
{
    const char *ns;
    size_t ns_len;
    const char *local = split_name(name, &ns, &ns_len);
    char *nsd = myna_arena_strndup(a, ns, ns_len);
    struct myna_xml *el = parent ? myna_xml_add_child(parent, nsd, local)
                                 : myna_xml_new(a, nsd, local);
    struct myna_xml_attr **tail = &el->attrs;
    for (; atts[0]; atts += 2) {
        struct myna_xml_attr *at = myna_arena_alloc(a, sizeof *at);
        const char *ans;
        size_t ans_len;
        const char *alocal = split_name(atts[0], &ans, &ans_len);
        if (ans_len == 0) {
            at->name = myna_arena_strdup(a, alocal);
        } else if (ans_len == sizeof(MYNA_NS_XML) - 1 && memcmp(ans, MYNA_NS_XML, ans_len) == 0) {
            at->name = myna_arena_printf(a, "xml:%s", alocal);
        } else {
            at->name = myna_arena_strdup(a, alocal);
            at->ns = myna_arena_strndup(a, ans, ans_len);
        }
        at->value = myna_arena_strdup(a, atts[1]);
        *tail = at;
        tail = &at->next;
    }
    return el;
}

static void flush_text(struct xml_reader *r)
{
    if (r->text.len && r->tcur)
        myna_xml_add_text(r->tcur, r->text.data, r->text.len);
    r->text.len = 0;
}

/* Drops the tree in progress when it went over the limit; the rest of it is skipped. */
static bool tree_check(struct xml_reader *r)
{
    if (myna_arena_used(r->tarena) + r->text.len <= r->lim.max_tree_bytes)
        return true;
    if (r->cb.too_big)
        r->cb.too_big(r->ud, r->tparent, r->troot);
    myna_arena_free(r->tarena);
    r->tarena = NULL;
    r->troot = r->tcur = NULL;
    r->text.len = 0;
    r->tdrop = true;
    after_callback(r);
    return false;
}

static void tree_begin(struct xml_reader *r, struct myna_arena *a, struct myna_xml *root,
                       struct myna_xml *parent)
{
    r->in_tree = true;
    r->tdrop = false;
    r->tarena = a;
    r->troot = r->tcur = root;
    r->tparent = parent;
    r->tree_level = r->depth;
    r->text.len = 0;
    tree_check(r);
}

static void push_frame(struct xml_reader *r, struct myna_arena *a, struct myna_xml *el,
                       enum xml_read_take take)
{
    if (r->nframes == r->capframes) {
        r->capframes = r->capframes ? 2 * r->capframes : 8;
        r->frames = realloc(r->frames, r->capframes * sizeof *r->frames);
        if (!r->frames)
            abort();
    }
    r->frames[r->nframes++] = (struct frame){a, el, take, r->depth};
}

static unsigned count_attrs(const XML_Char **atts)
{
    unsigned n = 0;
    while (atts[2 * n])
        n++;
    return n;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xml_reader *r = ud;
    if (r->failed)
        return;
    note_event(r);
    if (r->depth >= r->lim.max_depth) {
        failf(r, "elements nested too deep");
        return;
    }
    if (count_attrs(atts) > r->lim.max_attrs) {
        failf(r, "too many attributes on one element");
        return;
    }
    if (r->skipping || (r->in_tree && r->tdrop)) {
        r->depth++;
        return;
    }
    if (r->in_tree) {
        flush_text(r);
        r->tcur = make_element(r->tarena, r->tcur, name, atts);
        r->depth++;
        tree_check(r);
        return;
    }
    struct frame *top = r->nframes ? &r->frames[r->nframes - 1] : NULL;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = make_element(a, NULL, name, atts);
    if (top && top->take == XML_TAKE_ITEMS) {
        tree_begin(r, a, el, top->el);
        r->depth++;
        return;
    }
    enum xml_read_take take = r->cb.start(r->ud, r->depth, el);
    if (take == XML_TAKE_TREE) {
        tree_begin(r, a, el, NULL);
    } else {
        push_frame(r, a, el, take);
        if (take == XML_TAKE_SKIP) {
            r->skipping = true;
            r->skip_level = r->depth;
        }
    }
    r->depth++;
    after_callback(r);
}

static void pop_frame(struct xml_reader *r)
{
    struct frame f = r->frames[--r->nframes];
    if (r->cb.end)
        r->cb.end(r->ud, f.level, f.el);
    myna_arena_free(f.arena);
    after_callback(r);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xml_reader *r = ud;
    (void)name;
    if (r->failed)
        return;
    note_event(r);
    unsigned level = --r->depth;
    if (r->skipping) {
        if (level > r->skip_level)
            return;
        r->skipping = false;
        pop_frame(r);
        return;
    }
    if (r->in_tree) {
        if (level > r->tree_level) {
            if (!r->tdrop) {
                flush_text(r);
                r->tcur = r->tcur->parent;
            }
            return;
        }
        r->in_tree = false;
        if (r->tdrop) {
            r->tdrop = false;
            return;
        }
        flush_text(r);
        struct myna_arena *a = r->tarena;
        struct myna_xml *root = r->troot, *parent = r->tparent;
        r->tarena = NULL;
        r->troot = r->tcur = r->tparent = NULL;
        r->cb.tree(r->ud, parent, root);
        myna_arena_free(a);
        after_callback(r);
        return;
    }
    if (r->nframes && r->frames[r->nframes - 1].level == level)
        pop_frame(r);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_reader *r = ud;
    if (r->failed)
        return;
    note_event(r);
    if (!r->in_tree || r->tdrop)
        return;
    myna_buf_append(&r->text, s, (size_t)len);
    tree_check(r);
}

static void XMLCALL on_other(void *ud, const XML_Char *s, int len)
{
    (void)s;
    (void)len;
    note_event(ud); /* comments, PIs, whitespace outside the root: read and dropped */
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    struct xml_reader *r = ud;
    note_event(r);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        failf(r, "only UTF-8 documents are read");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    failf(ud, "a document type declaration (DTD) is refused");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    failf(ud, "entity declarations are refused");
}

static void XMLCALL on_skipped_entity(void *ud, const XML_Char *name, int is_param)
{
    failf(ud, "undeclared entity reference");
}

struct xml_reader *xml_reader_new(const struct xml_reader_limits *limits,
                                  const struct xml_reader_callbacks *cb, void *ud)
{
    struct xml_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    if (limits)
        r->lim = *limits;
    if (!r->lim.max_tree_bytes)
        r->lim.max_tree_bytes = DEF_TREE_BYTES;
    if (!r->lim.max_depth)
        r->lim.max_depth = DEF_DEPTH;
    if (!r->lim.max_attrs)
        r->lim.max_attrs = DEF_ATTRS;
    r->cb = *cb;
    r->ud = ud;
    const XML_Char sep[] = {NS_SEP, '\0'};
    r->xp = XML_ParserCreateNS("UTF-8", sep[0]);
    if (!r->xp)
        abort();
    XML_SetUserData(r->xp, r);
    XML_SetElementHandler(r->xp, on_start, on_end);
    XML_SetCharacterDataHandler(r->xp, on_text);
    XML_SetXmlDeclHandler(r->xp, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(r->xp, on_doctype);
    XML_SetEntityDeclHandler(r->xp, on_entity_decl);
    XML_SetSkippedEntityHandler(r->xp, on_skipped_entity);
    XML_SetDefaultHandler(r->xp, on_other);
    XML_SetParamEntityParsing(r->xp, XML_PARAM_ENTITY_PARSING_NEVER);
    myna_buf_init(&r->text);
    return r;
}

void xml_reader_free(struct xml_reader *r)
{
    if (!r)
        return;
    while (r->nframes)
        myna_arena_free(r->frames[--r->nframes].arena);
    free(r->frames);
    myna_arena_free(r->tarena);
    myna_buf_free(&r->text);
    free(r->pending);
    XML_ParserFree(r->xp);
    free(r);
}

/* Maps what XML_ParseBuffer/XML_ResumeParser returned to our status. */
static enum xml_read_status status_of(struct xml_reader *r, enum XML_Status st)
{
    if (r->failed)
        return XML_READ_ERROR;
    if (st == XML_STATUS_ERROR) {
        failf(r, reason(r));
        return XML_READ_ERROR;
    }
    if (r->fed - r->last_event > TOKEN_MAX) {
        failf(r, "a single tag or token is longer than 1 MiB");
        return XML_READ_ERROR;
    }
    return st == XML_STATUS_SUSPENDED ? XML_READ_PAUSED : XML_READ_OK;
}

/* Gives expat up to one chunk; the rest waits in `pending` if a callback paused. */
static enum xml_read_status feed_chunks(struct xml_reader *r, const char *data, size_t len)
{
    while (len > 0) {
        size_t n = len < CHUNK ? len : CHUNK;
        void *buf = XML_GetBuffer(r->xp, (int)n);
        if (!buf) {
            failf(r, "out of memory");
            return XML_READ_ERROR;
        }
        memcpy(buf, data, n);
        r->fed += (long long)n;
        enum xml_read_status s = status_of(r, XML_ParseBuffer(r->xp, (int)n, XML_FALSE));
        data += n;
        len -= n;
        if (s == XML_READ_PAUSED && len > 0) {
            r->pending = malloc(len);
            if (!r->pending)
                abort();
            memcpy(r->pending, data, len);
            r->npending = len;
        }
        if (s != XML_READ_OK)
            return s;
    }
    return XML_READ_OK;
}

enum xml_read_status xml_reader_feed(struct xml_reader *r, const char *data, size_t len)
{
    if (r->failed)
        return XML_READ_ERROR;
    if (r->paused || r->done)
        return XML_READ_ERROR; /* a caller bug: resume first / nothing after finish */
    return feed_chunks(r, data, len);
}

enum xml_read_status xml_reader_resume(struct xml_reader *r)
{
    if (r->failed)
        return XML_READ_ERROR;
    if (!r->paused)
        return XML_READ_OK;
    r->paused = false;
    enum xml_read_status s = status_of(r, XML_ResumeParser(r->xp));
    if (s == XML_READ_OK && r->done && r->depth != 0)
        failf(r, "the document ends before its root element does");
    if (r->failed)
        return XML_READ_ERROR;
    if (s != XML_READ_OK || !r->pending)
        return s;
    char *rest = r->pending;
    size_t n = r->npending;
    r->pending = NULL;
    r->npending = 0;
    s = feed_chunks(r, rest, n);
    free(rest);
    return s;
}

enum xml_read_status xml_reader_finish(struct xml_reader *r)
{
    if (r->failed)
        return XML_READ_ERROR;
    if (r->paused)
        return XML_READ_PAUSED;
    r->done = true;
    enum xml_read_status s = status_of(r, XML_Parse(r->xp, "", 0, XML_TRUE));
    if (s == XML_READ_OK && r->depth != 0)
        failf(r, "the document ends before its root element does");
    return r->failed ? XML_READ_ERROR : s;
}

void xml_reader_pause(struct xml_reader *r)
{
    r->pause_req = true;
}

void xml_reader_abort(struct xml_reader *r, const char *why)
{
    failf(r, why);
}

const char *xml_reader_error(const struct xml_reader *r)
{
    return r->failed ? r->err : "";
}

unsigned long xml_reader_line(const struct xml_reader *r)
{
    return (unsigned long)XML_GetCurrentLineNumber(r->xp);
}
