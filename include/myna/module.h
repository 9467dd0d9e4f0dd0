/* myna/module.h — the module API: what a Myna module sees of the server.
 *
 * A module is a shared object exporting one `const struct myna_module_desc
 * myna_module_desc` (use MYNA_MODULE_DEFINE). The server loads it once per virtual host that
 * enables it and calls load(m); everything registered through `m` (IQ handlers, hooks,
 * events, features, timers, sub-domains, slots) is removed automatically when the module
 * is unloaded. There are no unregister calls.
 *
 * Threading: every function here must be called from the event loop thread (the thread
 * that runs the module's callbacks). Stanzas passed to handlers are borrowed: valid until
 * the handler returns; copy (myna_xml_copy) anything kept longer.
 * Implemented in server/modhost/module.c and server/modhost/modapi.c.
 */
#ifndef MYNA_MODULE_H
#define MYNA_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/jid.h"
#include "myna/store.h"
#include "myna/xml.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change; a module built for another version is refused. */
#define MYNA_ABI_VERSION 1
/* Bumped when functions are added without breaking modules built for an older minor
 * version. Each added function's comment says which minor version brought it ("since
 * 1.1"), so a module can test MYNA_API_MINOR at compile time. */
#define MYNA_API_MINOR 2

struct myna_module;  /* one loaded instance of a module on one host */
struct myna_session; /* one client (c2s) session, bound to a full JID */

/* ---- Options (typed, validated when the module loads) ---- */

enum myna_opt_type {
    MYNA_OPT_END = 0, /* terminates an option table */
    MYNA_OPT_BOOL,
    MYNA_OPT_INT,
    MYNA_OPT_STRING,
};

struct myna_option {
    const char *name;        /* key in the module's config section */
    enum myna_opt_type type;
    const char *def;         /* default, as text ("true", "10", "hello"); NULL = none */
    long long min, max;      /* bounds for MYNA_OPT_INT (both 0 = unbounded) */
    const char *doc;         /* one line for the generated documentation */
};

/* ---- The descriptor ---- */

struct myna_module_desc {
    unsigned abi;                   /* MYNA_ABI_VERSION */
    const char *name;               /* "ping": config name, and log subsystem */
    const char *description;        /* one line */
    const char *const *depends;     /* NULL-terminated module names, or NULL */
    const struct myna_option *options; /* table ending with MYNA_OPT_END, or NULL */
    /* Called once per host. Return 0, or negative to refuse loading (logged). */
    int (*load)(struct myna_module *m);
    /* Optional: called before the automatic cleanup on unload, and also after load()
     * returned an error (free what load made; myna_module_data may still be NULL). */
    void (*unload)(struct myna_module *m);
};

#define MYNA_MODULE_DEFINE(...)                                                             \
    __attribute__((visibility("default"))) const struct myna_module_desc myna_module_desc = \
        {.abi = MYNA_ABI_VERSION, __VA_ARGS__}

/* ---- The module handle ---- */

const char *myna_module_host(const struct myna_module *m);  /* "example.org" */
const char *myna_module_name(const struct myna_module *m);
/* A pointer the module may use for its own state (set in load, freed in unload). */
void *myna_module_data(const struct myna_module *m);
void myna_module_set_data(struct myna_module *m, void *data);

/* Options of this module on this host (validated against desc->options at load). */
bool myna_opt_bool(const struct myna_module *m, const char *name);
long long myna_opt_int(const struct myna_module *m, const char *name);
const char *myna_opt_string(const struct myna_module *m, const char *name); /* or NULL */

/* ---- Logging and metrics ---- */

enum myna_log_level { MYNA_LOG_ERROR, MYNA_LOG_WARN, MYNA_LOG_INFO, MYNA_LOG_DEBUG };
void myna_log(const struct myna_module *m, enum myna_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds `delta` to the counter `name` (created at first use); shown by `mynactl stats`. */
void myna_metric_add(struct myna_module *m, const char *name, long long delta);

/* ---- Stanzas in flight ---- */

enum myna_stanza_kind { MYNA_MESSAGE, MYNA_PRESENCE, MYNA_IQ };

/* A stanza being routed. The element and JIDs live in the stanza's arena. */
struct myna_stanza {
    struct myna_xml *xml;        /* the stanza element (jabber:client namespace) */
    enum myna_stanza_kind kind;
    const char *type;            /* type attribute, or the default ("normal", "available"...) */
    const char *id;              /* id attribute or NULL */
    struct myna_jid from;        /* always set by the server (stamped for local senders) */
    struct myna_jid to;          /* to attribute; the sender's bare JID/host if absent */
    bool has_to;                 /* the stanza carried a to attribute */
    struct myna_session *origin; /* the local session that sent it, or NULL */
    struct myna_arena *arena;
};

/* ---- Stanza errors (RFC 6120 §8.3.3) ---- */

enum myna_error {
    MYNA_ERR_BAD_REQUEST,
    MYNA_ERR_CONFLICT,
    MYNA_ERR_FEATURE_NOT_IMPLEMENTED,
    MYNA_ERR_FORBIDDEN,
    MYNA_ERR_GONE,
    MYNA_ERR_INTERNAL_SERVER_ERROR,
    MYNA_ERR_ITEM_NOT_FOUND,
    MYNA_ERR_JID_MALFORMED,
    MYNA_ERR_NOT_ACCEPTABLE,
    MYNA_ERR_NOT_ALLOWED,
    MYNA_ERR_NOT_AUTHORIZED,
    MYNA_ERR_POLICY_VIOLATION,
    MYNA_ERR_RECIPIENT_UNAVAILABLE,
    MYNA_ERR_REDIRECT,
    MYNA_ERR_REGISTRATION_REQUIRED,
    MYNA_ERR_REMOTE_SERVER_NOT_FOUND,
    MYNA_ERR_REMOTE_SERVER_TIMEOUT,
    MYNA_ERR_RESOURCE_CONSTRAINT,
    MYNA_ERR_SERVICE_UNAVAILABLE,
    MYNA_ERR_SUBSCRIPTION_REQUIRED,
    MYNA_ERR_UNDEFINED_CONDITION,
    MYNA_ERR_UNEXPECTED_REQUEST,
    MYNA_ERR__COUNT
};

/* Condition element name ("item-not-found") and error type ("cancel", "modify", ...). */
const char *myna_error_condition(enum myna_error e);
const char *myna_error_type(enum myna_error e);

/* Builds (does not send) an error reply to `st` in st's arena: from/to swapped, the
 * original children kept, <error type=...><condition/><text/></error> appended.
 * `text` may be NULL. Returns NULL when st is itself an error (never answer errors). */
struct myna_xml *myna_error_reply(struct myna_stanza *st, enum myna_error e, const char *text);
/* Builds and sends the error reply (no-op for type='error' and iq results). */
void myna_reply_error(struct myna_stanza *st, enum myna_error e, const char *text);
/* The condition for a request whose write failed with store error `err` (since 1.1):
 * resource-constraint when the database is full, internal-server-error otherwise. */
enum myna_error myna_error_from_store(int err);

/* ---- Sending ---- */

/* Routes a stanza as the server would one from `from` (which must be set, and be this
 * host, one of its users, or a claimed sub-domain). The element is borrowed (serialized or
 * copied before this returns; local delivery happens before it returns, in order). The
 * sender's *_OUT hooks do not run (they are for what clients send); the recipient's *_IN
 * hooks do. Returns 0. */
int myna_send(struct myna_module *m, struct myna_xml *stanza);
/* Sends directly to one session, bypassing routing and hooks. */
void myna_session_send(struct myna_session *s, struct myna_xml *stanza);
/* Since 1.1. Sends one message or presence to n recipients (a MUC broadcast): the
 * stanza (its `from` set, its `to` ignored and removed) is serialized once, and for each
 * recipient the server splices to='JID' into those bytes; recipients that are bound local
 * sessions share the one buffer (their IN and DELIVER hooks run on the same element, so
 * hooks must not change it), every other recipient (bare JIDs, unknown resources, remote
 * domains) gets a copy routed as by myna_send(). Recipients are prepared JIDs (parse
 * them once, keep them). Order per recipient is the call order. Returns how many were
 * written to local sessions directly. */
size_t myna_send_fanout(struct myna_module *m, struct myna_xml *stanza,
                        const struct myna_jid *to, size_t n);

/* ---- IQ handlers ---- */

enum myna_iq_type { MYNA_IQ_GET = 1, MYNA_IQ_SET = 2 };

/* Where the iq is addressed (the flags of myna_iq_register; at least one of the first two).
 * An iq to a full JID is delivered to that client and never reaches a handler; an iq to a
 * local part without an account goes to MYNA_HOOK_USER_UNKNOWN, not to TO_USER handlers. */
#define MYNA_IQ_TO_HOST 0x1u    /* to='HOST' (the server itself: version, time, disco) */
#define MYNA_IQ_TO_USER 0x2u    /* to='user@HOST' (an existing account's bare JID), or no
                                   'to' at all (RFC 6120 §10.3.3: the sender's own
                                   account), answered by the server for the user (roster,
                                   vCard, private XML); register both for both */
#define MYNA_IQ_NO_FEATURE 0x4u /* do not advertise the namespace in disco#info */

/* Handles one iq get/set whose first child is (ns, name). The handler must answer
 * exactly once: myna_iq_result(), myna_reply_error(), or myna_iq_defer() to answer later.
 * If it returns without answering, the server answers internal-server-error (and logs).
 * Return 0, or negative for a failure (answered internal-server-error if not answered). */
typedef int (*myna_iq_fn)(struct myna_module *m, struct myna_stanza *st, void *data);

/* Returns 0, or -1 (nothing registered) when ns or fn is NULL or flags name neither
 * TO_HOST nor TO_USER. */
int myna_iq_register(struct myna_module *m, enum myna_iq_type type, const char *ns,
                     const char *name, unsigned flags, myna_iq_fn fn, void *data);

/* Builds a result iq for `st` (from/to swapped, same id) in st's arena; add payload
 * children to it, then myna_iq_send_result() it. */
struct myna_xml *myna_iq_result_new(struct myna_stanza *st);
void myna_iq_send_result(struct myna_stanza *st, struct myna_xml *result);
/* Shortcut: answers with a result carrying a copy of `payload` (NULL = empty result). */
void myna_iq_result(struct myna_stanza *st, const struct myna_xml *payload);

/* An iq to be answered later (e.g. after a storage write is durable). */
struct myna_pending_iq;
/* Takes over the duty to answer; the stanza is copied. */
struct myna_pending_iq *myna_iq_defer(struct myna_stanza *st);
/* Each answers and frees the pending iq. */
void myna_pending_result(struct myna_pending_iq *p, const struct myna_xml *payload);
void myna_pending_error(struct myna_pending_iq *p, enum myna_error e, const char *text);

/* Server-originated iq: sends `iq` (its id is set if missing) and calls fn with the
 * response (type result or error), or with NULL after timeout_ms. */
typedef void (*myna_iq_response_fn)(struct myna_module *m, struct myna_stanza *response,
                                    void *data);
/* Returns 0, or -1 (nothing sent, fn never called) when `iq` has no parsable 'to' or no
 * 'from'. */
int myna_iq_request(struct myna_module *m, struct myna_xml *iq, unsigned timeout_ms,
                    myna_iq_response_fn fn, void *data);

/* ---- Hooks: points a stanza passes on its way ---- */

enum myna_hook {
    /* A stanza from a local session, after `from` is stamped, before routing. */
    MYNA_HOOK_MESSAGE_OUT,
    MYNA_HOOK_PRESENCE_OUT,
    MYNA_HOOK_IQ_OUT,
    /* A stanza addressed to a local user (bare or full JID), before delivery. */
    MYNA_HOOK_MESSAGE_IN,
    MYNA_HOOK_PRESENCE_IN,
    MYNA_HOOK_IQ_IN,
    /* A message to a local user with no available resource to take it (after
     * MESSAGE_IN). If no handler takes it, the sender gets service-unavailable
     * (type chat/normal) or it is dropped (groupchat/headline/error). */
    MYNA_HOOK_MESSAGE_OFFLINE,
    /* A stanza for the host's own JID that nothing else handled (not an iq get/set with
     * a registered handler). Claimed sub-domains get their stanzas through their
     * myna_domain_fn instead, without hooks. */
    MYNA_HOOK_HOST_STANZA,
    /* Just before a stanza is written to one session (after the routing choice).
     * `st->origin` is the sender; use myna_hook_target() for the receiving session. */
    MYNA_HOOK_DELIVER,
    /* A stanza to a JID of the host whose local part has no account (user@host or
     * user@host/res), before the default answer: service-unavailable to messages and iq
     * requests, silence for presence (RFC 6121 §8.5.1). The way to serve bots and other
     * accountless addresses (echo@host); MYNA_HANDLED takes the stanza, and the duty to
     * answer an iq get/set. Since 1.1. */
    MYNA_HOOK_USER_UNKNOWN,
    MYNA_HOOK__COUNT
};

enum myna_verdict {
    MYNA_PASS = 0,    /* continue with the next handler and the default action */
    MYNA_HANDLED = 1, /* stop: the stanza was dealt with (or dropped) here */
};

/* Higher priority runs first. Built-in priorities: blocking 100, privacy-like filters
 * 90, archive 55 (before carbons, so copies carry its stanza-id; and -1000 on
 * MESSAGE_OUT), carbons 50, offline 0 (MESSAGE_OFFLINE). */
typedef enum myna_verdict (*myna_hook_fn)(struct myna_module *m, struct myna_stanza *st,
                                          void *data);
/* Returns 0, or -1 when fn is NULL or `point` is unknown to this server (a hook added in a
 * later API version than the server's: test MYNA_API_MINOR, or treat -1 as "not
 * available"). */
int myna_hook_add(struct myna_module *m, enum myna_hook point, int priority, myna_hook_fn fn,
                  void *data);
/* In a MYNA_HOOK_DELIVER handler: the session the stanza is being delivered to. */
struct myna_session *myna_hook_target(const struct myna_stanza *st);
/* A message routed again because the session it was sent to ended without acknowledging
 * it (XEP-0198): when it first arrived, in ms since the epoch (UTC); 0 for any other
 * stanza. Offline storage files such a message before newer ones. Since 1.1. */
int64_t myna_stanza_rerouted(const struct myna_stanza *st);

/* ---- Lifecycle events ---- */

enum myna_event_type {
    MYNA_EVENT_SESSION_BOUND,     /* session got its full JID (resource bound) */
    MYNA_EVENT_SESSION_AVAILABLE, /* session sent initial presence */
    MYNA_EVENT_SESSION_CLOSED,    /* session ended (any cause); session still readable */
    MYNA_EVENT_USER_CREATED,
    MYNA_EVENT_USER_DELETED,      /* delete the user's data in your stores */
    MYNA_EVENT_ROSTER_CHANGED,    /* `item` is the changed roster <item/> */
    /* Since 1.1: the session's stream broke and XEP-0198 holds the session for resumption:
     * it stays (presence, routing), stanzas to it wait unseen by the client until
     * SESSION_RESUMED, or SESSION_CLOSED when it is not resumed in time. */
    MYNA_EVENT_SESSION_DETACHED,
    MYNA_EVENT_SESSION_RESUMED,   /* since 1.1: a held session is on a new stream again */
    MYNA_EVENT__COUNT
};

struct myna_event {
    enum myna_event_type type;
    const struct myna_jid *user;   /* the user concerned (bare or full JID) */
    struct myna_session *session;  /* for SESSION_* events */
    const struct myna_xml *item;   /* for ROSTER_CHANGED */
};

typedef void (*myna_event_fn)(struct myna_module *m, const struct myna_event *ev, void *data);
/* Returns 0, or -1 when fn is NULL or `type` is unknown to this server. */
int myna_event_subscribe(struct myna_module *m, enum myna_event_type type, myna_event_fn fn,
                         void *data);
/* Emits an event to every subscriber on this host (e.g. the roster module emits
 * ROSTER_CHANGED). */
void myna_event_emit(struct myna_module *m, const struct myna_event *ev);

/* ---- Service discovery (XEP-0030) ---- */

/* Features of the host (a claimed sub-domain answers its own disco). Namespaces
 * of IQ handlers registered for MYNA_IQ_TO_HOST are added automatically. The myna_disco_*
 * registrations return 0 (also when this module already registered the same thing), or
 * -1 when a required string (var, category, type, jid, node, fn) is NULL, or for
 * myna_disco_extension a form without a FORM_TYPE or one whose FORM_TYPE is taken. */
int myna_disco_feature(struct myna_module *m, const char *var);
int myna_disco_identity(struct myna_module *m, const char *category, const char *type,
                        const char *name);
/* A feature on local users' bare JIDs (disco#info to user@host, e.g. PEP). */
int myna_disco_user_feature(struct myna_module *m, const char *var);
/* An identity on local users' bare JIDs, next to account/registered (e.g. pubsub/pep,
 * XEP-0163 §6.1). Since 1.1. */
int myna_disco_user_identity(struct myna_module *m, const char *category, const char *type,
                             const char *name);
/* Adds an item to the host's disco#items (e.g. "conference.example.org"). */
int myna_disco_item(struct myna_module *m, const char *jid, const char *name);
/* Builds the disco#info <query/> (identities, features; `node` NULL) or disco#items
 * <query/> of this host (user NULL) or of a local user's bare JID, from everything the
 * modules registered, in arena `a`. Used by the disco module. */
struct myna_xml *myna_disco_info_build(struct myna_module *m, const struct myna_jid *user,
                                       struct myna_arena *a);
struct myna_xml *myna_disco_items_build(struct myna_module *m, const struct myna_jid *user,
                                        struct myna_arena *a);
/* Since 1.1. Adds a XEP-0128 extended-information form to the host's disco#info (a
 * <x xmlns='jabber:x:data' type='result'/> whose hidden FORM_TYPE field names it, e.g.
 * XEP-0157 contact addresses). The element is copied; the host lists one form per
 * FORM_TYPE (XEP-0128 §2), the first registered. */
int myna_disco_extension(struct myna_module *m, const struct myna_xml *form);
/* Since 1.1. Serves node `node` of the host (XEP-0030 §3.2 info, §4.2 items), e.g. the
 * XEP-0050 command list and each command's node. fn fills `query`, a disco#info
 * (`items` false) or disco#items <query/> whose node attribute is already set, for
 * `requester` (borrowed), and returns 0; or returns a negative value to refuse, with *err
 * (preset to item-not-found) the condition answered. One module per node: a second
 * registration of the same node on the host is refused (-1). */
typedef int (*myna_disco_node_fn)(struct myna_module *m, const struct myna_jid *requester,
                                  const char *node, bool items, struct myna_xml *query,
                                  enum myna_error *err, void *data);
int myna_disco_node(struct myna_module *m, const char *node, myna_disco_node_fn fn,
                    void *data);
/* Since 1.1. For the disco module: asks whoever serves host node `node` to fill `query`.
 * Returns 0, or -1 with *err set (item-not-found when no module serves the node). */
int myna_disco_node_build(struct myna_module *m, const struct myna_jid *requester,
                          const char *node, bool items, struct myna_xml *query,
                          enum myna_error *err);

/* ---- Stream features ---- */

/* Adds a child to <stream:features/> on c2s streams after authentication, built by fn
 * into `features` (e.g. <sub xmlns='urn:xmpp:features:pre-approval'/>). The features are
 * sent before resource binding, so `s` is NULL. */
typedef void (*myna_features_fn)(struct myna_module *m, struct myna_session *s,
                                 struct myna_xml *features, void *data);
int myna_stream_feature(struct myna_module *m, myna_features_fn fn, void *data); /* -1: fn NULL */
/* Handles a top-level non-stanza element (nonza) on authenticated c2s streams, e.g.
 * XEP-0198 <enable/>, XEP-0352 <active/>. Return MYNA_HANDLED if taken. */
typedef enum myna_verdict (*myna_nonza_fn)(struct myna_module *m, struct myna_session *s,
                                           struct myna_xml *el, void *data);
/* Returns 0, or -1 when ns or fn is NULL. */
int myna_nonza_register(struct myna_module *m, const char *ns, myna_nonza_fn fn, void *data);

/* ---- Sub-domains ---- */

/* Claims `sub` (e.g. "conference.example.org"): every stanza to it or its JIDs goes to
 * fn. The sub-domain is served while the module is loaded. Returns 0, or -1 (logged) when
 * `sub` is not a valid domain, or is a host, a configured component or already claimed.
 * For a single accountless address on the host itself (a bot at echo@HOST), use
 * MYNA_HOOK_USER_UNKNOWN instead. */
typedef void (*myna_domain_fn)(struct myna_module *m, struct myna_stanza *st, void *data);
int myna_subdomain_claim(struct myna_module *m, const char *sub, myna_domain_fn fn,
                         void *data);

/* ---- Sessions ---- */

const struct myna_jid *myna_session_jid(const struct myna_session *s); /* full JID */
/* True after initial presence and until unavailable presence. */
bool myna_session_available(const struct myna_session *s);
int myna_session_priority(const struct myna_session *s);
/* The last broadcast presence of the session (no to attribute), or NULL. */
const struct myna_xml *myna_session_presence(const struct myna_session *s);
/* Sets the session's broadcast presence (presence module; copies it). NULL = unavailable. */
void myna_session_set_presence(struct myna_session *s, const struct myna_xml *presence);
/* Bytes queued for the session's client and not yet written to its socket (since 1.1).
 * Output waits for the end of the loop iteration (the commit), and a client that leaves
 * more than 8 MiB unread is dropped: a module delivering much at once (a stored backlog,
 * history) sends in steps while this is small. */
size_t myna_session_queued_bytes(const struct myna_session *s);
/* Ends a session with a stream error condition (RFC 6120 §4.9.3), e.g. "conflict"; a name
 * the RFC does not define becomes undefined-condition. condition NULL closes the stream
 * without an error: the session ends at once, the connection when the client has closed
 * its side too (RFC 6120 §4.4), or after 10 s. */
void myna_session_close(struct myna_session *s, const char *condition, const char *text);
/* True while XEP-0198 holds the session for resumption: its stream broke, the client sees
 * nothing sent to it until it resumes (MYNA_EVENT_SESSION_RESUMED) or the session ends
 * (MYNA_EVENT_SESSION_CLOSED). Since 1.1. */
bool myna_session_detached(const struct myna_session *s);
/* A stable id for the session (not reused in the process lifetime). */
uint64_t myna_session_id(const struct myna_session *s);
/* Looks up a session by id; NULL if it has ended. Use ids, not pointers, across events. */
struct myna_session *myna_session_by_id(struct myna_module *m, uint64_t id);

/* Calls fn for each bound session of local user `bare` (node@host). Returns the count. */
typedef void (*myna_session_fn)(struct myna_session *s, void *data);
size_t myna_user_sessions(struct myna_module *m, const struct myna_jid *bare,
                          myna_session_fn fn, void *data);
/* Since 1.1. Calls fn for each session bound on this host when the call starts (e.g. an
 * announcement to every online user, XEP-0133 §4.23); a session that ends meanwhile is
 * skipped, so fn may send, close sessions or do anything else. Oldest session first.
 * Returns how many fn got. */
size_t myna_host_sessions(struct myna_module *m, myna_session_fn fn, void *data);
/* Session of a local full JID, or NULL. */
struct myna_session *myna_session_find(struct myna_module *m, const struct myna_jid *full);

/* Per-session and per-user data slots. A slot is allocated once in load(); values are
 * freed with the destructor when the session ends / the user's last session ends / the
 * module unloads. */
typedef void (*myna_slot_free_fn)(void *value);
/* Both slot allocators return the slot number (>= 0; they cannot fail). */
int myna_session_slot(struct myna_module *m, myna_slot_free_fn destroy);
void *myna_session_get(const struct myna_session *s, int slot);
void myna_session_set(struct myna_session *s, int slot, void *value);
int myna_user_slot(struct myna_module *m, myna_slot_free_fn destroy);
void *myna_user_get(struct myna_module *m, const struct myna_jid *bare, int slot);
/* Only while the user has at least one session; returns -1 otherwise. */
int myna_user_set(struct myna_module *m, const struct myna_jid *bare, int slot, void *value);
/* Since 1.1. Memory for slot values and other state kept as long as a session or user:
 * small objects come from the server's size-class pool, away from the heap where
 * handshakes and parsers churn, so that an idle session does not pin a heap page (one
 * malloc of 24 bytes per session can keep kilobytes from returning to the system). Zeroed;
 * never NULL (aborts when memory is exhausted). Loop thread only (every callback runs
 * there). Free with the same size; a string with myna_keep_strfree (NULL allowed). */
void *myna_keep_alloc(size_t size);
void myna_keep_free(void *p, size_t size);
char *myna_keep_strdup(const char *s);
void myna_keep_strfree(char *s);

/* ---- Services: modules calling each other ---- */

/* Publishes `table` (typically a const struct of function pointers and a version field,
 * declared in a header the providing module installs) under `name` on this host, e.g. the
 * roster module publishes "roster" so blocking can ask about subscriptions. Returns 0, or
 * -1 if name or table is NULL or the name is taken on this host. Withdrawn automatically
 * when the module unloads. */
int myna_service_publish(struct myna_module *m, const char *name, const void *table);
/* The table published under `name` on this host, or NULL. Look it up when needed (not once
 * in load()): the provider may be unloaded and reloaded. Declare the provider in `depends`
 * to have it loaded first. */
const void *myna_service_get(struct myna_module *m, const char *name);

/* ---- Users ---- */

bool myna_user_exists(struct myna_module *m, const char *node);

/* Accounts on this host, managed as `mynactl` does with the same account code (since 1.1;
 * e.g. XEP-0133 service administration). Results are 0 or one of these, or a store error
 * (myna/store.h). */
#define MYNA_USER_EXISTS (-30201)      /* the account already exists */
#define MYNA_USER_NOTFOUND (-30202)    /* no such account */
#define MYNA_USER_BADPASSWORD (-30203) /* empty, or a character SASLprep prohibits (RFC 4013) */
#define MYNA_USER_BADNAME (-30204)     /* not a prepared localpart (nodeprep, RFC 7622 §3.3) */

/* The outcome of myna_user_create() or myna_user_set_password(), on the loop thread in a
 * unit of work of its own (myna/store.h): writes made here join it. */
typedef void (*myna_user_done_fn)(struct myna_module *m, int result, void *data);
/* Since 1.1. Creates the account node@host with `password` (copied, wiped after use) as
 * `mynactl adduser` does: SCRAM-SHA-1 and SCRAM-SHA-256 keys derived on the server's job
 * pool (PBKDF2 stays off the loop), stored, then MYNA_EVENT_USER_CREATED emitted. Returns
 * 0 once started: done is then called exactly once, with 0 or MYNA_USER_EXISTS (created
 * meanwhile), MYNA_USER_BADPASSWORD or a store error; if the module unloads first, the
 * account is still written but done is not called. Returns MYNA_USER_BADNAME,
 * MYNA_USER_EXISTS or MYNA_USER_BADPASSWORD (empty) at once, without calling done. */
int myna_user_create(struct myna_module *m, const char *node, const char *password,
                     myna_user_done_fn done, void *data);
/* Since 1.1. Replaces the password of node@host as `mynactl passwd` does; the same
 * contract as myna_user_create (MYNA_USER_NOTFOUND instead of MYNA_USER_EXISTS). Open
 * sessions stay; the next login needs the new password. */
int myna_user_set_password(struct myna_module *m, const char *node, const char *password,
                           myna_user_done_fn done, void *data);
/* Since 1.1. Deletes the account node@host as `mynactl deluser` does on a running server:
 * its sessions end (stream error not-authorized), MYNA_EVENT_USER_DELETED is emitted (each
 * module deletes the user's data), then the account and every key "node@host\0..." in
 * every table are deleted. Returns 0, MYNA_USER_NOTFOUND, MYNA_USER_BADNAME, or the store
 * error that failed the current unit of work (then none of its writes stay). Sessions are
 * closed under the caller: never call it while handling a stanza one of the user's own
 * sessions sent (answer, then delete from a timer). */
int myna_user_delete(struct myna_module *m, const char *node);
/* True if `host` is a local virtual host (or a claimed sub-domain). */
bool myna_is_local_host(struct myna_module *m, const char *host);

/* ---- HTTP file upload (XEP-0363) (since 1.1) ---- */

/* The server keeps uploaded files and serves them on its HTTP listeners under /upload/;
 * a module decides who may upload what. */
#define MYNA_UPLOAD_BADNAME (-1) /* empty, a path, a leading '.', control bytes, > 200 bytes */
#define MYNA_UPLOAD_TOOBIG (-2)  /* over the server's http.upload_max_size */
#define MYNA_UPLOAD_NOHTTP (-3)  /* no HTTP listener and no http.external_url */
#define MYNA_UPLOAD_TOOMANY (-4) /* since 1.2: the owner holds 64 slots not yet used */
/* A slot for `owner` (the uploader's bare JID): a PUT URL signed for exactly `size` bytes
 * of `content_type` ("" when the client named none), valid for `ttl` seconds, and the GET
 * URL the file will have. Both are malloc'd (free them). Returns 0 or MYNA_UPLOAD_*.
 * Since 1.2 the slot's size counts in myna_upload_usage until the file is stored or the
 * slot expires. */
int myna_upload_slot(struct myna_module *m, const char *owner, const char *filename,
                     uint64_t size, const char *content_type, unsigned ttl, char **put_url,
                     char **get_url);
/* Bytes of the files stored for `owner` (a bare JID), for quotas; since 1.2 with the sizes
 * of its slots not yet used and not expired, so slots granted together cannot pass a quota
 * together. */
uint64_t myna_upload_usage(struct myna_module *m, const char *owner);
/* The largest upload the server takes (http.upload_max_size). */
uint64_t myna_upload_max_size(struct myna_module *m);

/* ---- Storage ---- */

/* The module's named table `name` (created on first use), shared by all hosts: prefix
 * keys with the user's bare JID and a NUL (myna_store_key() in myna/store.h builds them),
 * so that deleting an account reaches them. Returns NULL (and logs why) when the table
 * cannot be opened: a name LMDB refuses, no room left in the database, or the
 * environment's table limit reached; fail load() then. The table stays valid while the
 * module is loaded. */
struct myna_store *myna_module_store(struct myna_module *m, const char *name);

/* ---- Migration: XEP-0227 export and import (since 1.1) ---- */

/* `mynactl export` writes and `mynactl import` reads the Portable Import/Export Format
 * (XEP-0227): <server-data><host jid=...><user name=...>...</user></host></server-data>.
 * The core writes and reads hosts and accounts (credentials); every other element is a
 * module's: a module registers, in load(), the elements (namespace, name) it exports and
 * imports, per user (inside <user/>) or per host (inside <host/>, e.g. MUC rooms). Import
 * streams the file, one user at a time; each matching element reaches the module as one
 * tree (at most 4 MiB), or item by item for long lists (MYNA_MIGRATION_ITEMS). */

struct myna_export; /* one export in progress: where a module writes its elements */

/* Writes this module's data for `user` (a bare JID), or for the host when registered
 * with MYNA_MIGRATION_HOST (user NULL), with myna_export_write()/_begin()/_end().
 * Return 0, or negative to stop the export (a failed write returns negative: pass it on). */
typedef int (*myna_export_fn)(struct myna_module *m, const struct myna_jid *user,
                              struct myna_export *out, void *data);
/* Takes one imported element for `user` (NULL for host data). Without
 * MYNA_MIGRATION_ITEMS `el` is the registered element and `list` is NULL; with it, `el` is
 * one child element of the registered element and `list` that element (name, namespace
 * and attributes, no children). Both are borrowed for the call. Write to the module's
 * stores as usual: the core commits the batch (or, for a dry run, discards it). The
 * account exists already, and did not before the import started. Return 0, or negative
 * to count the element as refused (log why with myna_log). */
typedef int (*myna_import_fn)(struct myna_module *m, const struct myna_jid *user,
                              const struct myna_xml *list, const struct myna_xml *el,
                              void *data);

#define MYNA_MIGRATION_HOST 0x1u  /* host data (inside <host/>, outside <user/>) */
#define MYNA_MIGRATION_ITEMS 0x2u /* import each child of the element on its own */

/* Since 1.1. Registers the export (exp) and/or import (imp; either may be NULL) of the
 * elements (ns, name). An export function is called once per user (or host) whatever the
 * number of its registrations; register it with one of them and NULL with the others.
 * Importers also get elements other servers wrote in that place (e.g. Prosody's and
 * ejabberd's rosters), so read them leniently. */
/* Returns 0, or -1 when ns or name is NULL, both functions are NULL or flags hold an
 * unknown bit. */
int myna_migration_register(struct myna_module *m, const char *ns, const char *name,
                            unsigned flags, myna_export_fn exp, myna_import_fn imp,
                            void *data);
/* Since 1.1. True while an import callback runs for a dry run: the store writes will be
 * discarded, so a module that also keeps data in memory (e.g. MUC rooms) must check and
 * only validate then. */
bool myna_migration_dry_run(const struct myna_module *m);
/* Since 1.1. Writes `el` (borrowed) and its subtree to the export now. */
int myna_export_write(struct myna_export *out, const struct myna_xml *el);
/* Since 1.1. Opens element `el` (its name, namespace and attributes; its children are
 * ignored) so that the following myna_export_write() calls go inside it, until
 * myna_export_end(): for lists too long to build as one tree (offline messages,
 * archives). Elements may be opened inside each other. */
int myna_export_begin(struct myna_export *out, const struct myna_xml *el);
int myna_export_end(struct myna_export *out);

/* ---- Timers ---- */

typedef void (*myna_timer_fn)(struct myna_module *m, void *data);
/* Runs fn after ms milliseconds (monotonic clock), then every `repeat_ms` if nonzero.
 * Returns a timer id > 0. */
uint64_t myna_timer_add(struct myna_module *m, unsigned ms, unsigned repeat_ms,
                        myna_timer_fn fn, void *data);
void myna_timer_cancel(struct myna_module *m, uint64_t id);
/* Milliseconds of the monotonic clock, and wall-clock seconds since the epoch. */
uint64_t myna_now_ms(void);
/* Since 1.1. Milliseconds since this server process started (XEP-0012 §5 uptime). */
uint64_t myna_server_uptime_ms(const struct myna_module *m);

/* ---- Hash tables ---- */

/* Since 1.1. A keyed 64-bit hash of len bytes (SipHash-2-4 under a random key chosen when
 * the server starts) for a module's hash tables whose keys come from peers (JIDs, room
 * names, node names): without the key no one can choose keys that share a bucket. Not a
 * MAC, and different in every process: never store it. Safe from any thread. */
uint64_t myna_hash(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
