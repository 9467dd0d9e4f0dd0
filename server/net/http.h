/* server/net/http.h — HTTP/1.1 server connections on the event loop (RFC 9112), parsed by
 * http-parser: one request at a time per connection (pipelined requests wait their turn),
 * keep-alive, limits on header bytes, body bytes, request rates (per connection and per
 * address), connections per address and idle time (the `http` settings), and
 * a clear 4xx/5xx for each refusal. Requests go to the handler whose path prefix matches
 * (registered at startup by the layers above: WebSocket, BOSH, upload, metrics ...); a
 * handler answers at once or later (BOSH holds requests), or takes the connection over
 * (a WebSocket upgrade). This file knows nothing of XMPP. */
#ifndef MYNA_HTTP_H
#define MYNA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct conn;
struct config_listen;
struct http_conn;

struct http_request {
    const char *method;  /* "GET", "POST" ... */
    const char *path;    /* decoded of nothing: the path as sent, without the query */
    const char *query;   /* after '?', or "" */
    const char *body;    /* the whole body (Content-Length or chunked), NUL-terminated */
    size_t body_len;
    bool upgrade;        /* Connection: upgrade with an Upgrade header */
    bool secure;         /* arrived over TLS */
    const char *peer;    /* "ip:port" */
    void *sink;          /* a streaming route's body sink (http_route_add_stream), or NULL;
                            the handler owns it from the call on */
    uint64_t content_length; /* from the header, or UINT64_MAX (chunked, none) */
};

/* Handles one request; must end in exactly one http_respond* or a takeover, now or later
 * (the connection is held until then; http_conn_gone says when the client left first). */
typedef void (*http_handler)(struct http_conn *hc, const struct http_request *req, void *ud);

/* Requests whose path is `prefix` or starts with `prefix` followed by '/' (or, when the
 * prefix ends with '/', starts with it) go to fn; the longest prefix wins. Their bodies
 * may have `max_body` bytes (0: the default, 1 MiB). */
void http_route_add(struct server *srv, const char *prefix, http_handler fn, void *ud,
                    size_t max_body);
/* A route whose bodies are not kept in memory: after the headers (the request's method,
 * path, query and headers are known, the body not yet) `begin` answers 0 and sets *sink
 * to take the body, or an HTTP status to refuse it before a byte of it is read (the
 * connection then closes). Each piece of the body goes to `data` (0, or a status to
 * refuse with); when the body is complete fn runs with req->sink, which it then owns.
 * If the request ends before that (a limit, a parse error, the client leaves), `abort`
 * gets the sink instead. Bodies longer than max_body are refused with 413. */
struct http_body_ops {
    int (*begin)(struct http_conn *hc, const struct http_request *req, void *ud, void **sink);
    int (*data)(void *sink, const char *buf, size_t len);
    void (*abort)(void *sink);
};
void http_route_add_stream(struct server *srv, const char *prefix, http_handler fn,
                           const struct http_body_ops *ops, void *ud, size_t max_body);
/* The same for operations endpoints, served only on listeners with `metrics = true`
 * (the others, only on listeners with `web`, the default). */
void http_route_add_ops(struct server *srv, const char *prefix, http_handler fn, void *ud);
void http_routes_free(struct server *srv);

/* Accepts a socket on an http listener (direct TLS when the listener says so). */
void http_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer);

/* A header of the request being handled (case-insensitive name), or NULL. */
const char *http_header(const struct http_conn *hc, const char *name);

/* Answers the request: status line, Content-Type and Content-Length, `headers` (lines
 * each ending in "\r\n", may be NULL), then the body. */
void http_respond(struct http_conn *hc, int status, const char *ctype, const char *headers,
                  const void *body, size_t len);
/* The same with the body read from `fd` (len bytes from its offset), a window at a time
 * as the peer takes it, so a large file never sits in memory; fd is closed when done. */
void http_respond_file(struct http_conn *hc, int status, const char *ctype,
                       const char *headers, int fd, uint64_t len);
/* A short text/plain answer with the status's reason phrase as body. */
void http_error(struct http_conn *hc, int status);
/* Which request this is, so that a held answer (BOSH) can tell the connection still
 * waits for it: answers go only to the request they belong to. */
uint64_t http_request_id(const struct http_conn *hc);
bool http_waiting(const struct http_conn *hc, uint64_t request_id);
/* Notified once when a connection with an unanswered request goes away. */
void http_on_gone(struct http_conn *hc, void (*fn)(void *ud), void *ud);

/* Takes the connection over for another protocol: queues `response` (the 101 answer) and
 * returns the connection, whose ops and owner the caller sets at once. The bytes that
 * followed the request come back through rest and restlen (valid until the caller
 * returns); the caller reads them. */
struct conn *http_takeover(struct http_conn *hc, const char *response, const char **rest,
                           size_t *restlen);

/* Closes idle keep-alive connections and refuses too slow requests (every sweep);
 * forgets addresses with nothing counted. */
void http_sweep(struct server *srv);
/* Exit: the per-address counts go (after http_abort_all). */
void http_addrs_free(struct server *srv);
/* Shutdown: idle connections close now, busy ones after their answer. */
void http_close_idle(struct server *srv);
/* Exit: every connection goes at once. */
void http_abort_all(struct server *srv);

#endif
