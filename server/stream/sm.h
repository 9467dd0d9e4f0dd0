/* server/stream/sm.h — the outbound queue of XEP-0198 stream management: every stanza written to
 * a session after <enable/> is kept (a reference to its shared bytes) until the client
 * acknowledges it with <a h='N'/>. Counters are 32-bit and wrap as the XEP says (§4). */
#ifndef MYNA_SM_H
#define MYNA_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

struct sm_item {
    struct wbuf *buf;
    struct sm_item *next;
};

struct sm {
    uint32_t in;          /* stanzas received from the client (our h) */
    uint32_t out;         /* stanzas sent since enable */
    uint32_t acked;       /* last h the client sent */
    struct sm_item *head, *tail;
    size_t len;           /* unacknowledged stanzas */
    uint64_t timer;       /* pending ack request, or 0 */
};

struct sm *sm_new(void);
/* Frees the queue (unreferencing what is left). */
void sm_free(struct sm *s);
/* Records one stanza sent. */
void sm_sent(struct sm *s, struct wbuf *b);
/* Applies <a h='h'/>: drops acknowledged stanzas. Returns false if h acknowledges more than
 * was sent (XEP-0198 §4: a stream error). */
bool sm_ack(struct sm *s, uint32_t h);
/* Takes the unacknowledged stanzas, oldest first (the caller unrefs each buf and frees). */
struct sm_item *sm_take(struct sm *s);

#endif
