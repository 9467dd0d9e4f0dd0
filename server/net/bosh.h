/* server/net/bosh.h — BOSH (XEP-0124) carrying XMPP (XEP-0206) as a stream transport:
 * sessions made by a first <body/> without sid, requests held up to `hold` and `wait`,
 * request ids checked against a window, responses kept until acknowledged and sent again
 * when a request is repeated, restarts, terminate, the inactivity timeout and polling
 * limits, CORS answers. The stanzas of each request body go up to the owner (a client
 * stream) as bytes of one XML stream; everything the stream writes goes out in the next
 * response body. */
#ifndef MYNA_BOSH_H
#define MYNA_BOSH_H

#include <stdbool.h>
#include <stddef.h>

struct server;
struct http_conn;
struct http_request;
struct transport;

struct bosh_hooks {
    /* A session was created for `peer` ("ip:port"): bind an owner (a client stream) to
     * `tr` and return it, or NULL to refuse the session (policy-violation). */
    void *(*create)(struct server *srv, struct transport *tr, bool secure, const char *peer);
    /* Bytes of the XML stream (a header, elements, the closing tag). */
    void (*input)(void *owner, const char *data, size_t len);
    /* The id of the owner's stream (the session response's authid). */
    const char *(*stream_id)(void *owner);
    /* The session is gone; the transport is freed after this returns. */
    void (*gone)(void *owner, const char *why);
};

/* Handles a request to the BOSH endpoint (POST, and OPTIONS for CORS). */
void bosh_request(struct server *srv, struct http_conn *hc, const struct http_request *req,
                  const struct bosh_hooks *hooks);
/* Answers held requests whose wait is over and ends sessions past their inactivity. */
void bosh_sweep(struct server *srv);
/* Exit: every session ends at once. */
void bosh_free_all(struct server *srv);

#endif
