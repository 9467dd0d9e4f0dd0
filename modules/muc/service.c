/* modules/muc/service.c — the MUC service on its sub-domain (XEP-0045 §6 discovery: the
 * service's identity and features, public rooms in disco#items paged with XEP-0059 RSM,
 * each room's disco#info with the muc#roominfo form and feature vars, and XEP-0313's when
 * it keeps an archive; §10.1.4 unique room names), the module's options, and the dispatch
 * of every stanza to the service, a room (MAM queries included) or an occupant. Also
 * XEP-0410 self-ping, iq forwarding to occupants (§6.6: a query to an occupant JID
 * reaches the occupant's real JID, from the asker's room JID), occupant and stanza ids,
 * and sessions that end (they leave every room at once: no ghosts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "muc.h"

static const struct myna_option muc_options[] = {
    {.name = "domain", .type = MYNA_OPT_STRING, .def = "",
     .doc = "the service's domain; empty = conference.HOST"},
    {.name = "create", .type = MYNA_OPT_STRING, .def = "local",
     .doc = "who may create rooms: anyone, local (users of this host) or admins"},
    {.name = "admins", .type = MYNA_OPT_STRING, .def = "",
     .doc = "bare JIDs (space or comma separated) that own every room"},
    {.name = "max_rooms_per_user", .type = MYNA_OPT_INT, .def = "100", .min = 0,
     .max = 1000000, .doc = "rooms one user may own (0 = no limit)"},
    {.name = "max_occupants", .type = MYNA_OPT_INT, .def = "10000", .min = 1,
     .max = 1000000, .doc = "occupants per room, whatever the room's own maximum"},
    {.name = "history_max", .type = MYNA_OPT_INT, .def = "50", .min = 0, .max = 10000,
     .doc = "messages of history sent on entering at most; kept per room without an archive"},
    {.name = "room_logging", .type = MYNA_OPT_BOOL, .def = "true",
     .doc = "new rooms log (keep a XEP-0313 archive) when the mam module is loaded"},
    {.name = "max_nick", .type = MYNA_OPT_INT, .def = "64", .min = 1, .max = 1023,
     .doc = "longest nickname in bytes"},
    {.name = "max_subject", .type = MYNA_OPT_INT, .def = "1024", .min = 1, .max = 100000,
     .doc = "longest subject in bytes"},
    {.name = "join_burst", .type = MYNA_OPT_INT, .def = "10", .min = 1, .max = 100000,
     .doc = "joins one user may make to one room at once"},
    {.name = "join_per_minute", .type = MYNA_OPT_INT, .def = "60", .min = 0, .max = 1000000,
     .doc = "joins per minute one user may make to one room after the burst (0 = no limit)"},
    {.name = "items_page", .type = MYNA_OPT_INT, .def = "100", .min = 1, .max = 10000,
     .doc = "rooms per disco#items answer when the client does not ask for a page size"},
    {.type = MYNA_OPT_END},
};

/* ---- ids ---- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* SipHash-2-4: a keyed hash, so occupant ids do not reveal the real JID. */
static uint64_t siphash(const unsigned char key[16], const unsigned char *in, size_t len)
{
    uint64_t k0 = 0, k1 = 0;
    for (int i = 7; i >= 0; i--) {
        k0 = (k0 << 8) | key[i];
        k1 = (k1 << 8) | key[8 + i];
    }
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
#define SIPROUND                                                                             \
    do {                                                                                     \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                            \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                               \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                               \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                            \
    } while (0)
    size_t end = len - len % 8;
    for (size_t i = 0; i < end; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; j--)
            m = (m << 8) | in[i + (size_t)j];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; j < len % 8; j++)
        b |= (uint64_t)in[end + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
#undef SIPROUND
    return v0 ^ v1 ^ v2 ^ v3;
}

void muc_occupant_id(const struct muc *svc, const char *room, const char *bare, char out[40])
{
    unsigned char buf[2200];
    size_t a = strlen(room), b = strlen(bare);
    if (a + b + 1 > sizeof buf)
        b = sizeof buf - a - 1;
    memcpy(buf, room, a);
    buf[a] = 0;
    memcpy(buf + a + 1, bare, b);
    uint64_t h1 = siphash(svc->secret, buf, a + 1 + b);
    buf[a] = 1;
    uint64_t h2 = siphash(svc->secret, buf, a + 1 + b);
    snprintf(out, 40, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

const char *muc_new_stanza_id(struct muc *svc, struct myna_arena *a)
{
    return myna_arena_printf(a, "%s-%llx", svc->boot, (unsigned long long)++svc->sid_next);
}

long long muc_now(void)
{
    return (long long)time(NULL);
}

void muc_stamp(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- helpers ---- */

bool muc_is_admin(const struct muc *svc, const char *bare)
{
    for (size_t i = 0; i < svc->nadmins; i++)
        if (strcmp(svc->admins[i], bare) == 0)
            return true;
    return false;
}

void muc_error(struct myna_stanza *st, enum myna_error e, const char *text)
{
    myna_reply_error(st, e, text);
}

static void add_feature(struct myna_xml *q, const char *var)
{
    myna_xml_set_attr(myna_xml_add_child(q, NULL, "feature"), "var", var);
}

static void add_identity(struct myna_xml *q, const char *cat, const char *type,
                         const char *name)
{
    struct myna_xml *id = myna_xml_add_child(q, NULL, "identity");
    myna_xml_set_attr(id, "category", cat);
    myna_xml_set_attr(id, "type", type);
    if (name)
        myna_xml_set_attr(id, "name", name);
}

/* ---- the service itself ---- */

static void service_info(struct myna_stanza *st)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_DISCO_INFO, "query");
    add_identity(q, "conference", "text", "Chatrooms");
    static const char *const features[] = {NS_MUC, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_RSM,
                                           NS_MUC_UNIQUE, NS_PING, NS_OCCUPANT_ID, NS_SID,
                                           NS_MODERATE0, NS_MODERATE1, NULL};
    for (size_t i = 0; features[i]; i++)
        add_feature(q, features[i]);
    myna_iq_send_result(st, res);
}

static int cmp_room(const void *a, const void *b)
{
    return strcmp((*(struct room *const *)a)->jid, (*(struct room *const *)b)->jid);
}

struct room_list {
    struct room **v;
    size_t n, cap;
};

static void collect_public(const char *key, void *val, void *d)
{
    (void)key;
    struct room *r = val;
    struct room_list *l = d;
    if (!r->cfg.public_room || r->locked)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = r;
}

static long rsm_num(const struct myna_xml *set, const char *name)
{
    const char *v = myna_xml_child_text(set, NS_RSM, name);
    if (!v)
        return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return *v && !*end && n >= 0 ? n : -2;
}

/* disco#items of the service: public rooms by JID, in XEP-0059 pages. */
static void service_items(struct muc *svc, struct myna_stanza *st)
{
    struct myna_xml *set = myna_xml_find(myna_xml_first_element(st->xml), NS_RSM, "set");
    long max = set ? rsm_num(set, "max") : -1, index = set ? rsm_num(set, "index") : -1;
    if (max == -2 || index == -2) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Bad RSM request");
        return;
    }
    if (max < 0 || max > (long)svc->items_page)
        max = (long)svc->items_page;
    struct room_list l = {0};
    muc_map_each(&svc->rooms, collect_public, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_room);
    size_t start = 0, stop = l.n;
    const char *after = set ? myna_xml_child_text(set, NS_RSM, "after") : NULL;
    const char *before = set ? myna_xml_child_text(set, NS_RSM, "before") : NULL;
    if (after) {
        while (start < l.n && strcmp(l.v[start]->jid, after) <= 0)
            start++;
    } else if (index >= 0) {
        start = (size_t)index < l.n ? (size_t)index : l.n;
    }
    if (before) {
        if (*before)
            for (stop = 0; stop < l.n && strcmp(l.v[stop]->jid, before) < 0; stop++)
                ;
        start = stop > (size_t)max ? stop - (size_t)max : 0;
    }
    if (stop - start > (size_t)max)
        stop = start + (size_t)max;
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
    for (size_t i = start; i < stop; i++) {
        struct myna_xml *it = myna_xml_add_child(q, NULL, "item");
        myna_xml_set_attr(it, "jid", l.v[i]->jid);
        myna_xml_set_attr(it, "name", *l.v[i]->cfg.name ? l.v[i]->cfg.name : l.v[i]->node);
    }
    if (set || l.n > (size_t)max) {
        struct myna_xml *rs = myna_xml_add_child(q, NS_RSM, "set");
        if (stop > start) {
            struct myna_xml *f = myna_xml_add_child(rs, NULL, "first");
            myna_xml_set_attrf(f, "index", "%zu", start);
            myna_xml_add_text(f, l.v[start]->jid, strlen(l.v[start]->jid));
            const char *last = l.v[stop - 1]->jid;
            myna_xml_add_text(myna_xml_add_child(rs, NULL, "last"), last, strlen(last));
        }
        char cnt[24];
        snprintf(cnt, sizeof cnt, "%zu", l.n);
        myna_xml_add_text(myna_xml_add_child(rs, NULL, "count"), cnt, strlen(cnt));
    }
    free(l.v);
    myna_iq_send_result(st, res);
}

static void service_iq(struct muc *svc, struct myna_stanza *st)
{
    struct myna_xml *q = myna_xml_first_element(st->xml);
    bool get = strcmp(st->type, "get") == 0;
    if (get && myna_xml_is(q, NS_DISCO_INFO, "query") && !myna_xml_attr(q, "node")) {
        service_info(st);
    } else if (get && myna_xml_is(q, NS_DISCO_ITEMS, "query") && !myna_xml_attr(q, "node")) {
        service_items(svc, st);
    } else if (get && myna_xml_is(q, NS_PING, "ping")) {
        myna_iq_result(st, NULL);
    } else if (get && myna_xml_is(q, NS_MUC_UNIQUE, "unique")) {
        unsigned char rnd[10];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            muc_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
            return;
        }
        char name[32];
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(name + 2 * i, 3, "%02x", rnd[i]);
        struct myna_xml *res = myna_iq_result_new(st);
        struct myna_xml *u = myna_xml_add_child(res, NS_MUC_UNIQUE, "unique");
        myna_xml_add_text(u, name, strlen(name));
        myna_iq_send_result(st, res);
    } else {
        muc_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
    }
}

/* ---- a room ---- */

static void room_info(struct room *r, struct myna_stanza *st, const char *node)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_DISCO_INFO, "query");
    if (node) {
        /* §7.12: the reserved nickname. */
        if (strcmp(node, "x-roomuser-item") != 0) {
            muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL);
            return;
        }
        myna_xml_set_attr(q, "node", node);
        struct muc_aff_row *row = room_aff_row(r, st->from.bare);
        if (row && row->nick)
            add_identity(q, "conference", "text", row->nick);
        myna_iq_send_result(st, res);
        return;
    }
    const struct muc_config *c = &r->cfg;
    add_identity(q, "conference", "text", *c->name ? c->name : r->node);
    const char *features[] = {
        NS_MUC, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_SID, NS_OCCUPANT_ID, NS_REGISTER,
        NS_MUC_REQUEST, NS_MODERATE0, NS_MODERATE1, NS_PING,
        "http://jabber.org/protocol/muc#stable_id",
        "http://jabber.org/protocol/muc#self-ping-optimization",
        c->persistent ? "muc_persistent" : "muc_temporary",
        c->members_only ? "muc_membersonly" : "muc_open",
        c->moderated ? "muc_moderated" : "muc_unmoderated",
        c->password_protected ? "muc_passwordprotected" : "muc_unsecured",
        c->nonanonymous ? "muc_nonanonymous" : "muc_semianonymous",
        c->public_room ? "muc_public" : "muc_hidden", NULL};
    for (size_t i = 0; features[i]; i++)
        add_feature(q, features[i]);
    if (history_archive(r)) { /* XEP-0313 §7: the room is an archive */
        add_feature(q, NS_MAM);
        add_feature(q, NS_MAM_EXTENDED);
    }
    struct myna_xml *x = df_new(q, "result", NS_MUC_ROOMINFO, NULL);
    df_add_field(x, "muc#roominfo_description", NULL, "Description", c->desc);
    df_add_field(x, "muc#roomconfig_roomname", NULL, "Name", c->name);
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", r->nocc);
    df_add_field(x, "muc#roominfo_occupants", NULL, "Occupants", buf);
    df_add_field(x, "muc#roominfo_subject", NULL, "Subject", r->subject ? r->subject : "");
    df_add_field(x, "muc#roomconfig_changesubject", "boolean", "Participants may change the subject",
                 c->change_subject ? "1" : "0");
    snprintf(buf, sizeof buf, "%u", c->history_len);
    df_add_field(x, "muc#maxhistoryfetch", NULL, "History", buf);
    snprintf(buf, sizeof buf, "%u", room_max_users(r));
    df_add_field(x, "muc#roomconfig_maxusers", NULL, "Maximum occupants", buf);
    df_add_field(x, "muc#roomconfig_allowinvites", "boolean", "Occupants may invite",
                 c->allow_invites ? "1" : "0");
    myna_iq_send_result(st, res);
}

static void room_items(struct room *r, struct myna_stanza *st)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
    /* §6.5: occupants are listed to occupants only (nicknames are room JIDs). */
    if (occ_by_real(r, st->from.full))
        for (struct occupant *o = r->head; o; o = o->next)
            myna_xml_set_attr(myna_xml_add_child(q, NULL, "item"), "jid", o->ojid);
    myna_iq_send_result(st, res);
}

static void room_iq(struct muc *svc, struct myna_stanza *st)
{
    struct room *r = room_find(svc, st->to.node);
    struct myna_xml *q = myna_xml_first_element(st->xml);
    bool get = strcmp(st->type, "get") == 0;
    bool owner_q = myna_xml_is(q, NS_MUC_OWNER, "query");
    if (!r || (r->locked && !(owner_q && room_aff(r, st->from.bare) == AFF_OWNER))) {
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such room");
        return;
    }
    if (get && myna_xml_is(q, NS_DISCO_INFO, "query"))
        room_info(r, st, myna_xml_attr(q, "node"));
    else if (get && myna_xml_is(q, NS_DISCO_ITEMS, "query"))
        room_items(r, st);
    else if (myna_xml_is(q, NS_MUC_ADMIN, "query"))
        admin_iq(svc, r, st);
    else if (owner_q)
        config_iq(svc, r, st);
    else if (myna_xml_is(q, NS_REGISTER, "query"))
        register_iq(svc, r, st);
    else if (myna_xml_is(q, NS_MODERATE1, "moderate") || myna_xml_is(q, NS_FASTEN, "apply-to"))
        moderate_iq(svc, r, st);
    else if (get && myna_xml_is(q, NS_PING, "ping"))
        myna_iq_result(st, NULL);
    else if (myna_xml_is(q, NS_MAM, NULL))
        mam_iq(svc, r, st);
    else
        muc_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
}

/* ---- an occupant: self-ping and forwarded queries ---- */

static enum myna_error condition_of(const struct myna_stanza *resp)
{
    struct myna_xml *e = myna_xml_find(resp->xml, MYNA_NS_CLIENT, "error");
    struct myna_xml *c = e ? myna_xml_find(e, MYNA_NS_STANZAS, NULL) : NULL;
    for (int i = 0; c && i < MYNA_ERR__COUNT; i++)
        if (strcmp(c->name, myna_error_condition((enum myna_error)i)) == 0)
            return (enum myna_error)i;
    return MYNA_ERR_UNDEFINED_CONDITION;
}

static void fwd_unlink(struct muc_fwd *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        f->svc->forwards = f->next;
    if (f->next)
        f->next->prev = f->prev;
}

static void forwarded(struct myna_module *m, struct myna_stanza *resp, void *data)
{
    (void)m;
    struct muc_fwd *f = data;
    struct myna_pending_iq *p = f->p;
    fwd_unlink(f);
    free(f);
    if (!resp)
        myna_pending_error(p, MYNA_ERR_RECIPIENT_UNAVAILABLE, NULL);
    else if (strcmp(resp->type, "result") == 0)
        myna_pending_result(p, myna_xml_first_element(resp->xml));
    else
        myna_pending_error(p, condition_of(resp), NULL);
}

static void occupant_iq(struct muc *svc, struct myna_stanza *st)
{
    struct room *r = room_find(svc, st->to.node);
    struct occupant *from = r && !r->locked ? occ_by_real(r, st->from.full) : NULL;
    struct myna_xml *q = myna_xml_first_element(st->xml);
    struct occupant *to = r ? muc_map_get(&r->by_nick, st->to.resource) : NULL;
    if (myna_xml_is(q, NS_PING, "ping") && strcmp(st->type, "get") == 0 &&
        (!from || from == to)) {
        /* XEP-0410: the answer tells the client whether it is still joined. */
        if (from)
            myna_iq_result(st, NULL);
        else
            muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "You are not joined under this nickname");
        return;
    }
    if (!from) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "Only occupants may query occupants");
        return;
    }
    if (!to) {
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such occupant");
        return;
    }
    struct myna_xml *iq = myna_xml_new(st->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(iq, "type", st->type);
    myna_xml_set_attr(iq, "from", from->ojid);
    myna_xml_set_attr(iq, "to", to->conns->jid.full);
    myna_xml_add_copy(iq, q);
    struct muc_fwd *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->svc = svc;
    f->p = myna_iq_defer(st);
    f->next = svc->forwards;
    if (f->next)
        f->next->prev = f;
    svc->forwards = f;
    if (myna_iq_request(svc->m, iq, 20000, forwarded, f) < 0) {
        fwd_unlink(f);
        myna_pending_error(f->p, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        free(f);
    }
}

static void on_iq(struct muc *svc, struct myna_stanza *st)
{
    if (strcmp(st->type, "get") != 0 && strcmp(st->type, "set") != 0)
        return; /* unmatched answers: never answered */
    if (!st->to.node)
        service_iq(svc, st);
    else if (!st->to.resource)
        room_iq(svc, st);
    else
        occupant_iq(svc, st);
}

static void on_stanza(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)m;
    struct muc *svc = data;
    switch (st->kind) {
    case MYNA_PRESENCE:
        occ_presence(svc, st);
        break;
    case MYNA_MESSAGE:
        msg_handle(svc, st);
        break;
    case MYNA_IQ:
        on_iq(svc, st);
        break;
    }
}

static void on_session_closed(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)m;
    occ_session_gone(data, ev->user->full, NULL);
}

/* ---- load and unload ---- */

static int parse_admins(struct muc *svc, const char *list)
{
    char *copy = strdup(list ? list : ""), *save = NULL;
    if (!copy)
        return -1;
    for (char *w = strtok_r(copy, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save)) {
        struct myna_arena *a = myna_arena_new();
        struct myna_jid j;
        if (myna_jid_parse(a, w, &j) < 0 || !j.node || j.resource) {
            myna_log(svc->m, MYNA_LOG_ERROR, "muc.admins: '%s' is not a bare JID", w);
            myna_arena_free(a);
            free(copy);
            return -1;
        }
        svc->admins = realloc(svc->admins, (svc->nadmins + 1) * sizeof *svc->admins);
        if (!svc->admins || !(svc->admins[svc->nadmins] = strdup(j.bare)))
            abort();
        svc->nadmins++;
        myna_arena_free(a);
    }
    free(copy);
    return 0;
}

static int read_options(struct muc *svc)
{
    struct myna_module *m = svc->m;
    const char *create = myna_opt_string(m, "create");
    if (!create || strcmp(create, "local") == 0)
        svc->create = CREATE_LOCAL;
    else if (strcmp(create, "anyone") == 0)
        svc->create = CREATE_ANYONE;
    else if (strcmp(create, "admins") == 0)
        svc->create = CREATE_ADMINS;
    else {
        myna_log(m, MYNA_LOG_ERROR, "muc.create must be anyone, local or admins, not '%s'",
                 create);
        return -1;
    }
    svc->max_rooms_per_user = (unsigned)myna_opt_int(m, "max_rooms_per_user");
    svc->max_occupants = (unsigned)myna_opt_int(m, "max_occupants");
    svc->history_max = (unsigned)myna_opt_int(m, "history_max");
    svc->log_default = myna_opt_bool(m, "room_logging");
    svc->max_nick = (unsigned)myna_opt_int(m, "max_nick");
    svc->max_subject = (unsigned)myna_opt_int(m, "max_subject");
    svc->join_burst = (unsigned)myna_opt_int(m, "join_burst");
    svc->join_per_minute = (unsigned)myna_opt_int(m, "join_per_minute");
    svc->items_page = (unsigned)myna_opt_int(m, "items_page");
    return parse_admins(svc, myna_opt_string(m, "admins"));
}

static void free_room(const char *key, void *val, void *d)
{
    (void)key, (void)d;
    struct room *r = val;
    /* §9 code 332: the service is going away. */
    struct occ_why why = {.codes = {332}, .ncodes = 1};
    while (r->head)
        occ_remove(r->head, &why);
    room_free(r);
}

static void muc_unload(struct myna_module *m)
{
    struct muc *svc = myna_module_data(m);
    if (!svc)
        return;
    occ_bounces_free(svc);
    while (svc->forwards) { /* one answer per iq, even when the service goes away */
        struct muc_fwd *f = svc->forwards;
        fwd_unlink(f);
        myna_pending_error(f->p, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        free(f);
    }
    muc_map_each(&svc->rooms, free_room, NULL);
    muc_map_free(&svc->rooms);
    muc_map_free(&svc->joined);
    for (size_t i = 0; i < svc->nadmins; i++)
        free(svc->admins[i]);
    free(svc->admins);
    free(svc->domain);
    free(svc);
    myna_module_set_data(m, NULL);
}

static int muc_load(struct myna_module *m)
{
    struct muc *svc = calloc(1, sizeof *svc);
    if (!svc)
        return -1;
    svc->m = m;
    myna_module_set_data(m, svc);
    const char *dom = myna_opt_string(m, "domain");
    if (dom && *dom) {
        svc->domain = strdup(dom);
    } else {
        size_t n = strlen("conference.") + strlen(myna_module_host(m)) + 1;
        svc->domain = malloc(n);
        if (svc->domain)
            snprintf(svc->domain, n, "conference.%s", myna_module_host(m));
    }
    unsigned char rnd[8];
    if (!svc->domain || read_options(svc) < 0 ||
        getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(svc->boot + 2 * i, 3, "%02x", rnd[i]);
    svc->t_rooms = myna_module_store(m, "muc_rooms");
    svc->t_history = myna_module_store(m, "muc_history");
    svc->t_meta = myna_module_store(m, "muc_meta");
    if (!svc->t_rooms || !svc->t_history || !svc->t_meta || store_secret(svc) < 0 ||
        store_load_all(svc) < 0)
        return -1;
    if (myna_subdomain_claim(m, svc->domain, on_stanza, svc) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_CLOSED, on_session_closed, svc) < 0 ||
        store_migration_register(svc) < 0)
        return -1;
    myna_disco_item(m, svc->domain, "Chatrooms");
    return 0;
}

MYNA_MODULE_DEFINE(.name = "muc", .description = "Multi-User Chat (XEP-0045) on conference.HOST",
                   .options = muc_options, .load = muc_load, .unload = muc_unload);
