/* myna/roster.h — the roster service: what other modules may ask the roster module about a
 * user's contacts (RFC 6121 §2.1 items, their subscription state and groups), e.g. the
 * archive's default='roster' preference (XEP-0441), PEP access models (XEP-0060 §4.5,
 * XEP-0163 §4.1) or presence-based filters.
 *
 * Public API (since 1.1). The roster module publishes one table per host under
 * MYNA_ROSTER_SERVICE; look it up with myna_service_get() when needed (never keep it past
 * the call: the roster module may be reloaded) and list "roster" in `depends` or treat a
 * NULL table as "no roster". Answers come from the roster store as it is now (pending
 * inbound requests from non-contacts are not roster items). Runs on the event loop thread
 * like every module call.
 */
#ifndef MYNA_ROSTER_H
#define MYNA_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/xml.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MYNA_ROSTER_SERVICE "roster"
#define MYNA_ROSTER_SERVICE_VERSION 1

/* Subscription bits (RFC 6121 §2.1.2.5), seen from the roster's owner: TO = the user
 * receives the contact's presence, FROM = the contact receives the user's. */
#define MYNA_ROSTER_SUB_TO 0x1u
#define MYNA_ROSTER_SUB_FROM 0x2u

struct myna_roster_entry {
    bool in_roster;             /* a visible roster item */
    unsigned sub;               /* MYNA_ROSTER_SUB_* bits */
    const char *name;           /* NULL when none */
    const char *const *groups;  /* ngroups group names */
    size_t ngroups;
};

struct myna_roster_service {
    unsigned version; /* MYNA_ROSTER_SERVICE_VERSION of the provider; check before use */
    void *ctx;        /* the provider's instance */
    /* Is `contact` (a prepared bare JID) an item of `user`'s roster (user: a local bare
     * JID)? If so and `sub` is not NULL, *sub gets the MYNA_ROSTER_SUB_* bits. Always pass
     * the table itself as `svc`. */
    bool (*has_item)(const struct myna_roster_service *svc, const char *user,
                     const char *contact, unsigned *sub);
    /* The whole item: name and groups too, strings allocated in `a`. Returns 0, or -1 when
     * the contact is not in the roster (out is zeroed then). */
    int (*lookup)(const struct myna_roster_service *svc, const char *user,
                  const char *contact, struct myna_arena *a, struct myna_roster_entry *out);
};

#ifdef __cplusplus
}
#endif
#endif
