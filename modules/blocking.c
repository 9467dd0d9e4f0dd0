/* modules/blocking.c — Blocking Command (XEP-0191): the blocklist (get, block, unblock,
 * unblock-all) stored as "user@host\0jid" keys, pushes to every resource that asked for
 * the list (§3.2-3.4), and enforcement in hooks at priority 100: stanzas from a blocked
 * JID are dropped (presence, iq results) or answered service-unavailable (message, iq
 * get/set); stanzas from the user to a blocked JID get not-acceptable with <blocked/>
 * (§3.5). On block, unavailable presence goes to the contact (§3.3). A blocklist item
 * matches like a privacy-list JID rule: full, bare, domain/resource, or domain.
 */
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "myna/module.h"

#define NS_BLOCKING "urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"
#define KEY_MAX 511

static const struct myna_option blocking_options[] = {
    {"max_items", MYNA_OPT_INT, "1000", 1, 1000000, "maximum JIDs in one blocklist"},
    {NULL, MYNA_OPT_END, NULL, 0, 0, NULL},
};

struct blocking_ctx {
    struct myna_store *store; /* "blocklist" */
    int slot;                 /* session slot: non-NULL = interested in pushes */
    long long max_items;
    uint64_t push_seq;
    struct blocking_service service; /* published as BLOCKING_SERVICE */
};

static struct blocking_ctx *ctx_of(struct myna_module *m)
{
    return myna_module_data(m);
}

static size_t bkey(struct myna_arena *a, const char *user, const char *jid, char **out)
{
    size_t ul = strlen(user), jl = jid ? strlen(jid) : 0;
    char *k = myna_arena_alloc(a, ul + jl + 2);
    memcpy(k, user, ul);
    if (jl)
        memcpy(k + ul + 1, jid, jl);
    *out = k;
    return ul + 1 + jl;
}

static bool bl_has(struct blocking_ctx *c, struct myna_arena *a, const char *user,
                   const char *jid)
{
    char *k;
    size_t kl = bkey(a, user, jid, &k);
    if (kl > KEY_MAX)
        return false;
    void *v;
    size_t vl;
    return myna_store_get(c->store, k, kl, a, &v, &vl) == 0;
}

static int stop_at_first(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    (void)key, (void)klen, (void)val, (void)len, (void)data;
    return 1;
}

/* Does `user` block no one? (An error reads as "not empty": the exact lookups decide.) */
static bool bl_empty(struct blocking_ctx *c, struct myna_arena *a, const char *user)
{
    char *k;
    size_t plen = bkey(a, user, NULL, &k);
    if (plen > KEY_MAX)
        return false;
    return myna_store_iter(c->store, k, plen, NULL, 0, false, 1, stop_at_first, NULL) == 0;
}

/* Does `user`'s blocklist match `who` (XEP-0191 §3.3 with XEP-0016 §2.1 JID rules)? */
static bool is_blocked(struct myna_module *m, struct myna_arena *a, const char *user,
                       const struct myna_jid *who)
{
    struct blocking_ctx *c = ctx_of(m);
    /* Most lists are empty: one range read answers for them, instead of one read per JID
     * form (this runs twice for every message, sender's list and recipient's). */
    if (bl_empty(c, a, user))
        return false;
    if (bl_has(c, a, user, who->full) || bl_has(c, a, user, who->bare))
        return true;
    if (who->node != NULL && who->resource != NULL &&
        bl_has(c, a, user, myna_arena_printf(a, "%s/%s", who->domain, who->resource)))
        return true;
    return bl_has(c, a, user, who->domain);
}

static bool local_user(struct myna_module *m, const struct myna_jid *j)
{
    return j->node != NULL && myna_is_local_host(m, j->domain);
}

/* ---- Blocklist IQs ---- */

static bool own_request(struct myna_stanza *st)
{
    if (st->origin == NULL || st->from.node == NULL)
        return false;
    return !st->has_to ||
           (st->to.resource == NULL && myna_jid_bare_equal(&st->to, &st->from));
}

struct list_state {
    struct myna_xml *parent;
    size_t plen;
    size_t count;
};

static int list_visit(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    (void)val;
    (void)len;
    struct list_state *ls = data;
    ls->count++;
    if (ls->parent != NULL) {
        struct myna_xml *it = myna_xml_add_child(ls->parent, NS_BLOCKING, "item");
        const char *jid = myna_arena_strndup(ls->parent->arena, (const char *)key + ls->plen,
                                             klen - ls->plen);
        myna_xml_set_attr(it, "jid", jid);
    }
    return 0;
}

static size_t bl_list(struct blocking_ctx *c, struct myna_arena *a, const char *user,
                      struct myna_xml *parent)
{
    char *k;
    size_t plen = bkey(a, user, NULL, &k);
    struct list_state ls = {.parent = parent, .plen = plen};
    myna_store_iter(c->store, k, plen, NULL, 0, false, 0, list_visit, &ls);
    return ls.count;
}

static int blocklist_get(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct blocking_ctx *c = ctx_of(m);
    if (!own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    myna_session_set(st->origin, c->slot, (void *)1);
    struct myna_jid user;
    myna_jid_to_bare(&st->from, &user);
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *list = myna_xml_add_child(res, NS_BLOCKING, "blocklist");
    bl_list(c, st->arena, user.bare, list);
    myna_iq_send_result(st, res);
    return 0;
}

struct push_state {
    struct myna_module *m;
    struct myna_xml *iq;
};

static void push_one(struct myna_session *s, void *data)
{
    struct push_state *ps = data;
    struct blocking_ctx *c = ctx_of(ps->m);
    if (myna_session_get(s, c->slot) == NULL)
        return;
    myna_xml_set_attrf(ps->iq, "id", "block%llu", (unsigned long long)++c->push_seq);
    myna_xml_set_attr(ps->iq, "to", myna_session_jid(s)->full);
    myna_session_send(s, ps->iq);
}

/* Pushes `payload` (<block/> or <unblock/>) to the user's interested resources. */
static void bl_push(struct myna_module *m, struct myna_stanza *st, const struct myna_xml *payload)
{
    struct push_state ps = {.m = m};
    ps.iq = myna_xml_new(st->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(ps.iq, "type", "set");
    myna_xml_add_copy(ps.iq, payload);
    struct myna_jid user;
    myna_jid_to_bare(&st->from, &user);
    myna_user_sessions(m, &user, push_one, &ps);
}

struct unavail_state {
    struct myna_module *m;
    const char *to;
};

static void unavailable_one(struct myna_session *s, void *data)
{
    struct unavail_state *us = data;
    if (!myna_session_available(s))
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    myna_xml_set_attr(p, "type", "unavailable");
    myna_xml_set_attr(p, "from", myna_session_jid(s)->full);
    myna_xml_set_attr(p, "to", us->to);
    myna_send(us->m, p);
    myna_arena_free(a);
}

/* Parses the <item jid/> children; NULL error = ok. Items get prepared JIDs. */
static enum myna_error parse_items(struct myna_stanza *st, struct myna_xml *payload,
                                   const char *user, size_t *count)
{
    *count = 0;
    for (struct myna_xml *it = myna_xml_find(payload, NS_BLOCKING, "item"); it;
         it = myna_xml_find_next(it, NS_BLOCKING, "item")) {
        const char *s = myna_xml_attr(it, "jid");
        struct myna_jid j;
        if (s == NULL)
            return MYNA_ERR_BAD_REQUEST;
        if (myna_jid_parse(st->arena, s, &j) < 0)
            return MYNA_ERR_JID_MALFORMED;
        if (strlen(user) + 1 + strlen(j.full) > KEY_MAX)
            return MYNA_ERR_NOT_ACCEPTABLE;
        myna_xml_set_attr(it, "jid", j.full);
        (*count)++;
    }
    return MYNA_ERR__COUNT;
}

/* The start of a block or unblock request: the user's own, its items valid (their
 * count in *n). Returns the payload, or NULL once it has answered with the error. */
static struct myna_xml *set_request(struct myna_stanza *st, struct myna_jid *user, size_t *n)
{
    if (!own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return NULL;
    }
    myna_jid_to_bare(&st->from, user);
    struct myna_xml *payload = myna_xml_first_element(st->xml);
    enum myna_error err = parse_items(st, payload, user->bare, n);
    if (err != MYNA_ERR__COUNT) {
        myna_reply_error(st, err, NULL);
        return NULL;
    }
    return payload;
}

static int block_set(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct blocking_ctx *c = ctx_of(m);
    struct myna_jid user;
    size_t n;
    struct myna_xml *payload = set_request(st, &user, &n);
    if (payload == NULL)
        return 0;
    if (n == 0) { /* §3.3: a block names at least one JID */
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, NULL);
        return 0;
    }
    if ((long long)(bl_list(c, st->arena, user.bare, NULL) + n) > c->max_items) {
        myna_reply_error(st, MYNA_ERR_RESOURCE_CONSTRAINT, "blocklist is full");
        return 0;
    }
    for (struct myna_xml *it = myna_xml_find(payload, NS_BLOCKING, "item"); it;
         it = myna_xml_find_next(it, NS_BLOCKING, "item")) {
        const char *jid = myna_xml_attr(it, "jid");
        if (bl_has(c, st->arena, user.bare, jid))
            continue;
        /* §3.3: the contact sees the user go offline, before the block hides it. */
        struct unavail_state us = {.m = m, .to = jid};
        myna_user_sessions(m, &user, unavailable_one, &us);
        char *k;
        size_t kl = bkey(st->arena, user.bare, jid, &k);
        int rc = myna_store_put(c->store, k, kl, "", 0);
        if (rc != 0) {
            /* The request's unit failed: none of its items is stored, none pushed. */
            myna_reply_error(st, myna_error_from_store(rc), NULL);
            return 0;
        }
    }
    myna_iq_result(st, NULL);
    bl_push(m, st, payload);
    return 0;
}

static int unblock_set(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct blocking_ctx *c = ctx_of(m);
    struct myna_jid user;
    size_t n;
    struct myna_xml *payload = set_request(st, &user, &n);
    if (payload == NULL)
        return 0;
    int rc = 0;
    if (n == 0) { /* §3.4: unblock everything */
        char *k;
        size_t plen = bkey(st->arena, user.bare, NULL, &k);
        rc = myna_store_del_prefix(c->store, k, plen, NULL);
    }
    for (struct myna_xml *it = myna_xml_find(payload, NS_BLOCKING, "item"); it && rc == 0;
         it = myna_xml_find_next(it, NS_BLOCKING, "item")) {
        char *k;
        size_t kl = bkey(st->arena, user.bare, myna_xml_attr(it, "jid"), &k);
        rc = myna_store_del(c->store, k, kl);
    }
    if (rc != 0) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return 0;
    }
    myna_iq_result(st, NULL);
    bl_push(m, st, payload);
    return 0;
}

/* ---- Enforcement ---- */

/* Inbound: to a local user. */
static enum myna_verdict blocking_in(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    if (st->to.node == NULL)
        return MYNA_PASS;
    /* The user's own server (its replies, its notices) is never blocked. */
    if (st->from.node == NULL && myna_is_local_host(m, st->from.domain))
        return MYNA_PASS;
    struct myna_jid to;
    myna_jid_to_bare(&st->to, &to);
    if (is_blocked(m, st->arena, to.bare, &st->from)) {
        bool request = st->kind == MYNA_MESSAGE ||
                       (st->kind == MYNA_IQ && (strcmp(st->type, "get") == 0 ||
                                                strcmp(st->type, "set") == 0));
        /* §3.5: messages and iq requests get service-unavailable; never errors,
         * groupchat or headline (myna_reply_error skips errors). */
        if (request && strcmp(st->type, "groupchat") != 0 && strcmp(st->type, "headline") != 0)
            myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        return MYNA_HANDLED;
    }
    /* Presence made by modules for a local sender (broadcasts, probe answers) does not
     * pass the sender's OUT hooks: check the sender's list here. Not for messages and iqs:
     * those are replies (e.g. our own service-unavailable above) and must get through. */
    if (st->kind == MYNA_PRESENCE && st->origin == NULL && local_user(m, &st->from)) {
        struct myna_jid from;
        myna_jid_to_bare(&st->from, &from);
        if (is_blocked(m, st->arena, from.bare, &st->to))
            return MYNA_HANDLED;
    }
    return MYNA_PASS;
}

/* Outbound: from a local session. */
static enum myna_verdict blocking_out(struct myna_module *m, struct myna_stanza *st,
                                      void *data)
{
    (void)data;
    if (!st->has_to || st->from.node == NULL)
        return MYNA_PASS;
    struct myna_jid from;
    myna_jid_to_bare(&st->from, &from);
    if (!is_blocked(m, st->arena, from.bare, &st->to))
        return MYNA_PASS;
    struct myna_xml *err = myna_error_reply(st, MYNA_ERR_NOT_ACCEPTABLE, NULL);
    if (err != NULL && st->origin != NULL) {
        struct myna_xml *e = myna_xml_find(err, MYNA_NS_CLIENT, "error");
        if (e == NULL)
            e = myna_xml_find(err, NULL, "error");
        if (e != NULL)
            myna_xml_add_child(e, NS_BLOCKING_ERRORS, "blocked");
        myna_session_send(st->origin, err);
    }
    return MYNA_HANDLED;
}

static void blocking_user_deleted(struct myna_module *m, const struct myna_event *ev,
                                  void *data)
{
    (void)data;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid bare;
    myna_jid_to_bare(ev->user, &bare);
    char *k;
    size_t plen = bkey(a, bare.bare, NULL, &k);
    myna_store_del_prefix(ctx_of(m)->store, k, plen, NULL);
    myna_arena_free(a);
}

static bool service_blocks(const struct blocking_service *svc, const char *user,
                           const struct myna_jid *who)
{
    struct myna_arena *a = myna_arena_new();
    bool blocked = is_blocked(svc->provider, a, user, who);
    myna_arena_free(a);
    return blocked;
}

static int blocking_load(struct myna_module *m)
{
    struct blocking_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    myna_module_set_data(m, c);
    c->store = myna_module_store(m, "blocklist");
    c->slot = myna_session_slot(m, NULL);
    c->max_items = myna_opt_int(m, "max_items");
    if (c->store == NULL || c->slot < 0)
        return -1;
    unsigned where = MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_BLOCKING, "blocklist", where, blocklist_get,
                         NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_BLOCKING, "block", where, block_set, NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_BLOCKING, "unblock", where, unblock_set, NULL) < 0)
        return -1;
    static const enum myna_hook in[] = {MYNA_HOOK_MESSAGE_IN, MYNA_HOOK_PRESENCE_IN,
                                        MYNA_HOOK_IQ_IN};
    static const enum myna_hook out[] = {MYNA_HOOK_MESSAGE_OUT, MYNA_HOOK_PRESENCE_OUT,
                                         MYNA_HOOK_IQ_OUT};
    for (size_t i = 0; i < 3; i++)
        if (myna_hook_add(m, in[i], 100, blocking_in, NULL) < 0 ||
            myna_hook_add(m, out[i], 100, blocking_out, NULL) < 0)
            return -1;
    myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, blocking_user_deleted, NULL);
    c->service = (struct blocking_service){
        .version = BLOCKING_SERVICE_VERSION, .provider = m, .blocks = service_blocks};
    return myna_service_publish(m, BLOCKING_SERVICE, &c->service);
}

static void blocking_unload(struct myna_module *m)
{
    free(myna_module_data(m));
    myna_module_set_data(m, NULL);
}

MYNA_MODULE_DEFINE(.name = "blocking", .description = "Blocking command (XEP-0191)",
                   .options = blocking_options, .load = blocking_load,
                   .unload = blocking_unload);
