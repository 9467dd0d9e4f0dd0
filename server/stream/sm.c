/* server/stream/sm.c — see sm.h. The state exists from <enable/> until the client stream
 * is freed; it borrows the stream (to write <r/>, <a/> and errors), which outlives it. The
 * ack timer is cancelled whenever the queue empties and when the stream ends. */
#include "server/stream/sm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/store.h"
#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/c2s.h"
#include "server/stream/stream.h"

#define NS_SM "urn:xmpp:sm:3"
#define SM_ASK_EVERY 10      /* ask for an ack after this many unacknowledged stanzas */
#define SM_ASK_AFTER_MS 1000 /* or this long after the first one */

struct sm_item {
    struct wbuf *buf;
    struct sm_item *next;
};

struct sm {
    struct stream *st;    /* the client stream (borrowed) */
    uint32_t in;          /* stanzas received from the client (our h) */
    uint32_t out;         /* stanzas sent since enable */
    uint32_t acked;       /* last h the client sent */
    struct sm_item *head, *tail;
    size_t len;           /* unacknowledged stanzas */
    uint64_t timer;       /* pending ack request, or 0 */
};

/* ---- the queue ---- */

static void cancel_timer(struct sm *s)
{
    if (s->timer) {
        loop_timer_cancel(s->st->srv->loop, s->timer);
        s->timer = 0;
    }
}

void sm_free(struct sm *s)
{
    if (!s)
        return;
    cancel_timer(s);
    for (struct sm_item *it = s->head, *n; it; it = n) {
        n = it->next;
        wbuf_unref(it->buf);
        free(it);
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
    if (s->len)
        send_r(s);
}

void sm_received(struct sm *s)
{
    s->in++;
}

void sm_sent(struct sm *s, struct wbuf *b)
{
    struct sm_item *it = xmalloc(sizeof *it);
    it->buf = wbuf_ref(b);
    it->next = NULL;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->len++;
    s->out++;
    if (s->len % SM_ASK_EVERY == 0)
        send_r(s);
    else if (!s->timer)
        s->timer = loop_timer_add(s->st->srv->loop, SM_ASK_AFTER_MS, timer_fire, s);
}

/* Applies <a h='h'/>: drops acknowledged stanzas. Returns false if h acknowledges more than
 * was sent (§4: a stream error). */
static bool ack(struct sm *s, uint32_t h)
{
    uint32_t n = h - s->acked; /* wraps at 2^32 as the counters do */
    if (n > s->len)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        struct sm_item *it = s->head;
        s->head = it->next;
        wbuf_unref(it->buf);
        free(it);
    }
    if (!s->head)
        s->tail = NULL;
    s->len -= n;
    s->acked = h;
    if (!s->len)
        cancel_timer(s);
    return true;
}

/* ---- nonzas ---- */

static void send_failed(struct stream *st)
{
    stream_write_str(st, "<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
}

static void on_enable(struct sm **smp, struct stream *st, bool bound)
{
    if (!bound || *smp) {
        send_failed(st);
        return;
    }
    struct sm *s = xcalloc(1, sizeof *s);
    s->st = st;
    *smp = s;
    /* No resume attribute: a broken stream ends the session (its unacknowledged stanzas
     * are routed again, see sm_stream_ended). */
    stream_write_str(st, "<enabled xmlns='urn:xmpp:sm:3'/>");
}

static void on_ack(struct sm *s, struct myna_xml *el)
{
    const char *hs = myna_xml_attr(el, "h");
    char *end = NULL;
    unsigned long h = hs ? strtoul(hs, &end, 10) : 0;
    if (!hs || !*hs || *end || h > UINT32_MAX) {
        stream_error(s->st, STREAM_ERR_UNDEFINED_CONDITION, "Bad 'h' in <a/>");
        return;
    }
    if (!ack(s, (uint32_t)h)) {
        /* §4: acknowledging more than was sent is a stream error. */
        char app[128];
        snprintf(app, sizeof app,
                 "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='%lu' send-count='%u'/>", h,
                 s->out);
        stream_error_app(s->st, STREAM_ERR_UNDEFINED_CONDITION, NULL, app);
    }
}

bool sm_element(struct sm **smp, struct c2s *c, struct myna_xml *el)
{
    if (strcmp(el->ns, NS_SM) != 0)
        return false;
    struct stream *st = c2s_stream(c);
    struct sm *s = *smp;
    if (strcmp(el->name, "enable") == 0) {
        on_enable(smp, st, c2s_session(c) != NULL);
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

/* ---- the end of the stream ---- */

/* Routes again one stanza the client never acknowledged, as a unit of work of its own
 * (e.g. a message into offline storage). */
static void reroute(struct server *srv, struct wbuf *b)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = myna_xml_parse(a, b->data, b->len, MYNA_NS_CLIENT);
    struct stanza_ctx ctx;
    enum myna_error err;
    myna_store_env_unit_begin(srv->store);
    if (el && myna_xml_attr(el, "from") && myna_xml_attr(el, "to") &&
        stanza_init(&ctx, srv, el, NULL, NULL, &err) == 0) {
        if (ctx.pub.kind == MYNA_MESSAGE && strcmp(ctx.pub.type, "error") != 0)
            router_route(srv, &ctx);
        else if (ctx.pub.kind == MYNA_IQ &&
                 (strcmp(ctx.pub.type, "get") == 0 || strcmp(ctx.pub.type, "set") == 0))
            myna_reply_error(&ctx.pub, MYNA_ERR_RECIPIENT_UNAVAILABLE, NULL);
    }
    myna_store_env_unit_commit(srv->store);
    myna_arena_free(a);
}

void sm_stream_ended(struct sm **smp, struct myna_session *session)
{
    if (session)
        session_free(session);
    struct sm *s = *smp;
    if (!s)
        return;
    /* After the session is gone, so nothing is routed back to it. */
    cancel_timer(s);
    struct sm_item *it = s->head;
    s->head = s->tail = NULL;
    s->len = 0;
    while (it) {
        struct sm_item *next = it->next;
        reroute(s->st->srv, it->buf);
        wbuf_unref(it->buf);
        free(it);
        it = next;
    }
}
