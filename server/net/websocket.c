/* server/net/websocket.c — see websocket.h. wslay owns the frame layer (masking,
 * fragmentation, control frames, close handshake, message size limit; RFC 6455 §5);
 * this file owns the handshake and RFC 7395's framing.
 * Invariants: every message handed up is one whole WebSocket text message; every element
 * written by the stream goes out as exactly one message (output that ends inside an
 * element waits in `partial` for the rest); the transport is freed only after the
 * connection is gone and the owner was told.
 * Idle memory: wslay's context holds ~8.8 KiB (its read and write buffers), more than the
 * rest of an idle session together, so it lives only while a frame is in progress: it is
 * made when bytes arrive or a message leaves and freed as soon as everything received is
 * whole frames and no fragmented message is open (the frame callbacks count the bytes of
 * each frame, header included). Between frames wslay keeps no state that matters. */
#include "server/net/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "myna/xml.h"
#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/net/conn.h"
#include "server/net/http.h"
#include "server/net/transport.h"
#include "server/net/xmlframe.h"
#include "server/server.h"

#define NS_FRAMING "urn:ietf:params:xml:ns:xmpp-framing"
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */

struct ws {
    struct transport tr;            /* first: the stream's view */
    struct conn *c;
    wslay_event_context_ptr ctx;
    const struct ws_events *ev;
    void *owner;
    const char *ns;                 /* the content namespace declared on stanzas */
    const char *in;                 /* input being handed to wslay */
    size_t inlen;
    uint64_t in_total;              /* bytes handed to the current context */
    uint64_t framed;                /* of those, bytes of whole frames */
    uint64_t frame_bytes;           /* header + payload of the frame being read */
    size_t max_message;
    bool msg_open;                  /* a fragmented data message is not complete */
    bool in_recv;                   /* inside wslay_event_recv: the context stays */
    struct myna_buf partial;        /* output that ends inside an element (rare) */
    bool closing;                   /* our close frame is queued */
};

#define WS(t) ((struct ws *)(t))

/* ---- wslay's callbacks ---- */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *ud)
{
    (void)flags;
    struct ws *ws = ud;
    if (ws->inlen == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < ws->inlen ? len : ws->inlen;
    memcpy(buf, ws->in, n);
    ws->in += n;
    ws->inlen -= n;
    return (ssize_t)n;
}

/* Frames join the connection's write queue (held until the commit, like all output). */
static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                       int flags, void *ud)
{
    (void)ctx;
    (void)flags;
    struct ws *ws = ud;
    if (ws->c)
        conn_write(ws->c, data, len);
    return (ssize_t)len;
}

static bool starts_element(const char *m, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k + 1 && m[0] == '<' && memcmp(m + 1, name, k) == 0 &&
           (m[k + 1] == ' ' || m[k + 1] == '/' || m[k + 1] == '>' || m[k + 1] == '\t' ||
            m[k + 1] == '\r' || m[k + 1] == '\n');
}

/* <open/> (RFC 7395 §3.3.1): the stream header the parser above expects, with the
 * attributes that matter to it (to, version, xml:lang) carried over. Anything else
 * named open goes up as it is, and the stream layer rejects it. */
static void open_to_header(struct ws *ws, const char *m, size_t n)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = myna_xml_parse(a, m, n, ws->ns);
    if (!el || !myna_xml_is(el, NS_FRAMING, "open")) {
        myna_arena_free(a);
        ws->ev->input(ws->owner, m, n);
        return;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<stream:stream xmlns='%s' xmlns:stream='%s'", ws->ns, MYNA_NS_STREAM);
    static const char *const attrs[] = {"to", "from", "version", "id", NULL};
    for (int i = 0; attrs[i]; i++) {
        const char *v = myna_xml_attr(el, attrs[i]);
        if (!v)
            continue;
        myna_buf_printf(&b, " %s='", attrs[i]);
        myna_buf_append_escaped(&b, v, strlen(v));
        myna_buf_appends(&b, "'");
    }
    myna_buf_appends(&b, ">");
    myna_arena_free(a);
    ws->ev->input(ws->owner, b.data, b.len);
    myna_buf_free(&b);
}

static void message_in(struct ws *ws, const char *m, size_t n)
{
    while (n && (*m == ' ' || *m == '\t' || *m == '\r' || *m == '\n'))
        m++, n--;
    if (n == 0)
        return; /* whitespace alone: nothing for the stream */
    if (starts_element(m, n, "open")) {
        open_to_header(ws, m, n);
    } else if (starts_element(m, n, "close")) {
        struct myna_arena *a = myna_arena_new();
        struct myna_xml *el = myna_xml_parse(a, m, n, ws->ns);
        bool close = el && myna_xml_is(el, NS_FRAMING, "close");
        myna_arena_free(a);
        if (close)
            ws->ev->input(ws->owner, "</stream:stream>", 16);
        else
            ws->ev->input(ws->owner, m, n);
    } else {
        ws->ev->input(ws->owner, m, n);
    }
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    (void)ctx;
    struct ws *ws = ud;
    if (ws->closing || !ws->c)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        message_in(ws, (const char *)arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        /* RFC 7395 §3.2: XMPP goes in text messages only. */
        wslay_event_queue_close(ws->ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
    }
}

/* RFC 6455 §5.2: 2 bytes, the extended length, the client's mask key, the payload. */
static void ws_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    (void)ctx;
    struct ws *ws = ud;
    uint64_t n = arg->payload_length;
    ws->frame_bytes = 2 + (n > 65535 ? 8 : n > 125 ? 2 : 0) + 4 + n;
    if (!(arg->opcode & 0x8)) /* data frames: a message is open until its fin */
        ws->msg_open = !arg->fin;
}

static void ws_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    (void)ctx;
    struct ws *ws = ud;
    ws->framed += ws->frame_bytes;
    ws->frame_bytes = 0;
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_recv,
    .send_callback = ws_send,
    .on_frame_recv_start_callback = ws_frame_start,
    .on_frame_recv_end_callback = ws_frame_end,
    .on_msg_recv_callback = ws_msg,
};

static bool ctx_get(struct ws *ws)
{
    if (ws->ctx)
        return true;
    if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0) {
        ws->ctx = NULL;
        return false;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->max_message);
    ws->in_total = ws->framed = 0;
    return true;
}

/* Frees wslay's context when nothing of a frame or message is pending in it. */
static void ctx_drop_if_idle(struct ws *ws)
{
    if (ws->ctx && !ws->in_recv && !ws->closing && !ws->msg_open && ws->framed == ws->in_total &&
        wslay_event_get_queued_msg_count(ws->ctx) == 0 && wslay_event_get_read_enabled(ws->ctx)) {
        wslay_event_context_free(ws->ctx);
        ws->ctx = NULL;
    }
}

/* After every exchange: what wslay queued (pongs, the close answer) goes out, and the
 * connection ends once both sides' close frames have passed. */
static void pump(struct ws *ws)
{
    if (!ws->c || !ws->ctx)
        return;
    if (wslay_event_send(ws->ctx) != 0) {
        conn_abort(ws->c, "websocket send failed");
        return;
    }
    if (ws->c && !wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
        conn_close(ws->c);
}

/* ---- the connection ---- */

static void ws_data(struct conn *c, const char *buf, size_t len)
{
    struct ws *ws = c->owner;
    if (!ctx_get(ws)) {
        conn_abort(c, "out of memory");
        return;
    }
    ws->in = buf;
    ws->inlen = len;
    ws->in_total += len;
    ws->in_recv = true; /* what the stream writes from here must not free the context */
    int r = wslay_event_recv(ws->ctx);
    ws->in_recv = false;
    ws->inlen = 0;
    if (r != 0) {
        conn_abort(c, "websocket read failed");
        return;
    }
    pump(ws);
    if (ws->c)
        ctx_drop_if_idle(ws);
}

static void ws_free(struct ws *ws)
{
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    myna_buf_free(&ws->partial);
    pool_free(ws, sizeof *ws);
}

static void ws_closed(struct conn *c, const char *why)
{
    struct ws *ws = c->owner;
    ws->closing = true; /* nothing more is written; the stream's log still names c */
    ws->ev->gone(ws->owner, why);
    ws->c = NULL;
    loop_defer(c->srv->loop, (loop_fn)ws_free, ws);
}

static const struct conn_ops ws_conn_ops = {
    .data = ws_data,
    .closed = ws_closed,
};

/* ---- output: one element, one message ---- */

static void send_text(struct ws *ws, const char *m, size_t n)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)m, n};
    if (!ctx_get(ws) || wslay_event_queue_msg(ws->ctx, &msg) != 0)
        return; /* closing: nothing more goes out */
    pump(ws);
    if (ws->c)
        ctx_drop_if_idle(ws);
}

static void send_one(void *ud, const char *el, size_t len)
{
    send_text(ud, el, len);
}

/* Whitespace keepalives have no place here (RFC 7395 §3.4): xmlframe drops them. */
static void out_split(struct ws *ws, const char *s, size_t n)
{
    size_t done = xmlframe_split(s, n, ws->ns, send_one, ws);
    if (done < n)
        myna_buf_append(&ws->partial, s + done, n - done);
}

static void ws_out(struct ws *ws, const char *s, size_t n)
{
    if (!ws->c || ws->closing)
        return;
    if (!ws->partial.len) {
        out_split(ws, s, n);
        return;
    }
    struct myna_buf b = ws->partial;
    myna_buf_init(&ws->partial);
    myna_buf_append(&b, s, n);
    out_split(ws, b.data, b.len);
    myna_buf_free(&b);
}

/* ---- the transport ---- */

static void tr_write(struct transport *t, const void *data, size_t len)
{
    ws_out(WS(t), data, len);
}

static void tr_write_buf(struct transport *t, struct wbuf *b)
{
    ws_out(WS(t), b->data, b->len);
}

static void tr_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                            const char *piece, size_t plen)
{
    struct wbuf *w = wbuf_splice(shared, split, piece, plen);
    ws_out(WS(t), w->data, w->len);
    wbuf_unref(w);
}

static void tr_close(struct transport *t)
{
    struct ws *ws = WS(t);
    if (!ws->c || ws->closing)
        return;
    ws->closing = true;
    if (ctx_get(ws)) {
        wslay_event_queue_close(ws->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
        wslay_event_send(ws->ctx);
    }
    /* RFC 6455 §7.1.1: the server may close TCP first; the close frame is written before. */
    if (ws->c)
        conn_close(ws->c);
}

static void tr_abort(struct transport *t, const char *why)
{
    struct ws *ws = WS(t);
    if (ws->c)
        conn_abort(ws->c, why);
}

static bool tr_is_encrypted(const struct transport *t)
{
    return WS(t)->c && conn_is_tls(WS(t)->c);
}

static int tr_channel_binding(const struct transport *t, const char *type, unsigned char *out,
                              size_t outlen)
{
    return WS(t)->c ? conn_channel_binding(WS(t)->c, type, out, outlen) : -1;
}

static const char *const *tr_channel_binding_types(const struct transport *t)
{
    static const char *const none[] = {NULL};
    return WS(t)->c ? conn_channel_binding_types(WS(t)->c) : none;
}

static void tr_set_rate(struct transport *t, uint64_t rate, uint64_t burst)
{
    if (WS(t)->c)
        conn_set_rate(WS(t)->c, rate, burst);
}

static uint64_t tr_id(const struct transport *t)
{
    return WS(t)->c ? WS(t)->c->id : 0;
}

static const char *tr_peer(const struct transport *t)
{
    return WS(t)->c ? WS(t)->c->peer : "-";
}

static size_t tr_queued(const struct transport *t)
{
    return WS(t)->c ? WS(t)->c->wq_bytes : 0;
}

static const struct transport_ops ws_transport = {
    .framing = FRAMING_WEBSOCKET,
    .write = tr_write,
    .write_buf = tr_write_buf,
    .write_splice = tr_write_splice,
    .close = tr_close,
    .abort = tr_abort,
    .start_tls = NULL, /* TLS is the carrier's (wss://) */
    .is_encrypted = tr_is_encrypted,
    .channel_binding = tr_channel_binding,
    .channel_binding_types = tr_channel_binding_types,
    .set_rate = tr_set_rate,
    .id = tr_id,
    .peer = tr_peer,
    .queued = tr_queued,
};

/* ---- the opening handshake (RFC 6455 §4.2.1, RFC 7395 §3.1) ---- */

/* Whether the comma-separated header value lists `token` (case-insensitive). */
static bool lists(const char *value, const char *token)
{
    size_t k = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == k && strncasecmp(p, token, k) == 0)
            return true;
        p = e;
    }
    return false;
}

static bool key_ok(const char *key)
{
    /* Base64 of 16 bytes: 22 characters and "==". */
    if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    unsigned char raw[18];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

/* "scheme://authority" -> authority (no path); NULL when it is no such thing. */
static const char *authority(const char *origin)
{
    const char *p = origin ? strstr(origin, "://") : NULL;
    return p && p[3] && !strchr(p + 3, '/') ? p + 3 : NULL;
}

bool websocket_origin_allowed(struct http_conn *hc, const char *const *allowed,
                              const char *external_url)
{
    const char *origin = http_header(hc, "Origin");
    if (!origin)
        return true;
    for (const char *const *a = allowed; a && *a; a++)
        if (strcmp(*a, "*") == 0 || strcasecmp(*a, origin) == 0)
            return true;
    const char *auth = authority(origin), *host = http_header(hc, "Host");
    if (!auth)
        return false;
    if (host && strcasecmp(auth, host) == 0)
        return true;
    if (external_url) {
        const char *ext = strstr(external_url, "://");
        size_t n = strlen(auth);
        ext = ext ? ext + 3 : "";
        if (strncasecmp(ext, auth, n) == 0 && (ext[n] == '\0' || ext[n] == '/'))
            return true;
    }
    return false;
}

struct transport *websocket_upgrade(struct http_conn *hc, const struct http_request *req,
                                    const char *ns, size_t max_message,
                                    const struct ws_events *ev, void *owner)
{
    const char *upgrade = http_header(hc, "Upgrade");
    const char *connection = http_header(hc, "Connection");
    const char *version = http_header(hc, "Sec-WebSocket-Version");
    const char *key = http_header(hc, "Sec-WebSocket-Key");
    const char *proto = http_header(hc, "Sec-WebSocket-Protocol");
    if (strcmp(req->method, "GET") != 0) {
        http_respond(hc, 405, "text/plain", "Allow: GET\r\n", "405 Method Not Allowed\n", 23);
        return NULL;
    }
    if (!upgrade || !lists(upgrade, "websocket") || !connection ||
        !lists(connection, "upgrade")) {
        http_respond(hc, 426, "text/plain", "Upgrade: websocket\r\nConnection: Upgrade\r\n",
                     "426 Upgrade Required\n", 21);
        return NULL;
    }
    if (!version || strcmp(version, "13") != 0) {
        http_respond(hc, 426, "text/plain", "Sec-WebSocket-Version: 13\r\n",
                     "426 Upgrade Required\n", 21);
        return NULL;
    }
    if (!key_ok(key) || !proto || !lists(proto, "xmpp")) {
        /* RFC 7395 §3.1: without the xmpp subprotocol this is no XMPP connection. */
        http_error(hc, 400);
        return NULL;
    }
    char accept_src[64 + sizeof WS_GUID];
    snprintf(accept_src, sizeof accept_src, "%s%s", key, WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)accept_src, strlen(accept_src), digest);
    char accept[32];
    EVP_EncodeBlock((unsigned char *)accept, digest, sizeof digest);
    char response[256];
    snprintf(response, sizeof response,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
             accept);

    struct ws *ws = pool_alloc(sizeof *ws);
    ws->tr.ops = &ws_transport;
    ws->ev = ev;
    ws->owner = owner;
    ws->ns = ns;
    ws->max_message = max_message;
    const char *rest;
    size_t restlen;
    ws->c = http_takeover(hc, response, &rest, &restlen);
    /* The connection is this client's alone now: behind a trusted proxy, its address. */
    if (req->peer != ws->c->peer)
        snprintf(ws->c->peer, sizeof ws->c->peer, "%s", req->peer);
    ws->c->ops = &ws_conn_ops;
    ws->c->owner = ws;
    ws->in = rest; /* read in websocket_start, once the owner is bound */
    ws->inlen = restlen;
    return &ws->tr;
}

void websocket_start(struct transport *tr)
{
    struct ws *ws = WS(tr);
    if (ws->c && ws->inlen)
        ws_data(ws->c, ws->in, ws->inlen);
    ws->in = NULL;
    ws->inlen = 0;
}
