/* modules/pubsub/bookmarks.c — one set of bookmarks in three forms. The PEP node
 * urn:xmpp:bookmarks:1 (XEP-0402: one item per room, id = room JID) holds them; the
 * XEP-0048 forms are kept in step (XEP-0402 §5.3, XEP-0411 §3):
 *   - private XML storage:bookmarks (XEP-0049) is a view: a get is built from the
 *     bookmarks:1 items, a set updates them (publishing changed rooms, retracting removed
 *     ones, nothing for unchanged ones, §5.3.2), served for the private module through its
 *     "private.extension" service;
 *   - the PEP node storage:bookmarks (XEP-0048 §3 over XEP-0223) holds the whole list as
 *     item 'current', republished whenever bookmarks:1 changes; a client publishing there
 *     updates bookmarks:1 the same way.
 * Bookmarks stored in private XML before this module ran are moved once (XEP-0411 §4).
 * Every node made here is whitelist (the owner only, XEP-0411 §5, XEP-0223 §2).
 */
#include <string.h>

#include "pubsub.h"

#define NS_BM2 "urn:xmpp:bookmarks:1"
#define NS_BM "storage:bookmarks"

static void bm2_config(struct ps_ctx *c, const struct ps_service *svc, struct ps_config *cfg)
{
    /* XEP-0402 §3.3 publish-options. */
    config_default(c, svc, cfg);
    cfg->access = PS_ACCESS_WHITELIST;
    cfg->max_items = c->max_items;
    cfg->send_last = PS_SEND_NEVER;
}

static void legacy_config(struct ps_ctx *c, const struct ps_service *svc, struct ps_config *cfg)
{
    config_default(c, svc, cfg);
    cfg->access = PS_ACCESS_WHITELIST;
}

bool bookmarks_owns_private(const char *ns)
{
    return strcmp(ns, NS_BM) == 0;
}

/* ---- conversions between the forms ---- */

static bool is_true(const char *v)
{
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void copy_text_child(struct myna_xml *to, const char *ns, const struct myna_xml *from,
                            const char *from_ns, const char *name)
{
    const char *t = myna_xml_child_text(from, from_ns, name);
    if (t) {
        struct myna_xml *el = myna_xml_add_child(to, ns, name);
        myna_xml_add_text(el, t, strlen(t));
    }
}

/* A bookmarks:1 item (id = room) as an XEP-0048 <conference/>. */
static void legacy_conference(struct myna_xml *storage, const struct ps_item *it)
{
    struct myna_xml *conf = myna_xml_add_child(storage, NS_BM, "conference");
    myna_xml_set_attr(conf, "jid", it->id);
    const struct myna_xml *p = it->payload;
    if (!p || !myna_xml_is(p, NS_BM2, "conference"))
        return;
    if (myna_xml_attr(p, "name"))
        myna_xml_set_attr(conf, "name", myna_xml_attr(p, "name"));
    myna_xml_set_attr(conf, "autojoin", is_true(myna_xml_attr(p, "autojoin")) ? "true" : "false");
    copy_text_child(conf, NS_BM, p, NS_BM2, "nick");
    copy_text_child(conf, NS_BM, p, NS_BM2, "password");
    /* Extensions ride along as foreign children, which XEP-0048 clients leave alone. */
    const struct myna_xml *ext = myna_xml_find(p, NS_BM2, "extensions");
    for (const struct myna_xml *e = ext ? myna_xml_first_element(ext) : NULL; e;
         e = myna_xml_find_next(e, NULL, NULL))
        myna_xml_add_copy(conf, e);
}

/* An XEP-0048 <conference/> as a bookmarks:1 payload. */
static struct myna_xml *native_conference(struct myna_arena *a, const struct myna_xml *conf)
{
    struct myna_xml *p = myna_xml_new(a, NS_BM2, "conference");
    if (myna_xml_attr(conf, "name"))
        myna_xml_set_attr(p, "name", myna_xml_attr(conf, "name"));
    if (is_true(myna_xml_attr(conf, "autojoin")))
        myna_xml_set_attr(p, "autojoin", "true");
    copy_text_child(p, NS_BM2, conf, NS_BM, "nick");
    copy_text_child(p, NS_BM2, conf, NS_BM, "password");
    struct myna_xml *ext = NULL;
    for (const struct myna_xml *e = myna_xml_first_element(conf); e;
         e = myna_xml_find_next(e, NULL, NULL)) {
        if (strcmp(e->ns, NS_BM) == 0)
            continue;
        if (!ext)
            ext = myna_xml_add_child(p, NS_BM2, "extensions");
        myna_xml_add_copy(ext, e);
    }
    return p;
}

static struct myna_xml *legacy_storage(struct ps_ctx *c, struct myna_arena *a,
                                       const struct ps_service *svc)
{
    struct myna_xml *storage = myna_xml_new(a, NS_BM, "storage");
    struct ps_item *items;
    size_t n = 0;
    store_items_latest(c, a, svc, NS_BM2, 0, &items, &n);
    for (size_t i = 0; i < n; i++)
        legacy_conference(storage, &items[i]);
    return storage;
}

/* A conference in one canonical shape (attribute order, autojoin spelling), so equal
 * bookmarks compare equal whichever client wrote them. */
static const char *canonical(struct myna_arena *a, const struct myna_xml *p)
{
    struct myna_xml *c = myna_xml_new(a, NS_BM2, "conference");
    if (!p || !myna_xml_is(p, NS_BM2, "conference"))
        return myna_xml_to_string(c, NS_BM2);
    if (myna_xml_attr(p, "name") && *myna_xml_attr(p, "name"))
        myna_xml_set_attr(c, "name", myna_xml_attr(p, "name"));
    if (is_true(myna_xml_attr(p, "autojoin")))
        myna_xml_set_attr(c, "autojoin", "true");
    copy_text_child(c, NS_BM2, p, NS_BM2, "nick");
    copy_text_child(c, NS_BM2, p, NS_BM2, "password");
    const struct myna_xml *ext = myna_xml_find(p, NS_BM2, "extensions");
    if (ext && myna_xml_first_element(ext))
        myna_xml_add_copy(c, ext);
    return myna_xml_to_string(c, NS_BM2);
}

static bool same_bookmark(struct myna_arena *a, const struct myna_xml *x,
                          const struct myna_xml *y)
{
    return strcmp(canonical(a, x), canonical(a, y)) == 0;
}

/* Makes bookmarks:1 hold exactly the rooms of an XEP-0048 <storage/> (§5.3.2): publishes
 * new or changed ones, retracts the others; unchanged ones cause no notification. */
static int sync_from_legacy(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                            const struct myna_xml *storage)
{
    struct ps_config cfg;
    bm2_config(c, svc, &cfg);
    struct ps_item *items;
    size_t n = 0;
    store_items_latest(c, a, svc, NS_BM2, 0, &items, &n);
    const char **keep = myna_arena_alloc(a, sizeof(char *));
    size_t nkeep = 0;
    int rc = 0;
    for (const struct myna_xml *conf = myna_xml_find(storage, NS_BM, "conference"); conf;
         conf = myna_xml_find_next(conf, NS_BM, "conference")) {
        struct myna_jid room;
        const char *js = myna_xml_attr(conf, "jid");
        if (!js || myna_jid_parse(a, js, &room) < 0 || strlen(room.full) > PS_ID_MAX)
            continue;
        keep = myna_arena_realloc(a, keep, (nkeep + 1) * sizeof(char *),
                                  (nkeep + 2) * sizeof(char *));
        keep[nkeep++] = room.full;
        struct myna_xml *payload = native_conference(a, conf);
        const struct myna_xml *old = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(items[i].id, room.full) == 0)
                old = items[i].payload;
        if (old && same_bookmark(a, old, payload))
            continue;
        if (ops_publish_internal(c, svc, NS_BM2, room.full, payload, &cfg) < 0)
            rc = -1;
    }
    for (size_t i = 0; i < n; i++) {
        bool kept = false;
        for (size_t k = 0; k < nkeep && !kept; k++)
            kept = strcmp(keep[k], items[i].id) == 0;
        if (!kept)
            ops_retract_internal(c, svc, NS_BM2, items[i].id);
    }
    return rc;
}

static void republish_legacy(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc)
{
    struct ps_config cfg;
    legacy_config(c, svc, &cfg);
    ops_publish_internal(c, svc, NS_BM, "current", legacy_storage(c, a, svc), &cfg);
}

/* ---- the private XML view (XEP-0411 §3) ---- */

int bookmarks_private_get(struct ps_ctx *c, const struct myna_jid *user, struct myna_arena *a,
                          struct myna_xml **out)
{
    struct ps_service svc = {user->bare, true};
    bookmarks_migrate(c, &svc, NULL);
    *out = legacy_storage(c, a, &svc);
    return 0;
}

int bookmarks_private_set(struct ps_ctx *c, const struct myna_jid *user,
                          const struct myna_xml *storage)
{
    if (!myna_xml_is(storage, NS_BM, "storage"))
        return PRIVATE_EXT_ERROR(MYNA_ERR_BAD_REQUEST);
    struct myna_arena *a = myna_arena_new();
    struct ps_service svc = {user->bare, true};
    bookmarks_migrate(c, &svc, NULL);
    c->converting = true;
    int rc = sync_from_legacy(c, a, &svc, storage);
    republish_legacy(c, a, &svc); /* XEP-0411 §3: notify storage:bookmarks subscribers */
    c->converting = false;
    myna_arena_free(a);
    return rc < 0 ? PRIVATE_EXT_ERROR(MYNA_ERR_NOT_ALLOWED) : 0;
}

/* ---- PEP publishes by clients ---- */

void bookmarks_published(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const struct ps_item *it, bool retracted)
{
    bool native = strcmp(node, NS_BM2) == 0;
    if (!native && strcmp(node, NS_BM) != 0)
        return;
    struct myna_arena *a = myna_arena_new();
    c->converting = true;
    if (native)
        republish_legacy(c, a, svc);
    else if (!retracted && it->payload && myna_xml_is(it->payload, NS_BM, "storage"))
        sync_from_legacy(c, a, svc, it->payload);
    c->converting = false;
    myna_arena_free(a);
}

void bookmarks_migrate(struct ps_ctx *c, const struct ps_service *svc, const char *node)
{
    if (!c->convert_bookmarks)
        return;
    if (node && strcmp(node, NS_BM2) != 0 && strcmp(node, NS_BM) != 0)
        return;
    const struct private_service *p = myna_service_get(c->m, PRIVATE_SERVICE);
    if (!p || p->version < PRIVATE_SERVICE_VERSION)
        return;
    struct myna_arena *a = myna_arena_new();
    struct ps_node n;
    struct myna_xml *old;
    if (store_node_get(c, a, svc, NS_BM2, &n) == MYNA_STORE_NOTFOUND &&
        (old = p->stored_get(p, svc->jid, NS_BM, a)) != NULL) {
        bool was = c->converting;
        c->converting = true;
        if (sync_from_legacy(c, a, svc, old) == 0) {
            republish_legacy(c, a, svc);
            p->stored_del(p, svc->jid, NS_BM);
            myna_log(c->m, MYNA_LOG_INFO, "%s: private XML bookmarks moved to PEP", svc->jid);
        }
        c->converting = was;
    }
    myna_arena_free(a);
}
