/* server/stream/s2s.h — server-to-server federation (RFC 6120 s2s): the table of remote
 * routes (one outgoing stream per local/remote domain pair, with the stanzas queued while
 * it is set up, retries and bounces), incoming s2s streams, per-domain policy, and what
 * the router, mynactl and main.c need of them. Outgoing streams are s2s_out.c, incoming
 * ones s2s_in.c; this file's s2s.c owns the routes. */
#ifndef MYNA_S2S_H
#define MYNA_S2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"

struct server;
struct config_listen;
struct stanza_ctx;
struct stream;
struct wbuf;
struct myna_buf;

/* Starts federation (the resolver); 0 or -1 with a message in err. */
int s2s_init(struct server *srv, char *err, size_t errlen);
/* Frees the routes (what is still queued goes with them: at exit, after the streams were
 * closed) and the resolver. */
void s2s_free(struct server *srv);
/* A stanza for a remote domain (not a host, sub-domain or component of ours): sent on,
 * queued until the stream is up, or bounced (remote-server-not-found, policy). An unserved
 * sub-domain of one of our hosts is not looked up (remote-server-not-found at once) unless
 * s2s.domains names it. */
void s2s_route(struct server *srv, struct stanza_ctx *st);
/* Accepts a connection on an s2s listener. */
void s2s_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer);
/* Connections in and out (authenticated or not), for `mynactl stats`. */
void s2s_count(struct server *srv, size_t *in, size_t *out);
/* One line per connection ("in|out local remote state peer") for `mynactl s2s`. */
void s2s_list(struct server *srv, struct myna_buf *out);
/* Closes every connection with `domain` (either way); returns how many. */
size_t s2s_close_domain(struct server *srv, const char *domain);
/* `domain` is served here: a host, a claimed sub-domain or a component. */
bool s2s_is_local(struct server *srv, const char *domain);

/* ---- between s2s.c, s2s_out.c and s2s_in.c ---- */

enum s2s_fail { S2S_FAIL_NOT_FOUND, S2S_FAIL_TIMEOUT, S2S_FAIL_POLICY };

struct s2s_out;
struct s2s_in;
/* One local/remote domain pair, while stanzas go or wait for it (s2s.c). */
struct s2s_route;

/* s2s.c: the outgoing stream of `r` is authenticated: queued stanzas go out. */
void s2s_route_ready(struct s2s_route *r, struct s2s_out *o);
/* s2s.c: the attempt failed (before the stream was ready) or the stream ended. */
void s2s_route_lost(struct s2s_route *r, struct s2s_out *o, bool was_ready,
                    enum s2s_fail why);
const char *s2s_route_local(const struct s2s_route *r);
const char *s2s_route_remote(const struct s2s_route *r);

#define S2S_NS_DIALBACK "jabber:server:dialback"
#define S2S_NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"
#define S2S_HEADER_XMLNS " xmlns:db='jabber:server:dialback'"
#define S2S_NS_BIDI "urn:xmpp:bidi"
#define S2S_NS_BIDI_FEATURE "urn:xmpp:features:bidi"

/* s2s.c: a stanza a peer sent on stream st (incoming, or outgoing with XEP-0288): it must
 * carry both addresses (improper-addressing), a `from` in a domain `authorized` says the
 * peer authenticated (invalid-from) and a `to` we serve (host-unknown); then it goes to
 * the router, in jabber:client. */
void s2s_stanza_in(struct stream *st, struct myna_xml *el,
                   bool (*authorized)(void *data, const char *domain), void *data);
/* s2s.c: XEP-0288: an incoming stream on which `local` may send to `remote` (the peer
 * asked for a bidirectional stream and authenticated as `remote`). */
void s2s_bidi_register(struct server *srv, const char *local, const char *remote,
                       struct stream *st);
void s2s_bidi_unregister(struct server *srv, const char *local, const char *remote,
                         struct stream *st);

/* s2s.c: the dialback key (XEP-0220 §2.1.2, XEP-0185): hex HMAC-SHA256 keyed with
 * SHA-256 of our secret (random, kept in DATA_DIR/dialback.secret across restarts) over
 * "receiving originating stream-id". `out` holds 65 bytes. */
void s2s_dialback_key(struct server *srv, const char *receiving, const char *originating,
                      const char *id, char out[65]);

/* s2s_out.c: asks the authoritative server of `originating` whether `key` is right for
 * (receiving, originating, id) over a connection of its own (XEP-0220 §2.1.3): fn gets 1
 * (valid), 0 (invalid) or -1 (no answer). fn runs later, never from this call. */
typedef void (*s2s_verify_fn)(void *data, int valid);
void s2s_out_verify(struct server *srv, const char *receiving, const char *originating,
                    const char *id, const char *key, s2s_verify_fn fn, void *data);

/* s2s_out.c: one attempt: resolve, connect, negotiate. */
struct s2s_out *s2s_out_start(struct server *srv, struct s2s_route *r);
/* Route r no longer wants it (closing, or the route goes away); the stream closes when no
 * pair on it is wanted any more. */
void s2s_out_detach(struct s2s_out *o, struct s2s_route *r);
/* XEP-0220 §2.4: up to this many further local domains share one outgoing stream. */
#define S2S_MAX_PIGGYBACK 16
/* An authenticated stream to the peer that can take one more (local, remote) pair. */
bool s2s_out_can_share(const struct s2s_out *o);
/* Route r (same remote domain, another local one) joins o: a db:result for its pair, then
 * s2s_route_ready or s2s_route_lost (policy, or timeout) for r alone. */
void s2s_out_piggyback(struct s2s_out *o, struct s2s_route *r);
void s2s_out_send(struct s2s_out *o, struct wbuf *w);
void s2s_out_close(struct s2s_out *o);
void s2s_out_describe(struct s2s_out *o, struct myna_buf *b);
/* s2s_in.c */
void s2s_in_count(struct server *srv, size_t *in);
void s2s_in_list(struct server *srv, struct myna_buf *b);
size_t s2s_in_close_domain(struct server *srv, const char *domain);

#endif
