/* modules/pubsub/access.c — who may do what at a node: affiliations (XEP-0060 §4.1; on a
 * PEP service the account is the owner of every node, XEP-0163 §2.2), the access models
 * of §4.5 (open; presence: a presence subscription to the owner, XEP-0163 §4.1; roster: a
 * contact in one of pubsub#roster_groups_allowed; whitelist: owner, publisher or member)
 * with the errors of §6.1.3.2-6.1.3.4 / §6.5.9.6-6.5.9.8, and the publish models of
 * §16.4.4. Roster facts come from the roster module's service (myna/roster.h).
 */
#include <string.h>

#include "myna/roster.h"
#include "pubsub.h"

static const struct myna_roster_service *roster(struct ps_ctx *c)
{
    const struct myna_roster_service *r = myna_service_get(c->m, MYNA_ROSTER_SERVICE);
    return r && r->version >= MYNA_ROSTER_SERVICE_VERSION ? r : NULL;
}

int access_roster_sub(struct ps_ctx *c, struct myna_arena *a, const char *user,
                      const char *contact)
{
    const struct myna_roster_service *r = roster(c);
    struct myna_roster_entry e;
    if (!r)
        return -1;
    if (r->lookup(r, user, contact, a, &e) < 0)
        return 0;
    return (int)e.sub;
}

/* The owners whose presence/roster decide on a generic-service node: for PEP the account,
 * else each local owner affiliation (the first one that admits `who` wins). */
struct owner_check {
    struct ps_ctx *c;
    struct myna_arena *a;
    const struct ps_node *n;
    const char *who;
    bool groups;  /* roster model: check groups, else presence subscription */
    bool ok;
};

static bool owner_admits(struct ps_ctx *c, struct myna_arena *a, const char *owner,
                         const struct ps_node *n, const char *who, bool groups)
{
    const struct myna_roster_service *r = roster(c);
    struct myna_roster_entry e;
    if (!r || r->lookup(r, owner, who, a, &e) < 0)
        return false;
    if (!groups)
        return (e.sub & MYNA_ROSTER_SUB_FROM) != 0;
    for (size_t i = 0; i < e.ngroups; i++)
        for (size_t k = 0; k < n->cfg.ngroups; k++)
            if (strcmp(e.groups[i], n->cfg.groups[k]) == 0)
                return true;
    return false;
}

static int owner_check_one(const char *jid, enum ps_affiliation aff, void *data)
{
    struct owner_check *oc = data;
    if (aff != PS_AFF_OWNER)
        return 0;
    oc->ok = owner_admits(oc->c, oc->a, jid, oc->n, oc->who, oc->groups);
    return oc->ok;
}

static bool owners_admit(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                         const struct ps_node *n, const char *who, bool groups)
{
    if (svc->pep)
        return owner_admits(c, a, svc->jid, n, who, groups);
    struct owner_check oc = {c, a, n, who, groups, false};
    store_affs(c, svc, n->name, owner_check_one, &oc);
    return oc.ok;
}

enum ps_affiliation access_affiliation(struct ps_ctx *c, struct myna_arena *a,
                                       const struct ps_service *svc, const struct ps_node *n,
                                       const char *bare)
{
    if (svc->pep && strcmp(bare, svc->jid) == 0)
        return PS_AFF_OWNER;
    return n ? store_aff_get(c, a, svc, n->name, bare) : PS_AFF_NONE;
}

bool access_allowed(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                    const struct ps_node *n, const char *who, struct ps_denial *why)
{
    enum ps_affiliation aff = access_affiliation(c, a, svc, n, who);
    if (aff == PS_AFF_OUTCAST) {
        *why = (struct ps_denial){MYNA_ERR_FORBIDDEN, NULL}; /* §6.1.3.8 blocked */
        return false;
    }
    if (aff == PS_AFF_OWNER || aff == PS_AFF_PUBLISHER || aff == PS_AFF_MEMBER)
        return true;
    switch (n->cfg.access) {
    case PS_ACCESS_OPEN:
        return true;
    case PS_ACCESS_PRESENCE:
        if (owners_admit(c, a, svc, n, who, false))
            return true;
        *why = (struct ps_denial){MYNA_ERR_NOT_AUTHORIZED, "presence-subscription-required"};
        return false;
    case PS_ACCESS_ROSTER:
        if (owners_admit(c, a, svc, n, who, true))
            return true;
        *why = (struct ps_denial){MYNA_ERR_NOT_AUTHORIZED, "not-in-roster-group"};
        return false;
    case PS_ACCESS_WHITELIST:
        break;
    }
    *why = (struct ps_denial){MYNA_ERR_NOT_ALLOWED, "closed-node"};
    return false;
}

bool access_may_publish(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                        const struct ps_node *n, const char *who)
{
    enum ps_affiliation aff = access_affiliation(c, a, svc, n, who);
    if (aff == PS_AFF_OWNER || aff == PS_AFF_PUBLISHER || aff == PS_AFF_PUBLISH_ONLY)
        return true;
    if (aff == PS_AFF_OUTCAST || svc->pep)
        return false; /* XEP-0163 §2.2: one publisher per PEP node, the account */
    switch (n->cfg.publish_model) {
    case PS_PUBLISH_OPEN:
        return true;
    case PS_PUBLISH_SUBSCRIBERS: {
        const char *subid;
        return store_sub_get(c, a, svc, n->name, who, &subid) == 0;
    }
    case PS_PUBLISH_PUBLISHERS:
        break;
    }
    return false;
}
