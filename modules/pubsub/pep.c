/* modules/pubsub/pep.c — PEP (XEP-0163) on every account's bare JID: the pubsub iqs to an
 * account (§3, auto-create in ops.c), the account's pubsub/pep identity and features
 * (§6.1) and its nodes in disco#items (§6.2, filtered by access), and the presence side:
 * each account's service watches the available resources of its owner and of those that
 * send presence to its bare JID (contacts' broadcasts, directed presence), with their
 * entity capabilities (XEP-0115 caps in the
 * presence; an unknown ver is asked of that resource with disco#info and verified, caps.c),
 * so notifications go to resources listing NODE+notify (§4.2), and a newly available
 * resource — or one whose caps now add NODE+notify — gets the node's last item (§4.3.3,
 * §4.3.4, send_last_published_item on_sub_and_presence). A roster change cancels the
 * explicit subscriptions it takes access from (§7.1). Watches are memory only.
 */
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

#define WATCH_BUCKETS 512
#define WATCHES_PER_OWNER 1024  /* resources one account's service follows */
#define FETCHES_MAX 256         /* disco#info requests in flight per host */
#define FETCH_TIMEOUT_MS 15000

struct watch {
    char *full;                /* the resource's full JID */
    bool owner;                /* one of the account's own resources */
    char *key;                 /* caps "node#ver" presented, NULL if none */
    struct caps_entry *caps;   /* what the resource supports, NULL while unknown */
    struct caps_entry *before; /* caps before a change being fetched (for the diff) */
    bool fetching;
    struct watch *next;
};

struct owner_watch {
    char *owner; /* the account's bare JID */
    struct watch *list;
    size_t n;
    struct owner_watch *next;
};

struct watchers {
    struct owner_watch *buckets[WATCH_BUCKETS];
    struct fetch *fetches; /* disco#info requests in flight */
};

/* One disco#info request for a caps key, and the resources waiting for its answer. */
struct waiter {
    char *owner, *full;
};

struct fetch {
    struct ps_ctx *c;
    char *key, *hash, *ver;
    char *asked;              /* the full JID asked */
    struct waiter *waiters;
    size_t nwaiters;
    struct fetch *next;
};

/* ---- the watch table ---- */

static unsigned owner_bucket(const char *owner)
{
    unsigned h = 5381;
    for (const unsigned char *p = (const unsigned char *)owner; *p; p++)
        h = h * 33 + *p;
    return h % WATCH_BUCKETS;
}

static struct owner_watch *owner_find(struct ps_ctx *c, const char *owner, bool create)
{
    struct owner_watch **head = &c->watch->buckets[owner_bucket(owner)];
    for (struct owner_watch *o = *head; o; o = o->next)
        if (strcmp(o->owner, owner) == 0)
            return o;
    if (!create)
        return NULL;
    /* Watches live as long as the account's sessions: from the pool (myna_keep_alloc), or
     * each would pin a page of the heap where handshakes churn. */
    struct owner_watch *o = myna_keep_alloc(sizeof *o);
    o->owner = myna_keep_strdup(owner);
    o->next = *head;
    *head = o;
    return o;
}

static void watch_free(struct watch *w)
{
    caps_unref(w->caps);
    caps_unref(w->before);
    myna_keep_strfree(w->full);
    myna_keep_strfree(w->key);
    myna_keep_free(w, sizeof *w);
}

static void owner_drop_if_empty(struct ps_ctx *c, struct owner_watch *o)
{
    if (o->list)
        return;
    for (struct owner_watch **pp = &c->watch->buckets[owner_bucket(o->owner)]; *pp;
         pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            myna_keep_strfree(o->owner);
            myna_keep_free(o, sizeof *o);
            return;
        }
}

static struct watch *watch_find(struct owner_watch *o, const char *full)
{
    for (struct watch *w = o ? o->list : NULL; w; w = w->next)
        if (strcmp(w->full, full) == 0)
            return w;
    return NULL;
}

/* Removes the watches of `jid` (a full JID, or every resource of a bare JID). */
static void watch_remove(struct ps_ctx *c, const char *owner, const char *jid)
{
    struct owner_watch *o = owner_find(c, owner, false);
    if (!o)
        return;
    size_t jl = strlen(jid);
    bool bare = strchr(jid, '/') == NULL;
    for (struct watch **pp = &o->list; *pp;) {
        struct watch *w = *pp;
        bool hit = bare ? strncmp(w->full, jid, jl) == 0 && w->full[jl] == '/'
                        : strcmp(w->full, jid) == 0;
        if (hit) {
            *pp = w->next;
            o->n--;
            watch_free(w);
        } else {
            pp = &w->next;
        }
    }
    owner_drop_if_empty(c, o);
}

void pep_watchers(struct ps_ctx *c, const char *owner, const char *feature, pep_watcher_fn fn,
                  void *data)
{
    struct owner_watch *o = owner_find(c, owner, false);
    for (struct watch *w = o ? o->list : NULL; w; w = w->next)
        if (caps_has(w->caps, feature))
            fn(w->full, w->owner, data);
}

void pep_forget_user(struct ps_ctx *c, const char *bare)
{
    struct owner_watch *o = owner_find(c, bare, false);
    if (!o)
        return;
    while (o->list) {
        struct watch *w = o->list;
        o->list = w->next;
        watch_free(w);
    }
    owner_drop_if_empty(c, o);
}

/* ---- the last items for a resource (XEP-0163 §4.3.4) ---- */

struct last_items {
    struct ps_ctx *c;
    const char *owner;
    const struct watch *w;
    const struct caps_entry *before;
    struct myna_arena *a;
};

static int last_item_node(const char *node, void *data)
{
    struct last_items *l = data;
    const char *feature = myna_arena_printf(l->a, "%s+notify", node);
    if (!caps_has(l->w->caps, feature) || caps_has(l->before, feature))
        return 0;
    struct ps_service svc = {l->owner, true};
    struct ps_node n;
    if (store_node_get(l->c, l->a, &svc, node, &n) < 0 ||
        n.cfg.send_last != PS_SEND_ON_SUB_AND_PRESENCE)
        return 0;
    struct ps_denial why;
    const char *slash = strchr(l->w->full, '/');
    const char *bare = myna_arena_strndup(l->a, l->w->full, (size_t)(slash - l->w->full));
    if (l->w->owner || access_allowed(l->c, l->a, &svc, &n, bare, &why))
        notify_last_item(l->c, &svc, &n, l->w->full);
    return 0;
}

static void send_last_items(struct ps_ctx *c, const char *owner, const struct watch *w,
                            const struct caps_entry *before)
{
    struct myna_arena *a = myna_arena_new();
    struct last_items l = {c, owner, w, before, a};
    struct ps_service svc = {owner, true};
    if (w->owner)
        bookmarks_migrate(c, &svc, NULL);
    store_nodes(c, &svc, last_item_node, &l);
    myna_arena_free(a);
}

/* The caps of `w` are now known: send what it newly asks for. */
static void watch_resolved(struct ps_ctx *c, const char *owner, struct watch *w,
                           struct caps_entry *caps)
{
    caps_unref(w->caps);
    w->caps = caps;
    w->fetching = false;
    struct caps_entry *before = w->before;
    w->before = NULL;
    send_last_items(c, owner, w, before);
    caps_unref(before);
}

/* ---- disco#info of unknown caps (XEP-0115 §6.2) ---- */

static void fetch_free(struct fetch *f)
{
    for (size_t i = 0; i < f->nwaiters; i++) {
        free(f->waiters[i].owner);
        free(f->waiters[i].full);
    }
    free(f->waiters);
    free(f->key);
    free(f->hash);
    free(f->ver);
    free(f->asked);
    free(f);
}

static void fetch_unlink(struct ps_ctx *c, struct fetch *f)
{
    for (struct fetch **pp = &c->watch->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            c->pending_fetches--;
            return;
        }
}

static char *xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

static void fetch_start(struct ps_ctx *c, const char *owner, struct watch *w, const char *hash,
                        const char *ver);

static void fetch_answer(struct myna_module *m, struct myna_stanza *res, void *data)
{
    struct fetch *f = data;
    struct ps_ctx *c = f->c;
    fetch_unlink(c, f);
    const struct myna_xml *q = NULL;
    if (res && strcmp(res->type, "result") == 0)
        q = myna_xml_find(res->xml, NS_DISCO_INFO, "query");
    bool verified = false;
    struct caps_entry *e = q ? caps_from_disco(q, f->hash, f->ver, f->key, &verified) : NULL;
    if (!verified && q)
        myna_log(m, MYNA_LOG_DEBUG, "caps %s from %s not verified", f->key, f->asked);
    for (size_t i = 0; i < f->nwaiters; i++) {
        struct watch *w = watch_find(owner_find(c, f->waiters[i].owner, false),
                                     f->waiters[i].full);
        if (!w || !w->key || strcmp(w->key, f->key) != 0)
            continue; /* gone, or its caps changed meanwhile */
        if (e && (verified || strcmp(w->full, f->asked) == 0)) {
            watch_resolved(c, f->waiters[i].owner, w, caps_ref(e));
        } else if (e && !verified) {
            /* §5.4: an unverified answer is only the asked JID's; ask this one itself. */
            w->fetching = false;
            fetch_start(c, f->waiters[i].owner, w, NULL, NULL);
        } else {
            w->fetching = false;
        }
    }
    caps_unref(e);
    fetch_free(f);
}

/* Asks w->full for its caps node; hash/ver NULL = per-JID (no verification). */
static void fetch_start(struct ps_ctx *c, const char *owner, struct watch *w, const char *hash,
                        const char *ver)
{
    if (hash) {
        for (struct fetch *f = c->watch->fetches; f; f = f->next) {
            if (f->hash && strcmp(f->key, w->key) == 0) {
                f->waiters = realloc(f->waiters, (f->nwaiters + 1) * sizeof *f->waiters);
                if (!f->waiters)
                    abort();
                f->waiters[f->nwaiters++] = (struct waiter){xstrdup(owner), xstrdup(w->full)};
                w->fetching = true;
                return;
            }
        }
    }
    if (c->pending_fetches >= FETCHES_MAX)
        return; /* the resource stays without caps: no notifications, nothing worse */
    struct fetch *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->c = c;
    f->key = xstrdup(w->key);
    f->hash = xstrdup(hash);
    f->ver = xstrdup(ver);
    f->asked = xstrdup(w->full);
    f->waiters = calloc(1, sizeof *f->waiters);
    if (!f->waiters)
        abort();
    f->waiters[0] = (struct waiter){xstrdup(owner), xstrdup(w->full)};
    f->nwaiters = 1;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *iq = myna_xml_new(a, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(iq, "type", "get");
    myna_xml_set_attr(iq, "from", owner);
    myna_xml_set_attr(iq, "to", w->full);
    struct myna_xml *q = myna_xml_add_child(iq, NS_DISCO_INFO, "query");
    myna_xml_set_attr(q, "node", w->key);
    w->fetching = true;
    if (myna_iq_request(c->m, iq, FETCH_TIMEOUT_MS, fetch_answer, f) < 0) {
        w->fetching = false;
        fetch_free(f);
    } else {
        f->next = c->watch->fetches;
        c->watch->fetches = f;
        c->pending_fetches++;
    }
    myna_arena_free(a);
}

/* ---- presence ---- */

/* An available presence from `full` reaching the service of `owner` (XEP-0163 §4.1):
 * record its caps; a new resource or new caps get the last items they ask for. */
static void watch_available(struct ps_ctx *c, const char *owner, const char *full, bool own,
                            const struct myna_xml *pres)
{
    const struct myna_xml *cel = myna_xml_find(pres, NS_CAPS, "c");
    const char *node = cel ? myna_xml_attr(cel, "node") : NULL;
    const char *ver = cel ? myna_xml_attr(cel, "ver") : NULL;
    const char *hash = cel ? myna_xml_attr(cel, "hash") : NULL;
    struct owner_watch *o = owner_find(c, owner, false);
    struct watch *w = watch_find(o, full);
    if (!node || !ver || strlen(node) + strlen(ver) > 1024)
        return; /* no usable caps: keep what was known (§4.3.3: not a new presence) */
    struct myna_arena *a = myna_arena_new();
    const char *key = myna_arena_printf(a, "%s#%s", node, ver);
    if (w && w->key && strcmp(w->key, key) == 0) {
        myna_arena_free(a);
        return; /* same caps: later presence triggers nothing (§4.3.3 footnote) */
    }
    if (!w) {
        o = owner_find(c, owner, true);
        if (o->n >= WATCHES_PER_OWNER) {
            owner_drop_if_empty(c, o);
            myna_arena_free(a);
            return;
        }
        w = myna_keep_alloc(sizeof *w);
        w->full = myna_keep_strdup(full);
        w->owner = own;
        w->next = o->list;
        o->list = w;
        o->n++;
    }
    myna_keep_strfree(w->key);
    w->key = myna_keep_strdup(key);
    if (!w->before)
        w->before = w->caps; /* what it had, for the diff */
    else
        caps_unref(w->caps);
    w->caps = NULL;
    struct caps_entry *known = hash ? caps_lookup(key) : NULL;
    if (known)
        watch_resolved(c, owner, w, known);
    else
        fetch_start(c, owner, w, hash, hash ? ver : NULL);
    myna_arena_free(a);
}

static bool presence_gone(const char *type)
{
    return strcmp(type, "unavailable") == 0 || strcmp(type, "error") == 0;
}

/* The account's own resources (XEP-0163 §4.3.4: the owner gets last items too). */
static enum myna_verdict pep_presence_out(struct myna_module *m, struct myna_stanza *st,
                                          void *data)
{
    struct ps_ctx *c = data;
    if (!st->origin || (st->has_to && (st->to.resource || !myna_jid_bare_equal(&st->to,
                                                                             &st->from))))
        return MYNA_PASS;
    if (presence_gone(st->type))
        watch_remove(c, st->from.bare, st->from.full);
    else if (strcmp(st->type, "available") == 0)
        watch_available(c, st->from.bare, st->from.full, true, st->xml);
    return MYNA_PASS;
}

/* Presence to the account's bare JID: contacts' broadcasts, or anyone's directed presence
 * (the access model still decides what they get). Presence to one of its full JIDs (a MUC
 * room reflecting occupants, a client talking to one resource) is not for the service. */
static enum myna_verdict pep_presence_in(struct myna_module *m, struct myna_stanza *st,
                                         void *data)
{
    struct ps_ctx *c = data;
    if (!st->to.node || myna_jid_bare_equal(&st->to, &st->from))
        return MYNA_PASS;
    if (presence_gone(st->type))
        watch_remove(c, st->to.bare, st->from.full);
    else if (strcmp(st->type, "available") == 0 && st->from.resource && !st->to.resource)
        watch_available(c, st->to.bare, st->from.full, false, st->xml);
    return MYNA_PASS;
}

static void pep_session_closed(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct ps_ctx *c = data;
    struct myna_jid bare;
    myna_jid_to_bare(ev->user, &bare);
    watch_remove(c, bare.bare, ev->user->full);
}

void pep_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct ps_ctx *c = data;
    struct myna_jid bare;
    myna_jid_to_bare(ev->user, &bare);
    pep_forget_user(c, bare.bare);
    store_user_delete(c, bare.bare);
}

/* ---- XEP-0163 §7.1: a roster change can end access ---- */

struct revoke {
    struct ps_ctx *c;
    struct myna_arena *a;
    const struct ps_service *svc;
    const char *contact; /* bare JID */
    struct ps_node n;
};

static int revoke_sub(const char *jid, const char *subid, void *data)
{
    struct revoke *r = data;
    size_t cl = strlen(r->contact);
    if (strncmp(jid, r->contact, cl) != 0 || (jid[cl] != '\0' && jid[cl] != '/'))
        return 0;
    struct ps_denial why;
    if (!access_allowed(r->c, r->a, r->svc, &r->n, r->contact, &why))
        store_sub_set(r->c, r->svc, r->n.name, jid, NULL);
    return 0;
}

static int revoke_node(const char *node, void *data)
{
    struct revoke *r = data;
    if (store_node_get(r->c, r->a, r->svc, node, &r->n) == 0)
        store_subs(r->c, r->svc, node, revoke_sub, r);
    return 0;
}

static void pep_roster_changed(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct ps_ctx *c = data;
    const char *contact = ev->item ? myna_xml_attr(ev->item, "jid") : NULL;
    if (!contact)
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid owner;
    myna_jid_to_bare(ev->user, &owner);
    struct ps_service svc = {owner.bare, true};
    struct revoke r = {c, a, &svc, contact, {0}};
    store_nodes(c, &svc, revoke_node, &r);
    myna_arena_free(a);
}

/* ---- iqs to an account ---- */

bool pep_service_of(struct ps_ctx *c, const struct myna_jid *to, struct ps_service *svc)
{
    if (!to->node || to->resource)
        return false;
    svc->jid = to->bare;
    svc->pep = true;
    return true;
}

static int pep_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct ps_ctx *c = data;
    struct ps_service svc;
    if (!pep_service_of(c, &st->to, &svc)) {
        ps_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL, NULL);
        return 0;
    }
    ops_iq(c, &svc, st);
    return 0;
}

/* ---- disco of an account's nodes (XEP-0163 §6.2, XEP-0060 §5.2-5.4) ---- */

struct disco_items {
    struct ps_ctx *c;
    struct myna_arena *a;
    const struct ps_service *svc;
    const char *who;
    struct myna_xml *query;
};

static int disco_item_node(const char *node, void *data)
{
    struct disco_items *d = data;
    struct ps_node n;
    struct ps_denial why;
    if (store_node_get(d->c, d->a, d->svc, node, &n) == 0 &&
        access_allowed(d->c, d->a, d->svc, &n, d->who, &why)) {
        struct myna_xml *it = myna_xml_add_child(d->query, NS_DISCO_ITEMS, "item");
        myna_xml_set_attr(it, "jid", d->svc->jid);
        myna_xml_set_attr(it, "node", node);
    }
    return 0;
}

static void disco_items_fn(const struct disco_user_service *s, const struct myna_jid *user,
                           const struct myna_jid *requester, struct myna_xml *query)
{
    struct ps_ctx *c = s->ctx;
    struct ps_service svc = {user->bare, true};
    struct disco_items d = {c, query->arena, &svc, requester->bare, query};
    store_nodes(c, &svc, disco_item_node, &d);
}

static int disco_info_fn(const struct disco_user_service *s, const struct myna_jid *user,
                         const struct myna_jid *requester, const char *node,
                         struct myna_xml *query)
{
    struct ps_ctx *c = s->ctx;
    struct ps_service svc = {user->bare, true};
    struct ps_node n;
    struct ps_denial why;
    if (store_node_get(c, query->arena, &svc, node, &n) < 0 ||
        !access_allowed(c, query->arena, &svc, &n, requester->bare, &why))
        return -1;
    struct myna_xml *id = myna_xml_add_child(query, NS_DISCO_INFO, "identity");
    myna_xml_set_attr(id, "category", "pubsub");
    myna_xml_set_attr(id, "type", "leaf");
    myna_xml_set_attr(myna_xml_add_child(query, NS_DISCO_INFO, "feature"), "var", NS_PUBSUB);
    config_meta_form(query, &svc, &n);
    return 0;
}

/* XEP-0060 §10 features a PEP service supports (XEP-0163 §6.1, XEP-0223 §5). */
static const char *const pep_features[] = {
    "access-open", "access-presence", "access-roster", "access-whitelist", "auto-create",
    "auto-subscribe", "config-node", "config-node-max", "create-and-configure",
    "create-nodes", "delete-items", "delete-nodes", "filtered-notifications", "item-ids",
    "last-published", "manage-subscriptions", "member-affiliation", "modify-affiliations",
    "outcast-affiliation", "persistent-items", "presence-notifications", "presence-subscribe",
    "publish", "publish-options", "purge-nodes", "retract-items", "retrieve-affiliations",
    "retrieve-default", "retrieve-items", "retrieve-subscriptions", "subscribe", NULL,
};

static int pep_disco(struct ps_ctx *c)
{
    struct myna_module *m = c->m;
    struct myna_arena *a = myna_arena_new();
    myna_disco_user_identity(m, "pubsub", "pep", NULL);
    myna_disco_user_feature(m, NS_PUBSUB);
    /* XEP-0223 §5: the server announces pubsub/pep and publish-options too. */
    myna_disco_identity(m, "pubsub", "pep", NULL);
    for (const char *const *f = pep_features; *f; f++) {
        const char *var = myna_arena_printf(a, "%s#%s", NS_PUBSUB, *f);
        myna_disco_user_feature(m, var);
        myna_disco_feature(m, var);
    }
    myna_arena_free(a);
    c->disco_svc = (struct disco_user_service){.version = DISCO_USER_VERSION, .ctx = c,
                                               .items = disco_items_fn, .info = disco_info_fn};
    return myna_service_publish(m, DISCO_USER_SERVICE, &c->disco_svc);
}

int pep_register(struct ps_ctx *c)
{
    struct myna_module *m = c->m;
    c->watch = calloc(1, sizeof *c->watch);
    if (!c->watch)
        return -1;
    if (!c->pep)
        return 0;
    unsigned where = MYNA_IQ_TO_USER | MYNA_IQ_NO_FEATURE;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_PUBSUB, "pubsub", where, pep_iq, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_PUBSUB, "pubsub", where, pep_iq, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_PUBSUB_OWNER, "pubsub", where, pep_iq, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_PUBSUB_OWNER, "pubsub", where, pep_iq, c) < 0 ||
        myna_hook_add(m, MYNA_HOOK_PRESENCE_OUT, 10, pep_presence_out, c) < 0 ||
        myna_hook_add(m, MYNA_HOOK_PRESENCE_IN, 10, pep_presence_in, c) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_CLOSED, pep_session_closed, c) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_ROSTER_CHANGED, pep_roster_changed, c) < 0)
        return -1;
    return pep_disco(c);
}

void pep_unload(struct ps_ctx *c)
{
    if (!c->watch)
        return;
    for (size_t b = 0; b < WATCH_BUCKETS; b++) {
        while (c->watch->buckets[b]) {
            struct owner_watch *o = c->watch->buckets[b];
            c->watch->buckets[b] = o->next;
            while (o->list) {
                struct watch *w = o->list;
                o->list = w->next;
                watch_free(w);
            }
            myna_keep_strfree(o->owner);
            myna_keep_free(o, sizeof *o);
        }
    }
    /* Requests in flight are dropped by the server with the module (their callbacks
     * never run), so their records are freed here. */
    while (c->watch->fetches) {
        struct fetch *f = c->watch->fetches;
        c->watch->fetches = f->next;
        fetch_free(f);
    }
    free(c->watch);
    c->watch = NULL;
}
