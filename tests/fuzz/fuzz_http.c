/* tests/fuzz/fuzz_http.c — libFuzzer target for the HTTP request path (server/net/http.c
 * on http-parser) and the WebSocket frame path (server/net/websocket.c on wslay, with
 * RFC 7395's <open/>/<close/> handling and the element splitter of xmlframe.c), both
 * included here with the connection and loop underneath replaced by stubs that record
 * what would be written.
 * Input: the first byte picks the path and the chunk size input is fed in (1..64 bytes or
 * all at once, as reads arrive); the rest are the bytes a client sends. For HTTP, routes
 * answer at once, hold the answer to the next chunk, or upgrade to WebSocket (after the
 * Origin check); /up/ streams its bodies to a sink as uploads do (refused on its query,
 * or by the sink on a byte); after an upgrade the remaining input is WebSocket frames.
 * The limits are the `http` settings, the per-address ones on. Checked on every run: no crash, leak
 * or sanitizer report; every answer starts with an HTTP/1.1 status line; the stream above
 * receives each text message alone, trimmed (or the header or closing tag made of it).
 * Build and run: tests/fuzz/README.md (tests/fuzz/http-fuzz.sh runs it in make check). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loop/loop.h"
#include "server/net/conn.h"
#include "server/server.h"

/* ---- stubs of the connection and the loop ---- */

static struct myna_buf g_out;   /* everything written to the connection */
static bool g_closed;
static uint64_t g_now;
struct deferred {
    loop_fn fn;
    void *data;
};
static struct deferred g_defer[256];
static size_t g_ndefer;

struct conn *conn_new(struct server *srv, int fd, const char *peer, const struct conn_ops *ops,
                      void *owner)
{
    struct conn *c = calloc(1, sizeof *c);
    c->srv = srv;
    c->ops = ops;
    c->owner = owner;
    c->id = 1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    return c;
}

void conn_write(struct conn *c, const void *data, size_t len)
{
    if (!c->dead)
        myna_buf_append(&g_out, data, len);
}

static void conn_gone(struct conn *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    g_closed = true;
    c->ops->closed(c, why);
}

void conn_close(struct conn *c)
{
    conn_gone(c, "closed");
}

void conn_abort(struct conn *c, const char *why)
{
    conn_gone(c, why);
}

bool conn_is_tls(const struct conn *c)
{
    return false;
}

int conn_start_tls(struct conn *c)
{
    return 0;
}

int conn_channel_binding(const struct conn *c, const char *type, unsigned char *out,
                         size_t outlen)
{
    return -1;
}

const char *const *conn_channel_binding_types(const struct conn *c)
{
    static const char *const none[] = {NULL};
    return none;
}

void conn_set_rate(struct conn *c, uint64_t rate, uint64_t burst)
{
}

uint64_t loop_now(const struct loop *l)
{
    return g_now;
}

void loop_defer(struct loop *l, loop_fn fn, void *data)
{
    if (g_ndefer < sizeof g_defer / sizeof g_defer[0])
        g_defer[g_ndefer++] = (struct deferred){fn, data};
    else
        abort(); /* a bound the code under test must never need */
}

static void run_deferred(void)
{
    for (size_t i = 0; i < g_ndefer; i++)
        g_defer[i].fn(g_defer[i].data);
    g_ndefer = 0;
}

#include "server/net/http.c"
#include "server/net/websocket.c"
#include "server/net/xmlframe.c"

/* ---- what sits above ---- */

static struct http_conn *g_held;
static uint64_t g_held_id;
static struct transport *g_ws;
static size_t g_inputs;

static void ws_input(void *owner, const char *data, size_t len)
{
    /* RFC 7395 §3.3: a header made from <open/>, the closing tag, or one message without
     * the whitespace around it (whatever it is: the stream's parser judges it). */
    if (len == 0 || data[0] == ' ' || data[0] == '\n' || data[0] == '\r' || data[0] == '\t')
        abort();
    g_inputs++;
    /* The stream writes back, as a real one would: an element and a keepalive. */
    if (g_ws && (g_inputs & 1) == 0)
        g_ws->ops->write(g_ws, "<iq type='result' id='x'/> <message><body>a</body></message>",
                         60);
}

static void ws_gone(void *owner, const char *why)
{
    g_ws = NULL;
}

static const struct ws_events events = {ws_input, ws_gone};

static void handler(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct server *srv = ud;
    /* Behind the trusted proxy (the harness's peer) req->peer is what X-Forwarded-For
     * named: always an "ip:port" that fits a connection's peer. */
    if (!req->peer || strlen(req->peer) >= PEER_MAX || !strchr(req->peer, ':'))
        abort();
    if (req->upgrade || strcmp(req->path, "/xmpp-websocket") == 0) {
        static const char *const origins[] = {"https://web.example", NULL};
        if (!websocket_origin_allowed(hc, origins, "https://chat.example/x")) {
            http_error(hc, 403);
            return;
        }
        g_ws = websocket_upgrade(hc, req, MYNA_NS_CLIENT, 4096, &events, srv);
        if (g_ws)
            websocket_start(g_ws);
        return;
    }
    if (req->body_len & 1) { /* answered later, from the next chunk */
        g_held = hc;
        g_held_id = http_request_id(hc);
        return;
    }
    http_respond(hc, 200, "text/plain", NULL, req->body, req->body_len);
}

/* A streaming route (http_route_add_stream): the sink counts the body's bytes. */
struct sink {
    size_t got;
};

static int up_begin(struct http_conn *hc, const struct http_request *req, void *ud, void **sink)
{
    if (strcmp(req->query, "no") == 0)
        return 403;
    struct sink *s = calloc(1, sizeof *s);
    *sink = s;
    return 0;
}

static int up_data(void *sink, const char *buf, size_t len)
{
    struct sink *s = sink;
    s->got += len;
    return memchr(buf, '!', len) ? 500 : 0; /* a write that fails */
}

static void up_abort(void *sink)
{
    free(sink);
}

static const struct http_body_ops up_ops = {up_begin, up_data, up_abort};

static void up_handler(struct http_conn *hc, const struct http_request *req, void *ud)
{
    if (req->sink) {
        if (req->body_len != 0) /* a streamed body never reaches memory */
            abort();
        free(req->sink);
    }
    http_respond(hc, 201, "text/plain", NULL, "", 0);
}

static void check_output(void)
{
    /* Every answer starts with a status line; after a 101 the rest are frames. */
    if (g_out.len && memcmp(g_out.data, "HTTP/1.1 ", 9) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct server *srv;
    static struct config_listen listener = {.type = LISTEN_HTTP, .tls = TLS_NONE, .web = true};
    if (!srv) {
        srv = calloc(1, sizeof *srv);
        /* The peer below is a trusted proxy: X-Forwarded-For is parsed. */
        static struct config_range proxies[2] = {{.family = 4, .addr = {127}, .bits = 8},
                                                 {.family = 4, .addr = {10}, .bits = 8}};
        srv->cfg.http = (struct config_http){.max_header_size = 8192, .max_body_size = 1 << 20,
                                             .request_timeout = 10, .idle_timeout = 60,
                                             .rate_per_connection = 20, .rate_per_address = 50,
                                             .connections_per_address = 4,
                                             .trusted_proxies = proxies,
                                             .ntrusted_proxies = 2};
        http_route_add(srv, "/", handler, srv, 4096);
        http_route_add_stream(srv, "/up/", up_handler, &up_ops, srv, 100000);
        log_set_level(MYNA_LOG_ERROR);
    }
    unsigned chunk = data[0] & 63;
    bool ws_direct = data[0] & 64; /* start with the upgrade already done */
    data++, size--;
    myna_buf_init(&g_out);
    g_closed = false;
    g_held = NULL;
    g_ws = NULL;
    g_inputs = 0;
    http_accept(srv, &listener, -1, "127.0.0.1:1");
    struct http_conn *hc = srv->http_conns;
    struct conn *c = hc->c;
    if (ws_direct) {
        static const char up[] = "GET /xmpp-websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Protocol: xmpp\r\n\r\n";
        c->ops->data(c, up, sizeof up - 1);
        run_deferred();
    }
    size_t off = 0;
    while (off < size && !g_closed) {
        size_t n = chunk ? (size - off < chunk ? size - off : chunk) : size - off;
        c->ops->data(c, (const char *)data + off, n);
        off += n;
        g_now += 1000;
        if (g_held && !g_closed && http_waiting(g_held, g_held_id))
            http_error(g_held, 503);
        g_held = NULL;
        run_deferred();
        if (!g_closed && c->owner == srv->http_conns)
            http_sweep(srv);
        run_deferred();
    }
    check_output();
    if (!g_closed)
        conn_abort(c, "end of input");
    run_deferred();
    http_addrs_free(srv); /* per input: the map's nodes live in pool memory LSan does not scan */
    free(c);
    myna_buf_free(&g_out);
    return 0;
}
