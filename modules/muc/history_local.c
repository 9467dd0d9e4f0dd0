/* modules/muc/history_local.c — the local history backend (history.c): a room's last
 * messages when it has no archive (logging off, or the mam module not loaded), in the
 * table "muc_history": key "ROOMJID\0" + 8-byte sequence, value = 8-byte big-endian unix
 * time, 1-byte stanza-id length, stanza-id, the message as broadcast (with that
 * stanza-id). At most `history_max` messages are kept per room, older ones are deleted on
 * append; only discussion is kept (XEP-0045 §7.2.15). The format is the one rooms used
 * before archives existed, so their history stays readable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muc.h"

#define HDR 9
#define KEY_MAX 512

static size_t prefix(const struct room *r, char *buf)
{
    size_t n = strlen(r->jid) + 1;
    if (n + 8 > KEY_MAX)
        return 0;
    memcpy(buf, r->jid, n); /* includes the NUL separator */
    return n;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void value_head(struct myna_buf *b, uint64_t t, const char *id)
{
    unsigned char hdr[HDR];
    for (int i = 0; i < 8; i++)
        hdr[i] = (unsigned char)(t >> (56 - 8 * i));
    hdr[8] = (unsigned char)strlen(id);
    myna_buf_append(b, hdr, HDR);
    myna_buf_appends(b, id);
}

void hlocal_append(struct room *r, const struct myna_xml *msg, const char *id)
{
    struct muc *svc = r->svc;
    char pre[KEY_MAX];
    size_t plen = prefix(r, pre);
    if (!svc->history_max || !r->cfg.history_len || !plen || strlen(id) > 255)
        return;
    struct myna_buf b;
    myna_buf_init(&b);
    value_head(&b, (uint64_t)muc_now(), id);
    myna_xml_serialize(msg, MYNA_NS_CLIENT, &b);
    uint64_t seq = 0;
    /* A unit of its own: the message is broadcast whether or not history can keep it, so
     * a full store must not fail the sender's request (myna/store.h, units of work). */
    if (myna_store_unit_begin(svc->t_history) != 0) {
        myna_buf_free(&b);
        return;
    }
    int rc = myna_store_append(svc->t_history, pre, plen, b.data, b.len, &seq);
    myna_buf_free(&b);
    if (rc == 0 && seq > svc->history_max) {
        unsigned char key[KEY_MAX];
        myna_store_seq_key(pre, plen, seq - svc->history_max, key);
        rc = myna_store_del(svc->t_history, key, plen + 8);
    }
    int err = myna_store_unit_commit(svc->t_history);
    if (err < 0)
        myna_log(svc->m, err == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_ERROR,
                 "history of %s: %s", r->jid, myna_store_strerror(err));
}

/* One stored entry, decoded (pointers into the store's memory). */
struct entry {
    uint64_t t;
    const char *id;
    size_t idlen;
    const char *xml;
    size_t len;
};

static bool decode(const void *val, size_t len, struct entry *e)
{
    const unsigned char *v = val;
    if (len < HDR || len < HDR + (size_t)v[8])
        return false;
    e->t = be64(v);
    e->idlen = v[8];
    e->id = (const char *)v + HDR;
    e->xml = e->id + e->idlen;
    e->len = len - HDR - e->idlen;
    return true;
}

struct collect {
    uint64_t since_s;       /* 0 = any */
    size_t max;
    struct hist_item *out;  /* filled from the end: the scan goes newest first */
    size_t n;
    struct myna_arena *a;
};

/* Copies one entry, inside the store's iteration (its bytes are valid only there). */
static int collect_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    (void)key, (void)klen;
    struct collect *c = data;
    struct entry e;
    if (!decode(val, len, &e))
        return 0;
    if (c->since_s && e.t < c->since_s)
        return 1; /* older from here on */
    struct myna_xml *m = myna_xml_parse(c->a, e.xml, e.len, MYNA_NS_CLIENT);
    if (!m || !myna_xml_find(m, MYNA_NS_CLIENT, "body"))
        return 0; /* unreadable, or a moderation tombstone: not discussion */
    struct hist_item *it = &c->out[c->max - 1 - c->n++];
    it->stamp_ms = e.t * 1000;
    it->id = myna_arena_strndup(c->a, e.id, e.idlen);
    it->msg = m;
    return c->n >= c->max;
}

static size_t scan(struct room *r, size_t max, uint64_t since_ms, struct myna_arena *a,
                   struct hist_item **out)
{
    char pre[KEY_MAX];
    size_t plen = prefix(r, pre);
    *out = NULL;
    if (!plen || max == 0)
        return 0;
    struct collect c = {(since_ms + 999) / 1000, max, NULL, 0, a};
    c.out = myna_arena_alloc(a, max * sizeof *c.out);
    myna_store_iter(r->svc->t_history, pre, plen, NULL, 0, true, 0, collect_one, &c);
    *out = c.out + (max - c.n);
    return c.n;
}

size_t hlocal_recent(struct room *r, size_t max, uint64_t since_ms, struct myna_arena *a,
                     struct hist_item **out)
{
    return scan(r, max, since_ms, a, out);
}

size_t hlocal_all(struct room *r, struct myna_arena *a, struct hist_item **out)
{
    return scan(r, r->svc->history_max ? r->svc->history_max : 1, 0, a, out);
}

struct find_id {
    const char *id;
    unsigned char key[KEY_MAX];
    size_t klen;
    uint64_t t;
    struct myna_xml *msg;
    struct myna_arena *a;
};

static int find_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct find_id *f = data;
    struct entry e;
    if (!decode(val, len, &e) || klen > sizeof f->key || e.idlen != strlen(f->id) ||
        memcmp(e.id, f->id, e.idlen) != 0)
        return 0;
    memcpy(f->key, key, klen);
    f->klen = klen;
    f->t = e.t;
    f->msg = myna_xml_parse(f->a, e.xml, e.len, MYNA_NS_CLIENT);
    return 1;
}

static bool find(struct room *r, struct find_id *f)
{
    char pre[KEY_MAX];
    size_t plen = prefix(r, pre);
    if (!plen || strlen(f->id) > 255)
        return false;
    myna_store_iter(r->svc->t_history, pre, plen, NULL, 0, true, 0, find_one, f);
    return f->msg != NULL;
}

int hlocal_get(struct room *r, const char *id, struct myna_arena *a, struct myna_xml **msg)
{
    struct find_id f = {.id = id, .a = a};
    if (!find(r, &f))
        return -1;
    *msg = f.msg;
    return 0;
}

int hlocal_replace(struct room *r, const char *id, const struct myna_xml *tomb)
{
    struct myna_arena *a = myna_arena_new();
    struct find_id f = {.id = id, .a = a};
    int rc = -1;
    if (find(r, &f)) {
        struct myna_buf b;
        myna_buf_init(&b);
        value_head(&b, f.t, id);
        myna_xml_serialize(tomb, MYNA_NS_CLIENT, &b);
        rc = myna_store_put(r->svc->t_history, f.key, f.klen, b.data, b.len) < 0 ? -1 : 0;
        myna_buf_free(&b);
    }
    myna_arena_free(a);
    return rc;
}

void hlocal_clear(struct room *r)
{
    char pre[KEY_MAX];
    size_t plen = prefix(r, pre);
    if (plen)
        myna_store_del_prefix(r->svc->t_history, pre, plen, NULL);
}
