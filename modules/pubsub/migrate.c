/* modules/pubsub/migrate.c — PEP nodes in XEP-0227 exports and imports (myna/module.h,
 * myna_migration_register), in the form Prosody 0.12's XEP-0227 driver writes them: per
 * account a <pubsub xmlns='...pubsub#owner'/> with each node's <configure node> (the
 * pubsub#node_config form), <affiliations node> and <subscriptions node>, and a
 * <pubsub xmlns='...pubsub'/> with each node's <items node> (items oldest first). Imports
 * go straight to the store, without notifications or conversions (the account is new and
 * nobody watches it yet), within the module's quotas: nodes per account, items per node
 * (the oldest go, as on publish) and per account, payload size. The generic pubsub.HOST
 * service is not migrated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

static const char *const aff_names[] = {"none", "outcast", "member", "publish-only",
                                        "publisher", "owner"};

/* ---- export ---- */

struct owner_x {
    struct myna_xml *owner;   /* <pubsub xmlns='...#owner'> being built */
    struct myna_xml *cur;     /* <affiliations/> or <subscriptions/> of the node */
    struct myna_arena *a;
};

static int put_aff(const char *jid, enum ps_affiliation aff, void *data)
{
    struct owner_x *x = data;
    struct myna_xml *e = myna_xml_add_child(x->cur, NULL, "affiliation");
    myna_xml_set_attr(e, "jid", jid);
    myna_xml_set_attr(e, "affiliation", aff_names[aff]);
    return 0;
}

static int put_sub(const char *jid, const char *subid, void *data)
{
    struct owner_x *x = data;
    struct myna_xml *e = myna_xml_add_child(x->cur, NULL, "subscription");
    myna_xml_set_attr(e, "jid", jid);
    myna_xml_set_attr(e, "subscription", "subscribed");
    myna_xml_set_attr(e, "subid", subid);
    return 0;
}

struct export_ctx {
    struct ps_ctx *c;
    struct ps_service svc;
    struct myna_export *out;
    struct owner_x ox;
    bool items_opened;
    int rc;
};

static int export_node_meta(const char *node, void *data)
{
    struct export_ctx *x = data;
    struct myna_arena *a = x->ox.a;
    struct ps_node n;
    if (store_node_get(x->c, a, &x->svc, node, &n) != 0)
        return 0;
    struct myna_xml *conf = myna_xml_add_child(x->ox.owner, NULL, "configure");
    myna_xml_set_attr(conf, "node", node);
    config_form(x->c, a, conf, &n.cfg, "submit");
    x->ox.cur = myna_xml_add_child(x->ox.owner, NULL, "affiliations");
    myna_xml_set_attr(x->ox.cur, "node", node);
    store_affs(x->c, &x->svc, node, put_aff, &x->ox);
    if (!x->ox.cur->children)
        myna_xml_remove(x->ox.cur);
    x->ox.cur = myna_xml_add_child(x->ox.owner, NULL, "subscriptions");
    myna_xml_set_attr(x->ox.cur, "node", node);
    store_subs(x->c, &x->svc, node, put_sub, &x->ox);
    if (!x->ox.cur->children)
        myna_xml_remove(x->ox.cur);
    return 0;
}

/* One node's items as one <items/> (a node holds at most max_items of them). */
static int export_node_items(const char *node, void *data)
{
    struct export_ctx *x = data;
    struct myna_arena *a = myna_arena_new();
    struct ps_item *items;
    size_t n = 0;
    if (store_items_latest(x->c, a, &x->svc, node, 0, &items, &n) == 0 && n) {
        if (!x->items_opened) {
            x->rc = myna_export_begin(x->out, myna_xml_new(a, NS_PUBSUB, "pubsub"));
            x->items_opened = true;
        }
        struct myna_xml *its = myna_xml_new(a, NS_PUBSUB, "items");
        myna_xml_set_attr(its, "node", node);
        for (size_t i = 0; i < n; i++) {
            struct myna_xml *it = myna_xml_add_child(its, NULL, "item");
            myna_xml_set_attr(it, "id", items[i].id);
            if (items[i].payload)
                myna_xml_add_copy(it, items[i].payload);
        }
        if (x->rc == 0)
            x->rc = myna_export_write(x->out, its);
    }
    myna_arena_free(a);
    return x->rc;
}

static int export_pep(struct myna_module *m, const struct myna_jid *user,
                      struct myna_export *out, void *data)
{
    struct ps_ctx *c = data;
    if (!c->pep)
        return 0;
    struct export_ctx x = {c, {user->bare, true}, out, {NULL, NULL, myna_arena_new()}, false, 0};
    x.ox.owner = myna_xml_new(x.ox.a, NS_PUBSUB_OWNER, "pubsub");
    store_nodes(c, &x.svc, export_node_meta, &x);
    if (x.ox.owner->children)
        x.rc = myna_export_write(out, x.ox.owner);
    if (x.rc == 0)
        store_nodes(c, &x.svc, export_node_items, &x);
    if (x.items_opened && x.rc == 0)
        x.rc = myna_export_end(out);
    myna_arena_free(x.ox.a);
    return x.rc;
}

/* ---- import ---- */

static bool node_name_ok(const char *node)
{
    return node && *node && strlen(node) <= PS_NODE_MAX;
}

/* The node, created with the PEP defaults (and `f` when given) if missing; an existing
 * node takes the configuration of `f`. 0, or -1 (quota, store). */
static int node_ensure(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                       const char *node, const struct dataform *f, struct ps_node *n)
{
    int rc = store_node_get(c, a, svc, node, n);
    if (rc == MYNA_STORE_NOTFOUND) {
        if ((long long)store_node_count(c, svc) >= c->max_nodes)
            return -1;
        memset(n, 0, sizeof *n);
        n->name = myna_arena_strdup(a, node);
        n->next_seq = 1;
        config_default(c, svc, &n->cfg);
    } else if (rc != 0) {
        return -1;
    } else if (!f) {
        return 0;
    }
    if (f)
        config_load(c, a, f, &n->cfg); /* lenient: values out of our limits are clamped */
    return store_node_put(c, svc, n) == 0 ? 0 : -1;
}

static int import_owner(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                        const struct myna_xml *el)
{
    const char *node = myna_xml_attr(el, "node");
    if (!node_name_ok(node))
        return -1;
    struct ps_node n;
    if (strcmp(el->name, "configure") == 0) {
        struct myna_xml *x = myna_xml_find(el, DF_NS, "x");
        struct dataform f;
        bool have = x && df_parse(x, &f, PS_FORM_FIELDS, PS_FORM_VALUES) == 0;
        return node_ensure(c, a, svc, node, have ? &f : NULL, &n);
    }
    if (node_ensure(c, a, svc, node, NULL, &n) != 0)
        return -1;
    int rc = 0;
    if (strcmp(el->name, "affiliations") == 0) {
        for (struct myna_xml *e = myna_xml_find(el, NULL, "affiliation"); e && rc == 0;
             e = myna_xml_find_next(e, NULL, "affiliation")) {
            const char *jid = myna_xml_attr(e, "jid"), *v = myna_xml_attr(e, "affiliation");
            struct myna_jid j;
            for (unsigned i = 0; jid && v && i < sizeof aff_names / sizeof *aff_names; i++)
                if (strcmp(v, aff_names[i]) == 0 && myna_jid_parse(a, jid, &j) == 0)
                    rc = store_aff_set(c, svc, node, j.bare, (enum ps_affiliation)i);
        }
    } else if (strcmp(el->name, "subscriptions") == 0) {
        for (struct myna_xml *e = myna_xml_find(el, NULL, "subscription"); e && rc == 0;
             e = myna_xml_find_next(e, NULL, "subscription")) {
            /* Prosody writes the state as 'subscribed' or 'subscription'. */
            const char *jid = myna_xml_attr(e, "jid"), *subid = myna_xml_attr(e, "subid");
            const char *st = myna_xml_attr(e, "subscription");
            if (!st)
                st = myna_xml_attr(e, "subscribed");
            struct myna_jid j;
            if (!jid || !st || strcmp(st, "subscribed") != 0 || myna_jid_parse(a, jid, &j) != 0)
                continue;
            if (!subid || !*subid || strlen(subid) > PS_ID_MAX)
                subid = ps_next_id(c, a, "imported-");
            rc = store_sub_set(c, svc, node, j.full, subid);
        }
    } else {
        return -1;
    }
    return rc == 0 ? 0 : -1;
}

static int import_owner_el(struct myna_module *m, const struct myna_jid *user,
                           const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    struct ps_ctx *c = data;
    if (!c->pep)
        return -1;
    struct myna_arena *a = myna_arena_new();
    struct ps_service svc = {user->bare, true};
    int rc = import_owner(c, a, &svc, el);
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "import: PEP <%s node='%s'> of %s refused", el->name,
                 myna_xml_attr(el, "node") ? myna_xml_attr(el, "node") : "", user->bare);
    myna_arena_free(a);
    return rc;
}

/* One item, stored as the node's newest within the node's and the account's quotas. */
static int import_item(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                       struct ps_node *n, const struct myna_xml *item)
{
    const char *id = myna_xml_attr(item, "id");
    if (!id || !*id || strlen(id) > PS_ID_MAX)
        id = ps_next_id(c, a, "imported-");
    struct myna_xml *payload = myna_xml_first_element(item);
    if (payload && (long long)strlen(myna_xml_to_string(payload, NS_PUBSUB)) > c->max_payload)
        return -1;
    if (!n->cfg.persist_items)
        return 0;
    struct ps_item existing;
    if (store_item_get(c, a, svc, n->name, id, &existing) != 0) {
        while ((long long)n->nitems >= n->cfg.max_items) {
            const char *oldest = store_item_oldest(c, a, svc, n->name);
            if (!oldest || store_item_del(c, a, svc, n, oldest) < 0)
                return -1;
        }
        if ((long long)store_item_total(c, svc) >= c->max_account_items)
            return -1;
    }
    struct ps_item it = {.id = id, .publisher = svc->jid, .payload = payload};
    bool replaced;
    return store_item_put(c, svc, n, &it, &replaced) == 0 ? 0 : -1;
}

static int import_items(struct myna_module *m, const struct myna_jid *user,
                        const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    struct ps_ctx *c = data;
    const char *node = myna_xml_attr(el, "node");
    if (!c->pep || !myna_xml_is(el, NS_PUBSUB, "items") || !node_name_ok(node))
        return -1;
    struct myna_arena *a = myna_arena_new();
    struct ps_service svc = {user->bare, true};
    struct ps_node n;
    int rc = node_ensure(c, a, &svc, node, NULL, &n);
    for (struct myna_xml *it = myna_xml_find(el, NS_PUBSUB, "item"); it && rc == 0;
         it = myna_xml_find_next(it, NS_PUBSUB, "item"))
        rc = import_item(c, a, &svc, &n, it);
    if (rc == 0)
        rc = store_node_put(c, &svc, &n) == 0 ? 0 : -1;
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "import: PEP items of node '%s' of %s refused (quota or "
                 "size)", node, user->bare);
    myna_arena_free(a);
    return rc;
}

int migrate_register(struct ps_ctx *c)
{
    return myna_migration_register(c->m, NS_PUBSUB_OWNER, "pubsub", MYNA_MIGRATION_ITEMS,
                                   export_pep, import_owner_el, c) < 0 ||
                   myna_migration_register(c->m, NS_PUBSUB, "pubsub", MYNA_MIGRATION_ITEMS,
                                           NULL, import_items, c) < 0
               ? -1
               : 0;
}
