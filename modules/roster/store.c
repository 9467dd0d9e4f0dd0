/* modules/roster/store.c — the roster store: one record per (user, contact) under the key
 * "user@host\0contact@host", and the user's roster version (RFC 6121 §2.6) under
 * "user@host\0" as decimal text. Record encoding (version 'R'):
 *   'R', sub bits, flags (ask 1, pending_in 2, approved 4, in_roster 8), has_name,
 *   [name NUL], group NUL ... — XML text can hold no NUL, so NUL separates safely.
 * The table "roster_requests" holds, under the same key, the serialized subscription
 * request of each record with pending_in (RFC 6121 §3.1.3: re-delivered whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

#define F_ASK 0x1u
#define F_PENDING_IN 0x2u
#define F_APPROVED 0x4u
#define F_IN_ROSTER 0x8u

static size_t key_build(struct myna_arena *a, const char *user, const char *contact,
                        char **out)
{
    size_t ul = strlen(user), cl = contact ? strlen(contact) : 0;
    char *k = myna_arena_alloc(a, ul + 1 + cl + 1);
    memcpy(k, user, ul);
    k[ul] = '\0';
    if (cl)
        memcpy(k + ul + 1, contact, cl);
    *out = k;
    return ul + 1 + cl;
}

static int record_decode(struct myna_arena *a, const char *jid, const unsigned char *v,
                         size_t len, struct contact *ct)
{
    memset(ct, 0, sizeof(*ct));
    ct->jid = myna_arena_strdup(a, jid);
    if (len < 4 || v[0] != 'R')
        return MYNA_STORE_ERROR;
    ct->sub = v[1] & (SUB_TO | SUB_FROM);
    ct->ask = v[2] & F_ASK;
    ct->pending_in = v[2] & F_PENDING_IN;
    ct->approved = v[2] & F_APPROVED;
    ct->in_roster = v[2] & F_IN_ROSTER;
    size_t off = 4;
    if (v[3]) {
        const char *end = memchr(v + off, '\0', len - off);
        if (end == NULL)
            return MYNA_STORE_ERROR;
        ct->name = myna_arena_strndup(a, (const char *)v + off, (size_t)(end - (const char *)v) - off);
        off = (size_t)(end - (const char *)v) + 1;
    }
    size_t n = 0;
    for (size_t i = off; i < len; i++)
        n += v[i] == '\0';
    ct->groups = myna_arena_alloc(a, (n ? n : 1) * sizeof(char *));
    while (off < len) {
        const char *end = memchr(v + off, '\0', len - off);
        if (end == NULL)
            break;
        ct->groups[ct->ngroups++] =
            myna_arena_strndup(a, (const char *)v + off, (size_t)(end - (const char *)v) - off);
        off = (size_t)(end - (const char *)v) + 1;
    }
    return 0;
}

static void record_encode(const struct contact *ct, struct myna_buf *b)
{
    unsigned char head[4] = {'R', (unsigned char)ct->sub, 0, ct->name != NULL};
    head[2] = (unsigned char)((ct->ask ? F_ASK : 0) | (ct->pending_in ? F_PENDING_IN : 0) |
                              (ct->approved ? F_APPROVED : 0) |
                              (ct->in_roster ? F_IN_ROSTER : 0));
    myna_buf_append(b, head, sizeof(head));
    if (ct->name != NULL)
        myna_buf_append(b, ct->name, strlen(ct->name) + 1);
    for (size_t i = 0; i < ct->ngroups; i++)
        myna_buf_append(b, ct->groups[i], strlen(ct->groups[i]) + 1);
}

int contact_get(struct roster_ctx *c, struct myna_arena *a, const char *user,
                const char *contact, struct contact *out)
{
    char *k;
    size_t kl = key_build(a, user, contact, &k);
    void *v;
    size_t vl;
    int rc = myna_store_get(c->store, k, kl, a, &v, &vl);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        out->jid = myna_arena_strdup(a, contact);
        return rc;
    }
    return record_decode(a, contact, v, vl, out);
}

/* Drops the stored request of a record that no longer has one. */
static int request_del(struct roster_ctx *c, const char *k, size_t kl)
{
    int rc = myna_store_del(c->requests, k, kl);
    return rc == MYNA_STORE_NOTFOUND ? 0 : rc;
}

int contact_put(struct roster_ctx *c, const char *user, const struct contact *ct)
{
    struct myna_arena *a = myna_arena_new();
    char *k;
    size_t kl = key_build(a, user, ct->jid, &k);
    struct myna_buf b;
    myna_buf_init(&b);
    record_encode(ct, &b);
    int rc = myna_store_put(c->store, k, kl, b.data, b.len);
    if (rc == 0 && !ct->pending_in)
        rc = request_del(c, k, kl);
    myna_buf_free(&b);
    myna_arena_free(a);
    return rc;
}

int contact_del(struct roster_ctx *c, const char *user, const char *contact)
{
    struct myna_arena *a = myna_arena_new();
    char *k;
    size_t kl = key_build(a, user, contact, &k);
    int rc = myna_store_del(c->store, k, kl);
    int rr = request_del(c, k, kl);
    myna_arena_free(a);
    return rc < 0 && rc != MYNA_STORE_NOTFOUND ? rc : rr < 0 ? rr : rc;
}

/* A request bigger than this keeps only its type (a flood of huge requests must not fill
 * the store: up to 2 * max_items records per user). */
#define REQUEST_MAX 4096

int request_put(struct roster_ctx *c, const char *user, const char *contact,
                const struct myna_xml *presence)
{
    struct myna_arena *a = myna_arena_new();
    char *k;
    size_t kl = key_build(a, user, contact, &k);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(presence, MYNA_NS_CLIENT, &b);
    int rc = b.len <= REQUEST_MAX ? myna_store_put(c->requests, k, kl, b.data, b.len)
                                  : request_del(c, k, kl);
    myna_buf_free(&b);
    myna_arena_free(a);
    return rc;
}

struct myna_xml *request_get(struct roster_ctx *c, struct myna_arena *a, const char *user,
                             const char *contact)
{
    char *k;
    size_t kl = key_build(a, user, contact, &k);
    void *v;
    size_t vl;
    if (myna_store_get(c->requests, k, kl, a, &v, &vl) < 0)
        return NULL;
    struct myna_xml *p = myna_xml_parse(a, v, vl, MYNA_NS_CLIENT);
    return p != NULL && myna_xml_is(p, MYNA_NS_CLIENT, "presence") ? p : NULL;
}

struct list_state {
    struct myna_arena *a;
    size_t plen;
    struct contact *items;
    size_t n, cap;
    bool only_count;
    bool count_hidden;  /* with only_count: count records outside the roster too */
};

static int list_visit(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct list_state *ls = data;
    if (klen <= ls->plen)
        return 0; /* the version key */
    if (ls->only_count) {
        if (len >= 3 && (ls->count_hidden || (((const unsigned char *)val)[2] & F_IN_ROSTER)))
            ls->n++;
        return 0;
    }
    if (ls->n == ls->cap) {
        size_t ncap = ls->cap ? ls->cap * 2 : 16;
        struct contact *ni = myna_arena_alloc(ls->a, ncap * sizeof(*ni));
        if (ls->n)
            memcpy(ni, ls->items, ls->n * sizeof(*ni));
        ls->items = ni;
        ls->cap = ncap;
    }
    char *jid = myna_arena_strndup(ls->a, (const char *)key + ls->plen, klen - ls->plen);
    if (record_decode(ls->a, jid, val, len, &ls->items[ls->n]) == 0)
        ls->n++;
    return 0;
}

int contact_list(struct roster_ctx *c, struct myna_arena *a, const char *user,
                 struct contact **out, size_t *n)
{
    char *k;
    size_t plen = key_build(a, user, NULL, &k);
    struct list_state ls = {.a = a, .plen = plen};
    int rc = myna_store_iter(c->store, k, plen, NULL, 0, false, 0, list_visit, &ls);
    *out = ls.items;
    *n = ls.n;
    return rc < 0 ? rc : 0;
}

size_t roster_count(struct roster_ctx *c, struct myna_arena *a, const char *user)
{
    char *k;
    size_t plen = key_build(a, user, NULL, &k);
    struct list_state ls = {.a = a, .plen = plen, .only_count = true};
    myna_store_iter(c->store, k, plen, NULL, 0, false, 0, list_visit, &ls);
    return ls.n;
}

size_t roster_count_all(struct roster_ctx *c, struct myna_arena *a, const char *user)
{
    char *k;
    size_t plen = key_build(a, user, NULL, &k);
    struct list_state ls = {.a = a, .plen = plen, .only_count = true, .count_hidden = true};
    myna_store_iter(c->store, k, plen, NULL, 0, false, 0, list_visit, &ls);
    return ls.n;
}

uint64_t roster_version(struct roster_ctx *c, struct myna_arena *a, const char *user)
{
    char *k;
    size_t kl = key_build(a, user, NULL, &k);
    void *v;
    size_t vl;
    if (myna_store_get(c->store, k, kl, a, &v, &vl) < 0)
        return 0;
    return strtoull(v, NULL, 10);
}

int roster_version_set(struct roster_ctx *c, const char *user, uint64_t ver)
{
    struct myna_arena *a = myna_arena_new();
    char *k;
    size_t kl = key_build(a, user, NULL, &k);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ver);
    int rc = myna_store_put(c->store, k, kl, buf, (size_t)n);
    myna_arena_free(a);
    return rc;
}

int roster_version_bump(struct roster_ctx *c, struct myna_arena *a, const char *user,
                        uint64_t *ver)
{
    *ver = roster_version(c, a, user) + 1;
    char *k;
    size_t kl = key_build(a, user, NULL, &k);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*ver);
    return myna_store_put(c->store, k, kl, buf, (size_t)n);
}

int roster_delete_user(struct roster_ctx *c, const char *user)
{
    struct myna_arena *a = myna_arena_new();
    char *k;
    size_t plen = key_build(a, user, NULL, &k);
    int rc = myna_store_del_prefix(c->store, k, plen, NULL);
    int rr = myna_store_del_prefix(c->requests, k, plen, NULL);
    myna_arena_free(a);
    return rc < 0 ? rc : rr;
}
