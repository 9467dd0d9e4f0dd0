/* modules/mam/archive.c — the archive store: records under owner\0 + sequence number, the
 * with-index, extent and time lookups for queries, retention (count after writes; age and
 * count in bounded slices on a timer) and deletion. XEP-0313 §3.1-3.2: order is the
 * order of archiving, stamps never go backwards, only the oldest messages are ever
 * deleted. By default a record is written in the loop iteration that archives it, each in
 * a unit of its own, so it is durable before the message it copies is delivered. With
 * write_delay > 0 records wait in memory (at most write_delay ms or PENDING_MAX records)
 * and enter the store together: fewer commits, but a crash loses what waited. Every read
 * path flushes first (archive_flush).
 * Record value: 'M' (or 'T' tombstone), flags (1 = outgoing), stamp ms (8 bytes BE),
 * generation (4 bytes BE, ids.c), with length (2 bytes BE), with, serialized stanza.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mam.h"

#define REC_HEAD 16
#define F_OUTGOING 0x1u
/* Work per expiry slice, and the pause between slices of one round. */
#define EXPIRE_BUDGET 1000
#define EXPIRE_OWNERS 200
#define EXPIRE_SLICE_MS 20
/* Deletions one write may make for the count limit (the timer does the rest). */
#define TRIM_PER_APPEND 8
/* Records waiting to be written, across all archives, before a flush is forced. */
#define PENDING_MAX 256

/* One appended record not yet in the store. */
struct pending {
    char *owner;  /* heap */
    uint64_t seq;
    bool tombstone; /* the archive's only record is the tombstone seq - 1: delete it */
    char *with;   /* heap, NULL if none */
    size_t with_len;
    struct myna_buf rec;
};

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* "owner\0" in arena a. */
size_t archive_prefix(struct myna_arena *a, const char *owner, char **out)
{
    size_t n = strlen(owner) + 1;
    *out = myna_arena_alloc(a, n + 8);
    memcpy(*out, owner, n);
    return n;
}

static size_t seq_key(char *prefix, size_t plen, uint64_t seq)
{
    put_be64((unsigned char *)prefix + plen, seq);
    return plen + 8;
}

size_t with_key(struct myna_arena *a, const char *owner, const char *with, size_t with_len,
                uint64_t seq, char **out)
{
    const char *slash = memchr(with, '/', with_len);
    size_t bl = slash ? (size_t)(slash - with) : with_len, ol = strlen(owner);
    size_t n = ol + 1 + bl + 1 + (seq ? 8 : 0);
    if (n > KEY_MAX)
        return 0;
    char *k = myna_arena_alloc(a, n);
    memcpy(k, owner, ol + 1);
    memcpy(k + ol + 1, with, bl);
    k[ol + 1 + bl] = '\0';
    if (seq)
        put_be64((unsigned char *)k + ol + bl + 2, seq);
    *out = k;
    return n;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int record_decode(const void *key, size_t klen, const void *val, size_t len, struct record *r)
{
    const unsigned char *v = val;
    memset(r, 0, sizeof *r);
    if (klen < 9 || len < REC_HEAD || (v[0] != 'M' && v[0] != 'T'))
        return MYNA_STORE_ERROR;
    r->seq = get_be64((const unsigned char *)key + klen - 8);
    r->tombstone = v[0] == 'T';
    r->outgoing = v[1] & F_OUTGOING;
    r->stamp_ms = get_be64(v + 2);
    r->gen = get_be32(v + 10);
    r->with_len = (size_t)v[14] << 8 | v[15];
    if (REC_HEAD + r->with_len > len)
        return MYNA_STORE_ERROR;
    r->with = (const char *)v + REC_HEAD;
    r->xml = r->with + r->with_len;
    r->xml_len = len - REC_HEAD - r->with_len;
    return 0;
}

static void record_head(struct myna_buf *b, char kind, bool outgoing, uint64_t stamp,
                        uint32_t gen, size_t with_len)
{
    unsigned char h[REC_HEAD] = {(unsigned char)kind, outgoing ? F_OUTGOING : 0};
    put_be64(h + 2, stamp);
    h[10] = (unsigned char)(gen >> 24);
    h[11] = (unsigned char)(gen >> 16);
    h[12] = (unsigned char)(gen >> 8);
    h[13] = (unsigned char)gen;
    h[14] = (unsigned char)(with_len >> 8);
    h[15] = (unsigned char)with_len;
    myna_buf_append(b, h, sizeof h);
}

uint64_t mam_now_ms(struct mam *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now < c->last_stamp_ms)
        now = c->last_stamp_ms; /* the wall clock stepped back: keep the order */
    c->last_stamp_ms = now;
    return now;
}

/* ---- reading ---- */

/* Only the scalar fields (seq, stamp, generation, tombstone) of r may be used after the
 * iteration: its pointers are into the store's memory. */
struct first_rec {
    bool found;
    struct record r;
};

static int grab_record(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct first_rec *f = data;
    f->found = record_decode(k, kl, v, vl, &f->r) == 0;
    return 1;
}

/* The record at `seq` or the next one after it (at_or_after) / the one before (reverse). */
static bool record_near(struct mam *c, char *prefix, size_t plen, uint64_t seq, bool reverse,
                        struct first_rec *f)
{
    f->found = false;
    size_t kl = seq_key(prefix, plen, seq);
    myna_store_iter(c->msgs, prefix, plen, prefix, kl, reverse, 1, grab_record, f);
    return f->found;
}

void archive_extent(struct mam *c, const char *owner, uint64_t *first, uint64_t *last)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, owner, &prefix);
    struct first_rec f = {0}, l = {0};
    *first = 1;
    *last = 0;
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, false, 1, grab_record, &f);
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, true, 1, grab_record, &l);
    if (f.found && l.found) {
        *first = f.r.seq + (f.r.tombstone ? 1 : 0);
        *last = l.r.seq;
    }
    myna_arena_free(a);
}

struct reader {
    uint64_t seq;
    int (*fn)(const struct record *r, void *data);
    void *data;
    int rc;
};

/* Runs the reader's function inside the iteration: the record points into the store's
 * memory, which is only valid during the callback. */
static int read_one(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct reader *rd = data;
    struct record r;
    if (record_decode(k, kl, v, vl, &r) == 0 && r.seq == rd->seq && !r.tombstone)
        rd->rc = rd->fn ? rd->fn(&r, rd->data) : 0;
    return 1;
}

int archive_read(struct mam *c, const char *owner, uint64_t seq,
                 int (*fn)(const struct record *r, void *data), void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, owner, &prefix);
    struct reader rd = {seq, fn, data, MYNA_STORE_NOTFOUND};
    if (plen + 8 <= KEY_MAX) {
        size_t kl = seq_key(prefix, plen, seq);
        myna_store_iter(c->msgs, prefix, plen, prefix, kl, false, 1, read_one, &rd);
    }
    myna_arena_free(a);
    return rd.rc;
}

/* Stamp of the first record at or after seq; UINT64_MAX past the end. */
static uint64_t stamp_at(struct mam *c, char *prefix, size_t plen, uint64_t seq)
{
    struct first_rec f;
    return record_near(c, prefix, plen, seq, false, &f) ? f.r.stamp_ms : UINT64_MAX;
}

uint64_t archive_seq_after(struct mam *c, const char *owner, uint64_t lo, uint64_t hi,
                           uint64_t t)
{
    if (lo > hi)
        return hi + 1;
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, owner, &prefix);
    uint64_t l = lo, h = hi + 1; /* answer in [l, h] */
    while (l < h) {
        uint64_t mid = l + (h - l) / 2;
        if (stamp_at(c, prefix, plen, mid) >= t)
            h = mid;
        else
            l = mid + 1;
    }
    myna_arena_free(a);
    return l;
}

uint64_t archive_seq_before(struct mam *c, const char *owner, uint64_t lo, uint64_t hi,
                            uint64_t t)
{
    if (t == UINT64_MAX)
        return hi;
    /* The last record stamped <= t is the one before the first stamped >= t + 1. */
    return archive_seq_after(c, owner, lo, hi, t + 1) - 1;
}

/* ---- writing ---- */

struct victim {
    uint64_t seq;
    uint64_t stamp;
    bool tombstone;
    char *with; /* bare-JID index key part source (arena), NULL if none */
    size_t with_len;
};

struct collect {
    struct myna_arena *a;
    struct victim *v;
    size_t n, cap;
};

static int collect_one(const void *k, size_t kl, const void *val, size_t vl, void *data)
{
    struct collect *cl = data;
    struct record r;
    if (record_decode(k, kl, val, vl, &r) != 0)
        return 0; /* not ours: leave it */
    if (cl->n == cl->cap)
        return 1;
    struct victim *v = &cl->v[cl->n++];
    v->seq = r.seq;
    v->stamp = r.stamp_ms;
    v->tombstone = r.tombstone;
    v->with = r.with_len ? myna_arena_strndup(cl->a, r.with, r.with_len) : NULL;
    v->with_len = r.with_len;
    return 0;
}

/* The `n` oldest records of the archive at prefix, into cl. */
static void collect_oldest(struct mam *c, char *prefix, size_t plen, size_t n,
                           struct collect *cl)
{
    cl->v = myna_arena_alloc(cl->a, (n ? n : 1) * sizeof *cl->v);
    cl->n = 0;
    cl->cap = n;
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, false, n, collect_one, cl);
}

static void delete_record(struct mam *c, struct myna_arena *a, const char *owner, char *prefix,
                          size_t plen, const struct victim *v)
{
    size_t kl = seq_key(prefix, plen, v->seq);
    myna_store_del(c->msgs, prefix, kl);
    char *wk;
    size_t wl;
    if (v->with && (wl = with_key(a, owner, v->with, v->with_len, v->seq, &wk)) != 0)
        myna_store_del(c->with, wk, wl);
}

/* Replaces the newest record by a tombstone that keeps its sequence number. */
static void make_tombstone(struct mam *c, struct myna_arena *a, const char *owner,
                           char *prefix, size_t plen, const struct victim *v)
{
    delete_record(c, a, owner, prefix, plen, v);
    struct myna_buf b;
    myna_buf_init(&b);
    record_head(&b, 'T', false, v->stamp, 0, 0);
    size_t kl = seq_key(prefix, plen, v->seq);
    myna_store_put(c->msgs, prefix, kl, b.data, b.len);
    myna_buf_free(&b);
}

/* The i-th live record from the oldest goes when older than the cutoff or among the
 * `excess` oldest. */
static bool deletable(const struct victim *v, size_t i, uint64_t cutoff, uint64_t excess)
{
    return (cutoff && v->stamp < cutoff) || (uint64_t)i < excess;
}

/* Applies the age cutoff (0 = none) and the count limit to one archive, deleting at most
 * *budget records. Returns true when the archive is done (nothing more to delete now). */
static bool enforce(struct mam *c, const char *owner, uint64_t cutoff, size_t *budget)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, owner, &prefix);
    uint64_t first, last;
    archive_extent(c, owner, &first, &last);
    uint64_t live = first <= last ? last - first + 1 : 0;
    uint64_t excess = c->max_messages > 0 && live > (uint64_t)c->max_messages
                          ? live - (uint64_t)c->max_messages
                          : 0;
    struct collect cl = {a, NULL, 0, 0};
    size_t want = *budget + 1;
    collect_oldest(c, prefix, plen, want, &cl);
    bool at_end = cl.n < want; /* cl holds the whole archive */
    size_t del = 0;
    while (del < cl.n && cl.v[del].tombstone)
        del++; /* a tombstone in front of newer records goes like any victim */
    size_t skip = del;
    while (del < cl.n && del < *budget && deletable(&cl.v[del], del - skip, cutoff, excess))
        del++;
    bool done = !(del < cl.n && deletable(&cl.v[del], del - skip, cutoff, excess));
    if (at_end && del == cl.n && cl.n > 0) {
        /* Everything goes: the newest stays as a tombstone (unless it already is one). */
        del--;
        if (!cl.v[del].tombstone)
            make_tombstone(c, a, owner, prefix, plen, &cl.v[del]);
    }
    for (size_t i = 0; i < del; i++)
        delete_record(c, a, owner, prefix, plen, &cl.v[i]);
    *budget -= del < *budget ? del : *budget;
    if (del)
        myna_metric_add(c->m, "expired", (long long)del);
    myna_arena_free(a);
    return done;
}

/* After an append: drop a tombstone in front and keep the count limit (a few records per
 * append; a lowered limit is caught up by the expiry timer). */
/* After a write: keep the count limit, a few records at a time (a lowered limit is caught
 * up by the expiry timer). The tombstone of an emptied archive went at append time. */
static void trim_after_append(struct mam *c, const char *owner, char *prefix, size_t plen,
                              uint64_t newest)
{
    struct first_rec f;
    if (c->max_messages <= 0 || !record_near(c, prefix, plen, 1, false, &f) ||
        newest - f.r.seq + 1 <= (uint64_t)c->max_messages)
        return;
    size_t budget = TRIM_PER_APPEND;
    enforce(c, owner, 0, &budget);
}

static void pending_write_unit(struct mam *c, struct pending *p)
{
    size_t ol = strlen(p->owner);
    char key[KEY_MAX + 1];
    memcpy(key, p->owner, ol + 1);
    if (p->tombstone) /* the archive held only a tombstone: the new record takes over */
        myna_store_del(c->msgs, key, seq_key(key, ol + 1, p->seq - 1));
    int rc = myna_store_put(c->msgs, key, seq_key(key, ol + 1, p->seq), p->rec.data, p->rec.len);
    if (rc == 0 && p->with) {
        struct myna_arena *a = myna_arena_new();
        char *wk;
        size_t wkl = with_key(a, p->owner, p->with, p->with_len, p->seq, &wk);
        if (wkl)
            rc = myna_store_put(c->with, wk, wkl, p->with, p->with_len);
        else
            myna_log(c->m, MYNA_LOG_WARN, "archive of %s: JID too long to index", p->owner);
        myna_arena_free(a);
    }
    if (rc != 0)
        return; /* the unit failed: pending_write reports it */
    trim_after_append(c, p->owner, key, ol + 1, p->seq);
}

/* One record, in a unit of its own: an archive copy that cannot be written (a full store)
 * must not fail the request that delivers the message. */
static void pending_write(struct mam *c, struct pending *p)
{
    if (myna_store_unit_begin(c->msgs) != 0) {
        myna_log(c->m, MYNA_LOG_ERROR, "cannot write the archive of %s: units nested too deep",
                 p->owner);
        myna_metric_add(c->m, "errors", 1);
        return;
    }
    pending_write_unit(c, p);
    int rc = myna_store_unit_commit(c->msgs);
    if (rc != 0) {
        myna_log(c->m, MYNA_LOG_ERROR, "cannot write the archive of %s: %s", p->owner,
                 myna_store_strerror(rc));
        myna_metric_add(c->m, "errors", 1);
    }
}

void archive_flush(struct mam *c)
{
    if (c->flush_timer) {
        myna_timer_cancel(c->m, c->flush_timer);
        c->flush_timer = 0;
    }
    for (size_t i = 0; i < c->npend; i++) {
        struct pending *p = &c->pend[i];
        pending_write(c, p);
        free(p->owner);
        free(p->with);
        myna_buf_free(&p->rec);
    }
    if (c->npend)
        myna_metric_add(c->m, "flushes", 1);
    c->npend = 0;
}

static void flush_tick(struct myna_module *m, void *data)
{
    struct mam *c = data;
    c->flush_timer = 0; /* a one-shot timer is gone once it fires */
    archive_flush(c);
}

/* The next sequence number of owner's archive: after its newest pending record, else
 * after the newest stored one (a tombstone included, so numbers are not reused).
 * *tombstone: that newest stored record is a tombstone (then it is the only one). */
static uint64_t next_seq(struct mam *c, const char *owner, char *prefix, size_t plen,
                         bool *tombstone)
{
    *tombstone = false;
    for (size_t i = c->npend; i-- > 0;)
        if (strcmp(c->pend[i].owner, owner) == 0)
            return c->pend[i].seq + 1;
    struct first_rec f = {0};
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, true, 1, grab_record, &f);
    *tombstone = f.found && f.r.tombstone;
    return f.found ? f.r.seq + 1 : 1;
}

/* The stamp of owner's newest record, waiting in memory or stored (0 if none). */
static uint64_t newest_stamp(struct mam *c, const char *owner, char *prefix, size_t plen)
{
    for (size_t i = c->npend; i-- > 0;)
        if (strcmp(c->pend[i].owner, owner) == 0)
            return get_be64((const unsigned char *)c->pend[i].rec.data + 2);
    struct first_rec f = {0};
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, true, 1, grab_record, &f);
    return f.found ? f.r.stamp_ms : 0;
}

static char *dup_or_die(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int archive_append(struct mam *c, const char *owner, const char *with, bool outgoing,
                   const struct myna_xml *msg, uint64_t at, uint64_t *seq, uint64_t *stamp)
{
    size_t ol = strlen(owner), wl = with ? strlen(with) : 0;
    if (ol + 1 + 8 > KEY_MAX || wl > 0xffff)
        return MYNA_STORE_TOOBIG;
    char prefix[KEY_MAX + 1];
    memcpy(prefix, owner, ol + 1);
    if (c->npend == c->cappend) {
        size_t n = c->cappend ? c->cappend * 2 : 16;
        struct pending *np = realloc(c->pend, n * sizeof *np);
        if (!np)
            abort();
        c->pend = np;
        c->cappend = n;
    }
    uint64_t now = mam_now_ms(c);
    struct pending *p = &c->pend[c->npend];
    p->seq = next_seq(c, owner, prefix, ol + 1, &p->tombstone);
    /* An imported message keeps its time where the archive's order allows (§3.1). */
    if (at && at < now) {
        uint64_t newest = newest_stamp(c, owner, prefix, ol + 1);
        now = at > newest ? at : newest;
    }
    p->owner = dup_or_die(owner, ol);
    p->with = wl ? dup_or_die(with, wl) : NULL;
    p->with_len = wl;
    myna_buf_init(&p->rec);
    record_head(&p->rec, 'M', outgoing, now, c->gen, wl);
    myna_buf_append(&p->rec, with, wl);
    myna_xml_serialize(msg, MYNA_NS_CLIENT, &p->rec);
    c->npend++;
    *seq = p->seq;
    if (stamp)
        *stamp = now;
    if (c->write_delay_ms == 0 || c->npend >= PENDING_MAX)
        archive_flush(c);
    else if (!c->flush_timer)
        c->flush_timer = myna_timer_add(c->m, (unsigned)c->write_delay_ms, 0, flush_tick, c);
    return 0;
}

int archive_import(struct mam *c, const char *owner, const char *with, bool outgoing,
                   const struct myna_xml *msg, uint64_t stamp_ms)
{
    size_t ol = strlen(owner), wl = with ? strlen(with) : 0;
    if (ol + 1 + 8 > KEY_MAX || wl > 0xffff)
        return MYNA_STORE_TOOBIG;
    char prefix[KEY_MAX + 1];
    memcpy(prefix, owner, ol + 1);
    struct pending p = {.owner = (char *)owner, .with = wl ? (char *)with : NULL,
                        .with_len = wl};
    p.seq = next_seq(c, owner, prefix, ol + 1, &p.tombstone);
    /* Stamps never go backwards within an archive (time filters search them): an
     * imported stamp older than the archive's newest is raised to it. */
    uint64_t newest = newest_stamp(c, owner, prefix, ol + 1);
    if (stamp_ms < newest)
        stamp_ms = newest;
    myna_buf_init(&p.rec);
    record_head(&p.rec, 'M', outgoing, stamp_ms, c->gen, wl);
    myna_buf_append(&p.rec, with, wl);
    myna_xml_serialize(msg, MYNA_NS_CLIENT, &p.rec);
    /* Written now, in the importer's unit: never through the records waiting in memory,
     * which a dry run's aborted unit must not take with it. */
    pending_write_unit(c, &p);
    myna_buf_free(&p.rec);
    return myna_store_unit_error(c->msgs);
}

int archive_remove(struct mam *c, const char *owner)
{
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, owner, &prefix);
    int rc = myna_store_del_prefix(c->msgs, prefix, plen, NULL);
    int rc2 = myna_store_del_prefix(c->with, prefix, plen, NULL);
    myna_arena_free(a);
    return rc ? rc : rc2;
}

struct replacement {
    const struct myna_xml *msg;
    struct myna_buf value; /* the new record, built while the old one is readable */
    bool found;
};

static int replace_one(const struct record *r, void *data)
{
    struct replacement *rp = data;
    record_head(&rp->value, 'M', r->outgoing, r->stamp_ms, r->gen, r->with_len);
    myna_buf_append(&rp->value, r->with, r->with_len);
    myna_xml_serialize(rp->msg, MYNA_NS_CLIENT, &rp->value);
    rp->found = true;
    return 0;
}

int archive_replace(struct mam *c, const char *owner, uint64_t seq, const struct myna_xml *msg)
{
    size_t ol = strlen(owner);
    if (ol + 1 + 8 > KEY_MAX)
        return MYNA_STORE_NOTFOUND;
    struct replacement rp = {msg, {0}, false};
    myna_buf_init(&rp.value);
    int rc = archive_read(c, owner, seq, replace_one, &rp);
    if (rc == 0 && rp.found) {
        char key[KEY_MAX + 1];
        memcpy(key, owner, ol + 1);
        rc = myna_store_put(c->msgs, key, seq_key(key, ol + 1, seq), rp.value.data,
                            rp.value.len);
    } else if (rc == 0) {
        rc = MYNA_STORE_NOTFOUND;
    }
    myna_buf_free(&rp.value);
    return rc;
}

/* ---- expiry: one round over every archive, in slices ---- */

static int grab_owner(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    const char *nul = memchr(k, '\0', kl);
    if (nul)
        *(char **)data = strndup(k, (size_t)(nul - (const char *)k));
    return 1;
}

static unsigned expire_interval_ms(const struct mam *c)
{
    long long ms = c->max_age_s > 0 ? c->max_age_s * 1000 / 4 : 600000;
    return ms < 250 ? 250 : ms > 600000 ? 600000 : (unsigned)ms;
}

static void expire_tick(struct myna_module *m, void *data);

static void expire_schedule(struct mam *c, unsigned ms)
{
    c->expire_timer = myna_timer_add(c->m, ms, 0, expire_tick, c);
}

static void expire_tick(struct myna_module *m, void *data)
{
    struct mam *c = data;
    c->expire_timer = 0;
    archive_flush(c);
    uint64_t now = mam_now_ms(c);
    uint64_t cutoff = c->max_age_s > 0 ? now - (uint64_t)c->max_age_s * 1000 : 0;
    size_t budget = EXPIRE_BUDGET;
    for (int owners = 0; budget > 0 && owners < EXPIRE_OWNERS; owners++) {
        char *owner = NULL;
        const char *start = c->expire_pos ? c->expire_pos : "";
        myna_store_iter(c->msgs, NULL, 0, start, strlen(start), false, 1, grab_owner, &owner);
        if (!owner) { /* round complete */
            free(c->expire_pos);
            c->expire_pos = NULL;
            expire_schedule(c, expire_interval_ms(c));
            return;
        }
        bool done = enforce(c, owner, cutoff, &budget);
        free(c->expire_pos);
        if (done) {
            /* "owner\1" sorts after every key of owner\0...: the next archive. */
            size_t n = strlen(owner);
            c->expire_pos = malloc(n + 2);
            if (!c->expire_pos)
                abort();
            memcpy(c->expire_pos, owner, n);
            c->expire_pos[n] = '\1';
            c->expire_pos[n + 1] = '\0';
            free(owner);
        } else {
            c->expire_pos = owner;
        }
    }
    expire_schedule(c, EXPIRE_SLICE_MS);
}

void archive_expire_start(struct mam *c)
{
    if (c->max_age_s > 0 || c->max_messages > 0)
        expire_schedule(c, expire_interval_ms(c));
}
