/* server/route/router.h — where a stanza goes (RFC 6120 §10, RFC 6121 §8): local users' full
 * and bare JIDs, the host itself (module IQ handlers), claimed sub-domains, remote
 * domains (through server/stream/s2s.c). Runs module hooks on the way. */
#ifndef MYNA_ROUTER_H
#define MYNA_ROUTER_H

#include "server/route/stanza.h"

/* Routes a stanza from a local session (after OUT hooks) or from the server. The stanza
 * and its arena stay owned by the caller. */
void router_route(struct server *srv, struct stanza_ctx *st);
/* Handles a stanza a local session sent: runs the OUT hooks, then routes. */
void router_from_session(struct server *srv, struct stanza_ctx *st);
/* Delivers to one session, running DELIVER hooks. */
void router_deliver(struct server *srv, struct stanza_ctx *st, struct myna_session *s);

/* Sends a server-originated iq and calls fn with the answer or NULL on timeout. */
int router_iq_request(struct server *srv, struct myna_module *m, struct myna_xml *iq,
                      unsigned timeout_ms, myna_iq_response_fn fn, void *data);
/* Forgets a module's pending requests (it is being unloaded). */
void router_forget_module(struct server *srv, struct myna_module *m);
/* Frees pending requests (exit path; their timers die with the loop). */
void router_free(struct server *srv);

#endif
