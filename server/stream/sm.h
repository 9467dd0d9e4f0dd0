/* server/stream/sm.h — XEP-0198 stream management on a client stream: the nonzas (<enable/>,
 * <r/>, <a/>), the counters (32-bit, wrapping as §4 says), the queue of stanzas written and
 * not yet acknowledged (references to their shared bytes), asking for acks, and what
 * becomes of the session and of unacknowledged stanzas when the stream ends. Acks only
 * today; resumption (§5) belongs here too: c2s.c hands every decision to these five calls
 * (and binds a session through c2s_attach_session), so it can grow inside this file. */
#ifndef MYNA_SM_H
#define MYNA_SM_H

#include <stdbool.h>
#include <stdint.h>

#include "myna/xml.h"

struct c2s;
struct myna_session;
struct wbuf;
struct sm;

#define SM_FEATURE "<sm xmlns='urn:xmpp:sm:3'/>"

/* An element in urn:xmpp:sm:3 on client stream c (*smp is created by <enable/> once a
 * session is bound). Returns false when el is not in that namespace. */
bool sm_element(struct sm **smp, struct c2s *c, struct myna_xml *el);
/* A stanza arrived from the client: XEP-0198 counts every one, whatever becomes of it. */
void sm_received(struct sm *s);
/* A stanza went to the client: kept until acknowledged; asks for an ack after every 10
 * unacknowledged stanzas, or 1 s after the first. */
void sm_sent(struct sm *s, struct wbuf *b);
/* The client stream ended with session s (NULL if none, already detached from the stream):
 * the session ends, then what the client never acknowledged is routed again (§4: messages
 * to other resources or offline storage, iq requests answered with an error, presence
 * dropped). *smp may be NULL (no stream management). */
void sm_stream_ended(struct sm **smp, struct myna_session *s);
/* Frees the state (unreferencing what is left). NULL is allowed. */
void sm_free(struct sm *s);

#endif
