/* modules/pubsub/notify.c — event notifications: the <message><event/></message> of
 * XEP-0060 §7.1.2 (items, with or without payload), §7.2.2.1 (retract), §8.2.5.3
 * (configuration), §8.4.2 (delete) and §8.5.2 (purge), sent from the service's JID
 * (XEP-0163 §4.3.1: the account's bare JID). Recipients: explicit subscribers, and for PEP
 * the owner's and contacts' available resources whose capabilities list NODE+notify
 * (XEP-0163 §4.1-4.3.2, at most one notification per resource), each only when the node's
 * access model admits it (re-checked at every event, XEP-0163 §7.1) and the account has
 * not blocked it (XEP-0163 §4.3.3, XEP-0191 through the blocking module's service).
 */
#include <string.h>

#include "../blocking.h"
#include "pubsub.h"

struct recipients {
    struct ps_ctx *c;
    struct myna_arena *a;
    const struct ps_service *svc;
    const struct ps_node *n;
    const char **jids; /* full or bare JIDs, each once */
    size_t count;
    const char **allowed, **denied; /* bare JIDs already decided */
    size_t nallowed, ndenied;
};

static bool in_list(const char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i], s) == 0)
            return true;
    return false;
}

static void list_add(struct myna_arena *a, const char ***l, size_t *n, const char *s)
{
    *l = myna_arena_realloc(a, *l, *n * sizeof(char *), (*n + 1) * sizeof(char *));
    (*l)[(*n)++] = myna_arena_strdup(a, s);
}

static const char *bare_of(struct myna_arena *a, const char *jid)
{
    const char *slash = strchr(jid, '/');
    return slash ? myna_arena_strndup(a, jid, (size_t)(slash - jid)) : jid;
}

/* Access decided once per bare JID and event. */
static bool admitted(struct recipients *r, const char *bare)
{
    if (in_list(r->allowed, r->nallowed, bare))
        return true;
    if (in_list(r->denied, r->ndenied, bare))
        return false;
    struct ps_denial why;
    bool ok = access_allowed(r->c, r->a, r->svc, r->n, bare, &why);
    if (ok)
        list_add(r->a, &r->allowed, &r->nallowed, bare);
    else
        list_add(r->a, &r->denied, &r->ndenied, bare);
    return ok;
}

static void add_recipient(struct recipients *r, const char *jid)
{
    if (!in_list(r->jids, r->count, jid))
        list_add(r->a, &r->jids, &r->count, jid);
}

static void watcher_one(const char *full, bool owner, void *data)
{
    struct recipients *r = data;
    if (owner || admitted(r, bare_of(r->a, full)))
        add_recipient(r, full);
}

/* XEP-0163 §4.3.2: a bare-JID subscription is served by the subscriber's interested
 * resources when presence tells which they are. */
static bool bare_covered(struct recipients *r, const char *bare)
{
    size_t bl = strlen(bare);
    for (size_t i = 0; i < r->count; i++)
        if (strncmp(r->jids[i], bare, bl) == 0 && r->jids[i][bl] == '/')
            return true;
    return false;
}

static int subscriber_one(const char *jid, const char *subid, void *data)
{
    struct recipients *r = data;
    const char *bare = bare_of(r->a, jid);
    if (!admitted(r, bare))
        return 0;
    if (r->svc->pep && strcmp(bare, jid) == 0 && bare_covered(r, bare))
        return 0;
    add_recipient(r, jid);
    return 0;
}

static void collect(struct recipients *r)
{
    if (r->svc->pep) {
        const char *feature = myna_arena_printf(r->a, "%s+notify", r->n->name);
        pep_watchers(r->c, r->svc->jid, feature, watcher_one, r);
    }
    store_subs(r->c, r->svc, r->n->name, subscriber_one, r);
}

/* XEP-0163 §4.3.3: nothing goes to an entity the account blocked. */
static bool blocked(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                    const char *to)
{
    if (!svc->pep)
        return false;
    const struct blocking_service *b = myna_service_get(c->m, BLOCKING_SERVICE);
    struct myna_jid j;
    if (!b || b->version < BLOCKING_SERVICE_VERSION || myna_jid_parse(a, to, &j) < 0 ||
        strcmp(j.bare, svc->jid) == 0)
        return false;
    return b->blocks(b, svc->jid, &j);
}

static struct myna_xml *message_new(struct ps_ctx *c, struct myna_arena *a,
                                    const struct ps_service *svc, const struct ps_node *n,
                                    struct myna_xml **event)
{
    struct myna_xml *msg = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(msg, "from", svc->jid);
    myna_xml_set_attr(msg, "type", n->cfg.headline ? "headline" : "normal");
    *event = myna_xml_add_child(msg, NS_PUBSUB_EVENT, "event");
    return msg;
}

static void add_item(struct myna_xml *items, const struct ps_node *n, const struct ps_item *it)
{
    struct myna_xml *el = myna_xml_add_child(items, NS_PUBSUB_EVENT, "item");
    myna_xml_set_attr(el, "id", it->id);
    if (it->payload && n->cfg.deliver_payloads)
        myna_xml_add_copy(el, it->payload);
}

struct myna_xml *notify_items_message(struct ps_ctx *c, struct myna_arena *a,
                                      const struct ps_service *svc, const struct ps_node *n,
                                      const struct ps_item *it)
{
    struct myna_xml *event;
    struct myna_xml *msg = message_new(c, a, svc, n, &event);
    struct myna_xml *items = myna_xml_add_child(event, NS_PUBSUB_EVENT, "items");
    myna_xml_set_attr(items, "node", n->name);
    add_item(items, n, it);
    return msg;
}

static bool wanted(const struct ps_node *n, enum ps_event ev)
{
    if (!n->cfg.deliver_notifications)
        return false;
    switch (ev) {
    case PS_EV_ITEMS:
    case PS_EV_PURGE:
        return true;
    case PS_EV_RETRACT:
        return n->cfg.notify_retract;
    case PS_EV_DELETE:
        return n->cfg.notify_delete;
    case PS_EV_CONFIG:
        return n->cfg.notify_config;
    }
    return false;
}

void notify_event(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n,
                  enum ps_event ev, const struct ps_item *item)
{
    if (!wanted(n, ev))
        return;
    struct myna_arena *a = myna_arena_new();
    struct recipients r = {.c = c, .a = a, .svc = svc, .n = n};
    collect(&r);
    if (r.count == 0) {
        myna_arena_free(a);
        return;
    }
    struct myna_xml *msg;
    if (ev == PS_EV_ITEMS) {
        msg = notify_items_message(c, a, svc, n, item);
    } else {
        struct myna_xml *event;
        msg = message_new(c, a, svc, n, &event);
        static const char *const names[] = {"items", "items", "purge", "delete",
                                            "configuration"};
        struct myna_xml *el = myna_xml_add_child(event, NS_PUBSUB_EVENT, names[ev]);
        myna_xml_set_attr(el, "node", n->name);
        if (ev == PS_EV_RETRACT)
            myna_xml_set_attr(myna_xml_add_child(el, NS_PUBSUB_EVENT, "retract"), "id",
                              item->id);
    }
    for (size_t i = 0; i < r.count; i++) {
        if (blocked(c, a, svc, r.jids[i]))
            continue;
        myna_xml_set_attr(msg, "to", r.jids[i]);
        myna_xml_set_attr(msg, "id", ps_next_id(c, a, "ps-"));
        myna_send(c->m, msg);
    }
    myna_log(c->m, MYNA_LOG_DEBUG, "%s node %s: event sent to %zu recipient(s)", svc->jid,
             n->name, r.count);
    myna_arena_free(a);
}

void notify_last_item(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n,
                      const char *to)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_item *items;
    size_t count = 0;
    if (n->cfg.deliver_notifications && !blocked(c, a, svc, to) &&
        store_items_latest(c, a, svc, n->name, 1, &items, &count) == 0 && count == 1) {
        struct myna_xml *msg = notify_items_message(c, a, svc, n, &items[0]);
        myna_xml_set_attr(msg, "to", to);
        myna_xml_set_attr(msg, "id", ps_next_id(c, a, "ps-last-"));
        myna_send(c->m, msg);
    }
    myna_arena_free(a);
}
