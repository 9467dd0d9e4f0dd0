/* modules/mam/mam.h — shared declarations of the message archive module (XEP-0313): the
 * per-host context, the archive store (archive.c), archive ids (ids.c), XEP-0082 times
 * (datetime.c), queries (query.c), preferences (prefs.c) and the message hooks (hooks.c).
 * Internal to the module; other modules use the service of myna/archive.h.
 *
 * Storage, three tables, every key starting with the owner's bare JID and a NUL:
 *   "mam"       owner\0 + seq (8 bytes, big-endian)    -> record (below)
 *   "mam_with"  owner\0 + with-bare\0 + seq            -> the with JID as recorded
 *   "mam_prefs" owner\0                                -> XEP-0441 preferences
 *               "\0id-key", "\0gen"                    -> archive id key, generation
 * Sequence numbers count up per archive, so one archive is one contiguous key range and
 * paging is a range scan. Retention deletes only from the oldest end, so an archive's
 * sequence numbers have no holes (XEP-0313 §3.2); when retention empties an archive its
 * newest record stays as a tombstone so that numbers are not reused. Each record also
 * carries the generation (a count of module starts) it was written in, and so does its
 * id: should a crash lose records written behind, their numbers come back in a new
 * generation with new ids, and the old ids stay unknown (item-not-found).
 */
#ifndef MYNA_MOD_MAM_H
#define MYNA_MOD_MAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/archive.h"
#include "myna/module.h"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_MAM_EXTENDED "urn:xmpp:mam:2#extended"
#define NS_SID "urn:xmpp:sid:0"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_XDATA "jabber:x:data"
#define NS_XDATA_VALIDATE "http://jabber.org/protocol/xdata-validate"

/* Keys are at most 511 bytes (myna/store.h). */
#define KEY_MAX 511
/* Archive ids: 16 bytes in URL-safe base64 without padding. */
#define ID_LEN 22

enum mam_default { PREF_ALWAYS, PREF_NEVER, PREF_ROSTER };

/* Per host instance (module data). */
struct mam {
    struct myna_archive_service svc; /* published as "archive"; first, so svc -> mam */
    struct myna_module *m;
    struct myna_store *msgs;  /* "mam" */
    struct myna_store *with;  /* "mam_with" */
    struct myna_store *prefs; /* "mam_prefs" */
    struct mam_ids *ids;      /* archive id cipher (ids.c) */
    enum mam_default default_pref;
    long long max_messages;   /* per archive, 0 = unlimited */
    long long max_age_s;      /* 0 = forever */
    long long max_page;       /* largest page a query returns */
    long long default_page;   /* page size when the query gives no <max/> */
    long long write_delay_ms; /* how long appended records may wait in memory */
    uint32_t gen;             /* this run's generation (ids.c) */
    uint64_t last_stamp_ms;   /* stamps never go backwards while the server runs */
    struct pending *pend;     /* records written behind (archive.c), in append order */
    size_t npend, cappend;
    uint64_t flush_timer;     /* pending flush, 0 = none */
    uint64_t expire_timer;
    char *expire_pos;         /* next owner the expiry visits (heap), NULL = start */
};

/* One stored record, decoded (pointers into the stored value). */
struct record {
    uint64_t seq;
    uint64_t stamp_ms;
    uint32_t gen;     /* generation it was written in */
    bool tombstone;   /* kept only to hold the archive's highest sequence number */
    bool outgoing;    /* sent by the owner (user archives) */
    const char *with; /* not NUL-terminated */
    size_t with_len;
    const char *xml;  /* the serialized stanza, not NUL-terminated */
    size_t xml_len;
};

/* mam.c: an iq from a session of the account it is addressed to (or with no 'to'). */
bool mam_own_request(const struct myna_stanza *st);

/* archive.c */
size_t archive_prefix(struct myna_arena *a, const char *owner, char **out);
int record_decode(const void *key, size_t klen, const void *val, size_t len,
                  struct record *r);
uint64_t mam_now_ms(struct mam *c);
/* Appends msg (serialized now) to owner's archive, written behind; *seq gets its number
 * (its id is id_encode(..., *seq, c->gen)). Stamped now, or at `at` (ms, 0 = now) moved
 * into [the archive's newest stamp, now] so that stamps stay in order. */
int archive_append(struct mam *c, const char *owner, const char *with, bool outgoing,
                   const struct myna_xml *msg, uint64_t at, uint64_t *seq, uint64_t *stamp);
/* Writes the records waiting in memory into the store. Every reader calls it first. */
void archive_flush(struct mam *c);
/* The oldest and newest live sequence numbers; *first > *last when the archive is empty. */
void archive_extent(struct mam *c, const char *owner, uint64_t *first, uint64_t *last);
/* Calls fn(record, data) for the record `seq` if it exists (not a tombstone); returns
 * fn's value, or MYNA_STORE_NOTFOUND. */
int archive_read(struct mam *c, const char *owner, uint64_t seq,
                 int (*fn)(const struct record *r, void *data), void *data);
/* Smallest seq in [lo, hi] archived at or after t (hi + 1 if none), largest archived at
 * or before t (lo - 1 if none): binary searches, stamps being non-decreasing. */
uint64_t archive_seq_after(struct mam *c, const char *owner, uint64_t lo, uint64_t hi,
                           uint64_t t);
uint64_t archive_seq_before(struct mam *c, const char *owner, uint64_t lo, uint64_t hi,
                            uint64_t t);
int archive_remove(struct mam *c, const char *owner);
/* Writes a record with the stamp it had on another server (XEP-0227 import), at once, in
 * the current unit; the stamp is raised to the archive's newest if older. */
int archive_import(struct mam *c, const char *owner, const char *with, bool outgoing,
                   const struct myna_xml *msg, uint64_t stamp_ms);
/* Replaces the message of record seq (kept: stamp, generation, with, direction). */
int archive_replace(struct mam *c, const char *owner, uint64_t seq, const struct myna_xml *msg);
void archive_expire_start(struct mam *c);
/* The with-index key owner\0 + bare(with)\0 (+ seq when seq != 0); 0 if too long. */
size_t with_key(struct myna_arena *a, const char *owner, const char *with, size_t with_len,
                uint64_t seq, char **out);

/* ids.c */
int ids_open(struct mam *c);
void ids_close(struct mam *c);
void id_encode(struct mam *c, const char *owner, uint64_t seq, uint32_t gen,
               char out[ID_LEN + 1]);
/* False if `id` is not an id of `owner`'s archive. */
bool id_decode(struct mam *c, const char *owner, const char *id, uint64_t *seq,
               uint32_t *gen);
/* The id of a stored record. */
void record_id(struct mam *c, const char *owner, const struct record *r, char out[ID_LEN + 1]);
/* True if `id` names a live record of owner's archive; *seq gets its number. */
bool id_known(struct mam *c, const char *owner, const char *id, uint64_t *seq);

/* datetime.c (XEP-0082 DateTime) */
int datetime_parse(const char *s, uint64_t *ms);
void datetime_format(uint64_t ms, char out[32]);

/* query.c */
void query_answer(struct mam *c, struct myna_stanza *st, const char *owner,
                  myna_archive_result_fn each, void *data);
int query_register(struct mam *c);

/* prefs.c */
bool prefs_archives(struct mam *c, struct myna_arena *a, const char *owner,
                    const struct myna_jid *peer);
int prefs_register(struct mam *c);

/* hooks.c */
int hooks_register(struct mam *c);
/* Removes every <stanza-id xmlns='urn:xmpp:sid:0'/> of `msg` whose 'by' is `by`. */
void strip_stanza_ids(struct myna_xml *msg, const char *by);
void add_stanza_id(struct myna_xml *msg, const char *by, const char *id);

/* service.c */
void service_init(struct mam *c);

/* migrate.c (XEP-0227: archives as Prosody writes them) */
int migrate_register(struct mam *c);

#endif
