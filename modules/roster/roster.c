/* modules/roster/roster.c — the roster module: load, the jabber:iq:roster get/set handlers
 * (RFC 6121 §2.1-2.5, item validation of §2.3.3), roster pushes to interested resources
 * (§2.2), versioning (§2.6, XEP-0237: a counter per user; a matching ver gets an empty
 * result and later changes come as pushes), stream features rosterver and pre-approval,
 * deletion of a user's data, and the roster service other modules ask (myna/roster.h).
 * Subscriptions are in subscription.c, presence in presence.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

#define NS_ROSTERVER "urn:xmpp:features:rosterver"
#define NS_PREAPPROVAL "urn:xmpp:features:pre-approval"

static const struct myna_option roster_options[] = {
    {"max_items", MYNA_OPT_INT, "1000", 1, 1000000, "maximum number of items in one roster"},
    {"max_name_length", MYNA_OPT_INT, "1023", 1, 65535, "maximum bytes of an item's name"},
    {"max_group_length", MYNA_OPT_INT, "1023", 1, 65535, "maximum bytes of a group name"},
    {"max_groups", MYNA_OPT_INT, "64", 1, 10000, "maximum groups of one item"},
    {NULL, MYNA_OPT_END, NULL, 0, 0, NULL},
};

/* Keys are "user\0contact" and the store refuses keys past 511 bytes. */
#define KEY_MAX 511

struct roster_ctx *roster_ctx(struct myna_module *m)
{
    return myna_module_data(m);
}

static void sess_free(void *value)
{
    struct roster_sess *ss = value;
    if (ss == NULL)
        return;
    for (size_t i = 0; i < ss->ndirected; i++)
        free(ss->directed[i]);
    free(ss->directed);
    myna_keep_free(ss, sizeof *ss);
}

struct roster_sess *roster_sess(struct myna_module *m, struct myna_session *s)
{
    struct roster_ctx *c = roster_ctx(m);
    struct roster_sess *ss = myna_session_get(s, c->slot);
    if (ss == NULL) {
        /* Kept for the session's life: from the pool, not the heap (myna_keep_alloc). */
        ss = myna_keep_alloc(sizeof(*ss));
        myna_session_set(s, c->slot, ss);
    }
    return ss;
}

static const char *sub_name(unsigned sub)
{
    static const char *const names[] = {"none", "to", "from", "both"};
    return names[sub & 3u];
}

struct myna_xml *roster_item_xml(struct myna_xml *parent, const struct contact *ct,
                                 bool removed)
{
    struct myna_xml *it = myna_xml_add_child(parent, NS_ROSTER, "item");
    myna_xml_set_attr(it, "jid", ct->jid);
    if (ct->name != NULL && !removed)
        myna_xml_set_attr(it, "name", ct->name);
    myna_xml_set_attr(it, "subscription", removed ? "remove" : sub_name(ct->sub));
    if (removed)
        return it;
    if (ct->ask)
        myna_xml_set_attr(it, "ask", "subscribe");
    if (ct->approved)
        myna_xml_set_attr(it, "approved", "true");
    for (size_t i = 0; i < ct->ngroups; i++) {
        struct myna_xml *g = myna_xml_add_child(it, NS_ROSTER, "group");
        myna_xml_add_text(g, ct->groups[i], strlen(ct->groups[i]));
    }
    return it;
}

static bool record_needed(const struct contact *ct)
{
    return ct->in_roster || ct->pending_in || ct->approved;
}

int roster_save_quiet(struct myna_module *m, const char *user, const struct contact *ct)
{
    struct roster_ctx *c = roster_ctx(m);
    int rc = record_needed(ct) ? contact_put(c, user, ct) : contact_del(c, user, ct->jid);
    if (rc < 0) /* a full store is logged by the store, rate-limited */
        myna_log(m, rc == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_ERROR,
                 "roster of %s: cannot store %s: %s", user, ct->jid, myna_store_strerror(rc));
    return rc;
}

struct push_state {
    struct myna_module *m;
    struct myna_xml *iq;
    struct myna_xml *query;
    const char *ver;
};

static void push_one(struct myna_session *s, void *data)
{
    struct push_state *ps = data;
    struct roster_ctx *c = roster_ctx(ps->m);
    struct roster_sess *ss = myna_session_get(s, c->slot);
    if (ss == NULL || !ss->interested)
        return;
    myna_xml_set_attrf(ps->iq, "id", "push%llu", (unsigned long long)++c->push_seq);
    myna_xml_set_attr(ps->iq, "to", myna_session_jid(s)->full);
    myna_xml_set_attr(ps->query, "ver", ss->versioning ? ps->ver : NULL);
    myna_session_send(s, ps->iq);
}

/* The writes of a roster change: the record and the version. */
static int roster_store(struct myna_module *m, const struct myna_jid *user,
                        const struct contact *ct, bool removed, uint64_t *ver)
{
    struct roster_ctx *c = roster_ctx(m);
    struct myna_arena *a = myna_arena_new();
    int rc = removed ? contact_del(c, user->bare, ct->jid) : roster_save_quiet(m, user->bare, ct);
    if (rc == 0)
        rc = roster_version_bump(c, a, user->bare, ver);
    myna_arena_free(a);
    return rc;
}

/* What follows a stored change: the pushes (RFC 6121 §2.1.6) and ROSTER_CHANGED. */
static void roster_notify(struct myna_module *m, const struct myna_jid *user,
                          const struct contact *ct, bool removed, uint64_t ver)
{
    struct myna_arena *a = myna_arena_new();
    struct push_state ps = {.m = m};
    ps.iq = myna_xml_new(a, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(ps.iq, "type", "set");
    ps.query = myna_xml_add_child(ps.iq, NS_ROSTER, "query");
    struct myna_xml *item = roster_item_xml(ps.query, ct, removed || !ct->in_roster);
    ps.ver = myna_arena_printf(a, "%llu", (unsigned long long)ver);
    struct myna_jid bare;
    myna_jid_to_bare(user, &bare);
    myna_user_sessions(m, &bare, push_one, &ps);

    struct myna_event ev = {.type = MYNA_EVENT_ROSTER_CHANGED, .user = &bare, .item = item};
    myna_event_emit(m, &ev);
    myna_arena_free(a);
}

int roster_commit(struct myna_module *m, const struct myna_jid *user,
                  const struct contact *ct, bool removed)
{
    uint64_t ver = 0;
    int rc = roster_store(m, user, ct, removed, &ver);
    if (rc == 0) /* else nothing was stored (the unit failed): no push claims otherwise */
        roster_notify(m, user, ct, removed, ver);
    return rc;
}

/* The requester must be a local session of the roster's owner (RFC 6121 §2.1.5). */
static bool roster_own_request(struct myna_stanza *st)
{
    if (st->origin == NULL || st->from.node == NULL)
        return false;
    if (st->has_to && (st->to.resource != NULL || !myna_jid_bare_equal(&st->to, &st->from)))
        return false;
    return true;
}

static int roster_get(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct roster_ctx *c = roster_ctx(m);
    if (!roster_own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    struct roster_sess *ss = roster_sess(m, st->origin);
    ss->interested = true;
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    const char *ver = myna_xml_attr(q, "ver");
    struct myna_jid bare;
    myna_jid_to_bare(&st->from, &bare);
    uint64_t cur = roster_version(c, st->arena, bare.bare);
    const char *curs = myna_arena_printf(st->arena, "%llu", (unsigned long long)cur);
    if (ver != NULL) {
        ss->versioning = true;
        if (strcmp(ver, curs) == 0) {
            /* XEP-0237 §4: unchanged since the client's copy; later changes are pushed. */
            myna_iq_result(st, NULL);
            return 0;
        }
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *rq = myna_xml_add_child(res, NS_ROSTER, "query");
    if (ver != NULL)
        myna_xml_set_attr(rq, "ver", curs);
    struct contact *items;
    size_t n;
    if (contact_list(c, st->arena, bare.bare, &items, &n) < 0) {
        myna_reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].in_roster)
            roster_item_xml(rq, &items[i], false);
    myna_iq_send_result(st, res);
    return 0;
}

/* Validates the groups of a roster set item (RFC 6121 §2.3.3) into ct. */
static enum myna_error roster_parse_groups(struct roster_ctx *c, struct myna_arena *a,
                                           const struct myna_xml *item, struct contact *ct,
                                           const char **why)
{
    size_t n = 0;
    for (struct myna_xml *g = myna_xml_find(item, NS_ROSTER, "group"); g;
         g = myna_xml_find_next(g, NS_ROSTER, "group"))
        n++;
    if ((long long)n > c->max_groups) {
        *why = "too many groups";
        return MYNA_ERR_NOT_ACCEPTABLE;
    }
    ct->groups = myna_arena_alloc(a, (n ? n : 1) * sizeof(char *));
    ct->ngroups = 0;
    for (struct myna_xml *g = myna_xml_find(item, NS_ROSTER, "group"); g;
         g = myna_xml_find_next(g, NS_ROSTER, "group")) {
        const char *name = myna_xml_text(g);
        size_t len = strlen(name);
        if (len == 0) {
            *why = "empty group name";
            return MYNA_ERR_NOT_ACCEPTABLE;
        }
        if ((long long)len > c->max_group) {
            *why = "group name too long";
            return MYNA_ERR_NOT_ACCEPTABLE;
        }
        for (size_t i = 0; i < ct->ngroups; i++)
            if (strcmp(ct->groups[i], name) == 0) {
                *why = "duplicate group";
                return MYNA_ERR_BAD_REQUEST;
            }
        ct->groups[ct->ngroups++] = name;
    }
    return MYNA_ERR__COUNT;
}

static void roster_remove(struct myna_module *m, struct myna_stanza *st,
                          const struct myna_jid *user, struct contact *ct)
{
    if (!ct->in_roster) {
        myna_reply_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL);
        return;
    }
    /* RFC 6121 §2.5.2: cancel subscriptions in both directions and remove. Stored first:
     * nothing is sent for a removal that failed. */
    uint64_t ver = 0;
    int rc = roster_store(m, user, ct, true, &ver);
    if (rc != 0) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return;
    }
    subscription_cancel_all(m, user, ct);
    myna_iq_result(st, NULL);
    roster_notify(m, user, ct, true, ver);
}

static int roster_set(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct roster_ctx *c = roster_ctx(m);
    if (!roster_own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    struct myna_xml *item = myna_xml_find(q, NS_ROSTER, "item");
    if (item == NULL || myna_xml_find_next(item, NS_ROSTER, "item") != NULL) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "a roster set holds exactly one item");
        return 0;
    }
    const char *jids = myna_xml_attr(item, "jid");
    struct myna_jid jid, bare, user;
    if (jids == NULL) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "missing jid");
        return 0;
    }
    if (myna_jid_parse(st->arena, jids, &jid) < 0) {
        myna_reply_error(st, MYNA_ERR_JID_MALFORMED, NULL);
        return 0;
    }
    myna_jid_to_bare(&jid, &bare);
    myna_jid_to_bare(&st->from, &user);
    if (strlen(user.bare) + 1 + strlen(bare.bare) > KEY_MAX) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "JID too long");
        return 0;
    }
    const char *subs = myna_xml_attr(item, "subscription");
    bool remove = subs != NULL && strcmp(subs, "remove") == 0;
    /* Clients echo the other values from pushes; only "remove" means something. */
    if (subs != NULL && !remove && strcmp(subs, "none") != 0 && strcmp(subs, "to") != 0 &&
        strcmp(subs, "from") != 0 && strcmp(subs, "both") != 0) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "invalid subscription value");
        return 0;
    }
    struct contact ct;
    int rc = contact_get(c, st->arena, user.bare, bare.bare, &ct);
    if (rc < 0 && rc != MYNA_STORE_NOTFOUND) {
        myna_reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        return 0;
    }
    if (remove) {
        roster_remove(m, st, &st->from, &ct);
        return 0;
    }
    if (myna_jid_bare_equal(&bare, &user)) {
        myna_reply_error(st, MYNA_ERR_NOT_ALLOWED, "the account itself is not a contact");
        return 0;
    }
    const char *name = myna_xml_attr(item, "name");
    if (name != NULL && (long long)strlen(name) > c->max_name) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "name too long");
        return 0;
    }
    const char *why = NULL;
    enum myna_error err = roster_parse_groups(c, st->arena, item, &ct, &why);
    if (err != MYNA_ERR__COUNT) {
        myna_reply_error(st, err, why);
        return 0;
    }
    if (!ct.in_roster && (long long)roster_count(c, st->arena, user.bare) >= c->max_items) {
        myna_reply_error(st, MYNA_ERR_NOT_ALLOWED, "roster size limit reached");
        return 0;
    }
    ct.name = name != NULL && *name ? name : NULL;
    ct.in_roster = true;
    uint64_t ver = 0;
    rc = roster_store(m, &st->from, &ct, false, &ver);
    if (rc != 0) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return 0;
    }
    myna_iq_result(st, NULL);
    roster_notify(m, &st->from, &ct, false, ver);
    return 0;
}

int roster_iq_register(struct myna_module *m)
{
    unsigned where = MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER | MYNA_IQ_NO_FEATURE;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_ROSTER, "query", where, roster_get, NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_ROSTER, "query", where, roster_set, NULL) < 0)
        return -1;
    return 0;
}

static void feature_rosterver(struct myna_module *m, struct myna_session *s,
                              struct myna_xml *features, void *data)
{
    (void)m;
    (void)s;
    myna_xml_add_child(features, (const char *)data, "ver");
}

static void feature_preapproval(struct myna_module *m, struct myna_session *s,
                                struct myna_xml *features, void *data)
{
    (void)m;
    (void)s;
    myna_xml_add_child(features, (const char *)data, "sub");
}

/* RFC 6121 §2.5.2 applied to every contact, then the user's records are dropped. */
static void roster_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    struct roster_ctx *c = roster_ctx(m);
    struct myna_jid bare;
    myna_jid_to_bare(ev->user, &bare);
    struct myna_arena *a = myna_arena_new();
    struct contact *items;
    size_t n;
    if (contact_list(c, a, bare.bare, &items, &n) == 0)
        for (size_t i = 0; i < n; i++)
            subscription_cancel_all(m, &bare, &items[i]);
    roster_delete_user(c, bare.bare);
    myna_arena_free(a);
}

/* The service (myna/roster.h); svc->ctx is the host's roster_ctx. */
static int svc_lookup(const struct myna_roster_service *svc, const char *user,
                      const char *contact, struct myna_arena *a, struct myna_roster_entry *out)
{
    struct contact ct;
    memset(out, 0, sizeof(*out));
    if (strlen(user) + strlen(contact) + 1 > KEY_MAX ||
        contact_get(svc->ctx, a, user, contact, &ct) < 0 || !ct.in_roster)
        return -1;
    out->in_roster = true;
    out->sub = (ct.sub & SUB_TO ? MYNA_ROSTER_SUB_TO : 0) |
               (ct.sub & SUB_FROM ? MYNA_ROSTER_SUB_FROM : 0);
    out->name = ct.name;
    out->groups = ct.groups;
    out->ngroups = ct.ngroups;
    return 0;
}

static bool svc_has_item(const struct myna_roster_service *svc, const char *user,
                         const char *contact, unsigned *sub)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_roster_entry e;
    bool found = svc_lookup(svc, user, contact, a, &e) == 0;
    if (found && sub != NULL)
        *sub = e.sub;
    myna_arena_free(a);
    return found;
}

static int roster_load(struct myna_module *m)
{
    struct roster_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    myna_module_set_data(m, c);
    c->store = myna_module_store(m, "roster");
    c->requests = myna_module_store(m, "roster_requests");
    c->slot = myna_session_slot(m, sess_free);
    c->max_items = myna_opt_int(m, "max_items");
    c->max_name = myna_opt_int(m, "max_name_length");
    c->max_group = myna_opt_int(m, "max_group_length");
    c->max_groups = myna_opt_int(m, "max_groups");
    if (c->store == NULL || c->requests == NULL || c->slot < 0)
        return -1;
    if (roster_iq_register(m) < 0 || presence_register(m) < 0 ||
        roster_migration_register(m) < 0)
        return -1;
    myna_stream_feature(m, feature_rosterver, (void *)NS_ROSTERVER);
    myna_stream_feature(m, feature_preapproval, (void *)NS_PREAPPROVAL);
    myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, roster_user_deleted, NULL);
    c->svc = (struct myna_roster_service){.version = MYNA_ROSTER_SERVICE_VERSION,
                                          .ctx = c,
                                          .has_item = svc_has_item,
                                          .lookup = svc_lookup};
    return myna_service_publish(m, MYNA_ROSTER_SERVICE, &c->svc);
}

static void roster_unload(struct myna_module *m)
{
    free(myna_module_data(m));
    myna_module_set_data(m, NULL);
}

MYNA_MODULE_DEFINE(.name = "roster",
                   .description = "Roster, presence subscriptions and presence (RFC 6121)",
                   .options = roster_options, .load = roster_load, .unload = roster_unload);
