/* modules/muc/history.c — the room's message history (XEP-0045 §7.2.15 discussion
 * history), behind one small interface (append / send recent / replace / clear) so that
 * it can later be served by the shared archive service of the MAM module. For now a
 * bounded per-room store in the table "muc_history": key "ROOMJID\0" + 8-byte sequence,
 * value = 8-byte big-endian unix time, 1-byte stanza-id length, stanza-id, stanza text.
 * At most `history_max` messages are kept per room (older ones are deleted on append);
 * a temporary room's history is dropped when the room vanishes or is created again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muc.h"

#define HDR 9

static size_t prefix(const struct room *r, char *buf, size_t cap)
{
    size_t n = strlen(r->jid) + 1;
    if (n > cap)
        return 0;
    memcpy(buf, r->jid, n); /* includes the NUL separator */
    return n;
}

void history_append(struct room *r, const struct myna_xml *msg, const char *stanza_id)
{
    struct muc *svc = r->svc;
    if (!svc->history_max || !r->cfg.history_len)
        return;
    char pre[512];
    size_t plen = prefix(r, pre, sizeof pre);
    size_t idlen = stanza_id ? strlen(stanza_id) : 0;
    if (!plen || idlen > 255)
        return;
    struct myna_buf b;
    myna_buf_init(&b);
    unsigned char hdr[HDR];
    unsigned long long t = (unsigned long long)muc_now();
    for (int i = 0; i < 8; i++)
        hdr[i] = (unsigned char)(t >> (56 - 8 * i));
    hdr[8] = (unsigned char)idlen;
    myna_buf_append(&b, hdr, HDR);
    myna_buf_append(&b, stanza_id, idlen);
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
        unsigned char key[520];
        myna_store_seq_key(pre, plen, seq - svc->history_max, key);
        rc = myna_store_del(svc->t_history, key, plen + 8);
    }
    int err = myna_store_unit_commit(svc->t_history);
    if (err < 0)
        myna_log(svc->m, err == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_ERROR,
                 "history of %s: %s", r->jid, myna_store_strerror(err));
}

struct entry {
    long long t;
    const char *xml;
    size_t len;
};

struct collect {
    const struct history_req *q;
    long long cutoff;
    long total_chars;
    long max;
    struct entry *e;
    size_t n;
    struct myna_arena *a;
};

static long long be64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (long long)v;
}

static int collect_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    (void)key, (void)klen;
    struct collect *c = data;
    const unsigned char *v = val;
    if (len < HDR || len < HDR + (size_t)v[8])
        return 0;
    long long t = be64(v);
    if (c->cutoff >= 0 && t < c->cutoff)
        return 1; /* older from here on */
    size_t off = HDR + v[8], xlen = len - off;
    if (c->q->maxchars >= 0 && c->total_chars + (long)xlen > c->q->maxchars)
        return 1;
    c->total_chars += (long)xlen;
    c->e[c->n].t = t;
    c->e[c->n].xml = myna_arena_strndup(c->a, (const char *)v + off, xlen);
    c->e[c->n].len = xlen;
    c->n++;
    return c->n >= (size_t)c->max;
}

void history_send(struct room *r, const struct history_req *q, const struct myna_jid *to)
{
    long max = r->cfg.history_len;
    if (q->maxstanzas >= 0 && q->maxstanzas < max)
        max = q->maxstanzas;
    if (max <= 0 || q->maxchars == 0)
        return;
    char pre[512];
    size_t plen = prefix(r, pre, sizeof pre);
    if (!plen)
        return;
    struct myna_arena *a = myna_arena_new();
    struct collect c = {.q = q, .cutoff = -1, .max = max, .a = a};
    if (q->seconds >= 0)
        c.cutoff = muc_now() - q->seconds;
    if (q->since >= 0 && q->since > c.cutoff)
        c.cutoff = q->since;
    c.e = myna_arena_alloc(a, (size_t)max * sizeof *c.e);
    myna_store_iter(r->svc->t_history, pre, plen, NULL, 0, true, (size_t)max, collect_one, &c);
    for (size_t i = c.n; i-- > 0;) {
        struct myna_xml *m = myna_xml_parse(a, c.e[i].xml, c.e[i].len, MYNA_NS_CLIENT);
        if (!m)
            continue;
        myna_xml_set_attr(m, "to", to->full);
        char stamp[32];
        muc_stamp(c.e[i].t, stamp);
        struct myna_xml *d = myna_xml_add_child(m, NS_DELAY, "delay");
        myna_xml_set_attr(d, "from", r->jid);
        myna_xml_set_attr(d, "stamp", stamp);
        myna_send(r->svc->m, m);
    }
    myna_arena_free(a);
}

struct find_sid {
    const char *sid;
    unsigned char key[520];
    size_t klen;
    long long t;
    char *xml;
    size_t len;
    struct myna_arena *a;
};

static int find_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct find_sid *f = data;
    const unsigned char *v = val;
    if (len < HDR || len < HDR + (size_t)v[8] || klen > sizeof f->key)
        return 0;
    size_t idlen = v[8];
    if (idlen != strlen(f->sid) || memcmp(v + HDR, f->sid, idlen) != 0)
        return 0;
    memcpy(f->key, key, klen);
    f->klen = klen;
    f->t = be64(v);
    f->xml = myna_arena_strndup(f->a, (const char *)v + HDR + idlen, len - HDR - idlen);
    f->len = len - HDR - idlen;
    return 1;
}

int history_replace(struct room *r, const char *stanza_id, struct myna_arena *a,
                    const char **from, const char **occupant_id,
                    struct myna_xml *(*make)(struct myna_arena *a, void *d), void *d)
{
    char pre[512];
    size_t plen = prefix(r, pre, sizeof pre);
    if (!plen || strlen(stanza_id) > 255)
        return -1;
    struct find_sid f = {.sid = stanza_id, .a = a};
    myna_store_iter(r->svc->t_history, pre, plen, NULL, 0, true, 0, find_one, &f);
    if (!f.xml)
        return -1;
    struct myna_xml *old = myna_xml_parse(a, f.xml, f.len, MYNA_NS_CLIENT);
    if (!old)
        return -1;
    *from = myna_xml_attr(old, "from");
    struct myna_xml *oid = myna_xml_find(old, NS_OCCUPANT_ID, "occupant-id");
    *occupant_id = oid ? myna_xml_attr(oid, "id") : NULL;
    struct myna_xml *tomb = make(a, d);
    myna_xml_set_attr(tomb, "from", *from);
    struct myna_buf b;
    myna_buf_init(&b);
    unsigned char hdr[HDR];
    for (int i = 0; i < 8; i++)
        hdr[i] = (unsigned char)((unsigned long long)f.t >> (56 - 8 * i));
    hdr[8] = (unsigned char)strlen(stanza_id);
    myna_buf_append(&b, hdr, HDR);
    myna_buf_appends(&b, stanza_id);
    myna_xml_serialize(tomb, MYNA_NS_CLIENT, &b);
    myna_store_put(r->svc->t_history, f.key, f.klen, b.data, b.len);
    myna_buf_free(&b);
    return 0;
}

void history_clear(struct room *r)
{
    char pre[512];
    size_t plen = prefix(r, pre, sizeof pre);
    if (plen)
        myna_store_del_prefix(r->svc->t_history, pre, plen, NULL);
}
