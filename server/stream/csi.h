/* server/stream/csi.h — XEP-0352 client state indication on a client stream. While the
 * client says it is inactive, available/unavailable presence for it is held, only the
 * latest per sender (at most 256 senders), and written before anything else that goes to
 * the client or when it becomes active: the client still sees an order the server could
 * have produced. The state lives in struct csi inside the client stream; c2s.c calls
 * csi_hold/csi_flush on its write path and csi_element for the nonzas. */
#ifndef MYNA_CSI_H
#define MYNA_CSI_H

#include <stdbool.h>

#include "myna/xml.h"

struct wbuf;
struct csi_held;

#define CSI_FEATURE "<csi xmlns='urn:xmpp:csi:0'/>"

struct csi {
    struct csi_held *held; /* oldest first */
    bool inactive;         /* the client said <inactive/> */
};

/* Writes one held stanza to the client. */
typedef void (*csi_write_fn)(void *ud, struct wbuf *b);

/* <inactive/> or <active/> (urn:xmpp:csi:0); going active writes what is held. Returns
 * false when el is neither. */
bool csi_element(struct csi *x, const struct myna_xml *el, csi_write_fn write, void *ud);
/* A stanza for the client while inactive: true when it is held (a reference is taken). */
bool csi_hold(struct csi *x, struct wbuf *b);
/* Writes what is held, oldest first, and forgets it. */
void csi_flush(struct csi *x, csi_write_fn write, void *ud);
/* Forgets what is held without writing it (the stream is gone). */
void csi_clear(struct csi *x);

#endif
