/* server/stream/c2s.h — client-to-server streams (RFC 6120 §4-7): stream header, STARTTLS,
 * SASL (SCRAM-SHA-1/256 and -PLUS, PLAIN over TLS), resource binding, then stanzas to the
 * router, on the stream layer (stream.h). One struct c2s per connection; it owns the SASL
 * state and the session once bound. */
#ifndef MYNA_C2S_H
#define MYNA_C2S_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct config_listen;
struct myna_session;
struct stream;
struct wbuf;
struct c2s;

/* Accepts a new client connection on a c2s listener. */
void c2s_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer);
struct http_conn;
struct http_request;
/* An HTTP request for an XMPP WebSocket (RFC 7395): upgrades it and starts a client
 * stream over it (an http_handler; ud is the server). */
void c2s_websocket(struct http_conn *hc, const struct http_request *req, void *ud);
/* A request to the BOSH endpoint (XEP-0206): sessions carry client streams. */
void c2s_bosh(struct http_conn *hc, const struct http_request *req, void *ud);
/* Sends a stream error (condition NULL = none; a name RFC 6120 does not define becomes
 * undefined-condition) and </stream:stream>, then closes. The session, if any, ends at
 * once. */
void c2s_close(struct c2s *c, const char *condition, const char *text);
void c2s_write(struct c2s *c, struct wbuf *b);
/* c2s_write of shared[0, split) + piece + shared[split, len): a fan-out stanza with this
 * recipient's `to` spliced in. The shared bytes are queued by reference when nothing on
 * the stream needs the stanza whole (no stream management queue, no CSI, no TLS). */
void c2s_write_splice(struct c2s *c, struct wbuf *shared, size_t split, const char *piece,
                      size_t plen);
/* Bytes queued for the client and not yet written to its socket. */
size_t c2s_queued_bytes(const struct c2s *c);

/* For what runs on a client stream (sm.c): its stream layer part, its session (NULL before
 * binding), and binding a session to it (resource binding; a resumed session). */
struct stream *c2s_stream(struct c2s *c);
struct myna_session *c2s_session(const struct c2s *c);
void c2s_attach_session(struct c2s *c, struct myna_session *s);
/* The authenticated account's node (prepared), NULL before SASL succeeded. */
const char *c2s_user(const struct c2s *c);
/* Takes the session and the XEP-0198 state away from c (a resumed stream has them now):
 * closing c afterwards ends neither. */
void c2s_release(struct c2s *c);

#endif
