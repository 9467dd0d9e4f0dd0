/* modules/disco.h — the "disco.user" service: how a module that keeps nodes on local
 * users' bare JIDs (PEP, XEP-0163 §6.2) lets the disco module answer disco#items of an
 * account and disco#info about one of its nodes (XEP-0030 §3.2, §4.2; XEP-0060 §5.2-5.3).
 * The provider publishes one table per host with myna_service_publish(); the disco module
 * looks it up on each query. Everything is built in the arena of `query`.
 */
#ifndef MYNA_MOD_DISCO_H
#define MYNA_MOD_DISCO_H

#include "myna/module.h"

#define DISCO_USER_SERVICE "disco.user"
#define DISCO_USER_VERSION 1

struct disco_user_service {
    unsigned version; /* DISCO_USER_VERSION */
    void *ctx;        /* the provider's own state */
    /* Adds <item jid node/> children to the disco#items `query` for the nodes of `user`
     * that `requester` may see. */
    void (*items)(const struct disco_user_service *svc, const struct myna_jid *user,
                  const struct myna_jid *requester, struct myna_xml *query);
    /* Fills the disco#info `query` about `node` of `user`; returns 0, or -1 when there is
     * no such node for this requester (answered item-not-found). */
    int (*info)(const struct disco_user_service *svc, const struct myna_jid *user,
                const struct myna_jid *requester, const char *node, struct myna_xml *query);
};

#endif
