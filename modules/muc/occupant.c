/* modules/muc/occupant.c — occupants and their presence (XEP-0045 §7.1-7.3 entering a room
 * with its errors and status codes 100/110/170/201/210, §7.6 nickname change with 303,
 * §7.14 exit, §9 removal codes 301/307/321/322/332/333 in broadcasts). Order on entering
 * (§7.2.3-7.2.16): the other occupants' presence, then the newcomer's own (110), then
 * the history, then the subject. Several sessions of one user may share a nickname; the
 * occupant leaves when its last session does. Every stanza to a real JID is routed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muc.h"

struct occupant *occ_by_real(struct room *r, const char *full)
{
    return muc_map_get(&r->by_real, full);
}

enum muc_role occ_default_role(const struct room *r, enum muc_aff aff)
{
    if (aff >= AFF_ADMIN)
        return ROLE_MODERATOR;
    if (aff == AFF_MEMBER)
        return ROLE_PARTICIPANT;
    return r->cfg.moderated ? ROLE_VISITOR : ROLE_PARTICIPANT;
}

/* ---- the index of rooms per real session ---- */

static void joined_add(struct muc *svc, const char *full, struct room *r)
{
    struct muc_joined *j = muc_map_get(&svc->joined, full);
    if (!j) {
        j = calloc(1, sizeof *j);
        if (!j)
            abort();
        muc_map_put(&svc->joined, full, j);
    }
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 4;
        j->rooms = realloc(j->rooms, j->cap * sizeof *j->rooms);
        if (!j->rooms)
            abort();
    }
    j->rooms[j->n++] = r;
}

static void joined_del(struct muc *svc, const char *full, struct room *r)
{
    struct muc_joined *j = muc_map_get(&svc->joined, full);
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        if (j->rooms[i] == r) {
            j->rooms[i] = j->rooms[--j->n];
            break;
        }
    if (!j->n) {
        muc_map_del(&svc->joined, full);
        free(j->rooms);
        free(j);
    }
}

/* ---- building presence ---- */

static bool keep_child(const struct myna_xml *c)
{
    if (c->type != MYNA_XML_ELEMENT)
        return false;
    return !myna_xml_is(c, NS_MUC, "x") && !myna_xml_is(c, NS_MUC_USER, "x") &&
           !myna_xml_is(c, NS_OCCUPANT_ID, "occupant-id") &&
           !myna_xml_is(c, MYNA_NS_CLIENT, "error");
}

static void add_codes(struct myna_xml *x, const int *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        myna_xml_set_attrf(myna_xml_add_child(x, NULL, "status"), "code", "%d", codes[i]);
}

struct pres {
    const char *type;           /* NULL or "unavailable" */
    const char *jid;            /* real JID shown in the item, or NULL */
    const char *new_nick;       /* 303 */
    bool self;
    const int *self_codes;      /* extra codes for the self copy (join) */
    size_t nself;
    const struct occ_why *why;
};

static struct myna_xml *build(struct myna_arena *a, struct occupant *o, const struct pres *p)
{
    struct room *r = o->room;
    struct myna_xml *el = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    myna_xml_set_attr(el, "from", o->ojid);
    if (p->type)
        myna_xml_set_attr(el, "type", p->type);
    const struct occ_why *why = p->why;
    if (!p->type && o->presence) {
        for (struct myna_xml *c = o->presence->children; c; c = c->next)
            if (keep_child(c))
                myna_xml_add_copy(el, c);
    } else if (why && why->status) {
        myna_xml_add_copy(el, why->status);
    }
    struct myna_xml *x = myna_xml_add_child(el, NS_MUC_USER, "x");
    struct myna_xml *item = myna_xml_add_child(x, NULL, "item");
    bool destroyed = why && why->destroy;
    enum muc_aff aff = destroyed ? AFF_NONE : room_aff(r, o->bare);
    myna_xml_set_attr(item, "affiliation", muc_aff_name(aff));
    myna_xml_set_attr(item, "role", muc_role_name(p->type && !p->new_nick ? ROLE_NONE : o->role));
    if (p->jid)
        myna_xml_set_attr(item, "jid", p->jid);
    if (p->new_nick)
        myna_xml_set_attr(item, "nick", p->new_nick);
    if (why && why->actor)
        myna_xml_set_attr(myna_xml_add_child(item, NULL, "actor"), "nick", why->actor);
    if (why && why->reason)
        myna_xml_add_text(myna_xml_add_child(item, NULL, "reason"), why->reason,
                          strlen(why->reason));
    if (destroyed)
        myna_xml_add_copy(x, why->destroy);
    if (p->self) {
        static const int self_code = 110;
        add_codes(x, &self_code, 1);
        add_codes(x, p->self_codes, p->nself);
    }
    if (why)
        add_codes(x, why->codes, why->ncodes);
    if (p->new_nick) {
        static const int nick_code = 303;
        add_codes(x, &nick_code, 1);
    }
    myna_xml_set_attr(myna_xml_add_child(el, NS_OCCUPANT_ID, "occupant-id"), "id",
                      o->occupant_id);
    return el;
}

void occ_send_to(struct muc *svc, struct occupant *o, struct myna_xml *stanza)
{
    for (struct muc_conn *c = o->conns; c; c = c->next) {
        myna_xml_set_attr(stanza, "to", c->jid.full);
        myna_send(svc->m, stanza);
    }
}

static bool sees_jid(const struct room *r, const struct occupant *viewer)
{
    return r->cfg.nonanonymous || viewer->role == ROLE_MODERATOR;
}

/* o's presence to every other occupant (two shared renderings: with and without the real
 * JID, §7.2.3-7.2.4), then the self copies to o's sessions when `self`. */
static void broadcast(struct occupant *o, struct pres *p, bool self)
{
    struct room *r = o->room;
    struct muc *svc = r->svc;
    struct myna_arena *a = myna_arena_new();
    size_t n = 0;
    const struct myna_jid *all = room_recipients(r, &n);
    struct myna_jid *with = malloc((n ? n : 1) * sizeof *with);
    struct myna_jid *without = malloc((n ? n : 1) * sizeof *without);
    if (!with || !without)
        abort();
    size_t nw = 0, nwo = 0, i = 0;
    for (struct occupant *v = r->head; v; v = v->next)
        for (struct muc_conn *c = v->conns; c; c = c->next, i++) {
            if (v == o)
                continue;
            if (sees_jid(r, v))
                with[nw++] = all[i];
            else
                without[nwo++] = all[i];
        }
    p->self = false;
    const char *real = o->conns ? o->conns->jid.full : NULL;
    if (nw) {
        p->jid = real;
        myna_send_fanout(svc->m, build(a, o, p), with, nw);
    }
    if (nwo) {
        p->jid = NULL;
        myna_send_fanout(svc->m, build(a, o, p), without, nwo);
    }
    free(with);
    free(without);
    if (self) {
        p->self = true;
        for (struct muc_conn *c = o->conns; c; c = c->next) {
            p->jid = c->jid.full;
            struct myna_xml *el = build(a, o, p);
            myna_xml_set_attr(el, "to", c->jid.full);
            myna_send(svc->m, el);
        }
    }
    myna_arena_free(a);
}

void occ_broadcast(struct occupant *o, const struct occ_why *why)
{
    struct pres p = {.why = why};
    broadcast(o, &p, true);
}

/* ---- the occupant's life ---- */

static void set_presence(struct occupant *o, const struct myna_xml *pres)
{
    struct myna_arena *a = myna_arena_new();
    o->presence = myna_xml_copy(a, pres);
    myna_arena_free(o->pa);
    o->pa = a;
}

static struct muc_conn *conn_new(const struct myna_jid *jid)
{
    struct muc_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->a = myna_arena_new();
    myna_jid_copy(c->a, jid, &c->jid);
    return c;
}

static void conn_free(struct muc_conn *c)
{
    myna_arena_free(c->a);
    free(c);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void set_nick(struct occupant *o, const char *nick)
{
    struct room *r = o->room;
    if (o->nick)
        muc_map_del(&r->by_nick, o->nick);
    free(o->nick);
    free(o->ojid);
    o->nick = xstrdup(nick);
    size_t n = strlen(r->jid) + strlen(nick) + 2;
    o->ojid = malloc(n);
    if (!o->ojid)
        abort();
    snprintf(o->ojid, n, "%s/%s", r->jid, nick);
    muc_map_put(&r->by_nick, nick, o);
}

static void occ_free(struct occupant *o)
{
    for (struct muc_conn *c = o->conns, *n; c; c = n) {
        n = c->next;
        conn_free(c);
    }
    myna_arena_free(o->pa);
    free(o->nick);
    free(o->ojid);
    free(o->bare);
    free(o);
}

void occ_remove(struct occupant *o, const struct occ_why *why)
{
    struct room *r = o->room;
    struct pres p = {.type = "unavailable", .why = why};
    broadcast(o, &p, true);
    muc_map_del(&r->by_nick, o->nick);
    for (struct muc_conn *c = o->conns; c; c = c->next) {
        muc_map_del(&r->by_real, c->jid.full);
        joined_del(r->svc, c->jid.full, r);
    }
    if (o->prev)
        o->prev->next = o->next;
    else
        r->head = o->next;
    if (o->next)
        o->next->prev = o->prev;
    else
        r->tail = o->prev;
    r->nocc--;
    r->rcpt_valid = false;
    occ_free(o);
}

void occ_leave_conn(struct occupant *o, const char *full, const struct occ_why *why)
{
    struct room *r = o->room;
    if (!o->conns->next) {
        occ_remove(o, why);
        return;
    }
    /* Another session keeps the nickname: only this one is told it left (110). */
    struct muc_conn **pp = &o->conns;
    while (*pp && strcmp((*pp)->jid.full, full) != 0)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    struct muc_conn *c = *pp;
    struct myna_arena *a = myna_arena_new();
    struct pres p = {.type = "unavailable", .why = why, .self = true, .jid = c->jid.full};
    struct myna_xml *el = build(a, o, &p);
    myna_xml_set_attr(el, "to", c->jid.full);
    myna_send(r->svc->m, el);
    myna_arena_free(a);
    *pp = c->next;
    muc_map_del(&r->by_real, c->jid.full);
    joined_del(r->svc, c->jid.full, r);
    r->rcpt_valid = false;
    conn_free(c);
}

void occ_session_gone(struct muc *svc, const char *full, const struct occ_why *why)
{
    struct muc_joined *j = muc_map_get(&svc->joined, full);
    if (!j)
        return;
    size_t n = j->n;
    struct room **rooms = malloc(n * sizeof *rooms);
    if (!rooms)
        abort();
    memcpy(rooms, j->rooms, n * sizeof *rooms);
    for (size_t i = 0; i < n; i++) {
        struct occupant *o = occ_by_real(rooms[i], full);
        if (o) {
            occ_leave_conn(o, full, why);
            room_maybe_vanish(rooms[i]);
        }
    }
    free(rooms);
}

static void run_bounces(struct myna_module *m, void *data)
{
    (void)m;
    struct muc *svc = data;
    svc->bounce_timer = 0;
    struct occ_why why = {.codes = {333}, .ncodes = 1};
    while (svc->nbounced) {
        char *full = svc->bounced[--svc->nbounced];
        occ_session_gone(svc, full, &why);
        free(full);
    }
}

void occ_bounced(struct muc *svc, const char *full)
{
    for (size_t i = 0; i < svc->nbounced; i++)
        if (strcmp(svc->bounced[i], full) == 0)
            return;
    svc->bounced = realloc(svc->bounced, (svc->nbounced + 1) * sizeof *svc->bounced);
    if (!svc->bounced)
        abort();
    svc->bounced[svc->nbounced++] = xstrdup(full);
    if (!svc->bounce_timer)
        svc->bounce_timer = myna_timer_add(svc->m, 0, 0, run_bounces, svc);
}

void occ_bounces_free(struct muc *svc)
{
    for (size_t i = 0; i < svc->nbounced; i++)
        free(svc->bounced[i]);
    free(svc->bounced);
    svc->bounced = NULL;
    svc->nbounced = 0;
}

/* ---- entering ---- */

static void free_bucket(const char *key, void *val, void *d)
{
    (void)key, (void)d;
    free(val);
}

static void forget_buckets(struct room *r)
{
    muc_map_each(&r->joins, free_bucket, NULL);
    muc_map_free(&r->joins);
}

static bool flood(struct room *r, const char *bare)
{
    struct muc *svc = r->svc;
    if (!svc->join_per_minute)
        return false;
    uint64_t now = myna_now_ms();
    struct muc_bucket *b = muc_map_get(&r->joins, bare);
    if (!b) {
        if (r->joins.n > 4096) /* bounded: forget every bucket (they refill anyway) */
            forget_buckets(r);
        b = calloc(1, sizeof *b);
        if (!b)
            abort();
        b->tokens = svc->join_burst;
        b->at = now;
        muc_map_put(&r->joins, bare, b);
    }
    b->tokens += (double)(now - b->at) * svc->join_per_minute / 60000.0;
    if (b->tokens > svc->join_burst)
        b->tokens = svc->join_burst;
    b->at = now;
    if (b->tokens < 1)
        return true;
    b->tokens -= 1;
    return false;
}

static long attr_long(const struct myna_xml *el, const char *name)
{
    const char *v = myna_xml_attr(el, name);
    if (!v || !*v)
        return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < 0 ? -1 : n;
}

/* XEP-0082 date-time to unix seconds (UTC; fractions and offsets honoured). */
static long long parse_stamp(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    long long t = (long long)timegm(&tm);
    const char *z = s + 19;
    while (*z == '.' || (*z >= '0' && *z <= '9'))
        z++;
    if ((*z == '+' || *z == '-') && strlen(z) >= 6) {
        int oh = atoi(z + 1), om = atoi(z + 4);
        long long off = (long long)oh * 3600 + om * 60;
        t += *z == '+' ? -off : off;
    }
    return t;
}

static void history_request(const struct myna_xml *x, struct history_req *q)
{
    q->maxstanzas = q->maxchars = q->seconds = q->since = -1;
    struct myna_xml *h = x ? myna_xml_find(x, NS_MUC, "history") : NULL;
    if (!h)
        return;
    q->maxstanzas = attr_long(h, "maxstanzas");
    q->maxchars = attr_long(h, "maxchars");
    q->seconds = attr_long(h, "seconds");
    q->since = parse_stamp(myna_xml_attr(h, "since"));
}

static bool nick_ok(const struct muc *svc, const char *nick)
{
    if (strlen(nick) > svc->max_nick)
        return false;
    for (const char *p = nick; *p; p++)
        if (*p != ' ')
            return true;
    return false; /* only spaces */
}

/* The nick was changed by preparation (§7.2.2 code 210). */
static bool nick_rewritten(const struct myna_stanza *st)
{
    const char *raw = myna_xml_attr(st->xml, "to");
    const char *slash = raw ? strchr(raw, '/') : NULL;
    return slash && strcmp(slash + 1, st->to.resource) != 0;
}

static void send_join_sequence(struct room *r, struct occupant *o, const struct myna_jid *to,
                               const int *codes, size_t ncodes, const struct myna_xml *x)
{
    struct muc *svc = r->svc;
    struct myna_arena *a = myna_arena_new();
    /* 1. everyone else, as this occupant may see them. */
    for (struct occupant *v = r->head; v; v = v->next) {
        if (v == o)
            continue;
        struct pres p = {.jid = sees_jid(r, o) && v->conns ? v->conns->jid.full : NULL};
        struct myna_xml *el = build(a, v, &p);
        myna_xml_set_attr(el, "to", to->full);
        myna_send(svc->m, el);
    }
    myna_arena_free(a);
    a = myna_arena_new();
    /* 2. itself. */
    struct pres p = {.self = true, .jid = to->full, .self_codes = codes, .nself = ncodes};
    struct myna_xml *el = build(a, o, &p);
    myna_xml_set_attr(el, "to", to->full);
    myna_send(svc->m, el);
    myna_arena_free(a);
    /* 3. history, 4. subject. */
    struct history_req q;
    history_request(x, &q);
    history_send(r, &q, to);
    msg_send_subject(r, to);
}

static void join(struct muc *svc, struct myna_stanza *st, struct room *r, bool created)
{
    const char *nick = st->to.resource;
    const char *bare = st->from.bare;
    struct myna_xml *x = myna_xml_find(st->xml, NS_MUC, "x");
    enum muc_aff aff = room_aff(r, bare);
    struct occupant *same = muc_map_get(&r->by_nick, nick);
    if (!created) {
        if (r->locked && !(r->creator && strcmp(r->creator, bare) == 0)) {
            muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "The room is locked until it is configured");
            return;
        }
        if (!same && flood(r, bare)) {
            muc_error(st, MYNA_ERR_RESOURCE_CONSTRAINT, "Too many joins; try again later");
            return;
        }
        if (aff == AFF_OUTCAST) {
            muc_error(st, MYNA_ERR_FORBIDDEN, "You are banned from this room");
            return;
        }
        if (r->cfg.members_only && aff < AFF_MEMBER) {
            muc_error(st, MYNA_ERR_REGISTRATION_REQUIRED, "This room is members-only");
            return;
        }
        if (same && strcmp(same->bare, bare) != 0) {
            muc_error(st, MYNA_ERR_CONFLICT, "That nickname is in use");
            return;
        }
        const char *owner = room_nick_owner(r, nick);
        if (owner && strcmp(owner, bare) != 0) {
            muc_error(st, MYNA_ERR_CONFLICT, "That nickname is registered by another user");
            return;
        }
        if (r->cfg.password_protected && aff < AFF_ADMIN) {
            const char *pw = x ? myna_xml_child_text(x, NS_MUC, "password") : NULL;
            if (!pw || strcmp(pw, r->cfg.password) != 0) {
                muc_error(st, MYNA_ERR_NOT_AUTHORIZED, "A password is required");
                return;
            }
        }
        if (!same && r->nocc >= room_max_users(r) && aff < AFF_ADMIN) {
            muc_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, "The room is full");
            return;
        }
    }
    struct muc_conn *c = conn_new(&st->from);
    struct occupant *o = same;
    if (o) {
        /* Another session of the same user under the same nickname (§7.2: one occupant). */
        c->next = o->conns;
        o->conns = c;
    } else {
        o = calloc(1, sizeof *o);
        if (!o)
            abort();
        o->room = r;
        o->bare = xstrdup(bare);
        o->role = occ_default_role(r, aff);
        o->conns = c;
        muc_occupant_id(svc, r->jid, bare, o->occupant_id);
        set_nick(o, nick);
        o->prev = r->tail;
        if (r->tail)
            r->tail->next = o;
        else
            r->head = o;
        r->tail = o;
        r->nocc++;
    }
    set_presence(o, st->xml);
    muc_map_put(&r->by_real, c->jid.full, o);
    joined_add(svc, c->jid.full, r);
    r->rcpt_valid = false;
    int codes[4];
    size_t n = 0;
    if (r->cfg.nonanonymous)
        codes[n++] = 100;
    if (r->cfg.logging)
        codes[n++] = 170;
    if (created)
        codes[n++] = 201;
    if (nick_rewritten(st))
        codes[n++] = 210;
    if (!same) {
        struct pres p = {0};
        broadcast(o, &p, false);
    }
    send_join_sequence(r, o, &c->jid, codes, n, x);
    if (created && !x) {
        /* §10.1.1: a client without MUC support gets an instant room at once. */
        r->locked = false;
        free(r->creator);
        r->creator = NULL;
    }
}

static bool may_create(struct muc *svc, const struct myna_stanza *st)
{
    switch (svc->create) {
    case CREATE_ANYONE:
        return true;
    case CREATE_LOCAL:
        return myna_is_local_host(svc->m, st->from.domain) &&
               strcmp(st->from.domain, svc->domain) != 0;
    case CREATE_ADMINS:
        return muc_is_admin(svc, st->from.bare);
    }
    return false;
}

static void create_and_join(struct muc *svc, struct myna_stanza *st)
{
    if (!may_create(svc, st)) {
        muc_error(st, MYNA_ERR_NOT_ALLOWED, "Room creation is restricted");
        return;
    }
    if (!st->from.node) {
        muc_error(st, MYNA_ERR_NOT_ALLOWED, "Rooms are created by users");
        return;
    }
    if (svc->max_rooms_per_user && !muc_is_admin(svc, st->from.bare) &&
        room_count_owned(svc, st->from.bare) >= svc->max_rooms_per_user) {
        muc_error(st, MYNA_ERR_RESOURCE_CONSTRAINT, "You own too many rooms");
        return;
    }
    struct room *r = room_create(svc, st->to.node);
    history_clear(r); /* a temporary room of that name may have left some */
    r->locked = true;
    r->creator = xstrdup(st->from.bare);
    room_set_aff(r, st->from.bare, AFF_OWNER, NULL);
    myna_log(svc->m, MYNA_LOG_INFO, "room %s created by %s", r->jid, st->from.full);
    join(svc, st, r, true);
}

static void change_nick(struct muc *svc, struct myna_stanza *st, struct occupant *o)
{
    struct room *r = o->room;
    const char *nick = st->to.resource;
    struct occupant *other = muc_map_get(&r->by_nick, nick);
    const char *owner = room_nick_owner(r, nick);
    if ((other && strcmp(other->bare, o->bare) != 0) ||
        (owner && strcmp(owner, o->bare) != 0)) {
        muc_error(st, MYNA_ERR_CONFLICT, "That nickname is in use or registered");
        return;
    }
    if (other) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "You are already in the room under that nickname");
        return;
    }
    (void)svc;
    /* §7.6: unavailable with 303 and the new nick, then available under the new nick. */
    struct pres p = {.type = "unavailable", .new_nick = nick};
    broadcast(o, &p, true);
    set_nick(o, nick);
    set_presence(o, st->xml);
    int code210 = 210;
    struct pres q = {.self_codes = &code210, .nself = nick_rewritten(st) ? 1 : 0};
    broadcast(o, &q, true);
}

void occ_presence(struct muc *svc, struct myna_stanza *st)
{
    struct room *r = st->to.node ? room_find(svc, st->to.node) : NULL;
    const char *type = st->type;
    if (strcmp(type, "error") == 0) {
        /* The occupant's server says it is gone: remove it (333, as for bounces). */
        if (r && occ_by_real(r, st->from.full))
            occ_bounced(svc, st->from.full);
        return;
    }
    bool available = strcmp(type, "available") == 0;
    bool unavailable = strcmp(type, "unavailable") == 0;
    if (!available && !unavailable)
        return; /* subscriptions and probes mean nothing to a room */
    if (!st->to.node) {
        if (available)
            muc_error(st, MYNA_ERR_BAD_REQUEST, "Presence goes to room@service/nick");
        return;
    }
    struct occupant *o = r ? occ_by_real(r, st->from.full) : NULL;
    if (unavailable) {
        if (o) {
            struct occ_why why = {.status = myna_xml_find(st->xml, MYNA_NS_CLIENT, "status")};
            occ_leave_conn(o, st->from.full, &why);
            room_maybe_vanish(r);
        }
        return;
    }
    if (!st->to.resource) {
        /* §7.2.1: a nickname is required. */
        muc_error(st, MYNA_ERR_JID_MALFORMED, "A nickname is required");
        return;
    }
    if (!nick_ok(svc, st->to.resource)) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "That nickname is not acceptable");
        return;
    }
    if (o) {
        if (strcmp(o->nick, st->to.resource) == 0) {
            set_presence(o, st->xml); /* §7.7: a presence change, broadcast to all */
            struct pres p = {0};
            broadcast(o, &p, true);
        } else {
            change_nick(svc, st, o);
        }
        return;
    }
    if (!r)
        create_and_join(svc, st);
    else
        join(svc, st, r, false);
}
