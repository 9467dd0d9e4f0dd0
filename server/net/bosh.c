/* server/net/bosh.c — see bosh.h. XEP-0124 §7-§15 and §17, XEP-0206 §3-§5.
 * A session: OPEN (requests carry stanzas both ways) -> CLOSING (the stream ended: the
 * next request gets the terminate body) -> gone (the owner was told, freed after this
 * loop iteration).
 * Invariants: held requests are answered oldest first, at most `hold` stay held; a
 * response is kept (for a repeated rid, §14) until the client acknowledges it or it falls
 * out of the window; output the stream writes waits in `out` until a request can carry
 * it, so nothing is lost when no request is held (nor during a §12 pause); with a §15
 * key sequence every new request must carry the key that hashes to the previous one. */
#include "server/net/bosh.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/net/http.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"
#include "server/net/xmlframe.h"
#include "server/server.h"

#define NS_HTTPBIND "http://jabber.org/protocol/httpbind"
#define NS_XBOSH "urn:xmpp:xbosh"
#define BOSH_MAX_REQUESTS 9 /* hold (at most 8) + 1 */

struct held {
    struct http_conn *hc;
    uint64_t reqid;   /* the HTTP request it answers */
    uint64_t rid;
    uint64_t since;   /* loop ms */
};

struct cached {
    uint64_t rid;
    char *body;       /* the response body, NULL when the slot is free */
    size_t len;
};

struct bosh {
    struct transport tr;         /* first: the stream's view */
    struct server *srv;
    const struct bosh_hooks *hooks;
    void *owner;                 /* NULL once told it is gone */
    struct bosh *next, *prev;    /* srv->bosh_sessions */
    char sid[33];
    char peer[48];
    uint64_t id;                 /* for logs, like a connection id */
    uint64_t rid;                /* highest rid received */
    uint64_t last_request;       /* loop ms of the last request (inactivity) */
    uint64_t last_empty;         /* loop ms of the last empty poll (polling limit) */
    unsigned wait, hold, requests;
    unsigned inactivity;         /* s: the configured one, or the pause granted (§12) */
    char key[41];                /* §15: the key the next request's key must hash to, or "" */
    bool secure;
    bool acks;                   /* the client asked for acknowledgements (§9) */
    bool closing;                /* the stream ended: the next answer terminates */
    bool flush_queued;
    struct myna_buf out;         /* what the stream wrote and no response carried yet */
    struct held held[BOSH_MAX_REQUESTS];
    unsigned nheld;
    struct cached cache[BOSH_MAX_REQUESTS];
};

#define BOSH(t) ((struct bosh *)(t))

/* ---- sessions ---- */

static void unlink_session(struct bosh *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else if (s->srv->bosh_sessions == s)
        s->srv->bosh_sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    hashmap_del(s->srv->bosh_sids, s->sid);
}

static void session_free(struct bosh *s)
{
    for (unsigned i = 0; i < BOSH_MAX_REQUESTS; i++)
        free(s->cache[i].body);
    myna_buf_free(&s->out);
    free(s);
}

static const char *cors(const struct server *srv, char *buf, size_t len)
{
    if (!srv->cfg.http.cors_origin)
        return NULL;
    snprintf(buf, len, "Access-Control-Allow-Origin: %s\r\n", srv->cfg.http.cors_origin);
    return buf;
}

static void send_body(struct server *srv, struct http_conn *hc, const char *body, size_t len)
{
    char h[300];
    http_respond(hc, 200, "text/xml; charset=utf-8", cors(srv, h, sizeof h), body, len);
}

/* A terminate body for a request that has no session (§17.1: bad sid, bad request). */
static void send_terminate(struct server *srv, struct http_conn *hc, const char *condition)
{
    char body[200];
    int n = snprintf(body, sizeof body,
                     "<body xmlns='" NS_HTTPBIND "' type='terminate' condition='%s'/>",
                     condition);
    send_body(srv, hc, body, (size_t)n);
}

static void remember(struct bosh *s, uint64_t rid, const char *body, size_t len)
{
    struct cached *slot = &s->cache[rid % BOSH_MAX_REQUESTS];
    free(slot->body);
    slot->rid = rid;
    slot->body = malloc(len);
    memcpy(slot->body, body, len);
    slot->len = len;
}

static void forget_upto(struct bosh *s, uint64_t ack)
{
    for (unsigned i = 0; i < BOSH_MAX_REQUESTS; i++)
        if (s->cache[i].body && s->cache[i].rid <= ack) {
            free(s->cache[i].body);
            s->cache[i].body = NULL;
        }
}

static void unhold(struct bosh *s, unsigned i)
{
    memmove(&s->held[i], &s->held[i + 1], (s->nheld - i - 1) * sizeof s->held[0]);
    s->nheld--;
}

/* Answers held request i with `attrs` and the pending output. */
static void answer(struct bosh *s, unsigned i, const char *attrs)
{
    struct held h = s->held[i];
    unhold(s, i);
    if (!http_waiting(h.hc, h.reqid))
        return;
    http_on_gone(h.hc, NULL, NULL);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<body xmlns='%s'%s", NS_HTTPBIND, attrs ? attrs : "");
    if (s->acks && h.rid < s->rid) /* §9.2: answering an older request than the last */
        myna_buf_printf(&b, " ack='%llu'", (unsigned long long)h.rid);
    if (s->out.len) {
        myna_buf_appends(&b, ">");
        myna_buf_append(&b, s->out.data, s->out.len);
        myna_buf_appends(&b, "</body>");
        s->out.len = 0;
    } else {
        myna_buf_appends(&b, "/>");
    }
    remember(s, h.rid, b.data, b.len);
    send_body(s->srv, h.hc, b.data, b.len);
    s->last_request = loop_now(s->srv->loop); /* inactivity counts from the last answer */
    myna_buf_free(&b);
}

/* The session ends: held requests get the terminate body (the first one with what the
 * stream still wrote), the owner is told, the session goes after this loop iteration. */
static void session_end(struct bosh *s, const char *condition, const char *why)
{
    char attrs[120];
    if (condition)
        snprintf(attrs, sizeof attrs, " type='terminate' condition='%s'", condition);
    else
        snprintf(attrs, sizeof attrs, " type='terminate'");
    while (s->nheld)
        answer(s, 0, attrs);
    unlink_session(s);
    void *owner = s->owner;
    s->owner = NULL;
    s->closing = true;
    log_debug("bosh", "sid=%s conn=%llu peer=%s ended: %s", s->sid, (unsigned long long)s->id,
              s->peer, why);
    if (owner)
        s->hooks->gone(owner, why);
    loop_defer(s->srv->loop, (loop_fn)session_free, s);
}

/* What the stream wrote before it closed says why (XEP-0206 §5: a stream error travels
 * inside a terminate body with the remote-stream-error condition). */
static const char *closing_condition(const struct bosh *s)
{
    return s->out.len && memmem(s->out.data, s->out.len, "<stream:error", 13)
               ? "remote-stream-error"
               : NULL;
}

/* Output goes to the oldest held request; at the end of the stream, the terminate body. */
static void flush(struct bosh *s)
{
    s->flush_queued = false;
    if (!s->owner)
        return;
    if (s->closing) {
        if (s->nheld)
            session_end(s, closing_condition(s), "stream closed");
        return;
    }
    while (s->out.len && s->nheld)
        answer(s, 0, NULL);
}

static void flush_soon(struct bosh *s)
{
    if (s->flush_queued || !s->owner)
        return;
    s->flush_queued = true;
    loop_defer(s->srv->loop, (loop_fn)flush, s);
}

/* ---- the transport ---- */

static void append_one(void *ud, const char *el, size_t len)
{
    struct bosh *s = ud;
    myna_buf_append(&s->out, el, len);
}

/* Every element stands alone in the body, with its namespace declared (XEP-0206 §5). */
static void tr_write(struct transport *t, const void *data, size_t len)
{
    struct bosh *s = BOSH(t);
    if (!s->owner || s->closing)
        return;
    size_t done = xmlframe_split(data, len, MYNA_NS_CLIENT, append_one, s);
    if (done < len) /* our writes are whole elements; keep the bytes if one is not */
        myna_buf_append(&s->out, (const char *)data + done, len - done);
    flush_soon(s);
}

static void tr_write_buf(struct transport *t, struct wbuf *b)
{
    tr_write(t, b->data, b->len);
}

static void tr_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                            const char *piece, size_t plen)
{
    struct wbuf *w = wbuf_splice(shared, split, piece, plen);
    tr_write(t, w->data, w->len);
    wbuf_unref(w);
}

static void tr_close(struct transport *t)
{
    struct bosh *s = BOSH(t);
    if (!s->owner || s->closing)
        return;
    s->closing = true;
    s->flush_queued = false;
    flush_soon(s);
}

static void tr_abort(struct transport *t, const char *why)
{
    struct bosh *s = BOSH(t);
    if (s->owner) {
        s->out.len = 0;
        session_end(s, "remote-connection-failed", why);
    }
}

static bool tr_is_encrypted(const struct transport *t)
{
    return BOSH(t)->secure;
}

/* Requests of one session come over many connections: nothing to bind a channel to. */
static int tr_channel_binding(const struct transport *t, const char *type, unsigned char *out,
                              size_t outlen)
{
    return -1;
}

static const char *const *tr_channel_binding_types(const struct transport *t)
{
    static const char *const none[] = {NULL};
    return none;
}

static void tr_set_rate(struct transport *t, uint64_t rate, uint64_t burst)
{
    /* Requests are limited by the HTTP layer (size, rate per connection). */
}

static uint64_t tr_id(const struct transport *t)
{
    return BOSH(t)->id;
}

static const char *tr_peer(const struct transport *t)
{
    return BOSH(t)->peer;
}

static size_t tr_queued(const struct transport *t)
{
    return BOSH(t)->out.len;
}

static const struct transport_ops bosh_transport = {
    .framing = FRAMING_BOSH,
    .write = tr_write,
    .write_buf = tr_write_buf,
    .write_splice = tr_write_splice,
    .close = tr_close,
    .abort = tr_abort,
    .start_tls = NULL,
    .is_encrypted = tr_is_encrypted,
    .channel_binding = tr_channel_binding,
    .channel_binding_types = tr_channel_binding_types,
    .set_rate = tr_set_rate,
    .id = tr_id,
    .peer = tr_peer,
    .queued = tr_queued,
};

/* ---- requests ---- */

static void held_gone(void *ud)
{
    struct bosh *s = ud;
    for (unsigned i = 0; i < s->nheld;) {
        if (!http_waiting(s->held[i].hc, s->held[i].reqid))
            unhold(s, i);
        else
            i++;
    }
}

static void hold_request(struct bosh *s, struct http_conn *hc, uint64_t rid)
{
    s->held[s->nheld++] = (struct held){hc, http_request_id(hc), rid, loop_now(s->srv->loop)};
    http_on_gone(hc, held_gone, s);
}

static const char *attr_ns(const struct myna_xml *el, const char *ns, const char *name)
{
    for (const struct myna_xml_attr *a = el->attrs; a; a = a->next)
        if (a->ns && strcmp(a->ns, ns) == 0 && strcmp(a->name, name) == 0)
            return a->value;
    return NULL;
}

/* A stream header for the parser above (the session's 'to'). */
static void feed_header(struct bosh *s, const char *to)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<stream:stream xmlns='%s' xmlns:stream='%s' version='1.0' to='",
                    MYNA_NS_CLIENT, MYNA_NS_STREAM);
    myna_buf_append_escaped(&b, to, strlen(to));
    myna_buf_appends(&b, "'>");
    s->hooks->input(s->owner, b.data, b.len);
    myna_buf_free(&b);
}

/* Stanzas without a namespace of their own sit in the body's: they mean jabber:client. */
static void client_ns(struct myna_xml *el)
{
    if (el->ns && strcmp(el->ns, NS_HTTPBIND) == 0) {
        el->ns = MYNA_NS_CLIENT;
        for (struct myna_xml *c = el->children; c; c = c->next)
            if (c->type == MYNA_XML_ELEMENT)
                client_ns(c);
    }
}

/* The body's elements, one by one, as bytes of the stream. */
static void feed_children(struct bosh *s, struct myna_xml *body)
{
    for (struct myna_xml *c = body->children; c && s->owner && !s->closing; c = c->next) {
        if (c->type != MYNA_XML_ELEMENT)
            continue;
        client_ns(c);
        struct myna_buf b;
        myna_buf_init(&b);
        myna_xml_serialize(c, MYNA_NS_CLIENT, &b);
        s->hooks->input(s->owner, b.data, b.len);
        myna_buf_free(&b);
    }
}

static unsigned attr_uint(const struct myna_xml *el, const char *name, unsigned def,
                          unsigned max)
{
    const char *v = myna_xml_attr(el, name);
    if (!v)
        return def;
    unsigned long n = strtoul(v, NULL, 10);
    return n < max ? (unsigned)n : max;
}

/* A §15 key: 40 hex digits (a SHA-1 in hex). */
static bool key_ok(const char *k)
{
    size_t n = 0;
    for (; k[n]; n++)
        if (!isxdigit((unsigned char)k[n]))
            return false;
    return n == 40;
}

/* Kept in lower case: what the next key hashes to is compared with it. */
static void key_keep(struct bosh *s, const char *k)
{
    for (int i = 0; i < 40; i++)
        s->key[i] = (char)tolower((unsigned char)k[i]);
    s->key[40] = '\0';
}

/* §15.3: hex(SHA-1(key)) must be the previous request's newkey (or key); the request's
 * newkey, when it switches sequences, or its key becomes the one to match next. */
static bool key_next(struct bosh *s, const struct myna_xml *body)
{
    if (!s->key[0])
        return true;
    const char *key = myna_xml_attr(body, "key"), *newkey = myna_xml_attr(body, "newkey");
    if (!key || !key_ok(key) || (newkey && !key_ok(newkey)))
        return false;
    unsigned char md[SHA_DIGEST_LENGTH];
    char hex[41];
    SHA1((const unsigned char *)key, 40, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (CRYPTO_memcmp(hex, s->key, 40) != 0)
        return false;
    key_keep(s, newkey ? newkey : key);
    return true;
}

static void create(struct server *srv, struct http_conn *hc, const struct http_request *req,
                   struct myna_xml *body, uint64_t rid, const struct bosh_hooks *hooks)
{
    const struct config_http *cfg = &srv->cfg.http;
    const char *to = myna_xml_attr(body, "to");
    if (!to || !*to) {
        send_terminate(srv, hc, "improper-addressing");
        return;
    }
    struct bosh *s = xcalloc(1, sizeof *s);
    s->tr.ops = &bosh_transport;
    s->srv = srv;
    s->hooks = hooks;
    unsigned char rnd[16];
    RAND_bytes(rnd, sizeof rnd);
    for (int i = 0; i < 16; i++)
        snprintf(s->sid + 2 * i, 3, "%02x", rnd[i]);
    snprintf(s->peer, sizeof s->peer, "%s", req->peer);
    s->id = ++srv->next_conn_id;
    s->rid = rid;
    s->wait = attr_uint(body, "wait", cfg->bosh_max_wait, cfg->bosh_max_wait);
    s->hold = attr_uint(body, "hold", 1, cfg->bosh_max_hold);
    s->requests = s->hold + 1;
    s->secure = req->secure;
    s->acks = myna_xml_attr(body, "ack") && strcmp(myna_xml_attr(body, "ack"), "1") == 0;
    s->inactivity = cfg->bosh_inactivity;
    const char *newkey = myna_xml_attr(body, "newkey");
    if (newkey && key_ok(newkey))
        key_keep(s, newkey);
    s->last_request = loop_now(srv->loop);
    myna_buf_init(&s->out);
    s->next = srv->bosh_sessions;
    if (s->next)
        s->next->prev = s;
    srv->bosh_sessions = s;
    hashmap_put(srv->bosh_sids, s->sid, s);
    log_debug("bosh", "sid=%s conn=%llu peer=%s created (wait %u, hold %u)", s->sid,
              (unsigned long long)s->id, s->peer, s->wait, s->hold);

    s->owner = hooks->create(srv, &s->tr, s->secure, s->peer);
    if (!s->owner) { /* too many unauthenticated clients from there */
        hold_request(s, hc, rid);
        session_end(s, "policy-violation", "refused");
        return;
    }
    feed_header(s, to);
    /* XEP-0124 §7.2 and XEP-0206 §3: the session's parameters, the stream's id and its
     * features (written by the stream just now) in the answer. */
    char attrs[640], maxpause[32] = "";
    if (cfg->bosh_max_pause) /* §12: pausing offered */
        snprintf(maxpause, sizeof maxpause, " maxpause='%u'", cfg->bosh_max_pause);
    snprintf(attrs, sizeof attrs,
             " xmlns:xmpp='" NS_XBOSH "' xmlns:stream='%s' sid='%s' wait='%u' requests='%u'"
             " hold='%u' inactivity='%u' polling='%u'%s ver='1.11' authid='%s'"
             " xmpp:version='1.0' xmpp:restartlogic='true' secure='%s'",
             MYNA_NS_STREAM, s->sid, s->wait, s->requests, s->hold, cfg->bosh_inactivity,
             cfg->bosh_polling, maxpause, s->owner ? hooks->stream_id(s->owner) : "",
             s->secure ? "true" : "false");
    hold_request(s, hc, rid);
    if (s->closing) { /* the header was refused (host-unknown ...) */
        session_end(s, closing_condition(s), "stream refused");
        return;
    }
    s->flush_queued = false;
    answer(s, 0, attrs);
}

/* §14: a repeated rid gets its response again, when it is still kept. */
static bool resend(struct bosh *s, struct http_conn *hc, uint64_t rid)
{
    struct cached *c = &s->cache[rid % BOSH_MAX_REQUESTS];
    if (!c->body || c->rid != rid)
        return false;
    log_debug("bosh", "sid=%s rid=%llu sent again", s->sid, (unsigned long long)rid);
    send_body(s->srv, hc, c->body, c->len);
    return true;
}

/* §12: the seconds of a pause the request asks for and may have (at most maxpause, and
 * only when we offered it), or 0: the request is an ordinary one. */
static unsigned pause_granted(const struct bosh *s, const struct myna_xml *body)
{
    const char *v = myna_xml_attr(body, "pause");
    char *end = NULL;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!v || end == v || *end || n == 0 || n > s->srv->cfg.http.bosh_max_pause)
        return 0;
    return (unsigned)n;
}

/* §12: the held requests are answered now (with what waits for them), then the pause
 * request, empty: payloads that come meanwhile wait for the client's return. The
 * session lives `pause` seconds without a request; the next request ends the pause. */
static void pause_session(struct bosh *s, struct http_conn *hc, struct myna_xml *body,
                          uint64_t rid, unsigned pause)
{
    feed_children(s, body);
    if (!s->owner)
        return;
    while (s->nheld)
        answer(s, 0, NULL);
    log_debug("bosh", "sid=%s paused for %u s", s->sid, pause);
    static const char empty[] = "<body xmlns='" NS_HTTPBIND "'/>";
    remember(s, rid, empty, sizeof empty - 1); /* a lost answer may be asked for again */
    send_body(s->srv, hc, empty, sizeof empty - 1);
    s->inactivity = pause;
    s->last_request = loop_now(s->srv->loop);
}

static void session_request(struct bosh *s, struct http_conn *hc, struct myna_xml *body,
                            uint64_t rid)
{
    uint64_t now = loop_now(s->srv->loop);
    s->last_request = now;
    if (rid <= s->rid) {
        if (!resend(s, hc, rid)) {
            /* §14.3: neither new nor kept; the session cannot go on. */
            send_terminate(s->srv, hc, "item-not-found");
            session_end(s, "item-not-found", "rid repeated and no longer kept");
        }
        return;
    }
    if (rid > s->rid + s->requests) {
        /* §14.1: outside the window. */
        send_terminate(s->srv, hc, "item-not-found");
        session_end(s, "item-not-found", "rid outside the window");
        return;
    }
    if (!key_next(s, body)) {
        /* §15.3: injected, or the client lost its sequence: not processed. */
        send_terminate(s->srv, hc, "item-not-found");
        session_end(s, "item-not-found", "wrong key");
        return;
    }
    s->rid = rid;
    s->inactivity = s->srv->cfg.http.bosh_inactivity; /* §12: a pause ends here */
    const char *ack = myna_xml_attr(body, "ack");
    forget_upto(s, ack ? strtoull(ack, NULL, 10) : rid - 1);
    const char *type = myna_xml_attr(body, "type");
    const char *restart = attr_ns(body, NS_XBOSH, "restart");
    unsigned pause = pause_granted(s, body);
    bool empty = !myna_xml_first_element(body) && !type && !restart;
    bool last_word = pause || (type && strcmp(type, "terminate") == 0);
    /* §11: too many requests at once (one more may pause or terminate), or polling
     * faster than allowed. */
    if (s->nheld >= s->requests + (last_word ? 1 : 0) ||
        (empty && s->hold == 0 && s->last_empty &&
         now - s->last_empty < (uint64_t)s->srv->cfg.http.bosh_polling * 1000)) {
        send_terminate(s->srv, hc, "policy-violation");
        session_end(s, "policy-violation", "overactive client");
        return;
    }
    if (empty && !pause)
        s->last_empty = now;
    if (pause) {
        pause_session(s, hc, body, rid, pause);
        return;
    }
    if (type && strcmp(type, "terminate") == 0) {
        /* §13: the stanzas it carries (an unavailable presence ...) first. */
        feed_children(s, body);
        if (s->owner)
            s->hooks->input(s->owner, "</stream:stream>", 16);
        hold_request(s, hc, rid);
        if (s->owner)
            session_end(s, NULL, "terminated by the client");
        return;
    }
    hold_request(s, hc, rid);
    if (restart && (strcmp(restart, "true") == 0 || strcmp(restart, "1") == 0)) {
        const char *to = myna_xml_attr(body, "to");
        feed_header(s, to ? to : "");
    }
    feed_children(s, body);
    if (!s->owner)
        return;
    if (s->closing || s->out.len) {
        flush_soon(s);
        return;
    }
    /* §11: no more than `hold` requests wait; the oldest is answered, empty. */
    while (s->nheld > s->hold)
        answer(s, 0, NULL);
}

void bosh_request(struct server *srv, struct http_conn *hc, const struct http_request *req,
                  const struct bosh_hooks *hooks)
{
    char h[400];
    if (strcmp(req->method, "OPTIONS") == 0 && srv->cfg.http.cors_origin) {
        snprintf(h, sizeof h,
                 "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Methods: POST, "
                 "OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type\r\n"
                 "Access-Control-Max-Age: 86400\r\n",
                 srv->cfg.http.cors_origin);
        http_respond(hc, 200, "text/plain", h, "", 0);
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        http_respond(hc, 405, "text/plain", "Allow: POST, OPTIONS\r\n",
                     "405 Method Not Allowed\n", 23);
        return;
    }
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *body = myna_xml_parse(a, req->body, req->body_len, NS_HTTPBIND);
    const char *rid_s = body ? myna_xml_attr(body, "rid") : NULL;
    char *end = NULL;
    uint64_t rid = rid_s ? strtoull(rid_s, &end, 10) : 0;
    if (!body || !myna_xml_is(body, NS_HTTPBIND, "body") || !rid_s || end == rid_s || *end ||
        rid == 0) {
        /* §17.1: not a body, or no rid: legacy clients understand the status. */
        myna_arena_free(a);
        http_respond(hc, 400, "text/xml; charset=utf-8", cors(srv, h, sizeof h),
                     "<body xmlns='" NS_HTTPBIND "' type='terminate' condition='bad-request'/>",
                     sizeof "<body xmlns='" NS_HTTPBIND "' type='terminate' "
                            "condition='bad-request'/>" - 1);
        return;
    }
    const char *sid = myna_xml_attr(body, "sid");
    if (!sid) {
        create(srv, hc, req, body, rid, hooks);
    } else {
        struct bosh *s = hashmap_get(srv->bosh_sids, sid);
        if (!s || !s->owner)
            send_terminate(srv, hc, "item-not-found"); /* §17.2 */
        else
            session_request(s, hc, body, rid);
    }
    myna_arena_free(a);
}

void bosh_sweep(struct server *srv)
{
    uint64_t now = loop_now(srv->loop);
    for (struct bosh *s = srv->bosh_sessions, *next; s; s = next) {
        next = s->next;
        /* §7.1 wait: held requests come back empty when nothing came for them. */
        while (s->nheld && now - s->held[0].since >= (uint64_t)s->wait * 1000)
            answer(s, 0, NULL);
        /* §7.3 inactivity: no request held for that long ends the session. */
        if (!s->nheld && now - s->last_request >= (uint64_t)s->inactivity * 1000)
            session_end(s, NULL, "inactivity timeout");
    }
}

void bosh_free_all(struct server *srv)
{
    while (srv->bosh_sessions)
        session_end(srv->bosh_sessions, "system-shutdown", "server exiting");
}
