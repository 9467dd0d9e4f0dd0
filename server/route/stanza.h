/* server/route/stanza.h — stanzas in flight: the private state behind struct myna_stanza
 * (reply bookkeeping that guarantees each iq get/set one answer, the delivery target for
 * DELIVER hooks), building one from a parsed element, and the RFC 6120 stanza error table
 * (stream errors are the stream layer's, server/stream/stream.h). */
#ifndef MYNA_STANZA_H
#define MYNA_STANZA_H

#include <stdbool.h>
#include <stdint.h>

#include "myna/module.h"

struct server;

struct stanza_ctx {
    struct myna_stanza pub;
    struct server *srv;
    bool answered;                 /* an iq get/set got its reply (or was deferred) */
    struct myna_session *target;   /* DELIVER hook: receiving session */
    int64_t rerouted_ms;           /* a stanza routed again after its session ended: when
                                    * it first arrived (wall clock, ms); else 0 */
};

#define STANZA_CTX(st) ((struct stanza_ctx *)(st))

/* Fills ctx from element el (which lives in its arena). `from` is given by the caller
 * (stamped) or taken from the element when NULL. Returns 0, or an error for the sender:
 * MYNA_ERR_JID_MALFORMED for a bad to/from, MYNA_ERR_BAD_REQUEST for a bad type/id. */
int stanza_init(struct stanza_ctx *ctx, struct server *srv, struct myna_xml *el,
                const struct myna_jid *from, struct myna_session *origin,
                enum myna_error *err);

/* A bare error answer to element el (same name and id, type='error', `to` if not NULL)
 * with <error type=...><condition/></error>, in el's arena. For stanzas that could not be
 * parsed into a struct myna_stanza (bad addressing), answered on the stream they came on. */
struct myna_xml *stanza_error_element(const struct myna_xml *el, const char *to,
                                      enum myna_error e);

/* After a stanza from a stream was handled in its unit of work (myna/store.h): if a write
 * of the unit failed and nothing answered the sender yet, answers with that error. */
void stanza_check_unit(struct stanza_ctx *ctx);

/* Routes an answer/any stanza built by the server (from/to set on the element). */
void stanza_send(struct server *srv, struct myna_xml *el);

#endif
