/* modules/pubsub/pubsub.h — shared declarations of the pubsub module: one publish-subscribe
 * core (XEP-0060, the subset clients use) serving every account's bare JID as a PEP
 * service (XEP-0163) and the generic service pubsub.DOMAIN. A "service" is named by its
 * JID: the account's bare JID, or the claimed sub-domain. Node configuration (config.c),
 * storage (store.c), access models (access.c), the protocol (ops.c, owner.c),
 * notifications (notify.c), entity capabilities (caps.c), PEP presence (pep.c), the generic
 * service (domain.c) and what clients keep in PEP (avatar.c, bookmarks.c) each have a file.
 * Internal to the module, not public API.
 */
#ifndef MYNA_MOD_PUBSUB_H
#define MYNA_MOD_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/dataform.h"
#include "../disco.h"
#include "../private.h"
#include "myna/module.h"

/* Bounds for parsing received data forms (configure, publish-options, XEP-0115 caps
 * answers): far above what any of them has; the stanza size limit bounds them anyway. */
#define PS_FORM_FIELDS 256
#define PS_FORM_VALUES 1024

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_OWNER "http://jabber.org/protocol/pubsub#owner"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"
#define NS_PUBSUB_ERRORS "http://jabber.org/protocol/pubsub#errors"
#define NS_PUBSUB_CONFIG "http://jabber.org/protocol/pubsub#node_config"
#define NS_PUBSUB_PUBLISH_OPTIONS "http://jabber.org/protocol/pubsub#publish-options"
#define NS_PUBSUB_META "http://jabber.org/protocol/pubsub#meta-data"
#define NS_CAPS "http://jabber.org/protocol/caps"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* Node and item names are bounded so keys stay under the store's 511 bytes. */
#define PS_NODE_MAX 256
#define PS_ID_MAX 200

/* ---- node configuration (config.c; XEP-0060 §16.4.4 pubsub#node_config) ---- */

enum ps_access { PS_ACCESS_OPEN, PS_ACCESS_PRESENCE, PS_ACCESS_ROSTER, PS_ACCESS_WHITELIST };
enum ps_publish_model { PS_PUBLISH_PUBLISHERS, PS_PUBLISH_SUBSCRIBERS, PS_PUBLISH_OPEN };
enum ps_send_last { PS_SEND_NEVER, PS_SEND_ON_SUB, PS_SEND_ON_SUB_AND_PRESENCE };

struct ps_config {
    enum ps_access access;
    enum ps_publish_model publish_model;
    enum ps_send_last send_last;
    long long max_items;          /* resolved ("max" = the service limit) */
    bool persist_items;
    bool deliver_notifications;
    bool deliver_payloads;
    bool notify_retract;
    bool notify_delete;
    bool notify_config;
    bool headline;                /* pubsub#notification_type: headline (else normal) */
    const char *title;            /* NULL when unset */
    const char *description;
    const char *payload_type;     /* pubsub#type */
    const char *const *groups;    /* pubsub#roster_groups_allowed */
    size_t ngroups;
};

/* ---- affiliations (XEP-0060 §4.1) ---- */

enum ps_affiliation {
    PS_AFF_NONE,
    PS_AFF_OUTCAST,
    PS_AFF_MEMBER,
    PS_AFF_PUBLISH_ONLY,
    PS_AFF_PUBLISHER,
    PS_AFF_OWNER,
};

/* ---- per host instance ---- */

struct watchers;   /* pep.c */
struct caps_entry; /* caps.c */

struct ps_ctx {
    struct myna_module *m;
    struct myna_store *store;      /* table "pubsub" (store.c) */
    char *domain;                  /* the generic service's JID, or NULL when off */
    bool pep;                      /* PEP on accounts */
    /* limits (config) */
    long long max_nodes;           /* nodes of one account's PEP service */
    long long service_max_nodes;   /* nodes of the generic service */
    long long max_items;           /* items per node ("max") */
    long long max_account_items;   /* items over all nodes of one owner */
    long long max_payload;         /* bytes of one item */
    long long max_subscriptions;   /* subscriptions of one JID */
    char *create_policy;           /* who may create nodes on the generic service */
    /* PEP presence and capabilities (pep.c, caps.c) */
    struct watchers *watch;
    size_t pending_fetches;        /* disco#info requests in flight */
    int avatar_slot;               /* user slot: the XEP-0153 hash (avatar.c) */
    uint64_t seq;                  /* ids of notifications and internal requests */
    bool converting;               /* an avatar/bookmark conversion is publishing */
    bool convert_avatars;          /* XEP-0398 on (option) */
    bool convert_bookmarks;        /* XEP-0402/XEP-0411 on (option) */
    struct disco_user_service disco_svc;
    struct private_extension private_ext;
};

/* A service: an account's PEP or the generic service. Strings borrowed. */
struct ps_service {
    const char *jid;  /* "alice@example.org" or "pubsub.example.org" */
    bool pep;
};

/* A loaded node. Everything lives in the arena it was loaded into. */
struct ps_node {
    const char *name;
    struct ps_config cfg;
    uint64_t next_seq;   /* sequence of the next published item */
    uint32_t nitems;
};

struct ps_item {
    const char *id;
    const char *publisher;       /* full JID of the publisher */
    uint64_t seq;
    struct myna_xml *payload;    /* NULL for an empty item */
};

/* ---- config.c ---- */
void config_default(struct ps_ctx *c, const struct ps_service *svc, struct ps_config *cfg);
/* Applies the fields of a pubsub#node_config (or publish-options) form to cfg. Returns 0,
 * or -1 with *bad = the offending field var (unknown field or invalid value). */
int config_apply(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                 struct ps_config *cfg, const char **bad);
/* Reads a stored configuration form leniently (values out of today's limits clamped). */
void config_load(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                 struct ps_config *cfg);
/* XEP-0060 §7.1.5: every field of publish-options must equal the node's value. Returns 0,
 * or -1 with *bad = the field that differs or is unknown. */
int config_preconditions(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                         const struct ps_config *cfg, const char **bad);
/* The configuration as a form of type `type` ("form" for owners, "submit" for storage). */
struct myna_xml *config_form(struct ps_ctx *c, struct myna_arena *a, struct myna_xml *parent,
                             const struct ps_config *cfg, const char *type);
/* Node meta-data (XEP-0060 §5.4) as a result form. */
void config_meta_form(struct myna_xml *parent, const struct ps_service *svc,
                      const struct ps_node *n);
const char *access_name(enum ps_access a);

/* ---- store.c (LMDB layout documented there) ---- */
int store_node_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   const char *node, struct ps_node *out); /* 0 or MYNA_STORE_NOTFOUND */
int store_node_put(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n);
/* Deletes the node with its items, affiliations and subscriptions. */
int store_node_del(struct ps_ctx *c, const struct ps_service *svc, const char *node);
typedef int (*store_node_fn)(const char *node, void *data);
int store_nodes(struct ps_ctx *c, const struct ps_service *svc, store_node_fn fn, void *data);
size_t store_node_count(struct ps_ctx *c, const struct ps_service *svc);
/* Items over all nodes of the service (its item quota). */
uint64_t store_item_total(struct ps_ctx *c, const struct ps_service *svc);

int store_item_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   const char *node, const char *id, struct ps_item *out);
/* Stores an item (replacing one with the same id) as the newest. *replaced is set when
 * the id existed. Updates n (next_seq, nitems) but does not save the node. */
int store_item_put(struct ps_ctx *c, const struct ps_service *svc, struct ps_node *n,
                   const struct ps_item *it, bool *replaced);
/* Deletes one item; 0, or MYNA_STORE_NOTFOUND. Updates n->nitems. */
int store_item_del(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   struct ps_node *n, const char *id);
/* The newest `max` items (0 = all), oldest first. */
int store_items_latest(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                       const char *node, size_t max, struct ps_item **out, size_t *n);
/* Id of the oldest item, or NULL. */
const char *store_item_oldest(struct ps_ctx *c, struct myna_arena *a,
                              const struct ps_service *svc, const char *node);
int store_items_purge(struct ps_ctx *c, const struct ps_service *svc, struct ps_node *n);

enum ps_affiliation store_aff_get(struct ps_ctx *c, struct myna_arena *a,
                                  const struct ps_service *svc, const char *node,
                                  const char *bare);
int store_aff_set(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                  const char *bare, enum ps_affiliation aff);
typedef int (*store_aff_fn)(const char *jid, enum ps_affiliation aff, void *data);
int store_affs(struct ps_ctx *c, const struct ps_service *svc, const char *node,
               store_aff_fn fn, void *data);

/* Subscriptions (XEP-0060 §4.2): state "subscribed" only (no approval flow) with a subid. */
int store_sub_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                  const char *node, const char *jid, const char **subid);
int store_sub_set(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                  const char *jid, const char *subid); /* subid NULL deletes */
typedef int (*store_sub_fn)(const char *jid, const char *subid, void *data);
int store_subs(struct ps_ctx *c, const struct ps_service *svc, const char *node,
               store_sub_fn fn, void *data);
/* Subscriptions and affiliations a local user holds on other services (reverse index). */
typedef int (*store_ref_fn)(const char *service, const char *node, void *data);
int store_user_refs(struct ps_ctx *c, const char *bare, store_ref_fn fn, void *data);
size_t store_user_sub_count(struct ps_ctx *c, const char *bare);
/* Removes everything of one account: its PEP service and its subscriptions and
 * affiliations elsewhere (nodes it alone owned on the generic service are deleted). */
void store_user_delete(struct ps_ctx *c, const char *bare);

/* ---- access.c (XEP-0060 §4.5, XEP-0163 §4.1) ---- */
enum ps_affiliation access_affiliation(struct ps_ctx *c, struct myna_arena *a,
                                       const struct ps_service *svc, const struct ps_node *n,
                                       const char *bare);
/* May `who` (bare JID) retrieve items / subscribe? On refusal, fills the error. */
struct ps_denial {
    enum myna_error cond;
    const char *app; /* pubsub#errors condition, or NULL */
};
bool access_allowed(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                    const struct ps_node *n, const char *who, struct ps_denial *why);
bool access_may_publish(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                        const struct ps_node *n, const char *who);
/* The account's roster entry for `contact`: subscription bits or -1 (no roster module). */
int access_roster_sub(struct ps_ctx *c, struct myna_arena *a, const char *user,
                      const char *contact);

/* ---- errors.c ---- */
/* Answers st with a stanza error, the pubsub#errors condition `app` (may be NULL) and an
 * optional text. */
void ps_error(struct myna_stanza *st, enum myna_error cond, const char *app, const char *text);
/* feature-not-implemented with <unsupported feature='FEATURE'/> (XEP-0060 §14.2). */
void ps_error_unsupported(struct myna_stanza *st, const char *feature);

/* ---- ops.c: the XEP-0060 protocol for a service ---- */
/* Handles a <pubsub/> (NS_PUBSUB or NS_PUBSUB_OWNER) iq get/set to `svc`. Answers it. */
void ops_iq(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st);
/* Publishes from inside the server (conversions). `options` may be NULL. Returns 0 or a
 * negative value. Notifications are sent as for a client publish. */
int ops_publish_internal(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const char *id, const struct myna_xml *payload,
                         const struct ps_config *create_cfg);
int ops_retract_internal(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const char *id);
/* Answers a set after the store has committed it (RFC 6120 §8.2.3 and durability). */
void ops_answer_durable(struct ps_ctx *c, struct myna_stanza *st, struct myna_xml *payload);

/* owner.c: pubsub#owner use cases (XEP-0060 §8) */
void owner_iq(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
              const struct myna_xml *ps);

/* ---- notify.c (XEP-0060 §7.1.2, §7.2.2.1, §8.2.5.3, §8.4.2, §8.5.2; XEP-0163 §4.3) ---- */
enum ps_event { PS_EV_ITEMS, PS_EV_RETRACT, PS_EV_PURGE, PS_EV_DELETE, PS_EV_CONFIG };
/* Sends the event to every interested entity allowed by the node's access model. For
 * PS_EV_ITEMS `item` is the published item, for PS_EV_RETRACT `item->id` the retracted. */
void notify_event(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n,
                  enum ps_event ev, const struct ps_item *item);
/* Sends the last item (XEP-0060 §6.1.7, XEP-0163 §4.3.4) of node n to one JID. */
void notify_last_item(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n,
                      const char *to);
/* The <message/> of an items event for one item, in arena a. */
struct myna_xml *notify_items_message(struct ps_ctx *c, struct myna_arena *a,
                                      const struct ps_service *svc, const struct ps_node *n,
                                      const struct ps_item *it);

/* ---- caps.c (XEP-0115) ---- */
struct caps_entry;
/* Global cache (shared by all hosts of the process). */
void caps_global_ref(void);
void caps_global_unref(void);
struct caps_entry *caps_lookup(const char *key);            /* "node#ver" (hash), refs it */
void caps_unref(struct caps_entry *e);
struct caps_entry *caps_ref(struct caps_entry *e);
bool caps_has(const struct caps_entry *e, const char *feature);
/* Parses a disco#info <query/> into an entry. When hash/ver are given (XEP-0115 §5.4) the
 * answer is verified: well-formed and the recomputed ver equals `ver`; a verified entry is
 * put in the global cache under key. Returns the entry (referenced) or NULL when the
 * answer is ill-formed. *verified tells whether it was cached. */
struct caps_entry *caps_from_disco(const struct myna_xml *query, const char *hash,
                                   const char *ver, const char *key, bool *verified);
/* XEP-0115 §5.1 verification string of a disco#info query, hashed with `hash`
 * ("sha-1", ...) and base64-encoded into `a`; NULL for an unsupported hash or an
 * ill-formed answer. Exposed for tests. */
const char *caps_ver_string(struct myna_arena *a, const struct myna_xml *query,
                            const char *hash);

/* ---- pep.c ---- */
int pep_register(struct ps_ctx *c);
void pep_unload(struct ps_ctx *c);
/* Calls fn for each available resource of the owner and of contacts with presence known
 * to the owner's PEP service whose capabilities include `feature` (NODE+notify). */
typedef void (*pep_watcher_fn)(const char *full, bool owner, void *data);
void pep_watchers(struct ps_ctx *c, const char *owner, const char *feature, pep_watcher_fn fn,
                  void *data);
void pep_forget_user(struct ps_ctx *c, const char *bare);
/* MYNA_EVENT_USER_DELETED: the account's PEP data and its subscriptions elsewhere go. */
void pep_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data);
bool pep_service_of(struct ps_ctx *c, const struct myna_jid *to, struct ps_service *svc);

/* ---- domain.c ---- */
int domain_register(struct ps_ctx *c);
bool domain_may_create(struct ps_ctx *c, const struct myna_jid *who);

/* ---- avatar.c (XEP-0084, XEP-0398, XEP-0153) ---- */
int avatar_register(struct ps_ctx *c);
/* A PEP publish/retract happened on the owner's node (metadata → vCard). */
void avatar_published(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                      const struct ps_item *it);
void avatar_vcard_changed(struct ps_ctx *c, const struct myna_jid *user,
                          const struct myna_xml *vcard);

/* ---- bookmarks.c (XEP-0402, XEP-0411, XEP-0048) ---- */
bool bookmarks_owns_private(const char *ns);
int bookmarks_private_get(struct ps_ctx *c, const struct myna_jid *user,
                          struct myna_arena *a, struct myna_xml **out);
int bookmarks_private_set(struct ps_ctx *c, const struct myna_jid *user,
                          const struct myna_xml *storage);
/* After a client changed urn:xmpp:bookmarks:1 or storage:bookmarks in PEP. */
void bookmarks_published(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                         const struct ps_item *it, bool retracted);
/* Before a node of the account is read: migrates XEP-0049 bookmarks once (XEP-0411 §4). */
void bookmarks_migrate(struct ps_ctx *c, const struct ps_service *svc, const char *node);

/* ---- migrate.c (XEP-0227: PEP nodes, configuration, affiliations, items) ---- */
int migrate_register(struct ps_ctx *c);

/* ---- util ---- */
/* Base64 (RFC 4648 §4) decoding into a (NULL on bad input; whitespace skipped). */
unsigned char *ps_base64_decode(struct myna_arena *a, const char *text, size_t *len);
/* Lowercase hex SHA-1 of data, in a. */
const char *ps_sha1_hex(struct myna_arena *a, const void *data, size_t len);
const char *ps_next_id(struct ps_ctx *c, struct myna_arena *a, const char *prefix);

#endif
