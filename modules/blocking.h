/* modules/blocking.h — the "blocking" service the blocking module (XEP-0191) publishes, for
 * modules that send stanzas on a user's behalf without passing the user's outbound hooks
 * (PEP notifications, XEP-0163 §4.3.3: none to an entity the owner has blocked). Look it
 * up with myna_service_get(m, BLOCKING_SERVICE) when needed; absent means nothing blocked.
 */
#ifndef MYNA_MOD_BLOCKING_H
#define MYNA_MOD_BLOCKING_H

#include <stdbool.h>

#include "myna/module.h"

#define BLOCKING_SERVICE "blocking"
#define BLOCKING_SERVICE_VERSION 1

struct blocking_service {
    unsigned version; /* BLOCKING_SERVICE_VERSION */
    struct myna_module *provider;
    /* Does local user `user`'s (bare JID) blocklist match `who` (XEP-0191 §3.3)? */
    bool (*blocks)(const struct blocking_service *svc, const char *user,
                   const struct myna_jid *who);
};

#endif
