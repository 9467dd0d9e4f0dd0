/* server/net/http.c — see http.h. http-parser does the parsing (request line, headers,
 * Content-Length, chunked bodies, and it refuses Content-Length twice or together with
 * Transfer-Encoding: RFC 9112 §6.3, the usual request smuggling patterns); this file
 * keeps one request's headers and body in one buffer (or hands the body piece by piece to
 * a streaming route's sink: uploads), enforces the limits and routes.
 * States: READING (bytes go to the parser) -> HANDLING (a complete request is with its
 * handler; input waits in `pending`) -> READING again after the answer when keep-alive,
 * or closed. An upgrade hands the connection to its new owner and frees this one. */
#include "server/net/http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "myna/xml.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/loop/hashmap.h"
#include "server/net/conn.h"
#include "server/net/peeraddr.h"
#include "server/server.h"

/* The limits are the `http` settings (config.h): header and body bytes, request and
 * idle timeouts, requests per second per connection and per address (counted over a
 * window of 10 s), open connections per address. */
#define HTTP_MAX_PENDING (64u << 10)     /* pipelined bytes held while a request is handled */
#define HTTP_RATE_WINDOW_MS 10000
#define HTTP_FILE_WINDOW (256u << 10)    /* a file answer's bytes queued at a time */
#define HTTP_FILE_CHUNK (64u << 10)

struct http_route {
    struct http_route *next;
    char *prefix;
    size_t len;
    size_t max_body;
    bool ops;       /* /metrics, /health: only on listeners with `metrics` */
    const struct http_body_ops *stream; /* bodies go to a sink, not to memory */
    http_handler fn;
    void *ud;
};

enum hstate { H_READING, H_HANDLING, H_CLOSING };

/* One address's connections and requests (srv->http_addrs, made on first use); kept while
 * it has connections or its request window is open. */
struct http_addr {
    unsigned conns;
    unsigned requests;
    uint64_t window_start;
};

struct http_conn {
    struct conn *c;
    struct server *srv;
    const struct config_listen *l;
    struct http_conn *next, *prev;  /* srv->http_conns */
    struct http_addr *addr;         /* counted under `key` */
    char key[PEER_KEY_MAX];
    http_parser p;
    enum hstate state;
    /* One request: "method\0url\0" then "name\0value\0" pairs, then the body separately. */
    struct myna_buf head;
    struct myna_buf body;
    struct myna_buf pending;        /* input that arrived while a request was handled */
    size_t url_off;                 /* where the url starts in head */
    size_t path_len;
    size_t max_body;                /* of the route the request goes to */
    size_t body_seen;               /* bytes of a streamed body so far */
    const struct http_route *route; /* found once the headers are complete */
    void *sink;                     /* a streaming route's, until the handler takes it */
    bool admitted;                  /* rate, Host and listener checked already */
    bool in_value;                  /* the last header callback was a value */
    bool complete;                  /* on_message_complete ran */
    bool keep_alive;
    int refuse;                     /* a limit was hit: the status to answer with */
    uint64_t started;               /* loop ms when the request's first byte came */
    uint64_t last_active;
    uint64_t window_start;
    unsigned window_requests;
    uint64_t request_id;
    struct http_request req;
    char client[PEER_MAX];          /* req.peer behind a trusted proxy (X-Forwarded-For) */
    char *path, *query;             /* owned copies for req */
    void (*gone_fn)(void *ud);
    void *gone_ud;
    int file_fd;                    /* a file answer being sent, or -1 */
    uint64_t file_left;
    bool file_keep;                 /* keep-alive once it is sent */
};

/* ---- routes ---- */

void http_route_add(struct server *srv, const char *prefix, http_handler fn, void *ud,
                    size_t max_body)
{
    struct http_route *r = xcalloc(1, sizeof *r);
    r->max_body = max_body; /* 0: http.max_body_size */
    r->prefix = xstrdup(prefix);
    r->len = strlen(prefix);
    r->fn = fn;
    r->ud = ud;
    r->next = srv->http_routes;
    srv->http_routes = r;
}

void http_route_add_stream(struct server *srv, const char *prefix, http_handler fn,
                           const struct http_body_ops *ops, void *ud, size_t max_body)
{
    http_route_add(srv, prefix, fn, ud, max_body);
    srv->http_routes->stream = ops;
}

void http_route_add_ops(struct server *srv, const char *prefix, http_handler fn, void *ud)
{
    http_route_add(srv, prefix, fn, ud, 0);
    srv->http_routes->ops = true;
}

void http_routes_free(struct server *srv)
{
    while (srv->http_routes) {
        struct http_route *r = srv->http_routes;
        srv->http_routes = r->next;
        free(r->prefix);
        free(r);
    }
}

static const struct http_route *route_find(struct server *srv, const char *path)
{
    const struct http_route *best = NULL;
    for (const struct http_route *r = srv->http_routes; r; r = r->next) {
        if (strncmp(path, r->prefix, r->len) != 0)
            continue;
        char next = path[r->len];
        bool dir = r->len > 0 && r->prefix[r->len - 1] == '/';
        if ((next == '\0' || next == '/' || dir) && (!best || r->len > best->len))
            best = r;
    }
    return best;
}

/* ---- answers ---- */

static const char *reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void request_reset(struct http_conn *hc);
static void resume(struct http_conn *hc);

static void hc_unlink(struct http_conn *hc)
{
    if (hc->prev)
        hc->prev->next = hc->next;
    else if (hc->srv->http_conns == hc)
        hc->srv->http_conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    hc->next = hc->prev = NULL;
}

/* The request will not reach its handler: a streaming route's sink is given back. */
static void drop_sink(struct http_conn *hc)
{
    if (hc->sink) {
        void *sink = hc->sink;
        hc->sink = NULL;
        hc->route->stream->abort(sink);
    }
}

/* The connection stops counting for its address (closed, or taken over by WebSocket). */
static void addr_release(struct http_conn *hc)
{
    if (hc->addr && hc->addr->conns)
        hc->addr->conns--;
    hc->addr = NULL;
}

static void hc_free(struct http_conn *hc)
{
    drop_sink(hc);
    addr_release(hc);
    if (hc->file_fd >= 0)
        close(hc->file_fd);
    hc_unlink(hc);
    myna_buf_free(&hc->head);
    myna_buf_free(&hc->body);
    myna_buf_free(&hc->pending);
    free(hc->path);
    free(hc->query);
    free(hc);
}

uint64_t http_request_id(const struct http_conn *hc)
{
    return hc->request_id;
}

bool http_waiting(const struct http_conn *hc, uint64_t request_id)
{
    return hc->state == H_HANDLING && hc->request_id == request_id;
}

void http_on_gone(struct http_conn *hc, void (*fn)(void *ud), void *ud)
{
    hc->gone_fn = fn;
    hc->gone_ud = ud;
}

/* Status line and headers for a body of len bytes; whether the connection stays open. */
static bool respond_head(struct http_conn *hc, struct myna_buf *b, int status, const char *ctype,
                         const char *headers, uint64_t len)
{
    bool keep = hc->keep_alive && !hc->srv->stopping;
    myna_buf_printf(b, "HTTP/1.1 %d %s\r\nContent-Length: %llu\r\n", status, reason(status),
                    (unsigned long long)len);
    if (ctype)
        myna_buf_printf(b, "Content-Type: %s\r\n", ctype);
    if (!keep)
        myna_buf_appends(b, "Connection: close\r\n");
    if (headers)
        myna_buf_appends(b, headers);
    myna_buf_appends(b, "\r\n");
    return keep;
}

/* The answer is queued: close, or read the next request. */
static void respond_done(struct http_conn *hc, bool keep)
{
    hc->gone_fn = NULL;
    if (!keep) {
        hc->state = H_CLOSING;
        conn_close(hc->c);
        return;
    }
    hc->state = H_READING;
    hc->last_active = loop_now(hc->srv->loop);
    request_reset(hc);
    /* The next pipelined request, after this loop iteration (not under the handler). */
    if (hc->pending.len)
        loop_defer(hc->srv->loop, (loop_fn)resume, hc);
}

static bool is_head(const struct http_conn *hc)
{
    return strcmp(hc->req.method ? hc->req.method : "", "HEAD") == 0;
}

void http_respond(struct http_conn *hc, int status, const char *ctype, const char *headers,
                  const void *body, size_t len)
{
    if (hc->state != H_HANDLING || !hc->c || hc->file_fd >= 0)
        return;
    struct myna_buf b;
    myna_buf_init(&b);
    bool keep = respond_head(hc, &b, status, ctype, headers, len);
    if (len && !is_head(hc))
        myna_buf_append(&b, body, len);
    conn_write(hc->c, b.data, b.len);
    myna_buf_free(&b);
    respond_done(hc, keep);
}

/* Queues the file answer's next pieces while the connection's queue is short. */
static void file_refill(struct http_conn *hc)
{
    static char chunk[HTTP_FILE_CHUNK];
    while (hc->file_left && hc->c->wq_bytes < HTTP_FILE_WINDOW) {
        size_t want = hc->file_left < sizeof chunk ? (size_t)hc->file_left : sizeof chunk;
        ssize_t n = read(hc->file_fd, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* the length went out already: all we can do is cut the answer */
            log_warn("http", "conn=%llu peer=%s file answer cut: %s",
                     (unsigned long long)hc->c->id, hc->c->peer,
                     n < 0 ? strerror(errno) : "file shorter than announced");
            close(hc->file_fd);
            hc->file_fd = -1;
            conn_abort(hc->c, "file read failed");
            return;
        }
        conn_write(hc->c, chunk, (size_t)n);
        hc->file_left -= (uint64_t)n;
    }
    if (hc->file_left == 0) {
        close(hc->file_fd);
        hc->file_fd = -1;
        respond_done(hc, hc->file_keep);
    }
}

void http_respond_file(struct http_conn *hc, int status, const char *ctype,
                       const char *headers, int fd, uint64_t len)
{
    if (hc->state != H_HANDLING || !hc->c || hc->file_fd >= 0) {
        close(fd);
        return;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    hc->file_keep = respond_head(hc, &b, status, ctype, headers, len);
    conn_write(hc->c, b.data, b.len);
    myna_buf_free(&b);
    hc->file_fd = fd;
    hc->file_left = is_head(hc) ? 0 : len;
    hc->last_active = loop_now(hc->srv->loop);
    file_refill(hc);
}

static void hc_drained(struct conn *c)
{
    struct http_conn *hc = c->owner;
    if (hc->file_fd >= 0 && hc->c) {
        hc->last_active = loop_now(hc->srv->loop);
        file_refill(hc);
    }
}

void http_error(struct http_conn *hc, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    http_respond(hc, status, "text/plain; charset=utf-8", NULL, body, (size_t)n);
}

/* A refusal before the request could be handled: answered, then the connection closes
 * (what follows on it cannot be trusted to start a request). */
static void refuse(struct http_conn *hc, int status)
{
    log_info("http", "conn=%llu peer=%s refused: %d %s", (unsigned long long)hc->c->id,
             hc->c->peer, status, reason(status));
    drop_sink(hc);
    hc->state = H_HANDLING;
    hc->keep_alive = false;
    http_error(hc, status);
}

/* ---- the parser's callbacks ---- */

static struct http_conn *HC(http_parser *p)
{
    return p->data;
}

static bool head_room(struct http_conn *hc, size_t more)
{
    if (hc->head.len + more > hc->srv->cfg.http.max_header_size) {
        hc->refuse = 431;
        return false;
    }
    return true;
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *hc = HC(p);
    hc->started = loop_now(hc->srv->loop);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = HC(p);
    if (!head_room(hc, len))
        return -1;
    myna_buf_append(&hc->head, at, len);
    return 0;
}

static void zero(struct myna_buf *b)
{
    myna_buf_append(b, "", 1);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = HC(p);
    if (!head_room(hc, len + 2))
        return -1;
    if (hc->path_len == 0) { /* the url is complete */
        zero(&hc->head);
        hc->path_len = hc->head.len;
    } else if (hc->in_value) {
        zero(&hc->head); /* end of the previous value */
    }
    hc->in_value = false;
    myna_buf_append(&hc->head, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = HC(p);
    if (!head_room(hc, len + 2))
        return -1;
    if (!hc->in_value)
        zero(&hc->head); /* end of the name */
    hc->in_value = true;
    myna_buf_append(&hc->head, at, len);
    return 0;
}

static int admit(struct http_conn *hc);

/* The value of header `name` after the value `after` (NULL: the first), or NULL. */
static const char *header_next(const struct http_conn *hc, const char *name, const char *after)
{
    const char *p = hc->head.data + hc->url_off + hc->path_len;
    const char *end = hc->head.data + hc->head.len;
    if (after)
        p = after + strlen(after) + 1;
    while (p < end) {
        const char *n = p;
        const char *v = n + strlen(n) + 1;
        if (v >= end)
            break;
        if (strcasecmp(n, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

/* Behind a trusted reverse proxy a request is for the client its X-Forwarded-For names
 * (every header line of it, in order): req.peer becomes that client, so per-address
 * limits and login throttling count clients, not the proxy. */
static void forwarded_client(struct http_conn *hc)
{
    const struct config_http *cfg = &hc->srv->cfg.http;
    char xff[1024];
    size_t n = 0;
    for (const char *v = header_next(hc, "X-Forwarded-For", NULL); v;
         v = header_next(hc, "X-Forwarded-For", v)) {
        size_t vl = strlen(v);
        if (n + vl + 2 > sizeof xff)
            return; /* longer than any real chain: the proxy's address counts */
        if (n)
            xff[n++] = ',';
        memcpy(xff + n, v, vl);
        n += vl;
    }
    xff[n] = '\0';
    if (n && peer_forwarded(cfg->trusted_proxies, cfg->ntrusted_proxies, hc->c->peer, xff,
                            hc->client, sizeof hc->client)) {
        hc->req.peer = hc->client;
        log_debug("http", "conn=%llu peer=%s: for client %s (X-Forwarded-For)",
                  (unsigned long long)hc->c->id, hc->c->peer, hc->client);
    }
}

/* The request line and headers are complete: the method goes in front of the head, the
 * url is split into path and query and the route found. 0, or the status to refuse with. */
static int prepare(struct http_conn *hc)
{
    struct myna_buf h;
    myna_buf_init(&h);
    myna_buf_appends(&h, http_method_str((enum http_method)hc->p.method));
    zero(&h);
    hc->url_off = h.len;
    myna_buf_append(&h, hc->head.data, hc->head.len);
    myna_buf_free(&hc->head);
    hc->head = h;
    const char *url = hc->head.data + hc->url_off;
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
        return 400;
    hc->path = strndup(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    hc->query = u.field_set & (1 << UF_QUERY)
                    ? strndup(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                    : strdup("");
    hc->req = (struct http_request){
        .method = http_method_str((enum http_method)hc->p.method),
        .path = hc->path,
        .query = hc->query,
        .body = "",
        .secure = conn_is_tls(hc->c),
        .peer = hc->c->peer,
        .content_length = hc->p.content_length,
    };
    forwarded_client(hc);
    hc->route = route_find(hc->srv, hc->path);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *hc = HC(p);
    if (hc->path_len == 0) { /* no header at all */
        zero(&hc->head);
        hc->path_len = hc->head.len;
    } else if (hc->in_value) {
        zero(&hc->head);
    }
    hc->in_value = false;
    int status = prepare(hc);
    hc->max_body = hc->route && hc->route->max_body ? hc->route->max_body
                                                    : hc->srv->cfg.http.max_body_size;
    if (!status && p->content_length != (uint64_t)-1 && p->content_length > hc->max_body)
        status = 413;
    /* A streamed body is accepted or refused before its first byte (sizes, signatures). */
    if (!status && hc->route && hc->route->stream && !p->upgrade) {
        status = admit(hc);
        if (!status)
            status = hc->route->stream->begin(hc, &hc->req, hc->route->ud, &hc->sink);
        /* A body the route does not stream (a GET's) is held in memory: the usual limit. */
        if (!status && !hc->sink) {
            hc->max_body = hc->srv->cfg.http.max_body_size;
            if (p->content_length != (uint64_t)-1 && p->content_length > hc->max_body)
                status = 413;
        }
    }
    if (status) {
        hc->refuse = status;
        return -1;
    }
    /* RFC 9110 §10.1.1: a client waiting for 100 before it sends a body it may send. */
    const char *expect = http_header(hc, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && p->http_minor >= 1)
        conn_write(hc->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = HC(p);
    if (hc->sink) {
        hc->body_seen += len;
        int status = hc->body_seen > hc->max_body ? 413
                                                  : hc->route->stream->data(hc->sink, at, len);
        if (status) {
            hc->refuse = status;
            return -1;
        }
        return 0;
    }
    if (hc->body.len + len > hc->max_body) {
        hc->refuse = 413;
        return -1;
    }
    myna_buf_append(&hc->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *hc = HC(p);
    hc->complete = true;
    http_parser_pause(p, 1); /* one request at a time */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- requests ---- */

const char *http_header(const struct http_conn *hc, const char *name)
{
    return header_next(hc, name, NULL);
}

static void request_reset(struct http_conn *hc)
{
    hc->head.len = 0;
    hc->body.len = 0;
    hc->complete = false;
    hc->in_value = false;
    hc->refuse = 0;
    hc->path_len = 0;
    hc->started = 0;
    hc->body_seen = 0;
    hc->route = NULL;
    hc->admitted = false;
    free(hc->path);
    free(hc->query);
    hc->path = hc->query = NULL;
    memset(&hc->req, 0, sizeof hc->req);
    hc->url_off = 0;
}

/* One more request in the connection's and the address's windows: within both limits? */
static bool rate_ok(struct http_conn *hc)
{
    const struct config_http *cfg = &hc->srv->cfg.http;
    uint64_t now = loop_now(hc->srv->loop);
    if (now - hc->window_start >= HTTP_RATE_WINDOW_MS) {
        hc->window_start = now;
        hc->window_requests = 0;
    }
    struct http_addr *a = hc->addr;
    if (a && now - a->window_start >= HTTP_RATE_WINDOW_MS) {
        a->window_start = now;
        a->requests = 0;
    }
    unsigned window_s = HTTP_RATE_WINDOW_MS / 1000;
    bool ok = !cfg->rate_per_connection ||
              ++hc->window_requests <= cfg->rate_per_connection * window_s;
    if (a && cfg->rate_per_address && ++a->requests > cfg->rate_per_address * window_s) {
        log_info("http", "conn=%llu peer=%s over http.rate_per_address",
                 (unsigned long long)hc->c->id, hc->c->peer);
        ok = false;
    }
    return ok;
}

/* Rate, Host and the listener's kind: 0, or the status to answer with. */
static int admit(struct http_conn *hc)
{
    hc->admitted = true;
    if (!rate_ok(hc))
        return 429;
    /* RFC 9112 §3.2: a request without Host is a 400. */
    if (hc->p.http_minor >= 1 && !http_header(hc, "Host"))
        return 400;
    /* Each listener serves what its config says: the XMPP endpoints, the metrics, or both. */
    const struct http_route *r = hc->route;
    if (!r || (r->ops ? !hc->l->metrics : !hc->l->web))
        return 404;
    return 0;
}

static void dispatch(struct http_conn *hc)
{
    hc->state = H_HANDLING;
    hc->request_id++;
    zero(&hc->body);
    hc->body.len--; /* NUL-terminated for handlers, not counted */
    hc->keep_alive = http_should_keep_alive(&hc->p);
    hc->req.body = hc->body.data ? hc->body.data : "";
    hc->req.body_len = hc->body.len;
    hc->req.upgrade = hc->p.upgrade;
    int status = hc->admitted ? 0 : admit(hc);
    if (status) {
        drop_sink(hc);
        http_error(hc, status);
        return;
    }
    hc->req.sink = hc->sink; /* the handler's from now on */
    hc->sink = NULL;
    hc->route->fn(hc, &hc->req, hc->route->ud);
}

/* Feeds input to the parser, one request at a time; what arrives while a request is
 * handled waits in `pending`. */
static void feed(struct http_conn *hc, const char *buf, size_t len)
{
    while (len > 0 && hc->state == H_READING) {
        if (!hc->started)
            hc->started = loop_now(hc->srv->loop);
        size_t n = http_parser_execute(&hc->p, &settings, buf, len);
        enum http_errno e = HTTP_PARSER_ERRNO(&hc->p);
        if (e != HPE_OK && e != HPE_PAUSED) {
            log_debug("http", "conn=%llu peer=%s parse error: %s",
                      (unsigned long long)hc->c->id, hc->c->peer, http_errno_description(e));
            refuse(hc, hc->refuse ? hc->refuse : 400);
            return;
        }
        if (hc->p.upgrade && !hc->complete) {
            /* Upgrade: http-parser stops after the headers. */
            hc->complete = true;
        }
        buf += n;
        len -= n;
        if (!hc->complete)
            continue;
        http_parser_pause(&hc->p, 0);
        /* Keep what follows for the next request (or the upgraded protocol). */
        if (len)
            myna_buf_append(&hc->pending, buf, len);
        len = 0;
        dispatch(hc);
    }
    if (len > 0 && hc->state == H_HANDLING) {
        if (hc->pending.len + len > HTTP_MAX_PENDING) {
            conn_abort(hc->c, "too much pipelined input");
            return;
        }
        myna_buf_append(&hc->pending, buf, len);
    }
}

static void resume(struct http_conn *hc)
{
    if (hc->state != H_READING || !hc->pending.len || !hc->c)
        return;
    struct myna_buf b = hc->pending;
    myna_buf_init(&hc->pending);
    feed(hc, b.data, b.len);
    myna_buf_free(&b);
}

/* ---- the connection ---- */

static void hc_data(struct conn *c, const char *buf, size_t len)
{
    struct http_conn *hc = c->owner;
    hc->last_active = loop_now(hc->srv->loop);
    if (hc->state != H_CLOSING)
        feed(hc, buf, len);
}

static void hc_closed(struct conn *c, const char *why)
{
    struct http_conn *hc = c->owner;
    log_debug("http", "conn=%llu peer=%s closed: %s", (unsigned long long)c->id, c->peer, why);
    hc->c = NULL;
    hc->state = H_CLOSING;
    drop_sink(hc);
    addr_release(hc);
    if (hc->gone_fn) {
        void (*fn)(void *) = hc->gone_fn;
        hc->gone_fn = NULL;
        fn(hc->gone_ud);
    }
    hc_unlink(hc);
    loop_defer(hc->srv->loop, (loop_fn)hc_free, hc);
}

static const struct conn_ops hc_ops = {
    .data = hc_data,
    .closed = hc_closed,
    .drained = hc_drained,
};

/* Counts the connection under its address; false when the address has too many. */
static bool addr_admit(struct http_conn *hc, const char *peer)
{
    struct server *srv = hc->srv;
    peer_address_key(peer, hc->key, sizeof hc->key);
    if (!srv->http_addrs)
        srv->http_addrs = hashmap_new();
    struct http_addr *a = hashmap_get(srv->http_addrs, hc->key);
    if (!a) {
        a = xcalloc(1, sizeof *a);
        a->window_start = loop_now(srv->loop);
        hashmap_put(srv->http_addrs, hc->key, a);
    }
    unsigned max = srv->cfg.http.connections_per_address;
    if (max && a->conns >= max) {
        log_info("http", "peer=%s refused: %u HTTP connections from this address "
                 "(http.connections_per_address)", peer, a->conns);
        return false;
    }
    a->conns++;
    hc->addr = a;
    return true;
}

void http_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer)
{
    struct http_conn *hc = xcalloc(1, sizeof *hc);
    hc->srv = srv;
    hc->l = l;
    hc->file_fd = -1;
    http_parser_init(&hc->p, HTTP_REQUEST);
    hc->p.data = hc;
    myna_buf_init(&hc->head);
    myna_buf_init(&hc->body);
    myna_buf_init(&hc->pending);
    request_reset(hc);
    hc->last_active = hc->window_start = loop_now(srv->loop);
    hc->next = srv->http_conns;
    if (hc->next)
        hc->next->prev = hc;
    srv->http_conns = hc;
    hc->c = conn_new(srv, fd, peer, &hc_ops, hc);
    hc->c->keep_ssl = l->record_layer == TLS_RECORDS_OPENSSL;
    if (!addr_admit(hc, peer)) {
        /* Plain: answered, then closed. Over TLS the answer would wait for a handshake the
         * peer may never finish: closed at once. */
        if (l->tls == TLS_DIRECT)
            conn_abort(hc->c, "too many connections from this address");
        else
            refuse(hc, 503);
        return;
    }
    if (l->tls == TLS_DIRECT && conn_start_tls(hc->c) < 0)
        conn_abort(hc->c, "TLS setup failed");
}

struct conn *http_takeover(struct http_conn *hc, const char *response, const char **rest,
                           size_t *restlen)
{
    struct conn *c = hc->c;
    conn_write(c, response, strlen(response));
    hc->c = NULL;
    hc->gone_fn = NULL;
    hc->state = H_CLOSING;
    addr_release(hc); /* a WebSocket is a stream now: limits.preauth_* count it */
    /* The pending bytes live until hc is freed, after this loop iteration. */
    *rest = hc->pending.data;
    *restlen = hc->pending.len;
    hc_unlink(hc);
    loop_defer(hc->srv->loop, (loop_fn)hc_free, hc);
    return c;
}

static void addr_expired(const char *key, void *value, void *data)
{
    struct http_addr *a = value;
    struct { struct server *srv; char **keys; size_t n; } *x = data;
    if (!a->conns && loop_now(x->srv->loop) - a->window_start >= HTTP_RATE_WINDOW_MS)
        x->keys[x->n++] = xstrdup(key);
}

/* Addresses without connections whose window has closed are forgotten. */
static void addr_sweep(struct server *srv)
{
    size_t n = srv->http_addrs ? hashmap_count(srv->http_addrs) : 0;
    if (!n)
        return;
    struct { struct server *srv; char **keys; size_t n; } x = {srv, xcalloc(n, sizeof(char *)), 0};
    hashmap_each(srv->http_addrs, addr_expired, &x);
    for (size_t i = 0; i < x.n; i++) {
        free(hashmap_del(srv->http_addrs, x.keys[i]));
        free(x.keys[i]);
    }
    free(x.keys);
}

static void addr_free(const char *key, void *value, void *data)
{
    free(value);
}

void http_addrs_free(struct server *srv)
{
    if (srv->http_addrs) {
        hashmap_each(srv->http_addrs, addr_free, NULL);
        hashmap_free(srv->http_addrs);
        srv->http_addrs = NULL;
    }
}

void http_sweep(struct server *srv)
{
    uint64_t now = loop_now(srv->loop);
    uint64_t request_ms = srv->cfg.http.request_timeout * 1000ull;
    uint64_t idle_ms = srv->cfg.http.idle_timeout * 1000ull;
    addr_sweep(srv);
    for (struct http_conn *hc = srv->http_conns, *next; hc; hc = next) {
        next = hc->next;
        if (!hc->c || hc->state == H_CLOSING)
            continue;
        if (hc->file_fd >= 0 && now - hc->last_active >= idle_ms) {
            conn_abort(hc->c, "file answer not read");
            continue;
        }
        /* A streamed body may take long, but must not stall. */
        uint64_t since = hc->sink ? hc->last_active : hc->started;
        if (hc->state == H_READING && hc->started && now - since >= request_ms) {
            refuse(hc, 408); /* slowloris: a request dribbled in too slowly */
        } else if (hc->state == H_READING && !hc->started &&
                   now - hc->last_active >= idle_ms) {
            hc->state = H_CLOSING;
            conn_close(hc->c);
        }
    }
}

void http_close_idle(struct server *srv)
{
    for (struct http_conn *hc = srv->http_conns; hc; hc = hc->next)
        if (hc->c && hc->state == H_READING && !hc->started) {
            hc->state = H_CLOSING;
            conn_close(hc->c);
        }
}

void http_abort_all(struct server *srv)
{
    while (srv->http_conns) {
        struct http_conn *hc = srv->http_conns;
        if (hc->c)
            conn_abort(hc->c, "server exiting"); /* unlinks hc */
        else
            hc_unlink(hc);
    }
}
