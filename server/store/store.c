/* server/store/store.c — ordered key-value storage on LMDB (include/myna/store.h).
 *
 * Group commit: the first write of a loop iteration opens the env's one write transaction
 * (the batch); myna_store_env_flush() commits it with a sync, then runs the on_durable
 * callbacks. Units of work (a request, a timer ...) nest inside the batch as LMDB child
 * transactions, each opened at the unit's first write: a failed write aborts its own unit
 * only, so the batch and the other units' writes stay intact. A write outside any unit is
 * a unit of its own. Reads see the innermost open transaction; outside a batch they use one
 * read transaction per env, renewed per top-level operation (a reference count keeps it
 * alive across nested reads from an iteration callback).
 * Near the end of the map a commit may itself need pages: then ("careful" mode) every
 * outermost unit is committed on its own, so a failing commit fails only that unit.
 * A full disk looks like a full map: the map covers only the part of the data file that
 * has disk blocks (posix_fallocate), grown ahead of the data up to store_map_mb, so a write
 * the disk cannot hold fails its own unit with MYNA_STORE_FULL instead of failing a
 * commit, which would lose the whole batch (see fit_map).
 * Several processes may share the directory (mynad, mynactl): a batch lives for one loop
 * iteration only, so another process's writer never waits for long.
 */
#include "myna/store.h"
#include "myna/xml.h"
#include "server/store/store_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server/base/log.h"

#define STORE_MAXDBS 64
#define STORE_MAX_UNITS 8
/* Pages kept free for commits: below this much room, outermost units commit one by one. */
#define CAREFUL_MIN_PAGES 2048u
#define FULL_LOG_EVERY_MS 10000u
#define GROW_MIN_PAGES 8192u       /* the map grows by at least this (32 MiB of 4 KiB pages) */
#define GROW_LEAST_PAGES 256u      /* ... or by as little as this when the disk is nearly full */
#define WRITE_PAGES 4u              /* pages one write is assumed to dirty, beyond its value */
#define GROW_RETRY_MS 1000u        /* after the disk had no room, try again this much later */

struct durable_cb {
    myna_store_durable_fn fn;
    void *data;
    int err; /* nonzero: the writes this callback waited for failed */
};

struct myna_store {
    struct myna_store_env *env;
    MDB_dbi dbi;
    char *name;
};

/* One unit of work: its writes live in a child transaction of the enclosing unit's (or of
 * the batch), opened at the first write, so a unit that only reads costs nothing. */
struct unit {
    MDB_txn *txn;         /* NULL until the first write, and after the unit failed */
    uint64_t serial;      /* tells this txn from a later one at the same address */
    int err;              /* nonzero: the unit failed and its writes were discarded */
    size_t cb_start;      /* durable callbacks registered from this index on are its own */
};

struct myna_store_env {
    MDB_env *env;
    char *dir;
    MDB_txn *wtxn;          /* the current batch, or NULL */
    uint64_t wserial;       /* serial of the batch's txn */
    uint64_t serial;        /* last serial handed out to a write txn */
    struct unit units[STORE_MAX_UNITS];
    unsigned nunits;        /* open units (innermost last) */
    bool careful;           /* little room left: outermost units commit one by one */
    size_t max_pages;       /* store_map_mb in pages: the map grows up to this */
    size_t batch_room;      /* pages free in the map when the batch opened */
    size_t batch_pages;     /* pages the batch's writes may have taken (an estimate) */
    size_t cbs_settled;     /* callbacks below this index know their fate */
    bool disk_short;        /* the map could not grow for want of disk space */
    uint64_t grow_failed_ms; /* when it last could not (retried GROW_RETRY_MS later) */
    MDB_txn *rtxn;          /* reusable read transaction (reset while unused), or NULL */
    unsigned rtxn_users;    /* nesting depth of operations using rtxn */
    size_t maxkey;
    size_t psize;           /* LMDB page size */
    struct durable_cb *cbs;
    size_t ncbs, cbcap;
    struct myna_store **tables;
    size_t ntables;
    struct myna_store_stats stats;
    uint64_t full_logged_ms;     /* when "database is full" was last logged */
    unsigned long full_unlogged; /* refusals since then */
    myna_store_fail_fn on_fail;  /* told at once when a batch's commit fails */
    void *on_fail_data;
};

const char *myna_store_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case MYNA_STORE_NOTFOUND:
        return "no such key";
    case MYNA_STORE_FULL:
        return "database is full (store_map_mb or the disk)";
    case MYNA_STORE_ERROR:
        return "storage error";
    case MYNA_STORE_TOOBIG:
        return "key too long";
    case MYNA_STORE_ABORTED:
        return "unit of work aborted";
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
        return MYNA_STORE_FULL;
    case MDB_BAD_VALSIZE:
        return MYNA_STORE_TOOBIG;
    default:
        log_error("store", "%s: %s", what, mdb_strerror(rc));
        return MYNA_STORE_ERROR;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Pages listed in the free-page database (reusable as readers move on), counted until
 * `enough`: the records are page-number lists whose first word is their length (as LMDB's
 * own mdb_stat -f reads them). */
static size_t free_pages(MDB_env *env, size_t enough)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = 0;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    if (mdb_cursor_open(txn, 0, &c) == 0) {
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && n < enough;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            size_t count; /* the value need not be aligned for a size_t */
            if (v.mv_size >= sizeof(count)) {
                memcpy(&count, v.mv_data, sizeof(count));
                n += count;
            }
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    return n;
}

/* The map's size and the pages in use as of the last commit. The high-water mark of the
 * file overstates use after deletions, so free pages inside it are subtracted, but only
 * counted while the room found is below `enough` (it matters only near the end). */
static void space(struct myna_store_env *e, size_t enough, size_t *maxpg, size_t *used)
{
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    *maxpg = info.me_mapsize / e->psize;
    *used = info.me_last_pgno + 1;
    size_t room = *used < *maxpg ? *maxpg - *used : 0;
    if (room < enough) {
        size_t f = free_pages(e->env, enough - room);
        *used = f < *used ? *used - f : 0;
    }
}

/* Pages that must stay free for commits to go on being grouped. */
static size_t reserve_pages(size_t maxpg)
{
    return CAREFUL_MIN_PAGES > maxpg / 16 ? CAREFUL_MIN_PAGES : maxpg / 16;
}

/* Decides, when a batch opens, whether commits may still be grouped: a commit needs a few
 * pages of its own (free-page bookkeeping), and if it fails every write in it is lost.
 * Also notes the room the batch opens with (batch_room). */
static void check_room(struct myna_store_env *e)
{
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    size_t reserve = reserve_pages(info.me_mapsize / e->psize), maxpg, used;
    space(e, reserve, &maxpg, &used);
    size_t room = used < maxpg ? maxpg - used : 0;
    bool careful = room < reserve;
    e->batch_room = room;
    if (careful && !e->careful)
        log_warn("store", "database nearly full (%zu of %zu KiB free): committing each "
                 "request on its own; %s", room * e->psize / 1024, maxpg * e->psize / 1024,
                 e->disk_short ? "free disk space where the data directory is"
                               : "raise store_map_mb");
    e->careful = careful;
}

/* Keeps the map inside the part of the data file that has disk blocks, and both ahead of
 * the data. When the map has less than twice the careful reserve left (and is below
 * store_map_mb), the file is extended with posix_fallocate by a quarter of the map (at
 * least GROW_MIN_PAGES; when the disk has less, by what it has, down to GROW_LEAST_PAGES)
 * and the map follows. When the disk has no room the map stays: the careful mode takes
 * over and each write that does not fit fails its own request with MYNA_STORE_FULL, until
 * a try GROW_RETRY_MS later finds room. On opening, the map shrinks from store_map_mb to
 * the file's allocated size (or grows it). LMDB remaps: only with no transaction open. */
static void fit_map(struct myna_store_env *e, bool opening)
{
    if (e->wtxn || e->rtxn_users > 0)
        return;
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    size_t maxpg = info.me_mapsize / e->psize, hw = info.me_last_pgno + 1;
    int fd;
    struct stat sb;
    size_t cur = maxpg;
    if (opening) { /* the pages the file has (LMDB writes every page below the last) */
        if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &sb) != 0)
            return;
        cur = (size_t)sb.st_size / e->psize;
        cur = cur < hw ? hw : cur > e->max_pages ? e->max_pages : cur;
    } else if (e->grow_failed_ms && now_ms() - e->grow_failed_ms < GROW_RETRY_MS) {
        return;
    }
    size_t target = cur, room = cur > hw ? cur - hw : 0;
    if (cur < e->max_pages && room < 2 * reserve_pages(cur) &&
        mdb_env_get_fd(e->env, &fd) == 0) {
        size_t step = cur / 4 > GROW_MIN_PAGES ? cur / 4 : GROW_MIN_PAGES;
        for (; step >= GROW_LEAST_PAGES; step /= 2) {
            size_t want = e->max_pages - cur < step ? e->max_pages : cur + step;
            if (posix_fallocate(fd, 0, (off_t)(want * e->psize)) == 0) {
                target = want;
                break;
            }
        }
        if (target == cur) {
            if (!e->disk_short)
                log_warn("store", "no disk space to grow the database beyond %zu KiB "
                         "(store_map_mb allows %zu KiB): writes that do not fit are refused "
                         "until there is room", cur * e->psize / 1024,
                         e->max_pages * e->psize / 1024);
            e->disk_short = true;
            e->grow_failed_ms = now_ms();
        } else {
            if (e->disk_short)
                log_info("store", "disk space found: the database can grow again");
            e->disk_short = false;
            e->grow_failed_ms = 0;
        }
    }
    if (target != maxpg) {
        int rc = mdb_env_set_mapsize(e->env, target * e->psize);
        if (rc != 0)
            log_error("store", "resizing the map to %zu KiB: %s", target * e->psize / 1024,
                      mdb_strerror(rc));
    }
}

/* "Database is full" is logged loudly, but at most once per FULL_LOG_EVERY_MS with the
 * number of writes refused meanwhile: a full disk must not flood the log per stanza. */
static void log_full(struct myna_store_env *e)
{
    e->full_unlogged++;
    uint64_t now = now_ms();
    if (e->full_logged_ms && now - e->full_logged_ms < FULL_LOG_EVERY_MS)
        return;
    size_t maxpg, used;
    space(e, SIZE_MAX, &maxpg, &used);
    log_error("store", "DATABASE FULL: %lu write(s) refused (map %zu KiB, %zu KiB in use at "
              "the last commit); %s", e->full_unlogged, maxpg * e->psize / 1024,
              used * e->psize / 1024,
              e->disk_short ? "the disk is full: free space where the data directory is"
                            : "raise store_map_mb");
    e->full_logged_ms = now;
    e->full_unlogged = 0;
}

/* Callbacks registered from index `from` on learn that their writes failed. */
static void cbs_fail(struct myna_store_env *e, size_t from, int err)
{
    for (size_t i = from; i < e->ncbs; i++)
        if (e->cbs[i].err == 0)
            e->cbs[i].err = err;
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
static int batch_open(struct myna_store_env *e)
{
    if (e->wtxn)
        return 0;
    fit_map(e, false);
    int rc = begin_write(e, &e->wtxn);
    if (rc != 0) {
        e->wtxn = NULL;
        return map_err(rc, "begin write batch");
    }
    e->wserial = ++e->serial;
    check_room(e); /* sets batch_room */
    e->batch_pages = 0;
    return 0;
}

/* Commits the open batch, if any; returns 0 or the mapped error (the batch is gone
 * either way: a failed commit loses every write in it, and the callbacks registered since
 * the last commit hear it; those registered before keep their outcome). */
static int batch_commit(struct myna_store_env *e)
{
    if (!e->wtxn)
        return 0;
    int rc = mdb_txn_commit(e->wtxn); /* syncs: the env has no MDB_NOSYNC */
    e->wtxn = NULL;
    if (rc != 0) {
        int err = map_err(rc, "commit");
        e->stats.commit_failures++;
        if (err == MYNA_STORE_FULL)
            e->careful = true;
        log_error("store", "COMMIT FAILED, write batch lost: %s", myna_store_strerror(err));
        cbs_fail(e, e->cbs_settled, err);
        e->cbs_settled = e->ncbs;
        if (e->on_fail)
            e->on_fail(e->wserial, err, e->on_fail_data);
        return err;
    }
    e->cbs_settled = e->ncbs;
    e->stats.commits++;
    return 0;
}

static bool unit_has_txn(const struct myna_store_env *e)
{
    for (unsigned i = 0; i < e->nunits; i++)
        if (e->units[i].txn)
            return true;
    return false;
}

/* Fails unit i: discards its writes (and those of the units inside it), and tells the
 * callbacks registered in it. Later writes in it fail with the same error. */
static void unit_fail(struct myna_store_env *e, unsigned i, int err)
{
    struct unit *u = &e->units[i];
    if (u->txn)
        mdb_txn_abort(u->txn); /* aborts its children too */
    for (unsigned j = i; j < e->nunits; j++) {
        e->units[j].txn = NULL;
        if (e->units[j].err == 0)
            e->units[j].err = err;
    }
    cbs_fail(e, u->cb_start, err);
    if (err == MYNA_STORE_ABORTED)
        return;
    e->stats.write_failures++;
    if (err == MYNA_STORE_FULL) {
        e->stats.full++;
        e->careful = true; /* the batch is at the edge: group no more (see check_room) */
        log_full(e);
    }
}

/* The transaction a write of the innermost unit goes to: opens the batch and the child
 * transactions of the open units that have none yet. */
static int unit_txn(struct myna_store_env *e, MDB_txn **out)
{
    for (unsigned i = 0; i < e->nunits; i++)
        if (e->units[i].err)
            return e->units[i].err;
    int err = batch_open(e);
    if (err != 0)
        return err;
    MDB_txn *parent = e->wtxn;
    for (unsigned i = 0; i < e->nunits; i++) {
        struct unit *u = &e->units[i];
        if (!u->txn) {
            int rc = mdb_txn_begin(e->env, parent, 0, &u->txn);
            if (rc != 0) {
                u->txn = NULL;
                err = map_err(rc, "begin unit");
                unit_fail(e, i, err);
                return err;
            }
            u->serial = ++e->serial;
        }
        parent = u->txn;
    }
    *out = parent;
    return 0;
}

int myna_store_env_unit_begin(struct myna_store_env *e)
{
    if (e->nunits == STORE_MAX_UNITS) {
        log_error("store", "units nested deeper than %d", STORE_MAX_UNITS);
        return MYNA_STORE_ERROR;
    }
    /* Between requests, a batch that may have used half the room it opened with is
     * committed now, so that the next write's batch finds the map grown (fit_map) rather
     * than a burst of requests in one iteration running it out. */
    if (e->nunits == 0 && e->wtxn && !e->careful && e->batch_pages * 2 > e->batch_room)
        batch_commit(e);
    e->units[e->nunits++] = (struct unit){.cb_start = e->ncbs};
    return 0;
}

/* Merges unit u's writes into the enclosing transaction (no sync): 0, or the error that
 * failed it (its callbacks are told). */
static int unit_merge(struct myna_store_env *e, struct unit *u)
{
    if (!u->txn)
        return 0;
    int rc = mdb_txn_commit(u->txn);
    u->txn = NULL;
    if (rc == 0)
        return 0;
    int err = map_err(rc, "commit unit");
    e->stats.write_failures++;
    cbs_fail(e, u->cb_start, err);
    return err;
}

/* Ends the innermost unit: merges its writes into the enclosing transaction, or discards
 * them. In careful mode the outermost unit's writes are committed right here. */
static int unit_end(struct myna_store_env *e, bool commit)
{
    if (e->nunits == 0) {
        log_error("store", "unit ended that was never begun");
        return MYNA_STORE_ERROR;
    }
    unsigned i = e->nunits - 1;
    if (!commit && e->units[i].err == 0)
        unit_fail(e, i, MYNA_STORE_ABORTED);
    struct unit *u = &e->units[i];
    int err = u->err, merr = unit_merge(e, u);
    if (merr != 0)
        err = merr;
    e->nunits--;
    if (e->nunits == 0 && e->careful && e->wtxn && err == 0)
        err = batch_commit(e);
    return err;
}

int store_settle(struct myna_store_env *e)
{
    int err = myna_store_env_unit_error(e);
    if (err != 0 || !e->careful || e->nunits != 1 || !e->wtxn)
        return err;
    struct unit *u = &e->units[0];
    err = unit_merge(e, u); /* into the batch */
    if (err == 0)
        err = batch_commit(e);
    if (err != 0) {
        u->err = err; /* later writes of the request fail the same way */
        cbs_fail(e, u->cb_start, err);
    }
    return err;
}

int myna_store_env_unit_commit(struct myna_store_env *e)
{
    return unit_end(e, true);
}

void myna_store_env_unit_abort(struct myna_store_env *e)
{
    unit_end(e, false);
}

int myna_store_env_unit_error(const struct myna_store_env *e)
{
    for (unsigned i = e->nunits; i-- > 0;)
        if (e->units[i].err)
            return e->units[i].err;
    return 0;
}

int myna_store_unit_begin(struct myna_store *s)
{
    return myna_store_env_unit_begin(s->env);
}

int myna_store_unit_commit(struct myna_store *s)
{
    return myna_store_env_unit_commit(s->env);
}

void myna_store_unit_abort(struct myna_store *s)
{
    myna_store_env_unit_abort(s->env);
}

int myna_store_unit_error(const struct myna_store *s)
{
    return myna_store_env_unit_error(s->env);
}

/* Starts a write: the transaction of the innermost unit, or of a unit opened for this one
 * write when none is open (*implicit). Pair with write_end(). */
static int write_begin(struct myna_store_env *e, MDB_txn **txn, bool *implicit)
{
    *implicit = e->nunits == 0;
    if (*implicit)
        myna_store_env_unit_begin(e);
    int err = unit_txn(e, txn);
    if (err != 0 && *implicit)
        unit_end(e, true);
    if (err == 0)
        e->batch_pages += WRITE_PAGES; /* the path from the root, copied on write */
    return err;
}

/* Ends a write with LMDB code rc: a failure other than a missing key or a refused key
 * fails the innermost unit. Returns our error code. */
static int write_end(struct myna_store_env *e, int rc, bool implicit, const char *what)
{
    int err = map_err(rc, what);
    if (rc != 0 && rc != MDB_NOTFOUND && rc != MDB_BAD_VALSIZE)
        unit_fail(e, e->nunits - 1, err);
    if (implicit) {
        int uerr = unit_end(e, true);
        if (err == 0)
            err = uerr;
    }
    return err;
}

/* The innermost open write transaction (a unit's, else the batch), or NULL. While a child
 * is open its parent must not be used, so reads always go here. */
static MDB_txn *innermost_txn(const struct myna_store_env *e)
{
    for (unsigned i = e->nunits; i-- > 0;)
        if (e->units[i].txn)
            return e->units[i].txn;
    return e->wtxn;
}

/* A transaction to read from: the batch if one is open, else the shared read txn. Pair
 * every successful call with read_end(). */
static int read_begin(struct myna_store_env *e, MDB_txn **out)
{
    MDB_txn *w = innermost_txn(e);
    if (w) {
        *out = w;
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
    MDB_stat st;
    mdb_env_stat(e->env, &st);
    e->psize = st.ms_psize ? st.ms_psize : 4096;
    e->max_pages = map_mb * 1024 * 1024 / e->psize;
    fit_map(e, true);
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
    while (e->nunits > 0) /* unbalanced units (a bug) do not keep the batch open */
        unit_end(e, false);
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

int myna_store_table(struct myna_store_env *e, const char *name, struct myna_store **out)
{
    for (size_t i = 0; i < e->ntables; i++) {
        if (strcmp(e->tables[i]->name, name) == 0) {
            *out = e->tables[i];
            return 0;
        }
    }
    /* A handle opened inside the batch would die if the batch aborted: commit the batch
     * (its callbacks still run at the next flush) and open the table in its own txn. A
     * unit that has written holds a child of the batch, which cannot commit then. */
    if (unit_has_txn(e)) {
        log_error("store", "table '%s' opened after a write in the same unit: open tables "
                  "first (e.g. in the module's load())", name);
        return MYNA_STORE_ERROR;
    }
    int err = batch_commit(e);
    if (err != 0)
        cbs_fail(e, 0, err);
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
    if (unit_has_txn(e)) {
        log_error("store", "flush inside a unit that has written: not committed");
        return MYNA_STORE_ERROR;
    }
    int err = batch_commit(e); /* tells the callbacks if it fails */
    /* Callbacks may register new callbacks or write again: take the list first. */
    struct durable_cb *cbs = e->cbs;
    size_t n = e->ncbs;
    e->cbs = NULL;
    e->ncbs = e->cbcap = e->cbs_settled = 0;
    for (size_t i = 0; i < n; i++)
        cbs[i].fn(cbs[i].data, cbs[i].err);
    free(cbs);
    return err;
}

bool myna_store_env_dirty(const struct myna_store_env *e)
{
    /* Callbacks wait for a flush too: registered when nothing was written, or after a
     * careful-mode commit, they must not wait for the next write. */
    return e->wtxn != NULL || e->ncbs > 0;
}

uint64_t myna_store_env_batch(const struct myna_store_env *e)
{
    return e->wtxn ? e->wserial : 0;
}

void myna_store_env_on_fail(struct myna_store_env *e, myna_store_fail_fn fn, void *data)
{
    e->on_fail = fn;
    e->on_fail_data = data;
}

void myna_store_env_stats(struct myna_store_env *e, struct myna_store_stats *out)
{
    size_t maxpg, used;
    space(e, SIZE_MAX, &maxpg, &used);
    *out = e->stats;
    out->map_bytes = (uint64_t)maxpg * e->psize;
    out->used_bytes = (uint64_t)used * e->psize;
    out->careful = e->careful;
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

int myna_store_put(struct myna_store *s, const void *key, size_t klen, const void *val,
                   size_t len)
{
    int err = check_key(s, klen);
    MDB_txn *txn = NULL;
    bool implicit;
    if (err != 0 || (err = write_begin(s->env, &txn, &implicit)) != 0)
        return err;
    MDB_val k = {klen, (void *)key}, v = {len, (void *)val};
    s->env->batch_pages += len / s->env->psize;
    return write_end(s->env, mdb_put(txn, s->dbi, &k, &v, 0), implicit, "put");
}

void *myna_store_key(struct myna_arena *a, const char *user, const void *rest, size_t rlen,
                     size_t *klen)
{
    size_t ul = strlen(user);
    if (!rest)
        rlen = 0;
    char *k = myna_arena_alloc(a, ul + 1 + rlen + 1);
    memcpy(k, user, ul + 1);
    if (rlen)
        memcpy(k + ul + 1, rest, rlen);
    k[ul + 1 + rlen] = '\0';
    *klen = ul + 1 + rlen;
    return k;
}

int myna_store_del(struct myna_store *s, const void *key, size_t klen)
{
    int err = check_key(s, klen);
    MDB_txn *txn = NULL;
    bool implicit;
    if (err != 0 || (err = write_begin(s->env, &txn, &implicit)) != 0)
        return err;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, s->dbi, &k, NULL);
    return write_end(s->env, rc == MDB_NOTFOUND ? 0 : rc, implicit, "del");
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
    bool implicit;
    if (count)
        *count = 0;
    if (plen > s->env->maxkey)
        return 0; /* no key can start with it */
    if ((err = write_begin(s->env, &txn, &implicit)) != 0)
        return err;
    if ((rc = mdb_cursor_open(txn, s->dbi, &c)) != 0)
        return write_end(s->env, rc, implicit, "del_prefix");
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
    err = write_end(s->env, rc, implicit, "del_prefix");
    if (err == 0 && count)
        *count = n;
    return err;
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
    bool implicit;
    if (err != 0 || (err = write_begin(s->env, &txn, &implicit)) != 0)
        return err;
    s->env->batch_pages += len / s->env->psize;
    int rc = mdb_cursor_open(txn, s->dbi, &c);
    if (rc != 0)
        return write_end(s->env, rc, implicit, "append");
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
        return write_end(s->env, rc, implicit, "append");
    }
    mdb_cursor_close(c);
    if (last == UINT64_MAX) {
        write_end(s->env, 0, implicit, "append");
        return -EOVERFLOW;
    }
    unsigned char *key = xmalloc(plen + 8);
    myna_store_seq_key(prefix, plen, last + 1, key);
    MDB_val nk = {plen + 8, key}, nv = {len, (void *)val};
    rc = mdb_put(txn, s->dbi, &nk, &nv, 0);
    free(key);
    err = write_end(s->env, rc, implicit, "append");
    if (err == 0 && seq)
        *seq = last + 1;
    return err;
}

/* Serial of write txn t (0 for the read txn): an iteration checks with it that its txn
 * survived the callback. */
static uint64_t txn_serial(const struct myna_store_env *e, const MDB_txn *t)
{
    if (t == e->wtxn)
        return e->wserial;
    for (unsigned i = 0; i < e->nunits; i++)
        if (e->units[i].txn == t)
            return e->units[i].serial;
    return 0;
}

static bool txn_alive(const struct myna_store_env *e, const MDB_txn *t, uint64_t serial)
{
    return txn_serial(e, t) == serial;
}

/* Positions c on the first key after `at` (before it when reverse). */
static int seek_past(MDB_cursor *c, const void *at, size_t alen, bool reverse, MDB_val *k,
                     MDB_val *v)
{
    k->mv_size = alen;
    k->mv_data = (void *)at;
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (!reverse) {
        if (rc == 0 && key_cmp(k->mv_data, k->mv_size, at, alen) == 0)
            rc = mdb_cursor_get(c, k, v, MDB_NEXT);
        return rc;
    }
    if (rc == 0)
        return mdb_cursor_get(c, k, v, MDB_PREV);
    return rc == MDB_NOTFOUND ? mdb_cursor_get(c, k, v, MDB_LAST) : rc;
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
    uint64_t serial = txn_serial(e, txn);
    unsigned char at[512]; /* the current key, while iterating a write txn (see below) */
    size_t atlen = 0;
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
        if (serial) {
            memcpy(at, k.mv_data, k.mv_size);
            atlen = k.mv_size;
        }
        ret = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, data);
        /* The callback may have ended the write txn we iterate (a failed write aborted its
         * unit, or a commit): LMDB freed the cursor with it. Then go on after the current
         * key in what is current now. (A child txn begun by the callback is harmless: LMDB
         * moves the parent's cursors into it and back.) */
        bool lost = serial && !txn_alive(e, txn, serial);
        if (lost)
            c = NULL;
        if (ret != 0 || (limit && ++seen >= limit))
            break;
        if (lost) {
            read_end(e, txn);
            if ((rc = read_begin(e, &txn)) != 0) {
                txn = NULL;
                break;
            }
            serial = txn_serial(e, txn);
            if ((rc = mdb_cursor_open(txn, s->dbi, &c)) != 0)
                break;
            rc = seek_past(c, at, atlen, reverse, &k, &v);
            continue;
        }
        rc = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
done:
    if (c)
        mdb_cursor_close(c); /* a no-op for a cursor LMDB moved into a child txn */
    if (txn)
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

int store_copy(struct myna_store_env *e, const char *dir)
{
    /* A read transaction of its own: a consistent snapshot while writers go on. */
    int rc = mdb_env_copy2(e->env, dir, MDB_CP_COMPACT);
    return rc == 0 ? 0 : rc > 0 && rc < 4096 ? -rc : map_err(rc, "copy");
}
