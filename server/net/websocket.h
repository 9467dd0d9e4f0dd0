/* server/net/websocket.h — XMPP over WebSocket (RFC 7395) as a stream transport: the
 * opening handshake on an HTTP request (RFC 6455 §4.2, the `xmpp` subprotocol), frames by
 * wslay, and the XMPP framing: a received <open/> becomes a stream header for the parser
 * above, <close/> its closing tag; every element written goes out as one text message,
 * with the content namespace declared on stanzas (each message is a document of its
 * own). The owner (a client stream) hears of input and of the end through ws_events. */
#ifndef MYNA_WEBSOCKET_H
#define MYNA_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>

struct http_conn;
struct http_request;
struct transport;

struct ws_events {
    /* Bytes of the XML stream (a header, one element, or the closing tag). */
    void (*input)(void *owner, const char *data, size_t len);
    /* The connection is gone; the transport is freed after this returns. */
    void (*gone)(void *owner, const char *why);
};

/* Checks the handshake of `req` (GET, Upgrade: websocket, version 13, a key, the xmpp
 * subprotocol, an allowed Origin: websocket_origin_allowed) and answers 101, or answers
 * the error (400, 403, 426) and returns NULL. On
 * success the transport's content namespace is `ns` (static), its stanza size limit
 * `max_message`; events go to `owner` once websocket_start is called. */
struct transport *websocket_upgrade(struct http_conn *hc, const struct http_request *req,
                                    const char *ns, size_t max_message,
                                    const struct ws_events *ev, void *owner);
/* RFC 6455 §4.2.2 and §10.2: a browser names the page's origin; a page of another site
 * must not drive a user's browser into our server (cross-site WebSocket hijacking).
 * Allowed: no Origin (not a browser), the server's own origin (the authority equals the
 * request's Host or http.external_url's), and http.websocket_origins ("*": any). */
bool websocket_origin_allowed(struct http_conn *hc, const char *const *allowed,
                              const char *external_url);
/* The owner is bound to the transport: bytes that followed the handshake are read now. */
void websocket_start(struct transport *tr);

#endif
