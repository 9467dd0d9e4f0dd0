/* myna/store.h — ordered key-value storage on LMDB, one named table per owner.
 *
 * Public API. Writes made on the event loop join the loop's current batch: one LMDB write
 * transaction per loop iteration, committed (and synced) once at the end of the iteration,
 * so no stanza costs a disk flush of its own. Reads on the loop see the batch's
 * uncommitted writes. Whatever must only be acknowledged once durable (XEP-0198 acks, IQ
 * results after a write) is sent from a myna_store_on_durable() callback.
 * Keys are byte strings ordered by memcmp; build them so that one user's data is
 * contiguous (e.g. "user@domain\0..."), which makes delete-user and export a prefix scan.
 * Implemented in server/store.c.
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
 * The event loop calls this once per iteration; tools call it before exiting. */
int myna_store_env_flush(struct myna_store_env *env);
/* Calls fn with the name of every table in the environment (for tools: deleting a
 * user's data everywhere, export). */
int myna_store_env_tables(struct myna_store_env *env, void (*fn)(const char *name, void *data),
                          void *data);
/* True if the current batch has uncommitted writes. */
bool myna_store_env_dirty(const struct myna_store_env *env);

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

/* Runs fn(data, err) once everything written so far is durable (err 0) or failed (err<0).
 * With nothing pending it runs at the end of the current loop iteration. */
typedef void (*myna_store_durable_fn)(void *data, int err);
void myna_store_on_durable(struct myna_store *s, myna_store_durable_fn fn, void *data);

#ifdef __cplusplus
}
#endif
#endif
