/* modules/roster/presence.c — presence (RFC 6121 §4): initial presence broadcast to
 * subscribers and the user's own resources, probes to contacts and their answers (§4.3),
 * later broadcasts, unavailable presence on request and when a session ends for any
 * reason (§4.5), directed presence and its cleanup (§4.6), errors for invalid types.
 * Each session's broadcast presence is recorded with myna_session_set_presence (the core
 * routes by its priority); `available` in struct roster_sess mirrors it for this module.
 */
#include <stdlib.h>
#include <string.h>

#include "roster.h"

static bool presence_type_valid(const char *type)
{
    static const char *const types[] = {"available",  "unavailable", "probe",
                                        "error",      "subscribe",   "subscribed",
                                        "unsubscribe", "unsubscribed"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

static bool sess_available(struct myna_module *m, struct myna_session *s)
{
    struct roster_sess *ss = myna_session_get(s, roster_ctx(m)->slot);
    return ss != NULL && ss->available;
}

void presence_send(struct myna_module *m, const char *type, const char *from, const char *to)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    if (type != NULL)
        myna_xml_set_attr(p, "type", type);
    myna_xml_set_attr(p, "from", from);
    myna_xml_set_attr(p, "to", to);
    myna_send(m, p);
    myna_arena_free(a);
}

struct current_state {
    struct myna_module *m;
    const char *to;
    bool unavailable;
    uint64_t skip; /* session id not to consider (0 = none) */
    struct myna_xml *pres; /* for deliver: the stanza to hand over */
    size_t count;
};

static void current_one(struct myna_session *s, void *data)
{
    struct current_state *cs = data;
    if (!sess_available(cs->m, s) || myna_session_id(s) == cs->skip)
        return;
    const char *full = myna_session_jid(s)->full;
    if (cs->unavailable) {
        presence_send(cs->m, "unavailable", full, cs->to);
    } else {
        struct myna_arena *a = myna_arena_new();
        const struct myna_xml *last = myna_session_presence(s);
        struct myna_xml *p = last ? myna_xml_copy(a, last)
                                  : myna_xml_new(a, MYNA_NS_CLIENT, "presence");
        myna_xml_set_attr(p, "from", full);
        myna_xml_set_attr(p, "to", cs->to);
        myna_send(cs->m, p);
        myna_arena_free(a);
    }
    cs->count++;
}

void presence_send_current(struct myna_module *m, const struct myna_jid *user, const char *to,
                           bool unavailable)
{
    struct myna_jid bare;
    myna_jid_to_bare(user, &bare);
    struct current_state cs = {.m = m, .to = to, .unavailable = unavailable};
    myna_user_sessions(m, &bare, current_one, &cs);
}

static void deliver_one(struct myna_session *s, void *data)
{
    struct current_state *cs = data;
    if (!sess_available(cs->m, s) || myna_session_id(s) == cs->skip)
        return;
    if (cs->to != NULL)
        myna_xml_set_attr(cs->pres, "to", myna_session_jid(s)->full);
    myna_session_send(s, cs->pres);
    cs->count++;
}

void presence_deliver_available(struct myna_module *m, const struct myna_jid *user,
                                struct myna_xml *pres)
{
    struct myna_jid bare;
    myna_jid_to_bare(user, &bare);
    struct current_state cs = {.m = m, .pres = pres};
    myna_user_sessions(m, &bare, deliver_one, &cs);
}

/* Sends `p` (from set) to every contact with a subscription from the user (§4.2.2). */
static void send_to_subscribers(struct myna_module *m, const struct myna_jid *bare,
                                struct myna_xml *p, struct contact *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!items[i].in_roster || !(items[i].sub & SUB_FROM))
            continue;
        myna_xml_set_attr(p, "to", items[i].jid);
        myna_send(m, p);
    }
    myna_xml_set_attr(p, "to", NULL);
}

/* Own resources see each other's presence (§4.2.2, §4.4.2), addressed to full JIDs. */
static void send_to_own(struct myna_module *m, const struct myna_jid *bare,
                        struct myna_xml *p, uint64_t skip)
{
    struct current_state cs = {.m = m, .pres = p, .to = "", .skip = skip};
    myna_user_sessions(m, bare, deliver_one, &cs);
    myna_xml_set_attr(p, "to", NULL);
}

struct others_state {
    struct myna_module *m;
    struct myna_session *self;
};

static void others_to_self(struct myna_session *s, void *data)
{
    struct others_state *os = data;
    if (s == os->self || !sess_available(os->m, s) || myna_session_presence(s) == NULL)
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_copy(a, myna_session_presence(s));
    myna_xml_set_attr(p, "from", myna_session_jid(s)->full);
    myna_xml_set_attr(p, "to", myna_session_jid(os->self)->full);
    myna_session_send(os->self, p);
    myna_arena_free(a);
}

static void directed_forget_all(struct roster_sess *ss)
{
    for (size_t i = 0; i < ss->ndirected; i++)
        free(ss->directed[i]);
    free(ss->directed);
    ss->directed = NULL;
    ss->ndirected = 0;
}

/* Unavailable to subscribers, directed-presence recipients and own resources (§4.5.2).
 * `p` is the unavailable stanza (from set). `skip` excludes the ending session. */
static void broadcast_unavailable(struct myna_module *m, struct myna_session *s,
                                  struct myna_xml *p, uint64_t skip)
{
    bool was_available = roster_sess(m, s)->available;
    struct roster_sess *ss = roster_sess(m, s);
    struct myna_jid bare;
    myna_jid_to_bare(myna_session_jid(s), &bare);
    struct myna_arena *a = myna_arena_new();
    struct contact *items;
    size_t n = 0;
    if (was_available) {
        contact_list(roster_ctx(m), a, bare.bare, &items, &n);
        send_to_subscribers(m, &bare, p, items, n);
    }
    for (size_t i = 0; i < ss->ndirected; i++) {
        myna_xml_set_attr(p, "to", ss->directed[i]);
        myna_send(m, p);
    }
    myna_xml_set_attr(p, "to", NULL);
    directed_forget_all(ss);
    if (was_available)
        send_to_own(m, &bare, p, skip);
    ss->available = false;
    myna_session_set_presence(s, NULL);
    myna_arena_free(a);
}

static void broadcast_available(struct myna_module *m, struct myna_stanza *st)
{
    struct myna_session *s = st->origin;
    struct roster_sess *ss = roster_sess(m, s);
    bool initial = !ss->available;
    const struct myna_jid *full = myna_session_jid(s);
    struct myna_jid bare;
    myna_jid_to_bare(full, &bare);

    struct myna_xml *p = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(p, "to", NULL);
    myna_xml_set_attr(p, "from", full->full);
    myna_session_set_presence(s, p);
    ss->available = true;

    struct contact *items;
    size_t n = 0;
    contact_list(roster_ctx(m), st->arena, bare.bare, &items, &n);
    send_to_subscribers(m, &bare, p, items, n);
    send_to_own(m, &bare, p, 0);
    if (!initial)
        return;
    /* §4.2.2 / §4.3.1: learn the contacts' presence; probes from the new full JID, so
     * answers reach exactly this resource. */
    for (size_t i = 0; i < n; i++)
        if (items[i].in_roster && (items[i].sub & SUB_TO))
            presence_send(m, "probe", full->full, items[i].jid);
    struct others_state os = {.m = m, .self = s};
    myna_user_sessions(m, &bare, others_to_self, &os);
    /* §3.1.3: subscription requests that arrived while no resource was available. */
    for (size_t i = 0; i < n; i++) {
        if (!items[i].pending_in)
            continue;
        struct myna_xml *req = request_get(roster_ctx(m), st->arena, bare.bare, items[i].jid);
        if (req == NULL) /* stored before requests were kept whole, or imported */
            req = myna_xml_new(st->arena, MYNA_NS_CLIENT, "presence");
        myna_xml_set_attr(req, "type", "subscribe");
        myna_xml_set_attr(req, "from", items[i].jid);
        myna_xml_set_attr(req, "to", bare.bare);
        myna_session_send(s, req);
    }
}

/* §4.6: directed presence. Tracked so the recipient learns of unavailability later,
 * unless it is a subscriber that gets broadcasts anyway. */
static void directed_track(struct myna_module *m, struct myna_stanza *st)
{
    struct roster_sess *ss = roster_sess(m, st->origin);
    const char *to = st->to.full;
    size_t i;
    for (i = 0; i < ss->ndirected; i++)
        if (strcmp(ss->directed[i], to) == 0)
            break;
    bool known = i < ss->ndirected;
    if (strcmp(st->type, "unavailable") == 0) {
        if (known) {
            free(ss->directed[i]);
            ss->directed[i] = ss->directed[--ss->ndirected];
        }
        return;
    }
    if (known)
        return;
    if (ss->available) {
        struct myna_jid user, cj;
        myna_jid_to_bare(&st->from, &user);
        myna_jid_to_bare(&st->to, &cj);
        struct contact ct;
        if (contact_get(roster_ctx(m), st->arena, user.bare, cj.bare, &ct) == 0 &&
            ct.in_roster && (ct.sub & SUB_FROM))
            return;
    }
    if (ss->ndirected >= 1000)
        return; /* bound the list; beyond it recipients only miss the final unavailable */
    char **nd = realloc(ss->directed, (ss->ndirected + 1) * sizeof(char *));
    char *dup = strdup(to);
    if (nd == NULL || dup == NULL)
        abort();
    ss->directed = nd;
    ss->directed[ss->ndirected++] = dup;
}

static enum myna_verdict presence_out(struct myna_module *m, struct myna_stanza *st,
                                      void *data)
{
    (void)data;
    if (st->origin == NULL)
        return MYNA_PASS;
    const char *type = st->type ? st->type : "available";
    if (!presence_type_valid(type)) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "unknown presence type");
        return MYNA_HANDLED;
    }
    if (presence_is_subscription(type))
        return subscription_outbound(m, st);
    if (strcmp(type, "error") == 0)
        return MYNA_PASS;
    if (strcmp(type, "probe") == 0)
        return MYNA_HANDLED; /* probes are the server's business (§4.3) */
    bool to_self = st->has_to && st->to.resource == NULL &&
                   myna_jid_bare_equal(&st->to, &st->from);
    if (st->has_to && !to_self) {
        directed_track(m, st);
        return MYNA_PASS;
    }
    if (strcmp(type, "available") == 0) {
        broadcast_available(m, st);
        return MYNA_HANDLED;
    }
    struct roster_sess *ss = roster_sess(m, st->origin);
    if (ss->available) {
        struct myna_xml *p = myna_xml_copy(st->arena, st->xml);
        myna_xml_set_attr(p, "from", st->from.full);
        myna_xml_set_attr(p, "to", NULL);
        broadcast_unavailable(m, st->origin, p, 0);
    } else if (ss->ndirected > 0) {
        struct myna_xml *p = myna_xml_copy(st->arena, st->xml);
        myna_xml_set_attr(p, "from", st->from.full);
        broadcast_unavailable(m, st->origin, p, 0);
    }
    return MYNA_HANDLED;
}

/* §4.3.2: a probe of a local user: each available resource's last presence, or
 * unavailable, if the prober is subscribed; otherwise unsubscribed. */
static void probe_answer(struct myna_module *m, struct myna_stanza *st)
{
    struct myna_jid user, cj;
    myna_jid_to_bare(&st->to, &user);
    myna_jid_to_bare(&st->from, &cj);
    if (user.node == NULL || myna_jid_bare_equal(&user, &cj) ||
        !myna_user_exists(m, user.node))
        return;
    struct contact ct;
    contact_get(roster_ctx(m), st->arena, user.bare, cj.bare, &ct);
    if (!(ct.sub & SUB_FROM)) {
        presence_send(m, "unsubscribed", user.bare, cj.bare);
        return;
    }
    struct current_state cs = {.m = m, .to = st->from.full};
    myna_user_sessions(m, &user, current_one, &cs);
    if (cs.count == 0)
        presence_send(m, "unavailable", user.bare, st->from.full);
}

static enum myna_verdict presence_in(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    const char *type = st->type ? st->type : "available";
    if (presence_is_subscription(type))
        return subscription_inbound(m, st);
    if (strcmp(type, "probe") == 0) {
        probe_answer(m, st);
        return MYNA_HANDLED;
    }
    if (!presence_type_valid(type))
        return MYNA_HANDLED; /* nothing sensible to deliver */
    return MYNA_PASS;
}

static void presence_session_closed(struct myna_module *m, const struct myna_event *ev,
                                    void *data)
{
    (void)data;
    struct myna_session *s = ev->session;
    if (s == NULL)
        return;
    struct roster_sess *ss = myna_session_get(s, roster_ctx(m)->slot);
    if (ss == NULL || (!ss->available && ss->ndirected == 0))
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    myna_xml_set_attr(p, "type", "unavailable");
    myna_xml_set_attr(p, "from", myna_session_jid(s)->full);
    broadcast_unavailable(m, s, p, myna_session_id(s));
    myna_arena_free(a);
}

int presence_register(struct myna_module *m)
{
    if (myna_hook_add(m, MYNA_HOOK_PRESENCE_OUT, 0, presence_out, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_PRESENCE_IN, 0, presence_in, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_CLOSED, presence_session_closed, NULL) < 0)
        return -1;
    return 0;
}
