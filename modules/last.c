/* modules/last.c — Last Activity (XEP-0012, jabber:iq:last).
 *   host JID:   the server's uptime (§5).
 *   bare JID:   0 seconds while the account has a session, else the seconds since its last
 *               session ended and the status of that session's unavailable presence (§3).
 *   full JID:   the client's idle time from its XEP-0319 <idle/> in presence, answered by
 *               the server; without one the iq goes to the client (§4).
 * Only the account itself and contacts with a subscription to its presence (roster
 * service, subscription 'from' or 'both') get an answer about an account; everyone else
 * gets forbidden, for full JIDs too and before anything is delivered (§3, §4, §8).
 * Storage: table "last", key "user@host\0", value 'L', login and logout (8-byte big-endian
 * wall-clock seconds) and the status text; written at each resource binding and when an
 * account's last session ends. Publishes the "last" service (last.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "last.h"
#include "myna/module.h"
#include "myna/roster.h"

#define NS_LAST "jabber:iq:last"
#define NS_IDLE "urn:xmpp:idle:1"
#define REC_HDR 17          /* 'L' + login + logout */
#define STATUS_MAX 1023     /* bytes of status kept */

struct last {
    struct myna_store *store;
    int slot;               /* session slot: the status of its unavailable presence */
    struct last_service service;
};

static struct last *ctx(struct myna_module *m)
{
    return myna_module_data(m);
}

/* ---- records ---- */

static void put_be64(unsigned char *p, int64_t v)
{
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
        p[i] = (unsigned char)v;
}

static int64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int record_get(struct myna_store *s, const char *bare, struct myna_arena *a,
                      struct last_record *out)
{
    void *v;
    size_t len;
    if (myna_store_get(s, bare, strlen(bare) + 1, a, &v, &len) != 0 || len < REC_HDR ||
        ((unsigned char *)v)[0] != 'L')
        return -1;
    const unsigned char *p = v;
    out->login = get_be64(p + 1);
    out->logout = get_be64(p + 9);
    out->status = (const char *)p + REC_HDR; /* the store adds a NUL after the value */
    return 0;
}

/* Writes the record in a unit of its own (myna/store.h): the record is a side note of a
 * login or logout, whose failure (a full store) must not fail the request it rides on. */
static int record_put(struct myna_store *s, const char *bare, const struct last_record *r)
{
    size_t sl = strlen(r->status);
    unsigned char *buf = malloc(REC_HDR + sl);
    if (!buf)
        return MYNA_STORE_ERROR;
    buf[0] = 'L';
    put_be64(buf + 1, r->login);
    put_be64(buf + 9, r->logout);
    memcpy(buf + REC_HDR, r->status, sl);
    int rc = myna_store_unit_begin(s);
    if (rc == 0) {
        myna_store_put(s, bare, strlen(bare) + 1, buf, REC_HDR + sl);
        rc = myna_store_unit_commit(s);
    }
    free(buf);
    return rc;
}

static int service_get(const struct last_service *svc, const char *bare, struct myna_arena *a,
                       struct last_record *out)
{
    const struct last *c = svc->ctx;
    return record_get(c->store, bare, a, out);
}

/* ---- who may know ---- */

/* §3, §4, §8: the account itself, or a contact the account shares its presence with. */
static bool may_see(struct myna_module *m, const struct myna_jid *user,
                    const struct myna_jid *requester)
{
    if (strcmp(user->bare, requester->bare) == 0)
        return true;
    const struct myna_roster_service *r = myna_service_get(m, MYNA_ROSTER_SERVICE);
    unsigned sub = 0;
    return r && r->version >= MYNA_ROSTER_SERVICE_VERSION &&
           r->has_item(r, user->bare, requester->bare, &sub) && (sub & MYNA_ROSTER_SUB_FROM);
}

static void answer_seconds(struct myna_stanza *st, uint64_t seconds, const char *status)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_LAST, "query");
    myna_xml_set_attrf(q, "seconds", "%llu", (unsigned long long)seconds);
    if (status && *status)
        myna_xml_add_text(q, status, strlen(status));
    myna_iq_send_result(st, res);
}

/* ---- XEP-0319 idle ---- */

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* XEP-0082 DateTime (CCYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)) to epoch seconds. */
static bool parse_datetime(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, zh = 0, zm = 0;
    if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return false;
    }
    int sign = 0;
    if (*p == 'Z' && p[1] == '\0') {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &zh) &&
               p[3] == ':' && digits(p + 4, 2, &zm) && zh < 24 && zm < 60) {
        sign = *p == '+' ? 1 : -1;
    } else {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* timegm normalised an impossible date */
        return false;
    *out = (int64_t)t - sign * (zh * 3600 + zm * 60);
    return true;
}

/* The idle time a session announced in its presence (XEP-0319 §2), if any. */
static bool session_idle(const struct myna_session *s, uint64_t *seconds)
{
    const struct myna_xml *p = myna_session_presence(s);
    const struct myna_xml *idle = p ? myna_xml_find(p, NS_IDLE, "idle") : NULL;
    const char *since = idle ? myna_xml_attr(idle, "since") : NULL;
    int64_t t;
    if (!since || !parse_datetime(since, &t))
        return false;
    int64_t now = (int64_t)time(NULL);
    *seconds = now > t ? (uint64_t)(now - t) : 0;
    return true;
}

/* ---- queries ---- */

static int last_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    if (!st->to.node) {
        /* §5: the server's uptime, no text. */
        answer_seconds(st, myna_server_uptime_ms(m) / 1000, NULL);
        return 0;
    }
    struct myna_jid user;
    myna_jid_to_bare(&st->to, &user);
    if (!may_see(m, &user, &st->from)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    if (myna_user_sessions(m, &user, NULL, NULL) > 0) {
        answer_seconds(st, 0, NULL); /* §3: connected: 0 and no text */
        return 0;
    }
    struct last_record r;
    if (record_get(ctx(m)->store, user.bare, st->arena, &r) < 0) {
        myna_reply_error(st, MYNA_ERR_ITEM_NOT_FOUND, "no activity recorded");
        return 0;
    }
    /* A logout older than the login means the server stopped without ending the session
     * (a crash): the login is the last moment known. */
    int64_t when = r.logout >= r.login ? r.logout : r.login;
    int64_t now = (int64_t)time(NULL);
    answer_seconds(st, now > when ? (uint64_t)(now - when) : 0,
                   r.logout >= r.login ? r.status : NULL);
    return 0;
}

/* §4: a query to a full JID. Refused before delivery when the requester may not see the
 * account; answered with XEP-0319 idle time when the session announced one. */
static enum myna_verdict last_iq_in(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    if (st->kind != MYNA_IQ || strcmp(st->type, "get") != 0 || !st->to.resource ||
        !myna_xml_is(myna_xml_first_element(st->xml), NS_LAST, "query"))
        return MYNA_PASS;
    struct myna_jid user;
    myna_jid_to_bare(&st->to, &user);
    if (!may_see(m, &user, &st->from)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return MYNA_HANDLED;
    }
    struct myna_session *s = myna_session_find(m, &st->to);
    uint64_t idle;
    if (!s || !session_idle(s, &idle))
        return MYNA_PASS; /* delivered to the client (or the router's error) */
    answer_seconds(st, idle, NULL);
    return MYNA_HANDLED;
}

/* ---- recording ---- */

/* The status of a session's own unavailable broadcast, for its logout record. */
static enum myna_verdict last_presence_out(struct myna_module *m, struct myna_stanza *st,
                                           void *data)
{
    (void)data;
    if (st->has_to || !st->origin)
        return MYNA_PASS;
    if (strcmp(st->type, "available") == 0) {
        myna_session_set(st->origin, ctx(m)->slot, NULL); /* back: that status is over */
        return MYNA_PASS;
    }
    if (strcmp(st->type, "unavailable") != 0)
        return MYNA_PASS;
    const char *status = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "status");
    size_t n = status ? strlen(status) : 0;
    if (n > STATUS_MAX) {
        n = STATUS_MAX;
        while (n > 0 && ((unsigned char)status[n] & 0xC0) == 0x80)
            n--; /* cut on a UTF-8 character boundary */
    }
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, status ? status : "", n);
        copy[n] = '\0';
    }
    myna_session_set(st->origin, ctx(m)->slot, copy);
    return MYNA_PASS;
}

static void on_bound(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    struct last *c = ctx(m);
    struct myna_arena *a = myna_arena_new();
    struct last_record r = {.status = ""};
    if (record_get(c->store, ev->user->bare, a, &r) < 0)
        r = (struct last_record){.status = ""};
    r.login = (int64_t)time(NULL);
    int rc = record_put(c->store, ev->user->bare, &r);
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "login time of %s not recorded: %s", ev->user->bare,
                 myna_store_strerror(rc));
    myna_arena_free(a);
}

static void on_closed(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    struct last *c = ctx(m);
    struct myna_jid bare;
    myna_jid_to_bare(ev->user, &bare);
    /* The closing session is still counted: only the last one writes. */
    if (myna_user_sessions(m, &bare, NULL, NULL) > 1)
        return;
    const char *status = myna_session_get(ev->session, c->slot);
    struct myna_arena *a = myna_arena_new();
    struct last_record r;
    if (record_get(c->store, bare.bare, a, &r) < 0)
        r = (struct last_record){.login = 0};
    r.logout = (int64_t)time(NULL);
    r.status = status ? status : "";
    int rc = record_put(c->store, bare.bare, &r);
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "logout time of %s not recorded: %s", bare.bare,
                 myna_store_strerror(rc));
    myna_arena_free(a);
}

static void on_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    myna_store_del(ctx(m)->store, ev->user->bare, strlen(ev->user->bare) + 1);
}

static int last_load(struct myna_module *m)
{
    struct last *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    myna_module_set_data(m, c);
    c->store = myna_module_store(m, "last");
    if (!c->store)
        return -1;
    c->slot = myna_session_slot(m, free);
    c->service = (struct last_service){
        .version = LAST_SERVICE_VERSION, .ctx = c, .get = service_get};
    /* Above the roster module (0), which takes presence over; only looks. */
    if (myna_iq_register(m, MYNA_IQ_GET, NS_LAST, "query", MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER,
                         last_iq, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_IQ_IN, 30, last_iq_in, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_PRESENCE_OUT, 20, last_presence_out, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_BOUND, on_bound, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_CLOSED, on_closed, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_deleted, NULL) < 0 ||
        myna_disco_user_feature(m, NS_LAST) < 0)
        return -1;
    return myna_service_publish(m, LAST_SERVICE, &c->service);
}

static void last_unload(struct myna_module *m)
{
    free(myna_module_data(m));
}

MYNA_MODULE_DEFINE(.name = "last", .description = "Last activity (XEP-0012)",
                   .load = last_load, .unload = last_unload);
