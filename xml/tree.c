/* xml/tree.c — building, copying and querying stanza trees (include/myna/xml.h).
 *
 * Every node, attribute and string of a tree lives in the tree's arena. Attribute lookup
 * by plain name only sees unprefixed attributes (ns == NULL), so a peer cannot smuggle a
 * "to" through a foreign-namespace attribute. Adjacent text children are merged, which
 * keeps myna_xml_text() allocation-free for the common single-text case.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "myna/xml.h"

static const char *intern_ns(struct myna_arena *a, const char *ns, const struct myna_xml *near)
{
    if (!ns || !*ns)
        return "";
    if (near && near->ns && strcmp(near->ns, ns) == 0)
        return near->ns; /* share the parent's copy: same arena */
    return myna_arena_strdup(a, ns);
}

static void append_node(struct myna_xml *parent, struct myna_xml *node)
{
    node->parent = parent;
    if (parent->last_child)
        parent->last_child->next = node;
    else
        parent->children = node;
    parent->last_child = node;
}

struct myna_xml *myna_xml_new(struct myna_arena *a, const char *ns, const char *name)
{
    struct myna_xml *el = myna_arena_alloc(a, sizeof(*el));
    el->type = MYNA_XML_ELEMENT;
    el->arena = a;
    el->ns = intern_ns(a, ns, NULL);
    el->name = myna_arena_strdup(a, name);
    return el;
}

struct myna_xml *myna_xml_add_child(struct myna_xml *parent, const char *ns, const char *name)
{
    struct myna_arena *a = parent->arena;
    struct myna_xml *el = myna_arena_alloc(a, sizeof(*el));
    el->type = MYNA_XML_ELEMENT;
    el->arena = a;
    el->ns = ns ? intern_ns(a, ns, parent) : parent->ns;
    el->name = myna_arena_strdup(a, name);
    append_node(parent, el);
    return el;
}

void myna_xml_add_text(struct myna_xml *parent, const char *text, size_t len)
{
    struct myna_arena *a = parent->arena;
    struct myna_xml *last = parent->last_child;
    if (len == 0)
        return;
    if (last && last->type == MYNA_XML_TEXT) {
        /* Merge; grows in place when the text is the arena's newest allocation. */
        char *t = myna_arena_realloc(a, (char *)last->text, last->text_len + 1,
                                     last->text_len + len + 1);
        memcpy(t + last->text_len, text, len);
        last->text_len += len;
        t[last->text_len] = '\0';
        last->text = t;
        return;
    }
    struct myna_xml *node = myna_arena_alloc(a, sizeof(*node));
    node->type = MYNA_XML_TEXT;
    node->arena = a;
    node->text = myna_arena_strndup(a, text, len);
    node->text_len = len;
    append_node(parent, node);
}

/* Copies `src` (any arena) as a new node in arena `a`, children included. */
static struct myna_xml *copy_node(struct myna_arena *a, const struct myna_xml *src,
                                  struct myna_xml *parent)
{
    struct myna_xml *n = myna_arena_alloc(a, sizeof(*n));
    n->type = src->type;
    n->arena = a;
    if (src->type == MYNA_XML_TEXT) {
        n->text = myna_arena_strndup(a, src->text, src->text_len);
        n->text_len = src->text_len;
        return n;
    }
    n->name = myna_arena_strdup(a, src->name);
    n->ns = intern_ns(a, src->ns, parent);
    struct myna_xml_attr **tail = &n->attrs;
    for (const struct myna_xml_attr *at = src->attrs; at; at = at->next) {
        struct myna_xml_attr *c = myna_arena_alloc(a, sizeof(*c));
        c->name = myna_arena_strdup(a, at->name);
        c->ns = at->ns ? myna_arena_strdup(a, at->ns) : NULL;
        c->value = myna_arena_strdup(a, at->value);
        *tail = c;
        tail = &c->next;
    }
    for (const struct myna_xml *ch = src->children; ch; ch = ch->next)
        append_node(n, copy_node(a, ch, n));
    return n;
}

struct myna_xml *myna_xml_add_copy(struct myna_xml *parent, const struct myna_xml *child)
{
    if (child->type == MYNA_XML_TEXT) {
        myna_xml_add_text(parent, child->text, child->text_len);
        return parent->last_child;
    }
    struct myna_xml *n = copy_node(parent->arena, child, parent);
    append_node(parent, n);
    return n;
}

struct myna_xml *myna_xml_copy(struct myna_arena *a, const struct myna_xml *el)
{
    return copy_node(a, el, NULL);
}

void myna_xml_remove(struct myna_xml *child)
{
    struct myna_xml *parent = child->parent;
    if (!parent)
        return;
    struct myna_xml *prev = NULL;
    for (struct myna_xml *c = parent->children; c; prev = c, c = c->next) {
        if (c != child)
            continue;
        if (prev)
            prev->next = c->next;
        else
            parent->children = c->next;
        if (parent->last_child == c)
            parent->last_child = prev;
        break;
    }
    child->parent = NULL;
    child->next = NULL;
}

/* ---- Attributes ---------------------------------------------------------------------- */

const char *myna_xml_attr(const struct myna_xml *el, const char *name)
{
    for (const struct myna_xml_attr *at = el->attrs; at; at = at->next)
        if (!at->ns && strcmp(at->name, name) == 0)
            return at->value;
    return NULL;
}

void myna_xml_set_attr(struct myna_xml *el, const char *name, const char *value)
{
    struct myna_xml_attr **pp = &el->attrs;
    for (; *pp; pp = &(*pp)->next) {
        struct myna_xml_attr *at = *pp;
        if (at->ns || strcmp(at->name, name) != 0)
            continue;
        if (value)
            at->value = myna_arena_strdup(el->arena, value);
        else
            *pp = at->next;
        return;
    }
    if (!value)
        return;
    struct myna_xml_attr *at = myna_arena_alloc(el->arena, sizeof(*at));
    at->name = myna_arena_strdup(el->arena, name);
    at->value = myna_arena_strdup(el->arena, value);
    *pp = at; /* pp is the tail: document order is kept */
}

void myna_xml_set_attrf(struct myna_xml *el, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = myna_arena_vprintf(el->arena, fmt, ap);
    va_end(ap);
    myna_xml_set_attr(el, name, v);
}

/* ---- Lookup -------------------------------------------------------------------------- */

bool myna_xml_is(const struct myna_xml *el, const char *ns, const char *name)
{
    if (!el || el->type != MYNA_XML_ELEMENT)
        return false;
    if (name && strcmp(el->name, name) != 0)
        return false;
    if (ns && strcmp(el->ns, ns) != 0)
        return false;
    return true;
}

static struct myna_xml *find_from(const struct myna_xml *c, const char *ns, const char *name)
{
    for (; c; c = c->next)
        if (myna_xml_is(c, ns, name))
            return (struct myna_xml *)c;
    return NULL;
}

struct myna_xml *myna_xml_find(const struct myna_xml *el, const char *ns, const char *name)
{
    return find_from(el->children, ns, name);
}

struct myna_xml *myna_xml_find_next(const struct myna_xml *prev, const char *ns,
                                    const char *name)
{
    return find_from(prev->next, ns, name);
}

struct myna_xml *myna_xml_first_element(const struct myna_xml *el)
{
    return find_from(el->children, NULL, NULL);
}

const char *myna_xml_text(const struct myna_xml *el)
{
    const struct myna_xml *only = NULL;
    size_t total = 0, count = 0;
    for (const struct myna_xml *c = el->children; c; c = c->next) {
        if (c->type != MYNA_XML_TEXT)
            continue;
        only = c;
        total += c->text_len;
        count++;
    }
    if (count == 0)
        return "";
    if (count == 1)
        return only->text;
    char *out = myna_arena_realloc(el->arena, NULL, 0, total + 1);
    size_t off = 0;
    for (const struct myna_xml *c = el->children; c; c = c->next) {
        if (c->type != MYNA_XML_TEXT)
            continue;
        memcpy(out + off, c->text, c->text_len);
        off += c->text_len;
    }
    out[off] = '\0';
    return out;
}

const char *myna_xml_child_text(const struct myna_xml *el, const char *ns, const char *name)
{
    struct myna_xml *c = myna_xml_find(el, ns, name);
    return c ? myna_xml_text(c) : NULL;
}
