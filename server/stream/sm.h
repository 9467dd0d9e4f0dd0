/* server/stream/sm.h — XEP-0198 stream management on a client stream: the nonzas (<enable/>,
 * <r/>, <a/>, <resume/>), the counters (32-bit, wrapping as §4 says), the queue of stanzas
 * written and not yet acknowledged (references to their shared bytes, capped in count and
 * bytes), asking for acks, and resumption (§5): a session whose stream broke is held (its
 * presence stays, stanzas to it are queued) until a <resume/> takes it over on a new
 * stream or the resumption timeout ends it; then what the client never acknowledged is
 * routed again. c2s.c hands every decision to these calls. */
#ifndef MYNA_SM_H
#define MYNA_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/xml.h"

struct c2s;
struct myna_session;
struct server;
struct wbuf;
struct sm;

#define SM_FEATURE "<sm xmlns='urn:xmpp:sm:3'/>"

/* An element in urn:xmpp:sm:3 on client stream c (*smp is created by <enable/> once a
 * session is bound, or taken over from a held or older stream by <resume/> before one is).
 * `location`: what <enabled/> names as the place to resume (§5), or NULL. Returns false
 * when el is not in that namespace. */
bool sm_element(struct sm **smp, struct c2s *c, struct myna_xml *el, const char *location);
/* A stanza arrived from the client: XEP-0198 counts every one, whatever becomes of it. */
void sm_received(struct sm *s);
/* A stanza went to the client: kept until acknowledged; asks for an ack after every 10
 * unacknowledged stanzas, or 1 s after the first. Past the unacknowledged cap the stream
 * is closed with policy-violation (later in this loop iteration) and the session ends. */
void sm_sent(struct sm *s, struct wbuf *b);
/* The client stream ended with session s (NULL if none, already detached from the stream).
 * `broken`: the transport went away without a close. A resumable session on a broken
 * stream is held (*smp becomes NULL: the state is no longer the stream's); otherwise the
 * session ends, then what the client never acknowledged is routed again (messages to
 * other resources or offline storage in their order, iq requests answered with an error,
 * the rest dropped). *smp may be NULL (no stream management). */
void sm_stream_ended(struct sm **smp, struct myna_session *s, bool broken);
/* Frees the state (unreferencing what is left). NULL is allowed. */
void sm_free(struct sm *s);

/* A stanza for a session without a stream: queued if the session is held, else dropped. */
void sm_held_write(struct myna_session *s, struct wbuf *b);
/* Bytes waiting for a held session (0 for one that is not held). */
size_t sm_held_bytes(const struct myna_session *s);
/* A stanza the stream can no longer write (CSI held it when the stream ended): queued as
 * unacknowledged, for a resumed stream. */
void sm_queue(struct sm *s, struct wbuf *b);
/* A held session ends now (replaced by a new binding, closed by the server): as if its
 * resumption timeout had passed. No-op for a session that is not held. */
void sm_held_close(struct myna_session *s);
/* For mynactl stats: sessions held now, resumed and expired since start. */
void sm_stats(struct server *srv, size_t *held, uint64_t *resumed, uint64_t *expired);
/* Resumable sessions by id, and ids of ended sessions remembered for <failed/> (bounded). */
void sm_table_sizes(struct server *srv, size_t *ids, size_t *gone);
/* Ends every held session (shutdown), rerouting what they queued. */
void sm_end_all(struct server *srv);
/* Frees the resumption tables (exit, after sm_end_all). */
void sm_server_free(struct server *srv);

/* Applies an acknowledgement h to the counters (for tests): how many queued stanzas
 * it acknowledges, or -1 when it acknowledges more than were sent. */
long sm_ack_count(uint32_t acked, uint32_t h, size_t unacked);

#endif
