/* modules/pubsub/store.c — pubsub data in the LMDB table "pubsub". Every key of a service
 * starts with its JID and a NUL, so an account's PEP data is contiguous (deleted with one
 * prefix delete, like every module's user data):
 *   SVC\0 N node            -> 'N', next seq (8, BE), item count (4, BE), config form
 *   SVC\0 I node \0 id      -> seq (8, BE), publisher, NUL, payload XML (may be empty)
 *   SVC\0 O node \0 seq(8)  -> id            (publication order: latest-N, oldest)
 *   SVC\0 A node \0 jid     -> affiliation (1 byte)
 *   SVC\0 S node \0 jid     -> subid
 *   SVC\0 T                 -> items over all nodes (8, BE; the account's item quota)
 *   USER\0 R svc \0 node    -> ""            (a local user's subscriptions/affiliations on
 *                                             other services, for deletion and listing)
 * Node names and item ids hold no NUL (XML text cannot), so the separators are safe.
 */
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Builds a key: parts joined as SVC \0 TAG part1 [\0 part2]; `raw`/`rawlen` appended as
 * bytes (sequence numbers). */
struct key {
    char *p;
    size_t len;
};

static struct key key_make(struct myna_arena *a, const char *svc, char tag, const char *p1,
                           const char *p2, const unsigned char *raw, size_t rawlen)
{
    size_t sl = strlen(svc), l1 = p1 ? strlen(p1) : 0, l2 = p2 ? strlen(p2) : 0;
    size_t len = sl + 1 + (tag ? 1 : 0) + l1 + ((p2 || raw) ? 1 : 0) + l2 + rawlen;
    char *k = myna_arena_alloc(a, len + 1);
    size_t o = 0;
    memcpy(k, svc, sl);
    o += sl;
    k[o++] = '\0';
    if (tag)
        k[o++] = tag;
    memcpy(k + o, p1 ? p1 : "", l1);
    o += l1;
    if (p2 || raw)
        k[o++] = '\0';
    memcpy(k + o, p2 ? p2 : "", l2);
    o += l2;
    if (raw)
        memcpy(k + o, raw, rawlen);
    return (struct key){k, len};
}

/* ---- item totals per service (T) ---- */

uint64_t store_item_total(struct ps_ctx *c, const struct ps_service *svc)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'T', NULL, NULL, NULL, 0);
    void *v;
    size_t vl;
    uint64_t n = 0;
    if (myna_store_get(c->store, k.p, k.len, a, &v, &vl) == 0 && vl == 8)
        n = get_be(v, 8);
    myna_arena_free(a);
    return n;
}

static void total_add(struct ps_ctx *c, const struct ps_service *svc, int64_t delta)
{
    uint64_t n = store_item_total(c, svc);
    n = delta < 0 && (uint64_t)-delta > n ? 0 : n + (uint64_t)delta;
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'T', NULL, NULL, NULL, 0);
    unsigned char b[8];
    put_be(b, n, 8);
    myna_store_put(c->store, k.p, k.len, b, 8);
    myna_arena_free(a);
}

/* ---- nodes ---- */

int store_node_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   const char *node, struct ps_node *out)
{
    struct key k = key_make(a, svc->jid, 'N', node, NULL, NULL, 0);
    void *v;
    size_t vl;
    int rc = myna_store_get(c->store, k.p, k.len, a, &v, &vl);
    if (rc < 0)
        return rc;
    const unsigned char *b = v;
    if (vl < 13 || b[0] != 'N')
        return MYNA_STORE_ERROR;
    memset(out, 0, sizeof *out);
    out->name = myna_arena_strdup(a, node);
    out->next_seq = get_be(b + 1, 8);
    out->nitems = (uint32_t)get_be(b + 9, 4);
    config_default(c, svc, &out->cfg);
    struct myna_xml *x = myna_xml_parse(a, (const char *)b + 13, vl - 13, NS_PUBSUB_OWNER);
    struct dataform f;
    if (x && df_parse(x, &f, PS_FORM_FIELDS, PS_FORM_VALUES) == 0)
        config_load(c, a, &f, &out->cfg);
    return 0;
}

int store_node_put(struct ps_ctx *c, const struct ps_service *svc, const struct ps_node *n)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'N', n->name, NULL, NULL, 0);
    struct myna_buf b;
    myna_buf_init(&b);
    unsigned char head[13];
    head[0] = 'N';
    put_be(head + 1, n->next_seq, 8);
    put_be(head + 9, n->nitems, 4);
    myna_buf_append(&b, head, sizeof head);
    myna_xml_serialize(config_form(c, a, NULL, &n->cfg, "submit"), NS_PUBSUB_OWNER, &b);
    int rc = myna_store_put(c->store, k.p, k.len, b.data, b.len);
    myna_buf_free(&b);
    myna_arena_free(a);
    return rc;
}

struct del_refs {
    struct ps_ctx *c;
    const char *svc;
    const char *node;
    struct myna_arena *a;
};

/* Drops the reverse-index entry of each subscriber/affiliate of a deleted node. */
static int del_ref_sub(const char *jid, const char *subid, void *data)
{
    struct del_refs *d = data;
    struct key k = key_make(d->a, jid, 'R', d->svc, d->node, NULL, 0);
    myna_store_del(d->c->store, k.p, k.len);
    return 0;
}

static int del_ref_aff(const char *jid, enum ps_affiliation aff, void *data)
{
    return del_ref_sub(jid, NULL, data);
}

int store_node_del(struct ps_ctx *c, const struct ps_service *svc, const char *node)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_node n;
    int rc = store_node_get(c, a, svc, node, &n);
    if (rc == 0) {
        total_add(c, svc, -(int64_t)n.nitems);
        struct del_refs d = {c, svc->jid, node, a};
        store_subs(c, svc, node, del_ref_sub, &d);
        store_affs(c, svc, node, del_ref_aff, &d);
        static const char tags[] = {'I', 'O', 'A', 'S'};
        for (size_t i = 0; i < sizeof tags; i++) {
            struct key k = key_make(a, svc->jid, tags[i], node, "", NULL, 0);
            myna_store_del_prefix(c->store, k.p, k.len, NULL);
        }
        struct key k = key_make(a, svc->jid, 'N', node, NULL, NULL, 0);
        rc = myna_store_del(c->store, k.p, k.len);
    }
    myna_arena_free(a);
    return rc;
}

struct nodes_iter {
    size_t skip;
    store_node_fn fn;
    void *data;
    size_t count;
};

static int nodes_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct nodes_iter *it = data;
    it->count++;
    if (!it->fn)
        return 0;
    char name[PS_NODE_MAX + 1];
    size_t nl = klen - it->skip;
    if (nl > PS_NODE_MAX)
        return 0;
    memcpy(name, (const char *)key + it->skip, nl);
    name[nl] = '\0';
    return it->fn(name, it->data);
}

int store_nodes(struct ps_ctx *c, const struct ps_service *svc, store_node_fn fn, void *data)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'N', NULL, NULL, NULL, 0);
    struct nodes_iter it = {k.len, fn, data, 0};
    int rc = myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, nodes_one, &it);
    myna_arena_free(a);
    return rc;
}

size_t store_node_count(struct ps_ctx *c, const struct ps_service *svc)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'N', NULL, NULL, NULL, 0);
    struct nodes_iter it = {k.len, NULL, NULL, 0};
    myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, nodes_one, &it);
    myna_arena_free(a);
    return it.count;
}

/* ---- items ---- */

static int item_decode(struct myna_arena *a, const char *id, const unsigned char *v, size_t vl,
                       struct ps_item *out)
{
    memset(out, 0, sizeof *out);
    if (vl < 9)
        return MYNA_STORE_ERROR;
    out->id = myna_arena_strdup(a, id);
    out->seq = get_be(v, 8);
    const unsigned char *nul = memchr(v + 8, '\0', vl - 8);
    if (!nul)
        return MYNA_STORE_ERROR;
    out->publisher = myna_arena_strndup(a, (const char *)v + 8, (size_t)(nul - (v + 8)));
    size_t off = (size_t)(nul - v) + 1;
    if (off < vl) {
        out->payload = myna_xml_parse(a, (const char *)v + off, vl - off, NS_PUBSUB);
        if (!out->payload)
            return MYNA_STORE_ERROR;
    }
    return 0;
}

int store_item_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   const char *node, const char *id, struct ps_item *out)
{
    struct key k = key_make(a, svc->jid, 'I', node, id, NULL, 0);
    void *v;
    size_t vl;
    int rc = myna_store_get(c->store, k.p, k.len, a, &v, &vl);
    if (rc < 0)
        return rc;
    return item_decode(a, id, v, vl, out);
}

int store_item_put(struct ps_ctx *c, const struct ps_service *svc, struct ps_node *n,
                   const struct ps_item *it, bool *replaced)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_item old;
    *replaced = store_item_get(c, a, svc, n->name, it->id, &old) == 0;
    int rc = 0;
    if (*replaced) {
        unsigned char seq[8];
        put_be(seq, old.seq, 8);
        struct key ok = key_make(a, svc->jid, 'O', n->name, NULL, seq, 8);
        rc = myna_store_del(c->store, ok.p, ok.len);
    }
    uint64_t s = n->next_seq ? n->next_seq : 1;
    struct myna_buf b;
    myna_buf_init(&b);
    unsigned char seq[8];
    put_be(seq, s, 8);
    myna_buf_append(&b, seq, 8);
    myna_buf_append(&b, it->publisher ? it->publisher : "", strlen(it->publisher ? it->publisher : "") + 1);
    if (it->payload)
        myna_xml_serialize(it->payload, NS_PUBSUB, &b);
    struct key ik = key_make(a, svc->jid, 'I', n->name, it->id, NULL, 0);
    struct key ok = key_make(a, svc->jid, 'O', n->name, NULL, seq, 8);
    if (rc == 0)
        rc = myna_store_put(c->store, ik.p, ik.len, b.data, b.len);
    if (rc == 0)
        rc = myna_store_put(c->store, ok.p, ok.len, it->id, strlen(it->id));
    myna_buf_free(&b);
    if (rc == 0) {
        n->next_seq = s + 1;
        if (!*replaced) {
            n->nitems++;
            total_add(c, svc, 1);
        }
    }
    myna_arena_free(a);
    return rc;
}

int store_item_del(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                   struct ps_node *n, const char *id)
{
    struct ps_item old;
    int rc = store_item_get(c, a, svc, n->name, id, &old);
    if (rc < 0)
        return rc;
    unsigned char seq[8];
    put_be(seq, old.seq, 8);
    struct key ok = key_make(a, svc->jid, 'O', n->name, NULL, seq, 8);
    struct key ik = key_make(a, svc->jid, 'I', n->name, id, NULL, 0);
    myna_store_del(c->store, ok.p, ok.len);
    rc = myna_store_del(c->store, ik.p, ik.len);
    if (n->nitems)
        n->nitems--;
    total_add(c, svc, -1);
    return rc;
}

struct latest_iter {
    struct myna_arena *a;
    char **ids;
    size_t n, cap;
};

static int latest_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct latest_iter *it = data;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 16;
        it->ids = myna_arena_realloc(it->a, it->ids, it->cap * sizeof(char *),
                                     cap * sizeof(char *));
        it->cap = cap;
    }
    it->ids[it->n++] = myna_arena_strndup(it->a, val, len);
    return 0;
}

int store_items_latest(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                       const char *node, size_t max, struct ps_item **out, size_t *n)
{
    struct key k = key_make(a, svc->jid, 'O', node, "", NULL, 0);
    struct latest_iter it = {a, NULL, 0, 0};
    /* Newest first from the end of the order index, then reversed: oldest first. */
    unsigned char end[8];
    put_be(end, UINT64_MAX, 8);
    struct key start = key_make(a, svc->jid, 'O', node, NULL, end, 8);
    int rc = myna_store_iter(c->store, k.p, k.len, start.p, start.len, true, max, latest_one,
                             &it);
    if (rc < 0)
        return rc;
    *out = myna_arena_alloc(a, (it.n ? it.n : 1) * sizeof **out);
    *n = 0;
    for (size_t i = it.n; i-- > 0;)
        if (store_item_get(c, a, svc, node, it.ids[i], &(*out)[*n]) == 0)
            (*n)++;
    return 0;
}

static int first_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct latest_iter *it = data;
    it->ids = myna_arena_alloc(it->a, sizeof(char *));
    it->ids[0] = myna_arena_strndup(it->a, val, len);
    it->n = 1;
    return 1;
}

const char *store_item_oldest(struct ps_ctx *c, struct myna_arena *a,
                              const struct ps_service *svc, const char *node)
{
    struct key k = key_make(a, svc->jid, 'O', node, "", NULL, 0);
    struct latest_iter it = {a, NULL, 0, 0};
    myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 1, first_one, &it);
    return it.n ? it.ids[0] : NULL;
}

int store_items_purge(struct ps_ctx *c, const struct ps_service *svc, struct ps_node *n)
{
    struct myna_arena *a = myna_arena_new();
    struct key ik = key_make(a, svc->jid, 'I', n->name, "", NULL, 0);
    struct key ok = key_make(a, svc->jid, 'O', n->name, "", NULL, 0);
    int rc = myna_store_del_prefix(c->store, ik.p, ik.len, NULL);
    if (rc == 0)
        rc = myna_store_del_prefix(c->store, ok.p, ok.len, NULL);
    total_add(c, svc, -(int64_t)n->nitems);
    n->nitems = 0;
    myna_arena_free(a);
    return rc;
}

/* ---- affiliations and subscriptions ---- */

/* Keeps the reverse index of a local user in step with its sub/aff on a node. */
static void ref_update(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                       const char *node, const char *bare)
{
    struct myna_jid j;
    if (myna_jid_parse(a, bare, &j) < 0 || !j.node || strcmp(j.bare, svc->jid) == 0 ||
        !myna_is_local_host(c->m, j.domain))
        return;
    const char *subid = NULL;
    bool any = store_aff_get(c, a, svc, node, j.bare) != PS_AFF_NONE;
    if (!any)
        any = store_sub_get(c, a, svc, node, j.bare, &subid) == 0;
    struct key k = key_make(a, j.bare, 'R', svc->jid, node, NULL, 0);
    if (any)
        myna_store_put(c->store, k.p, k.len, "", 0);
    else
        myna_store_del(c->store, k.p, k.len);
}

enum ps_affiliation store_aff_get(struct ps_ctx *c, struct myna_arena *a,
                                  const struct ps_service *svc, const char *node,
                                  const char *bare)
{
    struct key k = key_make(a, svc->jid, 'A', node, bare, NULL, 0);
    void *v;
    size_t vl;
    if (myna_store_get(c->store, k.p, k.len, a, &v, &vl) < 0 || vl != 1)
        return PS_AFF_NONE;
    unsigned char b = *(unsigned char *)v;
    return b <= PS_AFF_OWNER ? (enum ps_affiliation)b : PS_AFF_NONE;
}

int store_aff_set(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                  const char *bare, enum ps_affiliation aff)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'A', node, bare, NULL, 0);
    unsigned char b = (unsigned char)aff;
    int rc = aff == PS_AFF_NONE ? myna_store_del(c->store, k.p, k.len)
                                : myna_store_put(c->store, k.p, k.len, &b, 1);
    if (rc == 0)
        ref_update(c, a, svc, node, bare);
    myna_arena_free(a);
    return rc;
}

struct list_iter {
    size_t skip;
    store_aff_fn aff_fn;
    store_sub_fn sub_fn;
    void *data;
};

static int list_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct list_iter *it = data;
    char jid[1024];
    size_t jl = klen - it->skip;
    if (jl >= sizeof jid)
        return 0;
    memcpy(jid, (const char *)key + it->skip, jl);
    jid[jl] = '\0';
    if (it->aff_fn) {
        unsigned char b = len == 1 ? *(const unsigned char *)val : 0;
        return it->aff_fn(jid, b <= PS_AFF_OWNER ? (enum ps_affiliation)b : PS_AFF_NONE,
                          it->data);
    }
    char subid[128];
    size_t sl = len < sizeof subid ? len : sizeof subid - 1;
    memcpy(subid, val, sl);
    subid[sl] = '\0';
    return it->sub_fn(jid, subid, it->data);
}

int store_affs(struct ps_ctx *c, const struct ps_service *svc, const char *node,
               store_aff_fn fn, void *data)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'A', node, "", NULL, 0);
    struct list_iter it = {k.len, fn, NULL, data};
    int rc = myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, list_one, &it);
    myna_arena_free(a);
    return rc;
}

int store_sub_get(struct ps_ctx *c, struct myna_arena *a, const struct ps_service *svc,
                  const char *node, const char *jid, const char **subid)
{
    struct key k = key_make(a, svc->jid, 'S', node, jid, NULL, 0);
    void *v;
    size_t vl;
    int rc = myna_store_get(c->store, k.p, k.len, a, &v, &vl);
    if (rc == 0)
        *subid = v;
    return rc;
}

int store_sub_set(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                  const char *jid, const char *subid)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'S', node, jid, NULL, 0);
    int rc = subid ? myna_store_put(c->store, k.p, k.len, subid, strlen(subid))
                   : myna_store_del(c->store, k.p, k.len);
    if (rc == 0)
        ref_update(c, a, svc, node, jid);
    myna_arena_free(a);
    return rc;
}

int store_subs(struct ps_ctx *c, const struct ps_service *svc, const char *node,
               store_sub_fn fn, void *data)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, svc->jid, 'S', node, "", NULL, 0);
    struct list_iter it = {k.len, NULL, fn, data};
    int rc = myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, list_one, &it);
    myna_arena_free(a);
    return rc;
}

/* ---- a user's references to other services (R) ---- */

struct refs_iter {
    size_t skip;
    store_ref_fn fn;
    void *data;
    size_t count;
};

static int refs_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct refs_iter *it = data;
    it->count++;
    if (!it->fn)
        return 0;
    char buf[512];
    size_t l = klen - it->skip;
    if (l >= sizeof buf)
        return 0;
    memcpy(buf, (const char *)key + it->skip, l);
    buf[l] = '\0';
    size_t sl = strlen(buf);
    if (sl == l)
        return 0;
    return it->fn(buf, buf + sl + 1, it->data);
}

int store_user_refs(struct ps_ctx *c, const char *bare, store_ref_fn fn, void *data)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, bare, 'R', NULL, NULL, NULL, 0);
    struct refs_iter it = {k.len, fn, data, 0};
    int rc = myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, refs_one, &it);
    myna_arena_free(a);
    return rc;
}

size_t store_user_sub_count(struct ps_ctx *c, const char *bare)
{
    struct myna_arena *a = myna_arena_new();
    struct key k = key_make(a, bare, 'R', NULL, NULL, NULL, 0);
    struct refs_iter it = {k.len, NULL, NULL, 0};
    myna_store_iter(c->store, k.p, k.len, NULL, 0, false, 0, refs_one, &it);
    myna_arena_free(a);
    return it.count;
}

struct user_del {
    struct ps_ctx *c;
    const char *bare;
    struct myna_arena *a;
};

static int owner_other(const char *jid, enum ps_affiliation aff, void *data)
{
    const char *gone = data;
    return aff == PS_AFF_OWNER && strcmp(jid, gone) != 0;
}

static int user_del_ref(const char *service, const char *node, void *data)
{
    struct user_del *d = data;
    struct ps_service svc = {myna_arena_strdup(d->a, service), false};
    struct myna_jid sj;
    if (myna_jid_parse(d->a, service, &sj) == 0 && sj.node)
        svc.pep = true;
    const char *n = myna_arena_strdup(d->a, node);
    enum ps_affiliation aff = store_aff_get(d->c, d->a, &svc, n, d->bare);
    store_sub_set(d->c, &svc, n, d->bare, NULL);
    store_aff_set(d->c, &svc, n, d->bare, PS_AFF_NONE);
    /* A node of the generic service left without any owner goes with its owner. */
    if (aff == PS_AFF_OWNER && !svc.pep &&
        store_affs(d->c, &svc, n, owner_other, (void *)d->bare) == 0)
        store_node_del(d->c, &svc, n);
    return 0;
}

void store_user_delete(struct ps_ctx *c, const char *bare)
{
    struct myna_arena *a = myna_arena_new();
    struct user_del d = {c, bare, a};
    store_user_refs(c, bare, user_del_ref, &d);
    struct key k = key_make(a, bare, 0, NULL, NULL, NULL, 0);
    myna_store_del_prefix(c->store, k.p, k.len, NULL);
    myna_arena_free(a);
}
