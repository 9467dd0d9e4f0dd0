/* server/store.c — ordered key-value storage on LMDB (include/myna/store.h).
 *
 * Group commit: the first write of a loop iteration opens the env's one write transaction
 * (the batch); every later write and read reuses it, so reads see the batch's uncommitted
 * writes. myna_store_env_flush() commits it with a sync, then runs the on_durable callbacks.
 * Reads outside a batch use one read transaction per env, renewed for each top-level
 * operation and reset afterwards (a reference count keeps it alive across nested reads made
 * from an iteration callback). A failed write (map full, LMDB error) aborts the whole batch;
 * callbacks registered before the failure get the error at the next flush.
 * Several processes may share the directory (mynad, mynactl): a batch lives for one loop
 * iteration only, so another process's writer never waits for long.
 */
#include "myna/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/log.h"

#define STORE_MAXDBS 64

struct durable_cb {
    myna_store_durable_fn fn;
    void *data;
    int err; /* nonzero: the batch this callback waited for already failed */
};

struct myna_store {
    struct myna_store_env *env;
    MDB_dbi dbi;
    char *name;
};

struct myna_store_env {
    MDB_env *env;
    char *dir;
    MDB_txn *wtxn;        /* the current batch, or NULL */
    unsigned long wgen;   /* bumped whenever a batch ends (its cursors die with it) */
    MDB_txn *rtxn;        /* reusable read transaction (reset while unused), or NULL */
    unsigned rtxn_users;  /* nesting depth of operations using rtxn */
    size_t maxkey;
    struct durable_cb *cbs;
    size_t ncbs, cbcap;
    struct myna_store **tables;
    size_t ntables;
};

const char *myna_store_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case MYNA_STORE_NOTFOUND:
        return "no such key";
    case MYNA_STORE_FULL:
        return "database is full (raise store_map_mb)";
    case MYNA_STORE_ERROR:
        return "storage error";
    case MYNA_STORE_TOOBIG:
        return "key too long";
    default:
        if (err < 0 && err > -4096)
            return strerror(-err);
        return "unknown storage error";
    }
}

/* Maps an LMDB return code to ours, logging the unexpected ones. */
static int map_err(int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return MYNA_STORE_NOTFOUND;
    case MDB_MAP_FULL:
        log_error("store", "%s: database map is full", what);
        return MYNA_STORE_FULL;
    case MDB_BAD_VALSIZE:
        return MYNA_STORE_TOOBIG;
    default:
        log_error("store", "%s: %s", what, mdb_strerror(rc));
        return MYNA_STORE_ERROR;
    }
}

/* Aborts the batch after a failed write: LMDB transactions are unusable after most
 * write errors, and a partial batch must not be committed. */
static void batch_fail(struct myna_store_env *e, int err)
{
    if (!e->wtxn)
        return;
    mdb_txn_abort(e->wtxn);
    e->wtxn = NULL;
    e->wgen++;
    for (size_t i = 0; i < e->ncbs; i++)
        if (e->cbs[i].err == 0)
            e->cbs[i].err = err;
    log_error("store", "write batch aborted: %s", myna_store_strerror(err));
}

/* Another process grew the map: adopt its size (only legal with no live txn here). */
static int adopt_mapsize(struct myna_store_env *e)
{
    if (e->rtxn_users > 0 || e->wtxn)
        return MDB_MAP_RESIZED;
    return mdb_env_set_mapsize(e->env, 0);
}

static int begin_write(struct myna_store_env *e, MDB_txn **out)
{
    for (int tries = 0;; tries++) {
        int rc = mdb_txn_begin(e->env, NULL, 0, out);
        if (rc == MDB_MAP_RESIZED && tries < 2 && adopt_mapsize(e) == 0)
            continue;
        return rc;
    }
}

/* The batch's transaction, opened on first use. */
static int batch_txn(struct myna_store_env *e, MDB_txn **out)
{
    if (!e->wtxn) {
        int rc = begin_write(e, &e->wtxn);
        if (rc != 0) {
            e->wtxn = NULL;
            return map_err(rc, "begin write batch");
        }
    }
    *out = e->wtxn;
    return 0;
}

/* A transaction to read from: the batch if one is open, else the shared read txn. Pair
 * every successful call with read_end(). */
static int read_begin(struct myna_store_env *e, MDB_txn **out)
{
    if (e->wtxn) {
        *out = e->wtxn;
        return 0;
    }
    if (e->rtxn_users == 0) {
        int rc;
        for (int tries = 0;; tries++) {
            if (e->rtxn)
                rc = mdb_txn_renew(e->rtxn);
            else
                rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &e->rtxn);
            if (rc == MDB_MAP_RESIZED && tries < 2) {
                if (e->rtxn) {
                    mdb_txn_abort(e->rtxn);
                    e->rtxn = NULL;
                }
                if (adopt_mapsize(e) == 0)
                    continue;
            }
            break;
        }
        if (rc != 0) {
            if (e->rtxn) {
                mdb_txn_abort(e->rtxn);
                e->rtxn = NULL;
            }
            return map_err(rc, "begin read");
        }
    }
    e->rtxn_users++;
    *out = e->rtxn;
    return 0;
}

static void read_end(struct myna_store_env *e, MDB_txn *txn)
{
    if (txn != e->rtxn || txn == NULL)
        return;
    if (--e->rtxn_users == 0)
        mdb_txn_reset(e->rtxn);
}

static int check_key(const struct myna_store *s, size_t klen)
{
    if (klen == 0)
        return -EINVAL;
    if (klen > s->env->maxkey)
        return MYNA_STORE_TOOBIG;
    return 0;
}

/* mkdir -p with mode 0700 for the last component and missing parents. */
static int make_dirs(const char *dir)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                rc = -errno;
                free(p);
                return rc;
            }
            *q = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

int myna_store_env_open(const char *dir, size_t map_mb, struct myna_store_env **out)
{
    int rc;
    if (!dir || !*dir || map_mb == 0)
        return -EINVAL;
    rc = make_dirs(dir);
    if (rc != 0) {
        log_error("store", "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    struct myna_store_env *e = xcalloc(1, sizeof(*e));
    e->dir = xstrdup(dir);
    if ((rc = mdb_env_create(&e->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_maxdbs(e->env, STORE_MAXDBS)) != 0)
        goto fail;
    if ((rc = mdb_env_set_mapsize(e->env, map_mb * 1024 * 1024)) != 0)
        goto fail;
    /* NOTLS: transactions are not tied to threads, and the batch may coexist with the
     * reusable read txn on one thread. Commits stay synced (no NOSYNC). */
    if ((rc = mdb_env_open(e->env, dir, MDB_NOTLS, 0600)) != 0)
        goto fail;
    int dead = 0;
    mdb_reader_check(e->env, &dead); /* clear slots of crashed processes */
    if (dead > 0)
        log_info("store", "cleared %d stale reader slots in %s", dead, dir);
    e->maxkey = (size_t)mdb_env_get_maxkeysize(e->env);
    *out = e;
    return 0;
fail:
    log_error("store", "cannot open %s: %s", dir, mdb_strerror(rc));
    if (e->env)
        mdb_env_close(e->env);
    free(e->dir);
    free(e);
    return rc == MDB_MAP_FULL ? MYNA_STORE_FULL : rc > 0 && rc < 4096 ? -rc : MYNA_STORE_ERROR;
}

void myna_store_env_close(struct myna_store_env *e)
{
    if (!e)
        return;
    myna_store_env_flush(e);
    if (e->rtxn)
        mdb_txn_abort(e->rtxn);
    for (size_t i = 0; i < e->ntables; i++) {
        free(e->tables[i]->name);
        free(e->tables[i]);
    }
    free(e->tables);
    free(e->cbs);
    mdb_env_close(e->env);
    free(e->dir);
    free(e);
}

/* Commits the open batch, if any; returns 0 or the mapped error. */
static int batch_commit(struct myna_store_env *e)
{
    if (!e->wtxn)
        return 0;
    int rc = mdb_txn_commit(e->wtxn); /* syncs: the env has no MDB_NOSYNC */
    e->wtxn = NULL;
    e->wgen++;
    if (rc != 0) {
        int err = map_err(rc, "commit");
        log_error("store", "write batch lost: %s", myna_store_strerror(err));
        return err;
    }
    return 0;
}

int myna_store_table(struct myna_store_env *e, const char *name, struct myna_store **out)
{
    for (size_t i = 0; i < e->ntables; i++) {
        if (strcmp(e->tables[i]->name, name) == 0) {
            *out = e->tables[i];
            return 0;
        }
    }
    /* A handle opened inside the batch would die if the batch aborted: commit the batch
     * (its callbacks still run at the next flush) and open the table in its own txn. */
    int err = batch_commit(e);
    if (err != 0) {
        for (size_t i = 0; i < e->ncbs; i++)
            if (e->cbs[i].err == 0)
                e->cbs[i].err = err;
    }
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    /* An existing table opens in a read txn, so a tool never waits for another process's
     * write batch just to look at data; only creating a table needs the write lock. */
    int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED && adopt_mapsize(e) == 0)
        rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return map_err(rc, "open table");
    rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
        if (rc != MDB_NOTFOUND)
            return map_err(rc, name);
        if ((rc = begin_write(e, &txn)) != 0)
            return map_err(rc, "open table");
        rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return map_err(rc, name);
        }
        rc = mdb_txn_commit(txn);
    }
    if (rc != 0)
        return map_err(rc, name);
    struct myna_store *s = xcalloc(1, sizeof(*s));
    s->env = e;
    s->dbi = dbi;
    s->name = xstrdup(name);
    e->tables = xrealloc(e->tables, (e->ntables + 1) * sizeof(*e->tables));
    e->tables[e->ntables++] = s;
    *out = s;
    return 0;
}

int myna_store_env_flush(struct myna_store_env *e)
{
    int err = batch_commit(e);
    /* Callbacks may register new callbacks or write again: take the list first. */
    struct durable_cb *cbs = e->cbs;
    size_t n = e->ncbs;
    e->cbs = NULL;
    e->ncbs = e->cbcap = 0;
    for (size_t i = 0; i < n; i++)
        cbs[i].fn(cbs[i].data, cbs[i].err ? cbs[i].err : err);
    free(cbs);
    return err;
}

bool myna_store_env_dirty(const struct myna_store_env *e)
{
    return e->wtxn != NULL;
}

void myna_store_on_durable(struct myna_store *s, myna_store_durable_fn fn, void *data)
{
    struct myna_store_env *e = s->env;
    if (e->ncbs == e->cbcap) {
        e->cbcap = e->cbcap ? e->cbcap * 2 : 16;
        e->cbs = xrealloc(e->cbs, e->cbcap * sizeof(*e->cbs));
    }
    e->cbs[e->ncbs++] = (struct durable_cb){fn, data, 0};
}

int myna_store_get(struct myna_store *s, const void *key, size_t klen, struct myna_arena *a,
                   void **val, size_t *len)
{
    int err = check_key(s, klen);
    if (err != 0)
        return err;
    MDB_txn *txn = NULL;
    if ((err = read_begin(s->env, &txn)) != 0)
        return err;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, s->dbi, &k, &v);
    if (rc == 0) {
        char *copy = myna_arena_alloc(a, v.mv_size + 1);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[v.mv_size] = '\0';
        *val = copy;
        if (len)
            *len = v.mv_size;
    }
    read_end(s->env, txn);
    return map_err(rc, "get");
}

/* Runs one write in the batch; aborts the batch if it failed for reasons other than a
 * missing key. */
static int write_done(struct myna_store *s, int rc, const char *what)
{
    if (rc == 0 || rc == MDB_NOTFOUND)
        return map_err(rc, what);
    int err = map_err(rc, what);
    batch_fail(s->env, err);
    return err;
}

int myna_store_put(struct myna_store *s, const void *key, size_t klen, const void *val,
                   size_t len)
{
    int err = check_key(s, klen);
    MDB_txn *txn = NULL;
    if (err != 0 || (err = batch_txn(s->env, &txn)) != 0)
        return err;
    MDB_val k = {klen, (void *)key}, v = {len, (void *)val};
    return write_done(s, mdb_put(txn, s->dbi, &k, &v, 0), "put");
}

int myna_store_del(struct myna_store *s, const void *key, size_t klen)
{
    int err = check_key(s, klen);
    MDB_txn *txn = NULL;
    if (err != 0 || (err = batch_txn(s->env, &txn)) != 0)
        return err;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, s->dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : write_done(s, rc, "del");
}

static bool has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return plen == 0 || (k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0);
}

/* memcmp order of byte strings, shorter first on a common prefix (LMDB's default). */
static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* The smallest key greater than every key starting with prefix: prefix with its last
 * non-0xff byte incremented and the rest cut. Returns its length; 0 if there is none. */
static size_t prefix_upper(const unsigned char *prefix, size_t plen, unsigned char *out)
{
    while (plen > 0 && prefix[plen - 1] == 0xff)
        plen--;
    if (plen == 0)
        return 0;
    memcpy(out, prefix, plen);
    out[plen - 1]++;
    return plen;
}

/* Positions cursor c on the last key that starts with prefix (rc MDB_NOTFOUND if none). */
static int seek_last_under(MDB_cursor *c, const void *prefix, size_t plen, MDB_val *k,
                           MDB_val *v)
{
    unsigned char upper[512];
    size_t ulen = plen <= sizeof(upper) ? prefix_upper(prefix, plen, upper) : 0;
    int rc;
    if (ulen > 0) {
        k->mv_size = ulen;
        k->mv_data = upper;
        rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
        if (rc == 0)
            rc = mdb_cursor_get(c, k, v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(c, k, v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(c, k, v, MDB_LAST);
    }
    if (rc == 0 && !has_prefix(k, prefix, plen))
        rc = MDB_NOTFOUND;
    return rc;
}

int myna_store_del_prefix(struct myna_store *s, const void *prefix, size_t plen,
                          size_t *count)
{
    size_t n = 0;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    int err, rc;
    if (count)
        *count = 0;
    if (plen > s->env->maxkey)
        return 0; /* no key can start with it */
    if ((err = batch_txn(s->env, &txn)) != 0)
        return err;
    if ((rc = mdb_cursor_open(txn, s->dbi, &c)) != 0)
        return write_done(s, rc, "del_prefix");
    for (;;) {
        MDB_val k = {plen, (void *)prefix}, v;
        /* Seek afresh after each delete: simple, and immune to cursor-after-delete quirks. */
        rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(&k, prefix, plen))) {
            rc = 0;
            break;
        }
        if (rc != 0 || (rc = mdb_cursor_del(c, 0)) != 0)
            break;
        n++;
    }
    mdb_cursor_close(c);
    if (rc != 0)
        return write_done(s, rc, "del_prefix");
    if (count)
        *count = n;
    return 0;
}

void myna_store_seq_key(const void *prefix, size_t plen, uint64_t seq, unsigned char *out)
{
    memcpy(out, prefix, plen);
    for (int i = 7; i >= 0; i--) {
        out[plen + (size_t)i] = (unsigned char)(seq & 0xff);
        seq >>= 8;
    }
}

int myna_store_append(struct myna_store *s, const void *prefix, size_t plen, const void *val,
                      size_t len, uint64_t *seq)
{
    int err = check_key(s, plen + 8);
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    if (err != 0 || (err = batch_txn(s->env, &txn)) != 0)
        return err;
    int rc = mdb_cursor_open(txn, s->dbi, &c);
    if (rc != 0)
        return write_done(s, rc, "append");
    MDB_val k, v;
    uint64_t last = 0;
    rc = seek_last_under(c, prefix, plen, &k, &v);
    /* Skip keys under the prefix that are not prefix + 8-byte sequence numbers. */
    while (rc == 0 && k.mv_size != plen + 8) {
        rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        if (rc == 0 && !has_prefix(&k, prefix, plen))
            rc = MDB_NOTFOUND;
    }
    if (rc == 0) {
        const unsigned char *p = (const unsigned char *)k.mv_data + plen;
        for (int i = 0; i < 8; i++)
            last = (last << 8) | p[i];
    } else if (rc != MDB_NOTFOUND) {
        mdb_cursor_close(c);
        return write_done(s, rc, "append");
    }
    mdb_cursor_close(c);
    if (last == UINT64_MAX)
        return -EOVERFLOW;
    unsigned char *key = xmalloc(plen + 8);
    myna_store_seq_key(prefix, plen, last + 1, key);
    MDB_val nk = {plen + 8, key}, nv = {len, (void *)val};
    rc = mdb_put(txn, s->dbi, &nk, &nv, 0);
    free(key);
    if (rc == 0 && seq)
        *seq = last + 1;
    return write_done(s, rc, "append");
}

int myna_store_iter(struct myna_store *s, const void *prefix, size_t plen, const void *start,
                    size_t slen, bool reverse, size_t limit, myna_store_iter_fn fn,
                    void *data)
{
    struct myna_store_env *e = s->env;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc, ret = 0;
    if (!prefix || plen == 0) {
        prefix = "";
        plen = 0;
    }
    if (plen > e->maxkey)
        return 0;
    /* A start outside the prefix's range is clamped to it (or yields nothing). */
    if (start) {
        int cmp = key_cmp(start, slen, prefix, plen);
        bool within = plen == 0 || (slen >= plen && memcmp(start, prefix, plen) == 0);
        if (cmp < 0) {
            if (reverse)
                return 0;
            start = NULL;
        } else if (!within) {
            if (!reverse)
                return 0;
            start = NULL;
        } else if (slen == 0 || slen > e->maxkey) {
            start = NULL;
        }
    }
    int err = read_begin(e, &txn);
    if (err != 0)
        return err;
    bool in_batch = txn == e->wtxn;
    unsigned long gen = e->wgen;
    if ((rc = mdb_cursor_open(txn, s->dbi, &c)) != 0)
        goto done;
    if (!reverse) {
        k.mv_size = start ? slen : plen;
        k.mv_data = (void *)(start ? start : prefix);
        rc = k.mv_size ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)
                       : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    } else if (start) {
        k.mv_size = slen;
        k.mv_data = (void *)start;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && key_cmp(k.mv_data, k.mv_size, start, slen) > 0)
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    } else {
        rc = seek_last_under(c, prefix, plen, &k, &v);
    }
    size_t seen = 0;
    while (rc == 0 && has_prefix(&k, prefix, plen)) {
        ret = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, data);
        if (in_batch && gen != e->wgen) {
            /* The callback ended the batch (a failed write): LMDB freed our cursor. */
            c = NULL;
            if (ret == 0)
                ret = MYNA_STORE_ERROR;
            break;
        }
        if (ret != 0)
            break;
        if (limit && ++seen >= limit)
            break;
        rc = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
done:
    if (c)
        mdb_cursor_close(c);
    read_end(e, txn);
    if (ret != 0)
        return ret;
    return rc ? map_err(rc, "iter") : 0;
}

int myna_store_env_tables(struct myna_store_env *e, void (*fn)(const char *name, void *data),
                          void *data)
{
    /* The unnamed database lists the named ones as keys (LMDB's layout). */
    MDB_txn *txn;
    MDB_dbi main;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return MYNA_STORE_ERROR;
    if (mdb_dbi_open(txn, NULL, 0, &main) != 0 || mdb_cursor_open(txn, main, &cur) != 0) {
        mdb_txn_abort(txn);
        return MYNA_STORE_ERROR;
    }
    /* Collect first: fn may open tables, which needs no transaction of ours. */
    char **names = NULL;
    size_t n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n] = xmalloc(k.mv_size + 1);
        memcpy(names[n], k.mv_data, k.mv_size);
        names[n][k.mv_size] = 0;
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < n; i++) {
        fn(names[i], data);
        free(names[i]);
    }
    free(names);
    return 0;
}
