/* myna/store.h — ordered key-value storage on LMDB, one named table per owner.
 *
 * Public API. Writes made on the event loop join the loop's current batch: one LMDB write
 * transaction per loop iteration, committed (and synced) once at the end of the iteration,
 * so no stanza costs a disk flush of its own. Reads on the loop see the batch's
 * uncommitted writes.
 * Acknowledged means durable, without the module doing anything: the server holds every
 * byte for a client or component socket until the writes made before it are committed,
 * so an iq result, a XEP-0198 <a/> or an error reply sent after a write leaves only once
 * the write is on disk. myna_store_on_durable() is for what that does not cover: an
 * acknowledgement that does not go through a stream of this server (work handed to a
 * thread or another process, a file, a notification service).
 * Each request (an element from a stream, a timer, a control command) runs in a unit of
 * work (below): a failed write fails its own request, never another one in the batch.
 * Keys are byte strings ordered by memcmp; build them so that one user's data is
 * contiguous (e.g. "user@domain\0..."), which makes delete-user and export a prefix scan.
 * Implemented in server/store/store.c.
 */
#ifndef MYNA_STORE_H
#define MYNA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/xml.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (negative). myna_store_strerror() describes them and -errno values. */
#define MYNA_STORE_NOTFOUND (-30001) /* no such key */
#define MYNA_STORE_FULL (-30002)     /* the database map is full */
#define MYNA_STORE_ERROR (-30003)    /* any other storage failure (logged) */
#define MYNA_STORE_TOOBIG (-30004)   /* key longer than the backend allows (511 bytes) */
#define MYNA_STORE_ABORTED (-30005)  /* the unit was aborted by its owner (since 1.1) */

struct myna_store_env; /* one data directory (the LMDB environment) */
struct myna_store;     /* one named table in it */

const char *myna_store_strerror(int err);

/* ---- Environment (core and tools; modules get tables from myna_module_store()) ---- */

/* Opens (creating if needed) the environment in directory `dir`. `map_mb` is the maximum
 * database size in MiB. Several processes may open the same directory (mynad, mynactl). */
int myna_store_env_open(const char *dir, size_t map_mb, struct myna_store_env **out);
/* Commits the pending batch (synced) and closes. */
void myna_store_env_close(struct myna_store_env *env);
/* Opens (creating if needed) table `name`; the handle lives as long as the env. */
int myna_store_table(struct myna_store_env *env, const char *name, struct myna_store **out);
/* Commits the current batch now, synced; then runs the on_durable callbacks.
 * The event loop calls this once per iteration; tools call it before exiting. Refused
 * (MYNA_STORE_ERROR) inside a unit that has written: its child transaction is open. */
int myna_store_env_flush(struct myna_store_env *env);
/* Calls fn with the name of every table in the environment (for tools: deleting a
 * user's data everywhere, export). */
int myna_store_env_tables(struct myna_store_env *env, void (*fn)(const char *name, void *data),
                          void *data);
/* True if the current batch has uncommitted writes, or on_durable callbacks wait for the
 * next myna_store_env_flush(). */
bool myna_store_env_dirty(const struct myna_store_env *env);

/* The open batch's number (numbers only grow), or 0 when no batch is open (since 1.1).
 * The server holds client output queued while batch N is open until N is committed. */
uint64_t myna_store_env_batch(const struct myna_store_env *env);
/* Sets the one function told, before anything else happens, that the commit of batch
 * `batch` failed and its writes are lost (since 1.1): the server drops the connections
 * whose held output followed those writes. */
typedef void (*myna_store_fail_fn)(uint64_t batch, int err, void *data);
void myna_store_env_on_fail(struct myna_store_env *env, myna_store_fail_fn fn, void *data);

/* Counters for `mynactl stats` (since 1.1). */
struct myna_store_stats {
    uint64_t commits;         /* batches committed */
    uint64_t commit_failures; /* batches whose commit failed: their writes are lost */
    uint64_t write_failures;  /* units failed by a write: their writes were discarded */
    uint64_t full;            /* writes refused because the database map is full */
    uint64_t map_bytes;       /* the map size: reserved on disk, up to store_map_mb */
    uint64_t used_bytes;      /* pages in use, free pages inside the file not counted */
    bool careful;             /* so little room left that requests commit one by one */
};
void myna_store_env_stats(struct myna_store_env *env, struct myna_store_stats *out);

/* Units of work on the environment (since 1.1): what the server wraps around each request;
 * see myna_store_unit_begin() below. */
int myna_store_env_unit_begin(struct myna_store_env *env);
int myna_store_env_unit_commit(struct myna_store_env *env);
void myna_store_env_unit_abort(struct myna_store_env *env);
int myna_store_env_unit_error(const struct myna_store_env *env);

/* ---- Reads and writes ---- */

/* Reads `key`. On success *val points to a copy in arena `a` (*len bytes, plus a NUL
 * after the last byte for convenience). Returns 0 or MYNA_STORE_NOTFOUND or an error. */
int myna_store_get(struct myna_store *s, const void *key, size_t klen, struct myna_arena *a,
                   void **val, size_t *len);
/* Writes `key` = `val` into the current batch (copied). */
int myna_store_put(struct myna_store *s, const void *key, size_t klen, const void *val,
                   size_t len);
/* Deletes `key`; 0 also when it did not exist. */
int myna_store_del(struct myna_store *s, const void *key, size_t klen);
/* Deletes every key starting with prefix; *count (may be NULL) gets how many. */
int myna_store_del_prefix(struct myna_store *s, const void *prefix, size_t plen,
                          size_t *count);
/* Appends `val` under key prefix + 8-byte big-endian sequence number, one greater than
 * the highest under that prefix (starting at 1). *seq (may be NULL) gets the number.
 * For queues and archives (offline messages, MAM, MUC history). */
int myna_store_append(struct myna_store *s, const void *prefix, size_t plen, const void *val,
                      size_t len, uint64_t *seq);
/* The key convention of per-user data (since 1.1): the user's bare JID, a NUL, then
 * `rest` (`rlen` bytes, may hold NULs itself; NULL/0 for the bare prefix "user\0" that
 * myna_store_iter and myna_store_del_prefix take to reach all of a user's keys). The NUL
 * keeps "bob@x" from being a prefix of "bob@xy"'s keys, and the server's account deletion
 * removes every key that starts with "user\0" in every table. Returns the key in arena
 * `a` (with one more NUL after it, not counted) and its length in *klen; keys over 511
 * bytes are refused by the store with MYNA_STORE_TOOBIG. */
void *myna_store_key(struct myna_arena *a, const char *user, const void *rest, size_t rlen,
                     size_t *klen);
/* Builds prefix + big-endian seq in `out` (which must hold plen + 8 bytes). */
void myna_store_seq_key(const void *prefix, size_t plen, uint64_t seq, unsigned char *out);

/* Visits keys >= `start` (NULL = from the prefix) that begin with `prefix`, in order (or
 * reverse order when `reverse`, starting at the last key <= start). Key and value pointers
 * are valid only during the call. Return nonzero from fn to stop; that value is returned.
 * At most `limit` entries are visited (0 = no limit). */
typedef int (*myna_store_iter_fn)(const void *key, size_t klen, const void *val, size_t len,
                                  void *data);
int myna_store_iter(struct myna_store *s, const void *prefix, size_t plen, const void *start,
                    size_t slen, bool reverse, size_t limit, myna_store_iter_fn fn,
                    void *data);

/* ---- Units of work (since 1.1) ----
 * A unit groups writes that stand or fall together; units nest (up to 8 deep). The server
 * runs every request in a unit: if one of its writes fails (e.g. MYNA_STORE_FULL), all the
 * unit's writes are discarded, its later writes fail with the same error, and the other
 * requests' writes in the batch are kept. The request then gets a stanza error
 * (resource-constraint when the store is full, internal-server-error otherwise) unless its
 * handler sent an error itself; an iq result sent after the failure becomes that error.
 * A module opens a unit of its own inside the request's to make several writes atomic, or
 * to make a write optional (an archive copy whose failure must not fail the request): a
 * failed inner unit does not fail the one around it. A unit that only reads costs nothing.
 * Reads inside a unit see its writes. Begin and end a unit in the same callback. A write
 * outside any unit (tools) is a unit of its own. */

/* Opens a unit inside the current one. Returns 0, or an error (nested too deep) after
 * which the unit is not open. */
int myna_store_unit_begin(struct myna_store *s);
/* Ends the innermost unit, keeping its writes (they join the enclosing unit, or the batch).
 * Returns 0, or the error that failed the unit: its writes were discarded. */
int myna_store_unit_commit(struct myna_store *s);
/* Ends the innermost unit, discarding its writes. */
void myna_store_unit_abort(struct myna_store *s);
/* 0 while the innermost unit (and those around it) can still commit, else the error that
 * failed it. */
int myna_store_unit_error(const struct myna_store *s);

/* Runs fn(data, err) once everything written so far is durable (err 0) or failed (err < 0:
 * the unit it was registered in failed or was aborted, or the commit failed). Runs at the
 * end of the loop iteration, after the commit, also when nothing was written. Output to
 * clients is already held until the commit (see the top of this file): use this for
 * acknowledgements that leave another way, e.g. work done off the loop. */
typedef void (*myna_store_durable_fn)(void *data, int err);
void myna_store_on_durable(struct myna_store *s, myna_store_durable_fn fn, void *data);

#ifdef __cplusplus
}
#endif
#endif
