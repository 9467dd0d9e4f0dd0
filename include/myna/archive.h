/* myna/archive.h — the message archive service (XEP-0313) that the `mam` module publishes
 * for other modules: one archive per owner JID, kept in order, with opaque archive ids
 * (XEP-0359 stanza-id values), retention, and the full MAM query protocol (data form
 * filters, RSM paging, metadata). The mam module keeps users' archives with it; a MUC
 * service keeps each room's archive (owner = the room's bare JID) with the same code.
 *
 * Public API (since 1.1). The mam module publishes one table per host under
 * MYNA_ARCHIVE_SERVICE. Look it up with myna_service_get() each time it is needed (the mam
 * module may be unloaded or reloaded; never keep the pointer), check `version`, and always
 * pass the table itself as `svc`. Runs on the event loop thread like every module call.
 * By default an append is written at once and joins the loop's group commit, so what is
 * delivered after it is archived. With the mam module's write_delay > 0 appends wait in
 * memory for at most that long and are written together; every read through this service
 * (history, get, query) sees them at once, and a crash within that delay loses them from
 * the archive, never their ids to other messages.
 */
#ifndef MYNA_ARCHIVE_H
#define MYNA_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MYNA_ARCHIVE_SERVICE "archive"
/* 1: append, history, query, remove, replace; 2 (still API 1.1): get, import. A member
 * added in version N may be used only when the table's `version` is N or more. */
#define MYNA_ARCHIVE_SERVICE_VERSION 2
/* Bytes of an archive id, including the terminating NUL. Ids are short printable ASCII
 * strings (URL-safe base64), unique and never reused within one archive, and reveal
 * nothing about the archive (XEP-0313 §5.2, XEP-0359 §5). */
#define MYNA_ARCHIVE_ID_SIZE 32

/* One archived message, as given to myna_archive_item_fn and myna_archive_result_fn.
 * Everything is borrowed: valid only during the callback. */
struct myna_archive_item {
    const char *id;          /* archive id */
    uint64_t stamp_ms;       /* when it was archived, ms since the epoch (UTC) */
    const char *with;        /* the JID given at append time ("" if none) */
    struct myna_xml *message; /* the stored <message/>, parsed into a temporary arena */
};

/* Called for each item of a history read, oldest first. Return 0 to go on, nonzero to
 * stop (that value is returned by history()). */
typedef int (*myna_archive_item_fn)(const struct myna_archive_item *item, void *data);

/* Called by query() for each result before it is sent: `result` is the outgoing
 * <message><result><forwarded>...</forwarded></result></message> and item->message the
 * forwarded copy inside it, which the caller may change (e.g. add the occupant's real
 * JID in a muc#user <x/>, XEP-0313 §5.1.2). */
typedef void (*myna_archive_result_fn)(struct myna_xml *result,
                                       const struct myna_archive_item *item, void *data);

struct myna_archive_service {
    unsigned version; /* MYNA_ARCHIVE_SERVICE_VERSION of the provider */

    /* Appends `message` (a <message/> element) to the archive of `owner`, a prepared
     * bare JID such as "room@conference.example.org", and prepares it for delivery: any
     * <stanza-id/> whose 'by' is the owner is removed first (only the archive sets those,
     * XEP-0359 §3), the message is stored as it then is, and <stanza-id
     * xmlns='urn:xmpp:sid:0' by=OWNER id=ID/> is added to it (XEP-0313 §3.5), so the
     * caller can broadcast the very same element. `with` is the JID 'with' queries match
     * (for a room: the sender's occupant or real JID; NULL = none). The new id is also
     * written into `id` (MYNA_ARCHIVE_ID_SIZE bytes). The archive's count and age limits
     * (the mam module's config) apply. Returns 0, or a negative myna_store error (the
     * message is then unchanged but for the removed stanza-ids, and id is "").
     * To store something else than what is broadcast (e.g. without 'to'), pass a copy. */
    int (*append)(const struct myna_archive_service *svc, const char *owner, const char *with,
                  struct myna_xml *message, char id[MYNA_ARCHIVE_ID_SIZE]);

    /* Reads the newest messages of `owner`'s archive for history on join (XEP-0045
     * §7.2.15): at most `max` (0 = as many as match, up to the mam module's max_page),
     * only those archived at or after `since_ms` (0 = any), and calls fn for each, oldest
     * first. Returns 0, fn's nonzero value, or a negative error. */
    int (*history)(const struct myna_archive_service *svc, const char *owner, size_t max,
                   uint64_t since_ms, myna_archive_item_fn fn, void *data);

    /* Answers the MAM iq get/set `iq` addressed to `owner`'s archive, exactly once:
     * <query/> set (results as XEP-0297 forwards from `owner`, then the <fin/> result),
     * <query/> get (the form), <metadata/> get (first/last id and stamp); anything else
     * gets feature-not-implemented. Access control is the caller's: call it only for a
     * requester allowed to read the archive (XEP-0313 §5.1.2). `each` (may be NULL) can
     * adjust each result before it is sent. */
    void (*query)(const struct myna_archive_service *svc, struct myna_stanza *iq,
                  const char *owner, myna_archive_result_fn each, void *data);

    /* Deletes `owner`'s whole archive (e.g. when a room is destroyed). Returns 0 or a
     * negative error. */
    int (*remove)(const struct myna_archive_service *svc, const char *owner);

    /* Replaces the stored message of archive id `id` in `owner`'s archive by `message`
     * (borrowed), keeping its id, stamp and 'with': e.g. a XEP-0425 moderation tombstone,
     * which XEP-0313 §3.2 allows in place of a message that must go. Returns 0, or
     * MYNA_STORE_NOTFOUND when the id is unknown (or expired), or another negative error. */
    int (*replace)(const struct myna_archive_service *svc, const char *owner, const char *id,
                   const struct myna_xml *message);

    /* Version 2. */

    /* Calls fn once with the message of archive id `id` in `owner`'s archive (item as for
     * history(); e.g. the message a XEP-0425 moderation names, to build its tombstone).
     * Returns fn's value, or MYNA_STORE_NOTFOUND when the id is unknown or expired. */
    int (*get)(const struct myna_archive_service *svc, const char *owner, const char *id,
               myna_archive_item_fn fn, void *data);

    /* append() for a message that was kept elsewhere before (e.g. a room's history from
     * before the room was archived): it is archived with its original time `stamp_ms`
     * (ms since the epoch), moved forward only as far as the archive's order needs (never
     * before the archive's newest message, never after now). Same marking and returns as
     * append(). */
    int (*import)(const struct myna_archive_service *svc, const char *owner, const char *with,
                  struct myna_xml *message, uint64_t stamp_ms, char id[MYNA_ARCHIVE_ID_SIZE]);
};

#ifdef __cplusplus
}
#endif
#endif
