/* modules/roster/roster_service.h — the "roster" service the roster module publishes on
 * each host, for modules that decide by presence subscription or roster group (PEP access
 * models, XEP-0060 §4.5 / XEP-0163 §4.1; blocking-like filters). Look it up with
 * myna_service_get(m, ROSTER_SERVICE) when needed and list "roster" in `depends`.
 * Answers come from the roster store as it is now (RFC 6121 §2.1, appendix A states).
 */
#ifndef MYNA_MOD_ROSTER_SERVICE_H
#define MYNA_MOD_ROSTER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/module.h"

#define ROSTER_SERVICE "roster"
#define ROSTER_SERVICE_VERSION 1

/* Subscription bits as seen from the roster's owner (RFC 6121 §2.1.2.5). */
#define ROSTER_SUB_TO 0x1u   /* the owner receives the contact's presence */
#define ROSTER_SUB_FROM 0x2u /* the contact receives the owner's presence */

struct roster_entry {
    bool in_roster;             /* a visible roster item */
    unsigned sub;               /* ROSTER_SUB_* bits */
    const char *name;           /* NULL when none */
    const char *const *groups;  /* ngroups group names */
    size_t ngroups;
};

struct roster_service {
    unsigned version; /* ROSTER_SERVICE_VERSION */
    void *ctx;        /* the roster module's instance */
    /* What local user `user` (bare JID) has about `contact` (bare JID), strings in `a`.
     * Returns 0, or -1 when the contact is not in the roster (out is zeroed then). */
    int (*lookup)(const struct roster_service *svc, const char *user, const char *contact,
                  struct myna_arena *a, struct roster_entry *out);
};

#endif
