/* modules/roster/roster.h — shared declarations of the roster module's files: the contact
 * record (one per user and contact, RFC 6121 §2.1 items plus subscription state of
 * appendix A), its storage, roster pushes, and per-session presence state.
 * A record exists while the contact is in the roster, or has a pending inbound request,
 * or is pre-approved; otherwise it is deleted. Internal to the module, not public API.
 */
#ifndef MYNA_MOD_ROSTER_H
#define MYNA_MOD_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"
#include "myna/roster.h"

#define NS_ROSTER "jabber:iq:roster"

/* Subscription bits: "to" = the user receives the contact's presence, "from" = the contact
 * receives the user's. Both bits = "both" (RFC 6121 §2.1.2.5). */
#define SUB_TO 0x1u
#define SUB_FROM 0x2u

struct contact {
    const char *jid;     /* the contact's bare JID, prepared */
    unsigned sub;        /* SUB_TO | SUB_FROM bits */
    bool ask;            /* pending out: we asked to subscribe (ask='subscribe') */
    bool pending_in;     /* pending in: the contact asked, no answer yet (stored request) */
    bool approved;       /* pre-approved (RFC 6121 §3.4) */
    bool in_roster;      /* a visible roster item (pending-in alone is not one) */
    const char *name;    /* NULL when none */
    const char **groups; /* ngroups group names */
    size_t ngroups;
};

/* Per host instance. */
struct roster_ctx {
    struct myna_roster_service svc; /* published as MYNA_ROSTER_SERVICE */
    struct myna_store *store;  /* "roster": "user\0contact" -> record, "user\0" -> version */
    struct myna_store *requests; /* "roster_requests": "user\0contact" -> the pending
                                    subscription request as received (RFC 6121 §3.1.3) */
    int slot;                  /* session slot: struct roster_sess */
    long long max_items;       /* items per roster */
    long long max_name;        /* bytes of a name attribute */
    long long max_group;       /* bytes of one group name */
    long long max_groups;      /* groups per item */
    uint64_t push_seq;         /* ids of roster pushes */
};

/* Per session (heap; freed by the slot destructor). */
struct roster_sess {
    bool interested;   /* requested the roster: receives pushes (RFC 6121 §2.2) */
    bool versioning;   /* sent a ver attribute: pushes carry ver (RFC 6121 §2.6) */
    bool available;    /* sent initial presence and not yet unavailable */
    char **directed;   /* full/bare JIDs that got directed available presence (§4.6) */
    size_t ndirected;
};

/* store.c */
int contact_get(struct roster_ctx *c, struct myna_arena *a, const char *user,
                const char *contact, struct contact *out);
int contact_put(struct roster_ctx *c, const char *user, const struct contact *ct);
int contact_del(struct roster_ctx *c, const char *user, const char *contact);
/* All records of `user` (in_roster or not), in key order; *out in arena a. */
int contact_list(struct roster_ctx *c, struct myna_arena *a, const char *user,
                 struct contact **out, size_t *n);
size_t roster_count(struct roster_ctx *c, struct myna_arena *a, const char *user);
/* Roster items plus hidden records (pending requests from non-contacts). */
size_t roster_count_all(struct roster_ctx *c, struct myna_arena *a, const char *user);
uint64_t roster_version(struct roster_ctx *c, struct myna_arena *a, const char *user);
/* Stores version + 1 in *ver; returns 0 or a store error. */
int roster_version_bump(struct roster_ctx *c, struct myna_arena *a, const char *user,
                        uint64_t *ver);
/* Stores `ver` as the version; returns 0 or a store error. */
int roster_version_set(struct roster_ctx *c, const char *user, uint64_t ver);
int roster_delete_user(struct roster_ctx *c, const char *user);
/* The stored inbound subscription request of `contact` to `user` (a record with
 * pending_in), extended content (XEP-0172 nick, XEP-0379 token...) included: saved with the
 * record, deleted with it or when it is answered. request_get returns NULL when none (a
 * record written before requests were kept, or an imported one). */
int request_put(struct roster_ctx *c, const char *user, const char *contact,
                const struct myna_xml *presence);
struct myna_xml *request_get(struct roster_ctx *c, struct myna_arena *a, const char *user,
                             const char *contact);

/* roster.c */
struct roster_ctx *roster_ctx(struct myna_module *m);
struct roster_sess *roster_sess(struct myna_module *m, struct myna_session *s);
/* Saves `ct` (or deletes it if it no longer needs a record) and bumps the version; once
 * stored, pushes the item (subscription='remove' when `removed`) to interested resources
 * and emits ROSTER_CHANGED. Only for changes visible in the roster. Returns 0, or the
 * store error (nothing pushed; the request's unit of work has failed). */
int roster_commit(struct myna_module *m, const struct myna_jid *user,
                  const struct contact *ct, bool removed);
/* Saves or deletes a record whose change is not visible in the roster; 0 or an error. */
int roster_save_quiet(struct myna_module *m, const char *user, const struct contact *ct);
struct myna_xml *roster_item_xml(struct myna_xml *parent, const struct contact *ct,
                                 bool removed);
int roster_iq_register(struct myna_module *m);

/* subscription.c (RFC 6121 §3, appendix A) */
bool presence_is_subscription(const char *type);
enum myna_verdict subscription_outbound(struct myna_module *m, struct myna_stanza *st);
enum myna_verdict subscription_inbound(struct myna_module *m, struct myna_stanza *st);
/* Removal of a roster item: cancels both directions (RFC 6121 §2.5.2). */
void subscription_cancel_all(struct myna_module *m, const struct myna_jid *user,
                             const struct contact *ct);

/* migrate.c (XEP-0227 export and import) */
int roster_migration_register(struct myna_module *m);

/* presence.c (RFC 6121 §4) */
int presence_register(struct myna_module *m);
/* Sends a presence stanza of `type` (NULL = available) from `from` to `to`, routed. */
void presence_send(struct myna_module *m, const char *type, const char *from, const char *to);
/* Sends the last presence of each available resource of `user` to `to` (or unavailable
 * presence from each when `unavailable`). */
void presence_send_current(struct myna_module *m, const struct myna_jid *user, const char *to,
                           bool unavailable);
/* Delivers `pres` to each available resource of `user` (subscription requests etc.). */
void presence_deliver_available(struct myna_module *m, const struct myna_jid *user,
                                struct myna_xml *pres);

#endif
