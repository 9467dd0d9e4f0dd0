/* modules/pubsub/ops.c — the XEP-0060 protocol in the pubsub namespace, for a PEP service
 * and the generic service alike: publish with auto-create and publish-options (§7.1,
 * §7.1.4, §7.1.5; XEP-0223), retract (§7.2), items by id or latest-N (§6.5), create with or
 * without configuration (§8.1), subscribe/unsubscribe (§6.1, §6.2), the requester's
 * subscriptions and affiliations (§5.6, §5.7), each with the errors of its section. Sets
 * are answered once the store has committed them. The owner namespace is in owner.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

/* ---- answering after the commit ---- */

struct durable {
    struct ps_ctx *c;
    struct myna_pending_iq *p;
    struct myna_arena *a;     /* owns payload and the strings below */
    struct myna_xml *payload; /* NULL = empty result */
    const char *svc, *node, *last_to; /* when set: send the node's last item to last_to */
    bool pep;
};

static void durable_done(void *data, int err)
{
    struct durable *d = data;
    if (err < 0) {
        myna_pending_error(d->p, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
    } else {
        myna_pending_result(d->p, d->payload);
        if (d->last_to) {
            /* XEP-0060 §6.1.7: the last item follows the subscription result. */
            struct ps_service svc = {d->svc, d->pep};
            struct ps_node n;
            if (store_node_get(d->c, d->a, &svc, d->node, &n) == 0)
                notify_last_item(d->c, &svc, &n, d->last_to);
        }
    }
    myna_arena_free(d->a);
    free(d);
}

static struct durable *durable_new(struct ps_ctx *c)
{
    struct durable *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->c = c;
    d->a = myna_arena_new();
    return d;
}

static void durable_answer(struct durable *d, struct myna_stanza *st)
{
    d->p = myna_iq_defer(st);
    myna_store_on_durable(d->c->store, durable_done, d);
}

void ops_answer_durable(struct ps_ctx *c, struct myna_stanza *st, struct myna_xml *payload)
{
    struct durable *d = durable_new(c);
    if (payload)
        d->payload = myna_xml_copy(d->a, payload);
    durable_answer(d, st);
}

/* ---- shared checks ---- */

static bool store_failed(struct ps_ctx *c, struct myna_stanza *st, int rc, const char *what)
{
    if (rc >= 0)
        return false;
    if (rc == MYNA_STORE_TOOBIG) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, "node or item name too long");
        return true;
    }
    myna_log(c->m, MYNA_LOG_ERROR, "%s: %s", what, myna_store_strerror(rc));
    ps_error(st, rc == MYNA_STORE_FULL ? MYNA_ERR_RESOURCE_CONSTRAINT
                                       : MYNA_ERR_INTERNAL_SERVER_ERROR,
             NULL, NULL);
    return true;
}

/* The node attribute, present and sane (§7.1.3.3 nodeid-required); answers otherwise. */
static const char *node_attr(struct myna_stanza *st, const struct myna_xml *el)
{
    const char *node = myna_xml_attr(el, "node");
    if (!node || !*node) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "nodeid-required", NULL);
        return NULL;
    }
    if (strlen(node) > PS_NODE_MAX) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, "node name too long");
        return NULL;
    }
    return node;
}

/* Loads a node that must exist (item-not-found otherwise, §6.5.9.11 and others). */
static bool node_load(struct ps_ctx *c, struct myna_stanza *st, const struct ps_service *svc,
                      const char *node, struct ps_node *n)
{
    if (svc->pep)
        bookmarks_migrate(c, svc, node);
    int rc = store_node_get(c, st->arena, svc, node, n);
    if (rc == MYNA_STORE_NOTFOUND) {
        ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL);
        return false;
    }
    return !store_failed(c, st, rc, "loading a node");
}

static bool is_owner(struct ps_ctx *c, struct myna_stanza *st, const struct ps_service *svc,
                     const struct ps_node *n)
{
    return access_affiliation(c, st->arena, svc, n, st->from.bare) == PS_AFF_OWNER;
}

/* A form in `parent` (publish-options, configure): NULL and no answer when absent; on a
 * malformed one, answers bad-request and sets *bad. */
static const struct dataform *form_in(struct myna_stanza *st, const struct myna_xml *parent,
                                  const char *form_type, bool *bad)
{
    *bad = false;
    const struct myna_xml *x = parent ? myna_xml_find(parent, DF_NS, "x") : NULL;
    if (!x)
        return NULL;
    struct dataform *f = myna_arena_alloc(st->arena, sizeof *f);
    if (df_parse(x, f, PS_FORM_FIELDS, PS_FORM_VALUES) < 0 || (f->form_type && strcmp(f->form_type, form_type))) {
        *bad = true;
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, "malformed data form");
        return NULL;
    }
    return f;
}

/* Creates a node (auto-create or create), subject to the creation right and the node
 * quota. On failure answers st and returns false. */
static bool node_create(struct ps_ctx *c, struct myna_stanza *st, const struct ps_service *svc,
                        const char *node, const struct dataform *f, bool options_as_conflict,
                        struct ps_node *n)
{
    if (svc->pep ? strcmp(st->from.bare, svc->jid) != 0 : !domain_may_create(c, &st->from)) {
        /* XEP-0163 §2.2 / XEP-0060 §8.1.1: only the account creates its nodes. */
        ps_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL);
        return false;
    }
    long long quota = svc->pep ? c->max_nodes : c->service_max_nodes;
    if ((long long)store_node_count(c, svc) >= quota) {
        ps_error(st, MYNA_ERR_NOT_ALLOWED, "max-nodes-exceeded", NULL);
        return false;
    }
    memset(n, 0, sizeof *n);
    n->name = myna_arena_strdup(st->arena, node);
    n->next_seq = 1;
    config_default(c, svc, &n->cfg);
    const char *badvar = NULL;
    if (f && config_apply(c, st->arena, f, &n->cfg, &badvar) < 0) {
        const char *why = myna_arena_printf(st->arena, "unsupported or invalid %s", badvar);
        if (options_as_conflict)
            ps_error(st, MYNA_ERR_CONFLICT, "precondition-not-met", why);
        else
            ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, why);
        return false;
    }
    int rc = store_node_put(c, svc, n);
    if (rc == 0 && !svc->pep)
        rc = store_aff_set(c, svc, node, st->from.bare, PS_AFF_OWNER);
    return !store_failed(c, st, rc, "creating a node");
}

/* ---- publish (§7.1) ---- */

/* Checks the <item/> of a publish; returns its single payload (or NULL) via *payload. */
static bool item_check(struct ps_ctx *c, struct myna_stanza *st, const struct myna_xml *pub,
                       const struct myna_xml **item, const struct myna_xml **payload)
{
    *item = myna_xml_find(pub, NS_PUBSUB, "item");
    if (!*item) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "item-required", NULL);
        return false;
    }
    if (myna_xml_find_next(*item, NS_PUBSUB, "item")) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "invalid-payload", "one item per publish");
        return false;
    }
    *payload = myna_xml_first_element(*item);
    if (*payload && myna_xml_find_next(*payload, NULL, NULL)) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "invalid-payload", NULL); /* §7.1.3.6 */
        return false;
    }
    const char *id = myna_xml_attr(*item, "id");
    if (id && (strlen(id) > PS_ID_MAX || !*id)) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, "item id too long or empty");
        return false;
    }
    if (*payload) {
        struct myna_buf b;
        myna_buf_init(&b);
        myna_xml_serialize(*payload, NS_PUBSUB, &b);
        bool big = (long long)b.len > c->max_payload;
        myna_buf_free(&b);
        if (big) {
            ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, "payload-too-big", NULL); /* §7.1.3.5 */
            return false;
        }
    }
    return true;
}

/* Makes room for one more item: the node's max_items drops the oldest (§7.1.2.5
 * retract-oldest); the account's item quota refuses (max-items-exceeded). */
static bool item_room(struct ps_ctx *c, struct myna_stanza *st, const struct ps_service *svc,
                      struct ps_node *n, const char *id)
{
    struct ps_item existing;
    if (store_item_get(c, st->arena, svc, n->name, id, &existing) == 0)
        return true; /* a replacement takes no room */
    while ((long long)n->nitems >= n->cfg.max_items) {
        const char *oldest = store_item_oldest(c, st->arena, svc, n->name);
        if (!oldest || store_item_del(c, st->arena, svc, n, oldest) < 0)
            break;
    }
    if ((long long)store_item_total(c, svc) >= c->max_account_items) {
        ps_error(st, MYNA_ERR_NOT_ALLOWED, "max-items-exceeded", NULL);
        return false;
    }
    return true;
}

/* The common tail of client and internal publishes: store, save the node, notify. */
static int publish_store(struct ps_ctx *c, const struct ps_service *svc, struct ps_node *n,
                         struct ps_item *it)
{
    int rc = 0;
    if (n->cfg.persist_items) {
        bool replaced;
        rc = store_item_put(c, svc, n, it, &replaced);
        if (rc == 0)
            rc = store_node_put(c, svc, n);
    }
    if (rc == 0)
        notify_event(c, svc, n, PS_EV_ITEMS, it);
    return rc;
}

static void after_publish(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                          const struct ps_item *it, bool retracted)
{
    if (!svc->pep || c->converting)
        return;
    if (!retracted && c->convert_avatars)
        avatar_published(c, svc, node, it);
    if (c->convert_bookmarks)
        bookmarks_published(c, svc, node, it, retracted);
}

static void op_publish(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                       const struct myna_xml *pub, const struct myna_xml *opts)
{
    const char *node = node_attr(st, pub);
    const struct myna_xml *item, *payload;
    if (!node || !item_check(c, st, pub, &item, &payload))
        return;
    bool bad;
    const struct dataform *f = form_in(st, opts, NS_PUBSUB_PUBLISH_OPTIONS, &bad);
    if (bad)
        return;
    struct ps_node n;
    if (svc->pep)
        bookmarks_migrate(c, svc, node);
    int rc = store_node_get(c, st->arena, svc, node, &n);
    if (rc == MYNA_STORE_NOTFOUND) {
        if (!node_create(c, st, svc, node, f, true, &n)) /* §7.1.4 auto-create */
            return;
    } else if (store_failed(c, st, rc, "loading a node")) {
        return;
    } else {
        const char *badvar;
        if (!access_may_publish(c, st->arena, svc, &n, st->from.bare)) {
            ps_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL); /* §7.1.3.1 */
            return;
        }
        if (f && config_preconditions(c, st->arena, f, &n.cfg, &badvar) < 0) {
            ps_error(st, MYNA_ERR_CONFLICT, "precondition-not-met", /* §7.1.5 */
                     myna_arena_printf(st->arena, "%s does not match", badvar));
            return;
        }
    }
    if (!payload && n.cfg.deliver_payloads) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "payload-required", NULL); /* §7.1.3.7 */
        return;
    }
    const char *id = myna_xml_attr(item, "id");
    if (!id)
        id = ps_next_id(c, st->arena, myna_arena_printf(st->arena, "%llx-",
                                                        (unsigned long long)myna_now_ms()));
    if (n.cfg.persist_items && !item_room(c, st, svc, &n, id))
        return;
    struct ps_item it = {.id = id, .publisher = st->from.full,
                         .payload = payload ? myna_xml_copy(st->arena, payload) : NULL};
    if (store_failed(c, st, publish_store(c, svc, &n, &it), "publishing"))
        return;
    /* §7.1.2: the result names the item (its id may have been generated). */
    struct myna_xml *ps = myna_xml_new(st->arena, NS_PUBSUB, "pubsub");
    struct myna_xml *p = myna_xml_add_child(ps, NS_PUBSUB, "publish");
    myna_xml_set_attr(p, "node", node);
    myna_xml_set_attr(myna_xml_add_child(p, NS_PUBSUB, "item"), "id", id);
    ops_answer_durable(c, st, ps);
    after_publish(c, svc, node, &it, false);
}

int ops_publish_internal(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const char *id, const struct myna_xml *payload,
                         const struct ps_config *create_cfg)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_node n;
    int rc = store_node_get(c, a, svc, node, &n);
    if (rc == MYNA_STORE_NOTFOUND) {
        memset(&n, 0, sizeof n);
        n.name = node;
        n.next_seq = 1;
        if (create_cfg)
            n.cfg = *create_cfg;
        else
            config_default(c, svc, &n.cfg);
        rc = (long long)store_node_count(c, svc) >= c->max_nodes ? -1 : 0;
    }
    if (rc == 0 && n.cfg.persist_items) {
        struct ps_item existing;
        if (store_item_get(c, a, svc, node, id, &existing) != 0) {
            while ((long long)n.nitems >= n.cfg.max_items) {
                const char *oldest = store_item_oldest(c, a, svc, node);
                if (!oldest || store_item_del(c, a, svc, &n, oldest) < 0)
                    break;
            }
            if ((long long)store_item_total(c, svc) >= c->max_account_items)
                rc = -1;
        }
    }
    if (rc == 0) {
        struct ps_item it = {.id = id, .publisher = svc->jid,
                             .payload = payload ? myna_xml_copy(a, payload) : NULL};
        rc = publish_store(c, svc, &n, &it);
    }
    myna_arena_free(a);
    return rc;
}

/* ---- retract (§7.2) ---- */

static int retract_apply(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                         struct ps_node *n, const char *id, bool notify)
{
    int rc = store_item_del(c, a, svc, n, id);
    if (rc == 0)
        rc = store_node_put(c, svc, n);
    if (rc == 0 && notify) {
        struct ps_item it = {.id = id};
        struct ps_node copy = *n;
        copy.cfg.notify_retract = true;
        notify_event(c, svc, &copy, PS_EV_RETRACT, &it);
    }
    return rc;
}

int ops_retract_internal(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const char *id)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_node n;
    int rc = store_node_get(c, a, svc, node, &n);
    if (rc == 0)
        rc = retract_apply(c, a, svc, &n, id, n.cfg.notify_retract);
    myna_arena_free(a);
    return rc;
}

static void op_retract(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                       const struct myna_xml *el)
{
    const char *node = node_attr(st, el);
    if (!node)
        return;
    const struct myna_xml *item = myna_xml_find(el, NS_PUBSUB, "item");
    const char *id = item ? myna_xml_attr(item, "id") : NULL;
    if (!id || !*id) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "item-required", NULL); /* §7.2.3.4 */
        return;
    }
    struct ps_node n;
    if (!node_load(c, st, svc, node, &n))
        return;
    if (!access_may_publish(c, st->arena, svc, &n, st->from.bare)) {
        ps_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL); /* §7.2.3.1 */
        return;
    }
    const char *na = myna_xml_attr(el, "notify");
    bool flag = false, notify = n.cfg.notify_retract;
    if (na && df_parse_bool(na, &flag))
        notify = flag;
    int rc = retract_apply(c, st->arena, svc, &n, id, notify);
    if (rc == MYNA_STORE_NOTFOUND) {
        ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL);
        return;
    }
    if (store_failed(c, st, rc, "retracting"))
        return;
    ops_answer_durable(c, st, NULL);
    struct ps_item it = {.id = id};
    after_publish(c, svc, node, &it, true);
}

/* ---- items (§6.5) ---- */

static void items_add(struct myna_xml *items, const struct ps_item *it)
{
    struct myna_xml *el = myna_xml_add_child(items, NS_PUBSUB, "item");
    myna_xml_set_attr(el, "id", it->id);
    if (it->payload)
        myna_xml_add_copy(el, it->payload);
}

static void op_items(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                     const struct myna_xml *el)
{
    const char *node = node_attr(st, el);
    struct ps_node n;
    if (!node || !node_load(c, st, svc, node, &n))
        return;
    struct ps_denial why;
    if (!access_allowed(c, st->arena, svc, &n, st->from.bare, &why)) {
        ps_error(st, why.cond, why.app, NULL); /* §6.5.9.6-6.5.9.8 */
        return;
    }
    const char *maxs = myna_xml_attr(el, "max_items");
    size_t max = 0;
    if (maxs) {
        char *end;
        errno = 0;
        long long v = strtoll(maxs, &end, 10);
        if (end == maxs || *end || v < 1 || errno == ERANGE) {
            ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, "invalid max_items");
            return;
        }
        max = (size_t)v;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *ps = myna_xml_add_child(res, NS_PUBSUB, "pubsub");
    struct myna_xml *items = myna_xml_add_child(ps, NS_PUBSUB, "items");
    myna_xml_set_attr(items, "node", node);
    const struct myna_xml *want = myna_xml_find(el, NS_PUBSUB, "item");
    if (want) {
        size_t found = 0;
        for (; want; want = myna_xml_find_next(want, NS_PUBSUB, "item")) {
            const char *id = myna_xml_attr(want, "id");
            struct ps_item it;
            if (id && store_item_get(c, st->arena, svc, node, id, &it) == 0) {
                items_add(items, &it);
                found++;
            }
        }
        if (found == 0) {
            ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL); /* §6.5.9.12 */
            return;
        }
    } else {
        struct ps_item *list;
        size_t count;
        if (store_failed(c, st, store_items_latest(c, st->arena, svc, node, max, &list, &count),
                         "reading items"))
            return;
        for (size_t i = 0; i < count; i++)
            items_add(items, &list[i]);
    }
    myna_iq_send_result(st, res);
}

/* ---- create (§8.1) ---- */

static void op_create(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                      const struct myna_xml *el, const struct myna_xml *configure)
{
    const char *node = myna_xml_attr(el, "node");
    bool instant = !node || !*node;
    if (instant && svc->pep) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, "nodeid-required", NULL); /* §8.1.2 */
        return;
    }
    if (instant)
        node = ps_next_id(c, st->arena, myna_arena_printf(st->arena, "node-%llx-",
                                                          (unsigned long long)myna_now_ms()));
    if (strlen(node) > PS_NODE_MAX) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, "node name too long");
        return;
    }
    bool bad;
    const struct dataform *f = form_in(st, configure, NS_PUBSUB_CONFIG, &bad);
    if (bad)
        return;
    struct ps_node n;
    int rc = store_node_get(c, st->arena, svc, node, &n);
    if (rc == 0) {
        ps_error(st, MYNA_ERR_CONFLICT, NULL, NULL); /* §8.1.1: NodeID exists */
        return;
    }
    if (rc != MYNA_STORE_NOTFOUND && store_failed(c, st, rc, "loading a node"))
        return;
    if (!node_create(c, st, svc, node, f, false, &n))
        return;
    struct myna_xml *ps = NULL;
    if (instant) {
        ps = myna_xml_new(st->arena, NS_PUBSUB, "pubsub");
        myna_xml_set_attr(myna_xml_add_child(ps, NS_PUBSUB, "create"), "node", node);
    }
    ops_answer_durable(c, st, ps);
}

/* ---- subscribe / unsubscribe (§6.1, §6.2) ---- */

static bool jid_attr(struct myna_stanza *st, const struct myna_xml *el, struct myna_jid *j)
{
    const char *s = myna_xml_attr(el, "jid");
    if (!s || myna_jid_parse(st->arena, s, j) < 0) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "jid-required", NULL); /* §6.1.3.1 */
        return false;
    }
    return true;
}

static struct myna_xml *subscription_el(struct myna_arena *a, const char *ns, const char *node,
                                        const char *jid, const char *state, const char *subid)
{
    struct myna_xml *s = myna_xml_new(a, ns, "subscription");
    if (node)
        myna_xml_set_attr(s, "node", node);
    myna_xml_set_attr(s, "jid", jid);
    myna_xml_set_attr(s, "subscription", state);
    if (subid)
        myna_xml_set_attr(s, "subid", subid);
    return s;
}

static void op_subscribe(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                         const struct myna_xml *el)
{
    const char *node = node_attr(st, el);
    struct myna_jid j;
    if (!node || !jid_attr(st, el, &j))
        return;
    if (!myna_jid_bare_equal(&j, &st->from)) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "invalid-jid", NULL); /* §6.1.3.1 */
        return;
    }
    struct ps_node n;
    if (!node_load(c, st, svc, node, &n))
        return;
    struct ps_denial why;
    if (!access_allowed(c, st->arena, svc, &n, st->from.bare, &why)) {
        ps_error(st, why.cond, why.app, NULL); /* §6.1.3.2-6.1.3.4, §6.1.3.8 */
        return;
    }
    const char *subid;
    struct myna_xml *ps = myna_xml_new(st->arena, NS_PUBSUB, "pubsub");
    if (store_sub_get(c, st->arena, svc, node, j.full, &subid) != 0) {
        if (myna_is_local_host(c->m, st->from.domain) &&
            (long long)store_user_sub_count(c, st->from.bare) >= c->max_subscriptions) {
            ps_error(st, MYNA_ERR_POLICY_VIOLATION, "too-many-subscriptions", NULL);
            return;
        }
        subid = ps_next_id(c, st->arena, myna_arena_printf(st->arena, "%llx-",
                                                           (unsigned long long)myna_now_ms()));
        if (store_failed(c, st, store_sub_set(c, svc, node, j.full, subid), "subscribing"))
            return;
    }
    myna_xml_add_copy(ps, subscription_el(st->arena, NS_PUBSUB, node, j.full, "subscribed",
                                          subid));
    struct durable *d = durable_new(c);
    d->payload = myna_xml_copy(d->a, ps);
    if (n.cfg.send_last != PS_SEND_NEVER) {
        d->svc = myna_arena_strdup(d->a, svc->jid);
        d->pep = svc->pep;
        d->node = myna_arena_strdup(d->a, node);
        d->last_to = myna_arena_strdup(d->a, j.full);
    }
    durable_answer(d, st);
}

static void op_unsubscribe(struct ps_ctx *c, const struct ps_service *svc,
                           struct myna_stanza *st, const struct myna_xml *el)
{
    const char *node = node_attr(st, el);
    struct myna_jid j;
    if (!node || !jid_attr(st, el, &j))
        return;
    struct ps_node n;
    if (!node_load(c, st, svc, node, &n))
        return;
    if (!myna_jid_bare_equal(&j, &st->from) && !is_owner(c, st, svc, &n)) {
        ps_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL); /* §6.2.3.3 */
        return;
    }
    const char *subid;
    if (store_sub_get(c, st->arena, svc, node, j.full, &subid) != 0) {
        ps_error(st, MYNA_ERR_UNEXPECTED_REQUEST, "not-subscribed", NULL); /* §6.2.3.2 */
        return;
    }
    if (store_failed(c, st, store_sub_set(c, svc, node, j.full, NULL), "unsubscribing"))
        return;
    ops_answer_durable(c, st, NULL);
}

/* ---- the requester's subscriptions and affiliations (§5.6, §5.7) ---- */

struct mine {
    struct ps_ctx *c;
    struct myna_stanza *st;
    const struct ps_service *svc;
    struct myna_xml *list;
    const char *only; /* node filter or NULL */
    bool affs;
};

static int mine_node(const char *node, void *data)
{
    struct mine *m = data;
    if (m->only && strcmp(m->only, node) != 0)
        return 0;
    struct myna_arena *a = m->st->arena;
    if (m->affs) {
        struct ps_node n = {.name = node};
        enum ps_affiliation aff = access_affiliation(m->c, a, m->svc, &n, m->st->from.bare);
        static const char *const names[] = {"none", "outcast", "member", "publish-only",
                                            "publisher", "owner"};
        if (aff == PS_AFF_NONE)
            return 0;
        struct myna_xml *e = myna_xml_add_child(m->list, NS_PUBSUB, "affiliation");
        myna_xml_set_attr(e, "node", node);
        myna_xml_set_attr(e, "affiliation", names[aff]);
        return 0;
    }
    const char *jids[2] = {m->st->from.bare, m->st->from.full};
    for (int i = 0; i < 2; i++) {
        const char *subid;
        if (store_sub_get(m->c, a, m->svc, node, jids[i], &subid) == 0)
            myna_xml_add_copy(m->list, subscription_el(a, NS_PUBSUB, node, jids[i],
                                                       "subscribed", subid));
        if (i == 0 && strcmp(jids[0], jids[1]) == 0)
            break;
    }
    return 0;
}

static void op_mine(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                    const struct myna_xml *el, bool affs)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *ps = myna_xml_add_child(res, NS_PUBSUB, "pubsub");
    struct mine m = {c, st, svc, myna_xml_add_child(ps, NS_PUBSUB, el->name),
                     myna_xml_attr(el, "node"), affs};
    if (m.only)
        myna_xml_set_attr(m.list, "node", m.only);
    store_nodes(c, svc, mine_node, &m);
    myna_iq_send_result(st, res);
}

/* ---- dispatch ---- */

static bool is_el(const struct myna_xml *el, const char *name)
{
    return el && myna_xml_is(el, NS_PUBSUB, name);
}

void ops_iq(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st)
{
    const struct myna_xml *ps = myna_xml_first_element(st->xml);
    if (!ps || !myna_xml_is(ps, ps->ns, "pubsub")) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
        return;
    }
    if (strcmp(ps->ns, NS_PUBSUB_OWNER) == 0) {
        owner_iq(c, svc, st, ps);
        return;
    }
    bool set = strcmp(st->type, "set") == 0;
    const struct myna_xml *action = myna_xml_first_element(ps);
    const struct myna_xml *second = action ? myna_xml_find_next(action, NULL, NULL) : NULL;
    if (second && myna_xml_find_next(second, NULL, NULL))
        second = action; /* three children: never valid */
    if (set && is_el(action, "publish") && (!second || is_el(second, "publish-options")))
        op_publish(c, svc, st, action, second);
    else if (set && is_el(action, "create") && (!second || is_el(second, "configure")))
        op_create(c, svc, st, action, second);
    else if (set && is_el(action, "subscribe") && (!second || is_el(second, "options")))
        op_subscribe(c, svc, st, action);
    else if (second)
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
    else if (set && is_el(action, "retract"))
        op_retract(c, svc, st, action);
    else if (set && is_el(action, "unsubscribe"))
        op_unsubscribe(c, svc, st, action);
    else if (!set && is_el(action, "items"))
        op_items(c, svc, st, action);
    else if (!set && is_el(action, "subscriptions"))
        op_mine(c, svc, st, action, false);
    else if (!set && is_el(action, "affiliations"))
        op_mine(c, svc, st, action, true);
    else if (is_el(action, "options") || is_el(action, "default"))
        ps_error_unsupported(st, "subscription-options"); /* §6.3.4.6 */
    else
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
}
