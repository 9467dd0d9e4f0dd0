/* modules/muc/muc.h — the Multi-User Chat service (XEP-0045) as one module: the service
 * on its sub-domain, rooms, occupants with their real sessions, affiliations, and the
 * internal interfaces between the files (one concept each). Everything runs on the loop
 * thread; rooms and occupants are owned by the service (struct muc) and referred to by
 * name across callbacks, never by pointer from outside. Remote occupants are ordinary
 * JIDs: every stanza to one is sent through the router. */
#ifndef MYNA_MUC_H
#define MYNA_MUC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <myna.h>
#include <myna/archive.h>

#include "../common/dataform.h"

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define NS_MUC_UNIQUE "http://jabber.org/protocol/muc#unique"
#define NS_MUC_REQUEST "http://jabber.org/protocol/muc#request"
#define NS_MUC_REGISTER "http://jabber.org/protocol/muc#register"
#define NS_MUC_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"
#define NS_MUC_ROOMINFO "http://jabber.org/protocol/muc#roominfo"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_REGISTER "jabber:iq:register"
#define NS_PING "urn:xmpp:ping"
#define NS_SID "urn:xmpp:sid:0"
#define NS_OCCUPANT_ID "urn:xmpp:occupant-id:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_MODERATE0 "urn:xmpp:message-moderate:0"
#define NS_MODERATE1 "urn:xmpp:message-moderate:1"
#define NS_RETRACT0 "urn:xmpp:message-retract:0"
#define NS_RETRACT1 "urn:xmpp:message-retract:1"
#define NS_FASTEN "urn:xmpp:fasten:0"
#define NS_CONFERENCE "jabber:x:conference"
#define NS_MAM "urn:xmpp:mam:2"
#define NS_MAM_EXTENDED "urn:xmpp:mam:2#extended"

/* §5.1 roles and §5.2 affiliations, ordered by privilege so that comparisons work. */
enum muc_role { ROLE_NONE, ROLE_VISITOR, ROLE_PARTICIPANT, ROLE_MODERATOR };
enum muc_aff { AFF_OUTCAST, AFF_NONE, AFF_MEMBER, AFF_ADMIN, AFF_OWNER };
enum muc_pm { PM_ANYONE, PM_PARTICIPANTS, PM_MODERATORS, PM_NONE };
enum muc_create { CREATE_ANYONE, CREATE_LOCAL, CREATE_ADMINS };

const char *muc_role_name(enum muc_role r);
const char *muc_aff_name(enum muc_aff a);
int muc_role_parse(const char *s);  /* -1 if unknown */
int muc_aff_parse(const char *s);   /* -1 if unknown */

/* ---- a string-keyed hash map (map.c) ---- */
struct muc_map_ent {
    char *key;
    void *val;
    struct muc_map_ent *next;
};
struct muc_map {
    struct muc_map_ent **b;
    size_t nb, n;
};
void *muc_map_get(const struct muc_map *m, const char *key);
/* Sets key (copied) to val; returns the previous value or NULL. */
void *muc_map_put(struct muc_map *m, const char *key, void *val);
void *muc_map_del(struct muc_map *m, const char *key);
void muc_map_each(const struct muc_map *m, void (*fn)(const char *key, void *val, void *d),
                  void *d);
/* muc_map_each in key order (the hash order changes with every process: anything written
 * to the store or sent to clients goes in this order); fn must not change the map. */
void muc_map_each_sorted(const struct muc_map *m,
                         void (*fn)(const char *key, void *val, void *d), void *d);
void muc_map_free(struct muc_map *m);

/* ---- the room configuration (§10.2 muc#roomconfig) ---- */
struct muc_config {
    char *name, *desc, *password;
    bool persistent, public_room, members_only, moderated, password_protected;
    bool nonanonymous;   /* whois = anyone */
    bool change_subject, allow_invites;
    bool logging;        /* enablelogging: the room's archive (history.c) */
    enum muc_pm allow_pm;
    unsigned max_users;  /* 0 = the service limit */
    unsigned history_len;
};

/* One affiliation row (§5.2), keyed by bare JID; nick = registered nickname (§7.10). */
struct muc_aff_row {
    enum muc_aff aff;
    char *nick;
    char *reason;
};

/* One real session of an occupant (§7.2: several sessions of one user may share a nick). */
struct muc_conn {
    struct myna_arena *a;
    struct myna_jid jid;   /* prepared real full JID, in a */
    struct muc_conn *next;
};

struct room;

struct occupant {
    struct room *room;
    char *nick;
    char *ojid;                /* room@service/nick */
    char *bare;                /* the real bare JID */
    enum muc_role role;
    struct muc_conn *conns;    /* newest first; never empty while the occupant exists */
    struct myna_arena *pa;     /* owns presence */
    struct myna_xml *presence; /* last presence from the occupant (its children matter) */
    char occupant_id[40];      /* XEP-0421 */
    struct occupant *prev, *next;
};

struct room {
    struct muc *svc;
    char *node;
    char *jid;                 /* node@service */
    struct muc_config cfg;
    struct muc_map affs;       /* bare JID -> struct muc_aff_row */
    struct muc_map by_nick;    /* nick -> occupant */
    struct muc_map by_real;    /* real full JID -> occupant */
    struct occupant *head, *tail;
    size_t nocc;
    char *subject, *subject_by; /* subject_by: nick, or NULL for the room */
    bool locked;               /* §10.1: created and not yet configured */
    char *creator;             /* bare JID of the creator while locked */
    struct muc_map joins;      /* bare JID -> struct muc_bucket, join flood control */
    struct myna_jid *rcpt;     /* every real session, for broadcasts; rebuilt when stale */
    size_t nrcpt;
    bool rcpt_valid;
    bool hist_merged;          /* archived, and the local history was moved in (history.c) */
};

struct muc_bucket {
    double tokens;
    uint64_t at;
};

struct muc {
    struct myna_module *m;
    char *domain;
    enum muc_create create;
    char **admins;             /* service admins: owners of every room */
    size_t nadmins;
    unsigned max_rooms_per_user, max_occupants, history_max, max_nick, max_subject;
    unsigned join_burst, join_per_minute, items_page;
    bool log_default;          /* new rooms log (are archived) when the archive is there */
    struct muc_map rooms;      /* node -> room */
    struct muc_map joined;     /* real full JID -> struct muc_joined */
    struct myna_store *t_rooms, *t_history, *t_meta;
    unsigned char secret[16];  /* XEP-0421 occupant ids, kept in t_meta */
    char boot[17];             /* XEP-0359 ids: per-start prefix + counter */
    uint64_t sid_next;
    struct muc_fwd *forwards;  /* iqs forwarded to occupants, awaiting their answer */
    char **bounced;            /* real JIDs to remove with 333 on the next loop turn */
    size_t nbounced;
    uint64_t bounce_timer;
};

/* An iq forwarded to an occupant (§6.6); answered when the occupant answers, or on
 * unload. */
struct muc_fwd {
    struct muc *svc;
    struct myna_pending_iq *p;
    struct muc_fwd *prev, *next;
};

/* Rooms a real full JID is in (for SESSION_CLOSED and error bounces). */
struct muc_joined {
    struct room **rooms;
    size_t n, cap;
};

/* ---- service.c ---- */
bool muc_is_admin(const struct muc *svc, const char *bare);
/* Sends an error reply `e` with text; never for errors. */
void muc_error(struct myna_stanza *st, enum myna_error e, const char *text);

/* ---- room.c ---- */
struct room *room_find(struct muc *svc, const char *node);
struct room *room_create(struct muc *svc, const char *node);
/* Frees a room with no occupants (memory only; persistence is store.c's). */
void room_free(struct room *r);
/* Destroys a room: occupants removed (with `destroy` element if given), stores cleared. */
void room_destroy(struct room *r, const struct myna_xml *destroy);
/* Called when an occupant left: temporary rooms vanish with their last occupant. */
void room_maybe_vanish(struct room *r);
enum muc_aff room_aff(const struct room *r, const char *bare);
struct muc_aff_row *room_aff_row(struct room *r, const char *bare);
/* Sets an affiliation (AFF_NONE without nick removes the row); persists. */
void room_set_aff(struct room *r, const char *bare, enum muc_aff aff, const char *reason);
/* The bare JID that registered `nick`, or NULL. */
const char *room_nick_owner(const struct room *r, const char *nick);
size_t room_count_owned(struct muc *svc, const char *bare);
unsigned room_max_users(const struct room *r);
/* The recipients of a broadcast: every real session of every occupant. */
const struct myna_jid *room_recipients(struct room *r, size_t *n);
void room_default_config(struct muc *svc, struct muc_config *c);
void room_config_free(struct muc_config *c);

/* ---- store.c: persistent rooms (config, affiliations, subject) in LMDB ---- */
void store_save(struct room *r);   /* no-op for temporary rooms */
void store_delete(struct room *r);
int store_load_all(struct muc *svc);
int store_secret(struct muc *svc);
/* Rooms in XEP-0227 exports and imports (host data). */
int store_migration_register(struct muc *svc);

/* ---- history.c: the room's messages behind one interface (XEP-0045 §7.2.15 history,
 * XEP-0313 room archive, XEP-0359 ids), with two backends: the mam module's archive
 * service for rooms that log while the mam module is loaded (history_archive.c), the
 * bounded local store otherwise (history_local.c) ---- */
struct history_req {
    long maxstanzas, maxchars, seconds; /* -1 = not given */
    long long since;                    /* unix seconds, -1 = not given */
};
enum hist_kind {
    HIST_NONE,       /* kept nowhere: chat states, XEP-0334 no-store / no-permanent-store */
    HIST_EVENT,      /* archived, not history on join: subject changes, notices, retractions */
    HIST_DISCUSSION, /* archived and history on join: a body without a subject */
};
/* What a groupchat message from an occupant is (XEP-0313 §5.1.2, XEP-0334 §4). */
enum hist_kind history_kind(const struct myna_xml *msg);
/* The mam module's archive service is on this host (rooms that log are archived). */
bool history_can_archive(const struct muc *svc);
/* The archive service if the room's messages go to its archive (logging on and the mam
 * module loaded on this host), else NULL. Never kept: looked up at each use. */
const struct myna_archive_service *history_archive(struct room *r);
/* Records a message the room is about to broadcast (from set, no to) and marks it with
 * the room's <stanza-id/>. Archived rooms append events and discussion to the archive,
 * whose id it gets (a HIST_NONE message gets none: every id a client sees can be used in
 * MAM queries); other rooms give every message an id of their own and keep discussion in
 * the local store. `with` is the sender's real full JID (NULL for the room itself). */
void history_record(struct room *r, struct myna_xml *msg, const char *with,
                    enum hist_kind kind);
/* Sends the recent discussion matching q to one real JID, oldest first, with its
 * stanza-id and a delay. */
void history_send(struct room *r, const struct history_req *q, const struct myna_jid *to);
/* The recorded message with stanza id `id`, copied into arena a; -1 if unknown. */
int history_get(struct room *r, const char *id, struct myna_arena *a, struct myna_xml **msg);
/* Replaces it by `tomb` (XEP-0425 tombstone), keeping its id and time; -1 if unknown. */
int history_replace(struct room *r, const char *id, const struct myna_xml *tomb);
/* Deletes everything kept for the room, in both backends (destruction, vanishing). */
void history_clear(struct room *r);

/* The backends (history_local.c, history_archive.c), through history.c only. One kept
 * message; id and msg in the caller's arena. */
struct hist_item {
    uint64_t stamp_ms;
    const char *id;
    struct myna_xml *msg;
};
/* Newest `max` discussion items archived at or after since_ms (0 = any), oldest first. */
size_t hlocal_recent(struct room *r, size_t max, uint64_t since_ms, struct myna_arena *a,
                     struct hist_item **out);
void hlocal_append(struct room *r, const struct myna_xml *msg, const char *id);
int hlocal_get(struct room *r, const char *id, struct myna_arena *a, struct myna_xml **msg);
int hlocal_replace(struct room *r, const char *id, const struct myna_xml *tomb);
/* Every item, oldest first (for the move into the archive). */
size_t hlocal_all(struct room *r, struct myna_arena *a, struct hist_item **out);
void hlocal_clear(struct room *r);
size_t harch_recent(const struct myna_archive_service *s, struct room *r, size_t max,
                    uint64_t since_ms, struct myna_arena *a, struct hist_item **out);
/* Appends; false (and msg unmarked) when the archive refused it. */
bool harch_append(const struct myna_archive_service *s, struct room *r, struct myna_xml *msg,
                  const char *with);
int harch_get(const struct myna_archive_service *s, struct room *r, const char *id,
              struct myna_arena *a, struct myna_xml **msg);
int harch_replace(const struct myna_archive_service *s, struct room *r, const char *id,
                  const struct myna_xml *tomb);
/* Moves the local history of a room that is archived now into its archive. */
void harch_merge_local(const struct myna_archive_service *s, struct room *r);

/* ---- mam.c: XEP-0313 queries on a room's archive (access, real JIDs) ---- */
void mam_iq(struct muc *svc, struct room *r, struct myna_stanza *st);

/* ---- occupant.c: joining, presence, nick changes, leaving (§7.1-7.7, 7.14) ---- */
void occ_presence(struct muc *svc, struct myna_stanza *st);
struct occupant *occ_by_real(struct room *r, const char *full);
/* Removes a whole occupant with an unavailable presence to all (self copies get 110).
 * codes/actor/reason describe why (§9: 307 kick, 301 ban, 321, 322, 332, 333). */
struct occ_why {
    int codes[4];
    size_t ncodes;
    const char *actor;   /* the actor's nick */
    const char *reason;
    const struct myna_xml *destroy;
    const struct myna_xml *status; /* <status/> text of a voluntary leave */
};
void occ_remove(struct occupant *o, const struct occ_why *why);
/* One session leaves (the occupant stays while it has others). */
void occ_leave_conn(struct occupant *o, const char *full, const struct occ_why *why);
/* Broadcasts the occupant's current presence (after a role/affiliation change) with
 * optional status codes. */
void occ_broadcast(struct occupant *o, const struct occ_why *why);
/* A real session ended or bounced: it leaves every room (no ghosts). */
void occ_session_gone(struct muc *svc, const char *full, const struct occ_why *why);
/* An occupant's server bounced room traffic: it is removed with 333 from a timer, never
 * from inside the broadcast whose error reported it (the recipient list is in use). */
void occ_bounced(struct muc *svc, const char *full);
void occ_bounces_free(struct muc *svc);
enum muc_role occ_default_role(const struct room *r, enum muc_aff aff);
void occ_send_to(struct muc *svc, struct occupant *o, struct myna_xml *stanza);

/* ---- message.c: groupchat, subject, private messages, voice requests (§7.4-7.5, 7.13,
 * §8.1) ---- */
void msg_handle(struct muc *svc, struct myna_stanza *st);
/* Broadcasts a message from the room itself (status codes, config changes). */
void msg_room_notice(struct room *r, const int *codes, size_t n);
void msg_send_subject(struct room *r, const struct myna_jid *to);

/* ---- invite.c: §7.8.2 mediated invitations and declines ---- */
bool invite_handle(struct muc *svc, struct room *r, struct myna_stanza *st);

/* ---- admin.c: roles and affiliations (§8-§10 admin use cases) ---- */
void admin_iq(struct muc *svc, struct room *r, struct myna_stanza *st);
/* Applies a role change from an approved voice request (§8.6). */
int admin_set_role(struct room *r, struct occupant *actor, struct occupant *target,
                   enum muc_role role, const char *reason, enum myna_error *err);

/* ---- roomconfig.c: §10.1-10.2 configuration form, §10.9 destruction ---- */
void config_iq(struct muc *svc, struct room *r, struct myna_stanza *st);

/* ---- register.c: §7.10 registration (reserved nicknames) ---- */
void register_iq(struct muc *svc, struct room *r, struct myna_stanza *st);

/* ---- moderate.c: XEP-0425 message moderation ---- */
void moderate_iq(struct muc *svc, struct room *r, struct myna_stanza *st);

/* ---- ids ---- */
/* XEP-0421 occupant id of a real bare JID in a room (stable, not reversible). */
void muc_occupant_id(const struct muc *svc, const char *room, const char *bare, char out[40]);
/* XEP-0359: a new unique stanza id. */
const char *muc_new_stanza_id(struct muc *svc, struct myna_arena *a);
/* Wall-clock time for history and delay stamps. */
long long muc_now(void);
void muc_stamp(long long t, char out[32]);

#endif
