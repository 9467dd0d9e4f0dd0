/* server/stream/sm.c — see sm.h. The state exists from <enable/> until the session ends;
 * while a stream carries it, the c2s owns it and it borrows the stream (to write <r/>,
 * <a/> and errors); while the session is held, the state owns the session and is found by
 * the session's id. Resumable states are found by their resumption id; the last ids whose
 * sessions ended are remembered (bounded) so that a late <resume/> learns the h it may need
 * (§5). The tables are srv->sm. The ack timer runs only while a stream carries the state. */
#include "server/stream/sm.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/store.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/c2s.h"
#include "server/stream/stream.h"

#define NS_SM "urn:xmpp:sm:3"
#define NS_DELAY "urn:xmpp:delay"
#define SM_ASK_EVERY 10      /* ask for an ack after this many unacknowledged stanzas */
#define SM_ASK_AFTER_MS 1000 /* or this long after the first one */
#define SM_ID_BYTES 18       /* random bytes of a resumption id (144 bits: unguessable) */
#define SM_GONE_MAX 4096     /* ended ids remembered at most */

struct sm_item {
    struct wbuf *buf;
    struct sm_item *next;
    int64_t at; /* wall-clock ms when it was queued for the client (its <delay/> if rerouted) */
};

struct sm {
    struct server *srv;
    struct stream *st;    /* the client stream (borrowed), NULL while held */
    struct c2s *c;        /* its owner, NULL while held */
    struct myna_session *session; /* borrowed from the c2s; owned while held */
    uint32_t in;          /* stanzas received from the client (our h) */
    uint32_t out;         /* stanzas sent (or queued while held) since enable */
    uint32_t acked;       /* last h the client sent */
    uint32_t max_s;       /* resumption timeout granted (s); 0 = not resumable */
    struct sm_item *head, *tail;
    size_t len;           /* unacknowledged stanzas */
    size_t bytes;         /* and their bytes */
    uint64_t timer;       /* pending ack request, or 0 */
    uint64_t hold_timer;  /* while held: the end of the wait */
    bool over;            /* past the unacknowledged cap: the stream is being closed */
    char id[SM_ID_BYTES * 2 + 1];
};

/* An id whose session ended without being resumed: whose it was, and its last h. */
struct sm_gone {
    char *bare;
    uint32_t h;
    char *id;
    struct sm_gone *next; /* oldest first */
};

/* ---- tables ---- */

static void session_key(const struct myna_session *s, char *buf, size_t len)
{
    snprintf(buf, len, "%llu", (unsigned long long)s->id);
}

/* The server's resumption tables (srv->sm), made on first use. */
struct sm_tables {
    struct hashmap *ids;   /* resumption id -> struct sm (resumable, held or not) */
    struct hashmap *held;  /* session id -> struct sm (held sessions) */
    struct hashmap *gone;  /* resumption id -> struct sm_gone */
    struct sm_gone *gone_head, *gone_tail;
    size_t ngone;
    uint64_t resumed, expired; /* since start, for mynactl stats */
};

static struct sm_tables *tables(struct server *srv)
{
    if (!srv->sm) {
        srv->sm = xcalloc(1, sizeof *srv->sm);
        srv->sm->ids = hashmap_new();
        srv->sm->held = hashmap_new();
        srv->sm->gone = hashmap_new();
    }
    return srv->sm;
}

static void gone_drop_oldest(struct server *srv)
{
    struct sm_tables *t = tables(srv);
    struct sm_gone *g = t->gone_head;
    t->gone_head = g->next;
    if (!t->gone_head)
        t->gone_tail = NULL;
    t->ngone--;
    hashmap_del(t->gone, g->id);
    free(g->bare);
    free(g->id);
    free(g);
}

/* Remembers an ended session's id (bounded: the oldest is forgotten first). */
static void gone_add(struct sm *s)
{
    struct server *srv = s->srv;
    struct sm_tables *t = tables(srv);
    if (hashmap_get(t->gone, s->id))
        return;
    struct sm_gone *g = xcalloc(1, sizeof *g);
    g->bare = xstrdup(s->session->jid.bare);
    g->id = xstrdup(s->id);
    g->h = s->in;
    if (t->gone_tail)
        t->gone_tail->next = g;
    else
        t->gone_head = g;
    t->gone_tail = g;
    t->ngone++;
    hashmap_put(t->gone, g->id, g);
    if (t->ngone > SM_GONE_MAX)
        gone_drop_oldest(srv);
}

static void unregister(struct sm *s)
{
    if (s->id[0] && s->srv->sm && hashmap_get(s->srv->sm->ids, s->id) == s)
        hashmap_del(s->srv->sm->ids, s->id);
}

/* ---- the queue ---- */

static void cancel_timer(struct sm *s)
{
    if (s->timer) {
        loop_timer_cancel(s->srv->loop, s->timer);
        s->timer = 0;
    }
    if (s->hold_timer) {
        loop_timer_cancel(s->srv->loop, s->hold_timer);
        s->hold_timer = 0;
    }
}

static void item_free(struct sm_item *it)
{
    wbuf_unref(it->buf);
    free(it);
}

void sm_free(struct sm *s)
{
    if (!s)
        return;
    cancel_timer(s);
    unregister(s);
    for (struct sm_item *it = s->head, *n; it; it = n) {
        n = it->next;
        item_free(it);
    }
    free(s);
}

static void send_r(struct sm *s)
{
    stream_write_str(s->st, "<r xmlns='urn:xmpp:sm:3'/>");
}

static void timer_fire(void *data)
{
    struct sm *s = data;
    s->timer = 0;
    if (s->len && s->st)
        send_r(s);
}

void sm_received(struct sm *s)
{
    s->in++;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends b to the unacknowledged queue, as stanza number out + 1. */
static void enqueue(struct sm *s, struct wbuf *b)
{
    struct sm_item *it = xmalloc(sizeof *it);
    it->buf = wbuf_ref(b);
    it->next = NULL;
    it->at = wall_ms();
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->len++;
    s->bytes += b->len;
    s->out++;
}

static bool over_cap(const struct sm *s)
{
    const struct config *cfg = &s->srv->cfg;
    return s->len > cfg->sm_max_unacked || s->bytes > cfg->sm_max_unacked_bytes;
}

static void close_over_cap(void *data)
{
    struct stream *st = data;
    stream_error(st, STREAM_ERR_POLICY_VIOLATION, "Too many unacknowledged stanzas");
    stream_unref(st);
}

void sm_sent(struct sm *s, struct wbuf *b)
{
    enqueue(s, b);
    if (over_cap(s)) {
        if (!s->over) {
            /* A client that never acks must not make us keep everything: the stream
             * ends, with the session (not held), later in this iteration, since a
             * routing loop over this user's sessions may be running now. */
            s->over = true;
            s->max_s = 0;
            unregister(s);
            stream_ref(s->st);
            loop_defer(s->srv->loop, close_over_cap, s->st);
        }
        return;
    }
    if (s->len % SM_ASK_EVERY == 0)
        send_r(s);
    else if (!s->timer)
        s->timer = loop_timer_add(s->srv->loop, SM_ASK_AFTER_MS, timer_fire, s);
}

/* How many queued stanzas <a h='h'/> acknowledges, or -1 if more than were sent (§4: the
 * counters wrap at 2^32, so the difference is taken modulo 2^32). */
long sm_ack_count(uint32_t acked, uint32_t h, size_t unacked)
{
    uint32_t n = h - acked;
    return n > unacked ? -1 : (long)n;
}

/* Applies <a h='h'/>: drops acknowledged stanzas. Returns false if h acknowledges more than
 * was sent. */
static bool ack(struct sm *s, uint32_t h)
{
    long n = sm_ack_count(s->acked, h, s->len);
    if (n < 0)
        return false;
    for (long i = 0; i < n; i++) {
        struct sm_item *it = s->head;
        s->head = it->next;
        s->bytes -= it->buf->len;
        item_free(it);
    }
    if (!s->head)
        s->tail = NULL;
    s->len -= (size_t)n;
    s->acked = h;
    if (!s->len && s->timer) {
        loop_timer_cancel(s->srv->loop, s->timer);
        s->timer = 0;
    }
    return true;
}

/* ---- the end of a session ---- */

/* "2026-11-29T09:49:16.123Z" for a wall-clock time in ms. */
static void stamp(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Routes again one stanza the client never acknowledged, as a unit of work of its own
 * (e.g. a message into offline storage). A message keeps the time it first arrived
 * (XEP-0203 <delay/>, unless it has one), which is also where offline storage files it
 * (myna_stanza_rerouted). */
static void reroute(struct server *srv, const char *domain, const struct sm_item *item)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = myna_xml_parse(a, item->buf->data, item->buf->len, MYNA_NS_CLIENT);
    struct stanza_ctx ctx;
    enum myna_error err;
    myna_store_env_unit_begin(srv->store);
    if (el && myna_xml_attr(el, "from") && myna_xml_attr(el, "to") &&
        stanza_init(&ctx, srv, el, NULL, NULL, &err) == 0) {
        if (ctx.pub.kind == MYNA_MESSAGE && strcmp(ctx.pub.type, "error") != 0) {
            if (!myna_xml_find(el, NS_DELAY, "delay")) {
                char ts[40];
                stamp(item->at, ts, sizeof ts);
                struct myna_xml *d = myna_xml_add_child(el, NS_DELAY, "delay");
                myna_xml_set_attr(d, "from", domain);
                myna_xml_set_attr(d, "stamp", ts);
            }
            ctx.rerouted_ms = item->at;
            router_route(srv, &ctx);
        } else if (ctx.pub.kind == MYNA_IQ &&
                   (strcmp(ctx.pub.type, "get") == 0 || strcmp(ctx.pub.type, "set") == 0)) {
            myna_reply_error(&ctx.pub, MYNA_ERR_RECIPIENT_UNAVAILABLE, NULL);
        }
    }
    myna_store_env_unit_commit(srv->store);
    myna_arena_free(a);
}

/* Reroutes, in their order, and frees every queued stanza. */
static void reroute_all(struct sm *s, const char *domain)
{
    struct sm_item *it = s->head;
    s->head = s->tail = NULL;
    s->len = s->bytes = 0;
    while (it) {
        struct sm_item *next = it->next;
        reroute(s->srv, domain, it);
        item_free(it);
        it = next;
    }
}

/* The session ends for good: unavailable for routing and modules first (so nothing is
 * routed back to it), then its queue is routed again. Frees s. */
static void end_session(struct sm *s)
{
    cancel_timer(s);
    unregister(s);
    struct myna_session *session = s->session;
    char *domain = xstrdup(session->jid.domain);
    if (s->id[0])
        gone_add(s);
    if (s->srv->sm) {
        char key[24];
        session_key(session, key, sizeof key);
        if (hashmap_get(s->srv->sm->held, key) == s)
            hashmap_del(s->srv->sm->held, key);
    }
    s->session = NULL;
    session_free(session);
    reroute_all(s, domain);
    free(domain);
    sm_free(s);
}

static void hold_expire(void *data)
{
    struct sm *s = data;
    s->hold_timer = 0;
    log_info("c2s", "held session %s ended (not resumed)", s->session->jid.full);
    tables(s->srv)->expired++;
    end_session(s);
}

static void emit(struct myna_session *session, enum myna_event_type type)
{
    struct myna_event ev = {.type = type, .user = &session->jid, .session = session};
    events_emit(session->host, &ev);
}

/* The stream broke: the session stays (presence, routing), its stanzas wait in the queue
 * until a <resume/> or the timeout (§5). */
static void hold(struct sm *s)
{
    cancel_timer(s);
    s->st = NULL;
    s->c = NULL;
    char key[24];
    session_key(s->session, key, sizeof key);
    hashmap_put(tables(s->srv)->held, key, s);
    s->hold_timer = loop_timer_add(s->srv->loop, (uint64_t)s->max_s * 1000, hold_expire, s);
    log_info("c2s", "session %s held for resumption (%u s, %zu unacknowledged)",
             s->session->jid.full, s->max_s, s->len);
    emit(s->session, MYNA_EVENT_SESSION_DETACHED);
}

void sm_stream_ended(struct sm **smp, struct myna_session *session, bool broken)
{
    struct sm *s = *smp;
    if (s && session && broken && s->max_s && !s->over && !s->srv->stopping) {
        *smp = NULL;
        hold(s);
        return;
    }
    if (!s) {
        if (session)
            session_free(session);
        return;
    }
    *smp = NULL;
    if (session) {
        end_session(s);
        return;
    }
    sm_free(s);
}

static struct sm *held_of(const struct myna_session *session)
{
    if (!session->srv->sm)
        return NULL;
    char key[24];
    session_key(session, key, sizeof key);
    return hashmap_get(session->srv->sm->held, key);
}

void sm_stats(struct server *srv, size_t *held, uint64_t *resumed, uint64_t *expired)
{
    struct sm_tables *t = srv->sm;
    *held = t ? hashmap_count(t->held) : 0;
    *resumed = t ? t->resumed : 0;
    *expired = t ? t->expired : 0;
}

void sm_table_sizes(struct server *srv, size_t *ids, size_t *gone)
{
    struct sm_tables *t = srv->sm;
    *ids = t ? hashmap_count(t->ids) : 0;
    *gone = t ? t->ngone : 0;
}

size_t sm_held_bytes(const struct myna_session *session)
{
    struct sm *s = held_of(session);
    return s ? s->bytes : 0;
}

void sm_queue(struct sm *s, struct wbuf *b)
{
    enqueue(s, b);
}

static void end_held_now(void *data)
{
    struct sm *s = data;
    s->hold_timer = 0;
    log_info("c2s", "held session %s ended: too many stanzas waiting", s->session->jid.full);
    end_session(s);
}

void sm_held_write(struct myna_session *session, struct wbuf *b)
{
    struct sm *s = held_of(session);
    if (!s || s->over)
        return;
    enqueue(s, b);
    if (over_cap(s)) {
        /* Ends at the next timer run, not inside the routing that queued this. */
        s->over = true;
        loop_timer_cancel(s->srv->loop, s->hold_timer);
        s->hold_timer = loop_timer_add(s->srv->loop, 0, end_held_now, s);
    }
}

void sm_held_close(struct myna_session *session)
{
    struct sm *s = held_of(session);
    if (s)
        end_session(s);
}

static void collect(const char *key, void *value, void *data)
{
    struct sm ***p = data;
    *(*p)++ = value;
}

void sm_end_all(struct server *srv)
{
    size_t n = srv->sm ? hashmap_count(srv->sm->held) : 0;
    if (!n)
        return;
    struct sm **all = xcalloc(n, sizeof *all), **p = all;
    hashmap_each(srv->sm->held, collect, &p);
    for (size_t i = 0; i < n; i++)
        end_session(all[i]);
    free(all);
}

void sm_server_free(struct server *srv)
{
    sm_end_all(srv);
    struct sm_tables *t = srv->sm;
    if (!t)
        return;
    while (t->gone_head)
        gone_drop_oldest(srv);
    hashmap_free(t->ids);
    hashmap_free(t->held);
    hashmap_free(t->gone);
    free(t);
    srv->sm = NULL;
}

/* ---- nonzas ---- */

static void send_failed(struct stream *st, const char *condition, const uint32_t *h)
{
    char buf[192];
    char hattr[24] = "";
    if (h)
        snprintf(hattr, sizeof hattr, " h='%u'", *h);
    snprintf(buf, sizeof buf,
             "<failed xmlns='urn:xmpp:sm:3'%s><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
             "</failed>",
             hattr, condition);
    stream_write_str(st, buf);
}

/* 'h' and 'max' are xs:unsignedInt. */
static bool parse_u32(const char *v, uint32_t *out)
{
    char *end = NULL;
    if (!v || *v < '0' || *v > '9')
        return false;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || n > UINT32_MAX)
        return false;
    *out = (uint32_t)n;
    return true;
}

static bool is_true(const char *v)
{
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void on_enable(struct sm **smp, struct c2s *c, struct myna_xml *el, const char *location)
{
    struct stream *st = c2s_stream(c);
    if (!c2s_session(c) || *smp) {
        send_failed(st, "unexpected-request", NULL);
        return;
    }
    struct sm *s = xcalloc(1, sizeof *s);
    s->srv = st->srv;
    s->st = st;
    s->c = c;
    s->session = c2s_session(c);
    *smp = s;
    unsigned limit = st->srv->cfg.sm_resume_timeout;
    uint32_t want = 0;
    if (!is_true(myna_xml_attr(el, "resume")) || !limit) {
        /* A broken stream ends the session (its unacknowledged stanzas are routed again,
         * see sm_stream_ended). */
        stream_write_str(st, "<enabled xmlns='urn:xmpp:sm:3'/>");
        return;
    }
    /* §5: the client's preferred 'max', up to what the server allows. */
    s->max_s = parse_u32(myna_xml_attr(el, "max"), &want) && want > 0 && want < limit
                   ? want : limit;
    unsigned char rnd[SM_ID_BYTES];
    RAND_bytes(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
    hashmap_put(tables(st->srv)->ids, s->id, s);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<enabled xmlns='urn:xmpp:sm:3' id='%s' resume='true' max='%u'", s->id,
                    s->max_s);
    if (location) {
        myna_buf_appends(&b, " location='");
        myna_buf_append_escaped(&b, location, strlen(location));
        myna_buf_appends(&b, "'");
    }
    myna_buf_appends(&b, "/>");
    stream_write(st, b.data, b.len);
    myna_buf_free(&b);
}

static void on_ack(struct sm *s, struct myna_xml *el)
{
    uint32_t h;
    if (!parse_u32(myna_xml_attr(el, "h"), &h)) {
        stream_error(s->st, STREAM_ERR_UNDEFINED_CONDITION, "Bad 'h' in <a/>");
        return;
    }
    if (!ack(s, h)) {
        /* §4: acknowledging more than was sent is a stream error. */
        char app[128];
        snprintf(app, sizeof app,
                 "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='%u' send-count='%u'/>", h,
                 s->out);
        stream_error_app(s->st, STREAM_ERR_UNDEFINED_CONDITION, NULL, app);
    }
}

/* The account of the authenticated client stream c, "user@domain", into buf. */
static void account_of(struct c2s *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%s", c2s_user(c), c2s_stream(c)->domain);
}

/* <resume previd h/> (§5) on an authenticated stream before binding: takes over the
 * session with that id if it is this account's, held or still on its old stream. */
static void on_resume(struct sm **smp, struct c2s *c, struct myna_xml *el)
{
    struct stream *st = c2s_stream(c);
    struct server *srv = st->srv;
    const char *previd = myna_xml_attr(el, "previd");
    uint32_t h;
    if (c2s_session(c) || *smp) {
        send_failed(st, "unexpected-request", NULL);
        return;
    }
    if (!previd || !parse_u32(myna_xml_attr(el, "h"), &h)) {
        send_failed(st, "bad-request", NULL);
        return;
    }
    char bare[3 * 1024 + 2];
    account_of(c, bare, sizeof bare);
    struct sm *s = srv->sm ? hashmap_get(srv->sm->ids, previd) : NULL;
    if (!s || s->over || strcmp(s->session->jid.bare, bare) != 0) {
        /* Unknown, ended or another account's: item-not-found, with the h of an ended
         * session of this account (§5), never anything about another's. */
        struct sm_gone *g = !s && srv->sm ? hashmap_get(srv->sm->gone, previd) : NULL;
        bool ours = g && strcmp(g->bare, bare) == 0;
        send_failed(st, "item-not-found", ours ? &g->h : NULL);
        return;
    }
    if (sm_ack_count(s->acked, h, s->len) < 0) {
        char app[128];
        snprintf(app, sizeof app,
                 "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='%u' send-count='%u'/>", h,
                 s->out);
        stream_error_app(st, STREAM_ERR_UNDEFINED_CONDITION, NULL, app);
        return;
    }
    struct myna_session *session = s->session;
    if (s->c) {
        /* The old stream is still open (its break not seen yet): it loses the session and
         * is closed, as a replaced binding is (§5). */
        struct c2s *old = s->c;
        c2s_release(old);
        cancel_timer(s);
        s->st = NULL;
        s->c = NULL;
        c2s_close(old, "conflict", "Replaced by a resumed stream");
    } else {
        cancel_timer(s);
        char key[24];
        session_key(session, key, sizeof key);
        hashmap_del(srv->sm->held, key);
    }
    ack(s, h);
    s->st = st;
    s->c = c;
    *smp = s;
    char buf[160];
    snprintf(buf, sizeof buf, "<resumed xmlns='urn:xmpp:sm:3' previd='%s' h='%u'/>", s->id,
             s->in);
    stream_write_str(st, buf);
    c2s_attach_session(c, session);
    /* What the client has not acknowledged, then what waited for it, in order, each once
     * (they keep their numbers: the client counts them from its h). */
    for (struct sm_item *it = s->head; it; it = it->next)
        stream_write_buf(st, it->buf);
    if (s->len)
        send_r(s);
    log_info("c2s", "session %s resumed (%zu stanzas sent again)", session->jid.full, s->len);
    tables(srv)->resumed++;
    emit(session, MYNA_EVENT_SESSION_RESUMED);
}

bool sm_element(struct sm **smp, struct c2s *c, struct myna_xml *el, const char *location)
{
    if (strcmp(el->ns, NS_SM) != 0)
        return false;
    struct stream *st = c2s_stream(c);
    struct sm *s = *smp;
    if (strcmp(el->name, "enable") == 0) {
        on_enable(smp, c, el, location);
    } else if (strcmp(el->name, "resume") == 0) {
        on_resume(smp, c, el);
    } else if (strcmp(el->name, "r") == 0 && s) {
        char buf[64];
        snprintf(buf, sizeof buf, "<a xmlns='urn:xmpp:sm:3' h='%u'/>", s->in);
        stream_write_str(st, buf);
    } else if (strcmp(el->name, "a") == 0 && s) {
        on_ack(s, el);
    } else if (strcmp(el->name, "r") != 0 && strcmp(el->name, "a") != 0) {
        stream_error(st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
    }
    return true;
}
