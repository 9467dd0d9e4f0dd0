/* modules/offline.c — offline message storage (XEP-0160): a chat or normal message to a
 * local user with no available resource is stored, stamped with its arrival time
 * (XEP-0203 <delay/>), and delivered in order when the user next sends initial presence
 * (RFC 6121 §8.5.2.2.1); then it is deleted. XEP-0334 hints: <no-store/> and
 * <no-permanent-store/> are honoured, <store/> stores what would otherwise not be.
 * Storage: table "offline", key "user@host\0" + 8-byte sequence (myna_store_append), value
 * the serialized stanza. A full store answers the sender with service-unavailable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/module.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_HINTS "urn:xmpp:hints"

static const struct myna_option offline_options[] = {
    {"max_messages", MYNA_OPT_INT, "1000", 1, 1000000, "messages kept per user"},
    {.type = MYNA_OPT_END},
};

struct offline {
    struct myna_store *store;
    long long max;
};

static struct offline *ctx(struct myna_module *m)
{
    return myna_module_data(m);
}

/* "user@host\0" — the prefix of one user's queue. */
static size_t user_prefix(struct myna_arena *a, const char *bare, char **out)
{
    size_t n = strlen(bare) + 1;
    *out = myna_arena_alloc(a, n);
    memcpy(*out, bare, n); /* includes the NUL that ends the prefix */
    return n;
}

static int seq_of(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    const unsigned char *p = (const unsigned char *)k + kl - 8;
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | p[i];
    *(uint64_t *)data = s;
    return 1;
}

/* Messages queued for a user: a queue is only ever appended to and deleted whole, so its
 * sequence numbers are contiguous and the count is last - first + 1 (two lookups). */
static long long queued(struct offline *o, const char *prefix, size_t plen)
{
    uint64_t first = 0, last = 0;
    myna_store_iter(o->store, prefix, plen, NULL, 0, false, 1, seq_of, &first);
    if (!first)
        return 0;
    myna_store_iter(o->store, prefix, plen, NULL, 0, true, 1, seq_of, &last);
    return (long long)(last - first + 1);
}

static bool worth_storing(const struct myna_stanza *st)
{
    const struct myna_xml *x = st->xml;
    if (myna_xml_find(x, NS_HINTS, "no-store") || myna_xml_find(x, NS_HINTS, "no-permanent-store"))
        return false;
    if (myna_xml_find(x, NS_HINTS, "store"))
        return true;
    /* Chat states and receipts alone are not worth a stored copy; a body is. */
    return myna_xml_find(x, MYNA_NS_CLIENT, "body") != NULL;
}

static enum myna_verdict on_offline(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct offline *o = ctx(m);
    if (strcmp(st->type, "chat") != 0 && strcmp(st->type, "normal") != 0)
        return MYNA_PASS;
    if (!worth_storing(st))
        return MYNA_HANDLED; /* dropped quietly, as XEP-0334 asks for no-store */
    char *prefix;
    size_t plen = user_prefix(st->arena, st->to.bare, &prefix);
    if (queued(o, prefix, plen) >= o->max) {
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, "offline storage full");
        return MYNA_HANDLED;
    }
    struct myna_xml *copy = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(copy, "from", st->from.full);
    myna_xml_set_attr(copy, "to", st->to.full);
    if (!myna_xml_find(copy, NS_DELAY, "delay")) {
        char stamp[64];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000);
        struct myna_xml *d = myna_xml_add_child(copy, NS_DELAY, "delay");
        myna_xml_set_attr(d, "from", myna_module_host(m));
        myna_xml_set_attr(d, "stamp", stamp);
        myna_xml_add_text(d, "Offline storage", strlen("Offline storage"));
    }
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(copy, MYNA_NS_CLIENT, &b);
    int rc = myna_store_append(o->store, prefix, plen, b.data, b.len, NULL);
    myna_buf_free(&b);
    if (rc != 0) {
        myna_log(m, MYNA_LOG_ERROR, "cannot store a message for %s: %s", st->to.bare,
                 myna_store_strerror(rc));
        myna_reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        return MYNA_HANDLED;
    }
    myna_metric_add(m, "stored", 1);
    return MYNA_HANDLED;
}

struct flush {
    struct myna_module *m;
    struct myna_session *s;
    struct myna_arena *a;
    size_t sent;
};

static int deliver_one(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct flush *f = data;
    struct myna_xml *msg = myna_xml_parse(f->a, v, vl, MYNA_NS_CLIENT);
    if (msg) {
        myna_session_send(f->s, msg);
        f->sent++;
    } else {
        myna_log(f->m, MYNA_LOG_WARN, "dropping an unreadable stored message");
    }
    return 0;
}

/* Initial presence: the session can take messages now (RFC 6121 §8.5.2.2.1). */
static void on_available(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct offline *o = ctx(m);
    if (myna_session_priority(ev->session) < 0)
        return; /* negative priority: not a resource messages go to */
    struct myna_arena *a = myna_arena_new();
    const struct myna_jid *j = myna_session_jid(ev->session);
    char *prefix;
    size_t plen = user_prefix(a, j->bare, &prefix);
    struct flush f = {m, ev->session, a, 0};
    myna_store_iter(o->store, prefix, plen, NULL, 0, false, 0, deliver_one, &f);
    if (f.sent)
        myna_store_del_prefix(o->store, prefix, plen, NULL);
    myna_metric_add(m, "delivered", (long long)f.sent);
    myna_arena_free(a);
}

static void on_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = user_prefix(a, ev->user->bare, &prefix);
    myna_store_del_prefix(ctx(m)->store, prefix, plen, NULL);
    myna_arena_free(a);
}

static void offline_unload(struct myna_module *m)
{
    free(ctx(m));
}

static int offline_load(struct myna_module *m)
{
    struct offline *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    myna_module_set_data(m, o);
    o->store = myna_module_store(m, "offline");
    o->max = myna_opt_int(m, "max_messages");
    if (!o->store ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_OFFLINE, 0, on_offline, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_AVAILABLE, on_available, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_user_deleted, NULL) < 0)
        return -1;
    return myna_disco_feature(m, "msgoffline");
}

MYNA_MODULE_DEFINE(.name = "offline", .description = "Offline messages (XEP-0160)",
                   .options = offline_options, .load = offline_load, .unload = offline_unload);
