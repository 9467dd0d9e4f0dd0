/* server/stream/register.h — in-band registration (XEP-0077) on client streams: creating
 * an account before authentication (off unless allow_registration; registration_allow
 * limits addresses and hosts; one per limits.registration_interval per address), and for
 * a logged-in user, always, changing the password and removing the account (with every
 * module's data, as `mynactl deluser`). The stream feature is
 * <register xmlns='http://jabber.org/features/iq-register'/>. */
#ifndef MYNA_REGISTER_H
#define MYNA_REGISTER_H

#include <stdbool.h>

#include "myna/xml.h"

struct c2s;
struct stream;
struct myna_session;

/* Whether this unauthenticated stream may register (for the stream feature). */
bool register_offered(const struct stream *st);
/* An element before authentication: true if it was a jabber:iq:register iq (answered). */
bool register_preauth(struct c2s *c, struct myna_xml *el);
/* A stanza from a bound session: true if it was a jabber:iq:register iq to its server
 * (answered). */
bool register_session(struct c2s *c, struct myna_session *s, struct myna_xml *el);

#endif
