/* modules/offline.c — offline message storage (XEP-0160): a chat or normal message to a
 * local user with no available resource is stored, stamped with its arrival time
 * (XEP-0203 <delay/>), and delivered in order when the user next sends non-negative
 * available presence (RFC 6121 §8.5.2.2.1, XEP-0160 §2), then deleted. XEP-0334 hints:
 * <no-store/> and <no-permanent-store/> are honoured, <store/> stores what would otherwise
 * not be. Quotas per account (messages, bytes) and per message: past them the sender gets
 * service-unavailable (XEP-0160 §2 step 3); a store that is full gets resource-constraint.
 * Delivery goes in steps paced by what the client has not read yet, so a big backlog never
 * overflows a slow client; while it runs, chat/normal messages for that session are queued
 * behind the stored ones, so nothing overtakes them.
 * Storage: table "offline", key "user@host\0" + 8-byte sequence (myna_store_append); value
 * 'Q', 8-byte big-endian running total of the queue's bytes up to and including this
 * message, then the serialized stanza (older values are the bare stanza). A queue is
 * appended at its end and consumed from its front, so its sequence numbers are contiguous;
 * a message routed again after its XEP-0198 session ended unacknowledged goes before the
 * ones stored after it first arrived (they are moved behind it), so order is kept.
 * XEP-0227: a user's queue travels as <offline-messages/> (the XEP's namespace) holding
 * the messages in order, each with its <delay/>.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/module.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_HINTS "urn:xmpp:hints"
#define HDR 9                          /* 'Q' + running total */
#define KEY_MAX 511                    /* the store's key limit */
#define FLUSH_LOW_WATER (256 * 1024)   /* send more while the client has less unread */
#define FLUSH_WAIT_MS 20               /* then look again after this long */
#define NS_PIE "urn:xmpp:pie:0"

static const struct myna_option offline_options[] = {
    {"max_messages", MYNA_OPT_INT, "1000", 1, 1000000, "messages kept per user"},
    {"max_bytes", MYNA_OPT_INT, "4194304", 1024, 1073741824,
     "bytes of stored messages kept per user"},
    {"max_message_bytes", MYNA_OPT_INT, "65536", 256, 67108864,
     "largest message stored, in bytes"},
    {.type = MYNA_OPT_END},
};

/* A delivery of the queue to one session, in progress. */
struct flush {
    char *bare;       /* the user */
    uint64_t session; /* the session it goes to (an id: the session may end) */
    uint64_t timer;   /* the next step, or 0 */
    struct flush *next;
};

struct offline {
    struct myna_store *store;
    long long max, max_bytes, max_msg;
    struct flush *flushes;
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

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* One stored message: its sequence number, stanza and the queue's running total. */
struct entry {
    uint64_t seq;
    const char *xml;
    size_t len;
    uint64_t total; /* 0: an older value without one */
};

static void entry_decode(const void *k, size_t kl, const void *v, size_t vl, struct entry *e)
{
    const unsigned char *p = v;
    e->seq = be64((const unsigned char *)k + kl - 8);
    if (vl >= HDR && p[0] == 'Q') {
        e->total = be64(p + 1);
        e->xml = (const char *)p + HDR;
        e->len = vl - HDR;
    } else {
        e->total = 0;
        e->xml = v;
        e->len = vl;
    }
}

static int get_entry(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    if (kl < 9)
        return 0; /* not a message key */
    entry_decode(k, kl, v, vl, data);
    return 1;
}

static int add_len(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct entry e;
    entry_decode(k, kl, v, vl, &e);
    *(uint64_t *)data += e.len;
    return 0;
}

/* Messages and bytes in a user's queue: the first and last entries tell both (the
 * running totals), except for values stored by an older version, which are summed.
 * *last_total: the last entry's running total (0: empty, or an older value). */
static void queue_size(struct offline *o, const char *prefix, size_t plen, uint64_t *count,
                       uint64_t *bytes, uint64_t *last_total)
{
    struct entry first = {0}, last = {0};
    *count = *bytes = *last_total = 0;
    myna_store_iter(o->store, prefix, plen, NULL, 0, false, 1, get_entry, &first);
    if (!first.seq)
        return;
    myna_store_iter(o->store, prefix, plen, NULL, 0, true, 1, get_entry, &last);
    *count = last.seq - first.seq + 1;
    *last_total = last.total;
    if (first.total && last.total && last.total >= first.total)
        *bytes = last.total - first.total + first.len;
    else
        myna_store_iter(o->store, prefix, plen, NULL, 0, false, 0, add_len, bytes);
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

static void add_delay(struct myna_module *m, struct myna_xml *copy)
{
    char stamp[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    struct myna_xml *d = myna_xml_add_child(copy, NS_DELAY, "delay");
    myna_xml_set_attr(d, "from", myna_module_host(m));
    myna_xml_set_attr(d, "stamp", stamp);
    myna_xml_add_text(d, "Offline storage", strlen("Offline storage"));
}

/* Appends the serialized stanza `xml` to the queue under `prefix`, after an entry whose
 * running total is `prev` (it carries prev + len: totals only grow, so the first and the
 * last entry give the queue's bytes however much of its front was delivered). */
static int queue_put(struct offline *o, const char *prefix, size_t plen, const char *xml,
                     size_t len, uint64_t prev)
{
    struct myna_buf b;
    myna_buf_init(&b);
    uint64_t total = prev + len;
    char hdr[HDR];
    hdr[0] = 'Q';
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (char)(total >> (56 - 8 * i));
    myna_buf_append(&b, hdr, HDR);
    myna_buf_append(&b, xml, len);
    int rc = myna_store_append(o->store, prefix, plen, b.data, b.len, NULL);
    myna_buf_free(&b);
    return rc;
}

/* The quotas for one more message of `len` bytes: NULL, or why not. */
static const char *quota_refuses(struct offline *o, uint64_t count, uint64_t bytes, size_t len)
{
    /* XEP-0160 §2 step 3: storage refused by policy is service-unavailable. */
    return (long long)len > o->max_msg ? "message too large for offline storage"
           : (long long)count >= o->max || (long long)(bytes + len) > o->max_bytes
               ? "offline storage of the recipient is full"
               : NULL;
}

/* The entries at the end of a queue that arrived after `after` (ms), newest first. */
struct tail {
    struct myna_arena *a;
    int64_t after;
    uint64_t before;   /* running total before the oldest entry taken (0: unknown) */
    size_t n, cap;
    uint64_t *seqs;
    const char **xml;
    size_t *lens;
};

/* XEP-0082 "CCYY-MM-DDThh:mm:ss[.sss]Z" in ms since the epoch, or -1. */
static int64_t parse_stamp(const char *v)
{
    struct tm tm = {0};
    int ms = 0;
    char frac[16] = "";
    if (!v || sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%15[^Z]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac) < 6)
        return -1;
    if (frac[0] == '.')
        for (int i = 1, scale = 100; i <= 3 && frac[i] >= '0' && frac[i] <= '9'; i++, scale /= 10)
            ms += (frac[i] - '0') * scale;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* When a stored message arrived: its <delay/> from this server, or -1 (a message held
 * during a delivery has none: it is newer than nothing we could move behind it). */
static int64_t entry_time(struct myna_arena *a, const struct entry *e, const char *host)
{
    struct myna_xml *x = myna_xml_parse(a, e->xml, e->len, MYNA_NS_CLIENT);
    struct myna_xml *d = x ? myna_xml_find(x, NS_DELAY, "delay") : NULL;
    const char *from = d ? myna_xml_attr(d, "from") : NULL;
    return from && strcmp(from, host) == 0 ? parse_stamp(myna_xml_attr(d, "stamp")) : -1;
}

struct tail_ctx {
    struct tail *t;
    const char *host;
};

static int collect_newer(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct tail_ctx *c = data;
    struct tail *t = c->t;
    if (kl < 9)
        return 0;
    struct entry e;
    entry_decode(k, kl, v, vl, &e);
    if (entry_time(t->a, &e, c->host) <= t->after)
        return 1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        uint64_t *seqs = myna_arena_alloc(t->a, cap * sizeof(*seqs));
        const char **xml = myna_arena_alloc(t->a, cap * sizeof(*xml));
        size_t *lens = myna_arena_alloc(t->a, cap * sizeof(*lens));
        if (t->n) {
            memcpy(seqs, t->seqs, t->n * sizeof(*seqs));
            memcpy(xml, t->xml, t->n * sizeof(*xml));
            memcpy(lens, t->lens, t->n * sizeof(*lens));
        }
        t->seqs = seqs;
        t->xml = xml;
        t->lens = lens;
        t->cap = cap;
    }
    char *copy = myna_arena_alloc(t->a, e.len ? e.len : 1);
    memcpy(copy, e.xml, e.len);
    t->before = e.total >= e.len ? e.total - e.len : 0;
    t->seqs[t->n] = e.seq;
    t->xml[t->n] = copy;
    t->lens[t->n++] = e.len;
    return 0;
}

/* Adds `msg` to the queue under `prefix` within the quotas: 0, MYNA_STORE_FULL or another
 * store error, or 1 with *why when a quota refuses it. A message that arrived at `at` (ms;
 * 0 = now: at the end) goes before the stored messages that arrived after it: they are
 * taken off the end and put back behind it, so the queue stays contiguous. */
static int queue_add(struct myna_module *m, const char *prefix, size_t plen,
                     const struct myna_xml *msg, int64_t at, const char **why)
{
    struct offline *o = ctx(m);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(msg, MYNA_NS_CLIENT, &b);
    uint64_t count, bytes, prev;
    queue_size(o, prefix, plen, &count, &bytes, &prev);
    *why = quota_refuses(o, count, bytes, b.len);
    if (*why) {
        myna_buf_free(&b);
        return 1;
    }
    struct myna_arena *a = myna_arena_new();
    struct tail t = {.a = a, .after = at};
    if (at > 0) {
        struct tail_ctx c = {&t, myna_module_host(m)};
        myna_store_iter(o->store, prefix, plen, NULL, 0, true, 0, collect_newer, &c);
    }
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        unsigned char key[KEY_MAX];
        myna_store_seq_key(prefix, plen, t.seqs[i], key);
        rc = myna_store_del(o->store, key, plen + 8);
    }
    if (!prev) /* an empty queue, or values of an older version: start from its bytes */
        prev = bytes;
    else if (t.n)
        prev = t.before;
    if (rc == 0)
        rc = queue_put(o, prefix, plen, b.data, b.len, prev);
    prev += b.len;
    for (size_t i = t.n; i-- > 0 && rc == 0;) {
        rc = queue_put(o, prefix, plen, t.xml[i], t.lens[i], prev);
        prev += t.lens[i];
    }
    if (t.n)
        myna_metric_add(m, "reordered", 1);
    myna_arena_free(a);
    myna_buf_free(&b);
    return rc;
}

/* A stored message until its batch is on disk: if the commit fails (the disk failed or
 * ran out where the map did not), the sender gets the error the store's refusal would
 * have given, since the message is lost. `xml`: the message as its error reply, from and
 * to swapped, type='error', the <error/> added when needed. */
struct bounce {
    struct myna_module *m;
    size_t len;
    char xml[];
};

static void bounce_if_lost(void *data, int err)
{
    struct bounce *b = data;
    if (err != 0) {
        struct myna_arena *a = myna_arena_new();
        struct myna_xml *r = myna_xml_parse(a, b->xml, b->len, MYNA_NS_CLIENT);
        if (r) {
            enum myna_error e = myna_error_from_store(err);
            struct myna_xml *er = myna_xml_add_child(r, MYNA_NS_CLIENT, "error");
            myna_xml_set_attr(er, "type", myna_error_type(e));
            myna_xml_add_child(er, MYNA_NS_STANZAS, myna_error_condition(e));
            myna_log(b->m, MYNA_LOG_WARN, "a stored message was lost (%s): bounced to %s",
                     myna_store_strerror(err), myna_xml_attr(r, "to"));
            myna_send(b->m, r);
        }
        myna_arena_free(a);
    }
    free(b);
}

static void bounce_when_lost(struct myna_module *m, struct myna_stanza *st)
{
    struct myna_xml *r = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(r, "from", st->to.full);
    myna_xml_set_attr(r, "to", st->from.full);
    myna_xml_set_attr(r, "type", "error");
    struct myna_buf buf;
    myna_buf_init(&buf);
    myna_xml_serialize(r, MYNA_NS_CLIENT, &buf);
    struct bounce *b = malloc(sizeof *b + buf.len);
    if (b) {
        b->m = m;
        b->len = buf.len;
        memcpy(b->xml, buf.data, buf.len);
        myna_store_on_durable(ctx(m)->store, bounce_if_lost, b);
    }
    myna_buf_free(&buf);
}

/* Appends st to its recipient's queue within the quotas, or answers the sender with why
 * not. `delay`: stamp it (a message for an offline user; not one held during delivery). */
static void store_message(struct myna_module *m, struct myna_stanza *st, bool delay)
{
    struct myna_xml *copy = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(copy, "from", st->from.full);
    myna_xml_set_attr(copy, "to", st->to.full);
    if (delay && !myna_xml_find(copy, NS_DELAY, "delay"))
        add_delay(m, copy);
    char *prefix;
    size_t plen = user_prefix(st->arena, st->to.bare, &prefix);
    const char *why = NULL;
    int rc = queue_add(m, prefix, plen, copy, myna_stanza_rerouted(st), &why);
    if (rc == 1) {
        myna_metric_add(m, "refused", 1);
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, why);
        return;
    }
    if (rc != 0) {
        /* A full store is logged by the store, rate-limited; not once per message. */
        myna_log(m, rc == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_ERROR,
                 "cannot store a message for %s: %s", st->to.bare, myna_store_strerror(rc));
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return;
    }
    bounce_when_lost(m, st);
    myna_metric_add(m, "stored", 1);
}

static enum myna_verdict on_offline(struct myna_module *m, struct myna_stanza *st, void *data)
{
    if (strcmp(st->type, "chat") != 0 && strcmp(st->type, "normal") != 0)
        return MYNA_PASS;
    if (!worth_storing(st))
        return MYNA_HANDLED; /* dropped quietly, as XEP-0334 asks for no-store */
    store_message(m, st, true);
    return MYNA_HANDLED;
}

/* ---- delivery ---- */

static struct flush *flush_find(struct offline *o, uint64_t session)
{
    for (struct flush *f = o->flushes; f; f = f->next)
        if (f->session == session)
            return f;
    return NULL;
}

static struct flush *flush_of_user(struct offline *o, const char *bare)
{
    for (struct flush *f = o->flushes; f; f = f->next)
        if (strcmp(f->bare, bare) == 0)
            return f;
    return NULL;
}

static void flush_end(struct myna_module *m, struct flush *f)
{
    struct offline *o = ctx(m);
    for (struct flush **p = &o->flushes; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    if (f->timer)
        myna_timer_cancel(m, f->timer);
    free(f->bare);
    free(f);
}

struct chunk {
    struct myna_arena *a;
    size_t room;         /* bytes still wanted */
    size_t n, cap;
    struct myna_xml **msgs;
    uint64_t *seqs;
};

static int take(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct chunk *c = data;
    if (kl < 9)
        return 0;
    struct entry e;
    entry_decode(k, kl, v, vl, &e);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct myna_xml **msgs = myna_arena_alloc(c->a, cap * sizeof(*msgs));
        uint64_t *seqs = myna_arena_alloc(c->a, cap * sizeof(*seqs));
        if (c->n) {
            memcpy(msgs, c->msgs, c->n * sizeof(*msgs));
            memcpy(seqs, c->seqs, c->n * sizeof(*seqs));
        }
        c->msgs = msgs;
        c->seqs = seqs;
        c->cap = cap;
    }
    c->seqs[c->n] = e.seq;
    c->msgs[c->n++] = myna_xml_parse(c->a, e.xml, e.len, MYNA_NS_CLIENT);
    if (e.len >= c->room)
        return 1;
    c->room -= e.len;
    return 0;
}

static void flush_step(struct myna_module *m, void *data);

/* Delivers the next part of the queue: what fits under the client's unread low-water
 * mark, deleted first in a unit of its own and sent only once deleted (a delivery that
 * could not be deleted is not made, so nothing arrives twice). Returns true when the
 * queue is empty. */
static bool deliver_some(struct myna_module *m, struct flush *f, struct myna_session *s)
{
    struct offline *o = ctx(m);
    size_t queued = myna_session_queued_bytes(s);
    if (queued >= FLUSH_LOW_WATER)
        return false;
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = user_prefix(a, f->bare, &prefix);
    if (plen + 8 > KEY_MAX) { /* no queue can exist under so long a JID */
        myna_arena_free(a);
        return true;
    }
    unsigned char start[KEY_MAX];
    myna_store_seq_key(prefix, plen, 0, start);
    struct chunk c = {.a = a, .room = FLUSH_LOW_WATER - queued};
    myna_store_iter(o->store, prefix, plen, start, plen + 8, false, 0, take, &c);
    if (c.n == 0) {
        myna_arena_free(a);
        return true;
    }
    int rc = myna_store_unit_begin(o->store);
    if (rc == 0) {
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            unsigned char key[KEY_MAX];
            myna_store_seq_key(prefix, plen, c.seqs[i], key);
            rc = myna_store_del(o->store, key, plen + 8);
        }
        int crc = myna_store_unit_commit(o->store); /* discards the deletes after a failure */
        if (rc == 0)
            rc = crc;
    }
    if (rc != 0) {
        myna_log(m, MYNA_LOG_ERROR, "cannot deliver stored messages to %s: %s", f->bare,
                 myna_store_strerror(rc));
        myna_arena_free(a);
        return true; /* they stay stored for the next login */
    }
    size_t sent = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (c.msgs[i]) {
            myna_session_send(s, c.msgs[i]);
            sent++;
        } else {
            myna_log(m, MYNA_LOG_WARN, "dropping an unreadable stored message for %s", f->bare);
        }
    }
    myna_metric_add(m, "delivered", (long long)sent);
    myna_arena_free(a);
    return false;
}

/* One step of a delivery, now and then from a timer until the queue is empty. */
static void flush_step(struct myna_module *m, void *data)
{
    struct offline *o = ctx(m);
    struct flush *f = flush_find(o, (uint64_t)(uintptr_t)data);
    if (!f)
        return;
    f->timer = 0;
    struct myna_session *s = myna_session_by_id(m, f->session);
    if (!s || !myna_session_available(s) || myna_session_priority(s) < 0 ||
        deliver_some(m, f, s)) {
        flush_end(m, f);
        return;
    }
    /* More to send: at once if the client took the last part, else once it read some. */
    unsigned wait = myna_session_queued_bytes(s) >= FLUSH_LOW_WATER ? FLUSH_WAIT_MS : 0;
    f->timer = myna_timer_add(m, wait, 0, flush_step, data);
}

/* The session can take messages now (RFC 6121 §8.5.2.2.1, XEP-0160 §2 step 5): start
 * delivering the queue to it, unless a delivery to another resource is running. */
static void flush_start(struct myna_module *m, struct myna_session *s)
{
    struct offline *o = ctx(m);
    const struct myna_jid *j = myna_session_jid(s);
    if (myna_session_priority(s) < 0 || flush_of_user(o, j->bare))
        return;
    struct flush *f = calloc(1, sizeof *f);
    if (!f || !(f->bare = strdup(j->bare))) {
        free(f);
        return;
    }
    f->session = myna_session_id(s);
    f->next = o->flushes;
    o->flushes = f;
    /* Not before the presence that started it has been handled: the user's own initial
     * presence comes back first (RFC 6121 §4.2.2), then the stored messages, as from
     * Prosody and ejabberd. Messages arriving meanwhile queue behind (on_deliver). */
    f->timer = myna_timer_add(m, 0, 0, flush_step, (void *)(uintptr_t)f->session);
    if (!f->timer)
        flush_step(m, (void *)(uintptr_t)f->session);
}

static void on_available(struct myna_module *m, const struct myna_event *ev, void *data)
{
    flush_start(m, ev->session);
}

/* Presence that raises a resource's priority from negative to non-negative also makes it
 * one messages go to (XEP-0160 §2 step 5): the stored ones go first. */
static enum myna_verdict on_presence_out(struct myna_module *m, struct myna_stanza *st,
                                         void *data)
{
    if (st->origin && !st->has_to && strcmp(st->type, "available") == 0)
        flush_start(m, st->origin);
    return MYNA_PASS;
}

/* While the queue is being delivered to a session, a chat/normal message for it joins the
 * end of the queue instead of overtaking the stored ones. */
static enum myna_verdict on_deliver(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct offline *o = ctx(m);
    if (!o->flushes || st->kind != MYNA_MESSAGE ||
        (strcmp(st->type, "chat") != 0 && strcmp(st->type, "normal") != 0))
        return MYNA_PASS;
    struct myna_session *target = myna_hook_target(st);
    if (!target || !flush_find(o, myna_session_id(target)))
        return MYNA_PASS;
    myna_metric_add(m, "held", 1);
    store_message(m, st, false);
    return MYNA_HANDLED;
}

static void on_session_closed(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct flush *f = flush_find(ctx(m), myna_session_id(ev->session));
    if (f)
        flush_end(m, f);
}

static void on_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = user_prefix(a, ev->user->bare, &prefix);
    int rc = myna_store_del_prefix(ctx(m)->store, prefix, plen, NULL);
    if (rc != 0)
        myna_log(m, MYNA_LOG_ERROR, "cannot delete the messages of %s: %s", ev->user->bare,
                 myna_store_strerror(rc));
    myna_arena_free(a);
}

/* ---- XEP-0227 ---- */

struct export_ctx {
    struct myna_export *out;
    struct myna_arena *a;
    bool opened;
    int rc;
};

static int export_one(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct export_ctx *x = data;
    if (kl < 9)
        return 0; /* not a message key */
    struct entry e;
    entry_decode(k, kl, v, vl, &e);
    struct myna_arena *a = myna_arena_new(); /* one message at a time, whatever the queue */
    struct myna_xml *msg = myna_xml_parse(a, e.xml, e.len, MYNA_NS_CLIENT);
    if (msg && !x->opened) {
        x->rc = myna_export_begin(x->out, myna_xml_new(x->a, NS_PIE, "offline-messages"));
        x->opened = true;
    }
    if (msg && x->rc == 0)
        x->rc = myna_export_write(x->out, msg);
    myna_arena_free(a);
    return x->rc;
}

static int export_queue(struct myna_module *m, const struct myna_jid *user,
                        struct myna_export *out, void *data)
{
    struct export_ctx x = {out, myna_arena_new(), false, 0};
    char *prefix;
    size_t plen = user_prefix(x.a, user->bare, &prefix);
    myna_store_iter(ctx(m)->store, prefix, plen, NULL, 0, false, 0, export_one, &x);
    if (x.opened && x.rc == 0)
        x.rc = myna_export_end(out);
    myna_arena_free(x.a);
    return x.rc;
}

/* One imported message, appended behind the others within the same quotas as live ones. */
static int import_message(struct myna_module *m, const struct myna_jid *user,
                          const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    if (!myna_xml_is(el, MYNA_NS_CLIENT, "message"))
        return -1;
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = user_prefix(a, user->bare, &prefix);
    struct myna_xml *copy = myna_xml_copy(a, el);
    myna_xml_set_attr(copy, "to", user->bare); /* ours now, whatever the old domain */
    /* A stanza id by the account names a message of its old archive (XEP-0359): gone. */
    for (struct myna_xml *c = copy->children, *next; c; c = next) {
        next = c->next;
        const char *by = c->type == MYNA_XML_ELEMENT && strcmp(c->name, "stanza-id") == 0 &&
                                 strcmp(c->ns, "urn:xmpp:sid:0") == 0
                             ? myna_xml_attr(c, "by") : NULL;
        if (by && strcmp(by, user->bare) == 0)
            myna_xml_remove(c);
    }
    const char *why = NULL;
    int rc = queue_add(m, prefix, plen, copy, 0, &why);
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "import: a message for %s refused: %s", user->bare,
                 why ? why : myna_store_strerror(rc));
    myna_arena_free(a);
    return rc != 0 ? -1 : 0;
}

static void offline_unload(struct myna_module *m)
{
    struct offline *o = ctx(m);
    if (!o)
        return;
    while (o->flushes) {
        struct flush *f = o->flushes;
        o->flushes = f->next;
        free(f->bare);
        free(f);
    }
    free(o);
}

static int offline_load(struct myna_module *m)
{
    struct offline *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    myna_module_set_data(m, o);
    o->store = myna_module_store(m, "offline");
    o->max = myna_opt_int(m, "max_messages");
    o->max_bytes = myna_opt_int(m, "max_bytes");
    o->max_msg = myna_opt_int(m, "max_message_bytes");
    if (!o->store ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_OFFLINE, 0, on_offline, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_PRESENCE_OUT, 10, on_presence_out, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_DELIVER, -100, on_deliver, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_AVAILABLE, on_available, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_CLOSED, on_session_closed, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_user_deleted, NULL) < 0 ||
        myna_migration_register(m, NS_PIE, "offline-messages", MYNA_MIGRATION_ITEMS,
                                export_queue, import_message, NULL) < 0)
        return -1;
    return myna_disco_feature(m, "msgoffline");
}

MYNA_MODULE_DEFINE(.name = "offline", .description = "Offline messages (XEP-0160)",
                   .options = offline_options, .load = offline_load, .unload = offline_unload);
