/* modules/push/devices.c — the push store (table "push"), one account's keys together:
 *   "user@host\0" 'D' JID "\0" NODE  -> the publish-options form as given at enable
 *                                       (serialized <x/>), or empty
 *   "user@host\0" 'C'                -> 4-byte big-endian count of messages notified
 *                                       since the account's last session began
 * Keys are at most 511 bytes (the store's limit); module.c refuses longer ones first.
 */
#include <stdlib.h>
#include <string.h>

#include "push.h"

#define KEY_MAX 511

/* "bare\0" + tag + rest (rest may hold NULs); in `a`. */
static char *key(struct myna_arena *a, const char *bare, char tag, const char *jid,
                 const char *node, size_t *len)
{
    size_t bl = strlen(bare) + 1, jl = jid ? strlen(jid) + 1 : 0;
    size_t nl = node ? strlen(node) : 0;
    char *k = myna_arena_alloc(a, bl + 1 + jl + nl + 1);
    memcpy(k, bare, bl);
    k[bl] = tag;
    if (jid)
        memcpy(k + bl + 1, jid, jl);
    if (node)
        memcpy(k + bl + 1 + jl, node, nl);
    *len = bl + 1 + jl + nl;
    return k;
}

size_t push_key_room(const char *bare)
{
    size_t used = strlen(bare) + 3; /* "\0", 'D', the NUL after the JID */
    return used < KEY_MAX ? KEY_MAX - used : 0;
}

struct listing {
    struct myna_arena *a;
    size_t prefix;
    struct push_device *head, **tail;
    size_t n;
};

static int list_one(const void *k, size_t klen, const void *val, size_t len, void *data)
{
    struct listing *l = data;
    const char *jid = (const char *)k + l->prefix;
    const char *nul = memchr(jid, '\0', klen - l->prefix);
    if (!nul)
        return 0; /* not a key of ours */
    struct push_device *d = myna_arena_alloc(l->a, sizeof *d);
    d->jid = myna_arena_strdup(l->a, jid);
    d->node = myna_arena_strndup(l->a, nul + 1, klen - l->prefix - (size_t)(nul + 1 - jid));
    d->options = len ? myna_xml_parse(l->a, val, len, MYNA_NS_CLIENT) : NULL;
    *l->tail = d;
    l->tail = &d->next;
    l->n++;
    return 0;
}

struct push_device *push_devices(struct push *p, const char *bare, struct myna_arena *a,
                                 size_t *n)
{
    size_t plen;
    char *prefix = key(a, bare, 'D', NULL, NULL, &plen);
    struct listing l = {.a = a, .prefix = plen};
    l.tail = &l.head;
    myna_store_iter(p->store, prefix, plen, NULL, 0, false, 0, list_one, &l);
    *n = l.n;
    return l.head;
}

int push_device_put(struct push *p, const char *bare, const char *jid, const char *node,
                    const struct myna_xml *options)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen;
    char *k = key(a, bare, 'D', jid, node, &klen);
    struct myna_buf b;
    myna_buf_init(&b);
    if (options)
        myna_xml_serialize(options, MYNA_NS_CLIENT, &b);
    int rc = myna_store_put(p->store, k, klen, b.data ? b.data : "", b.len);
    myna_buf_free(&b);
    myna_arena_free(a);
    return rc;
}

int push_device_del(struct push *p, const char *bare, const char *jid, const char *node)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen;
    char *k = key(a, bare, 'D', jid, node ? node : "", &klen);
    int rc = node ? myna_store_del(p->store, k, klen)
                  : myna_store_del_prefix(p->store, k, klen, NULL); /* "…JID\0": every node */
    myna_arena_free(a);
    return rc;
}

bool push_device_exists(struct push *p, const char *bare, const char *jid, const char *node)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen, vlen;
    char *k = key(a, bare, 'D', jid, node, &klen);
    void *v;
    bool found = myna_store_get(p->store, k, klen, a, &v, &vlen) == 0;
    myna_arena_free(a);
    return found;
}

static uint32_t count_get(struct push *p, const char *k, size_t klen, struct myna_arena *a)
{
    void *v;
    size_t len;
    if (myna_store_get(p->store, k, klen, a, &v, &len) != 0 || len != 4)
        return 0;
    const unsigned char *b = v;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint32_t push_count(struct push *p, const char *bare)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen;
    char *k = key(a, bare, 'C', NULL, NULL, &klen);
    uint32_t n = count_get(p, k, klen, a);
    myna_arena_free(a);
    return n;
}

uint32_t push_count_bump(struct push *p, const char *bare)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen;
    char *k = key(a, bare, 'C', NULL, NULL, &klen);
    uint32_t n = count_get(p, k, klen, a);
    if (n < UINT32_MAX)
        n++;
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    /* In a unit of its own: the count is a side note of the message's delivery, and a lost
     * one only shows a lower count (myna/store.h). */
    if (myna_store_unit_begin(p->store) == 0) {
        myna_store_put(p->store, k, klen, b, sizeof b);
        myna_store_unit_commit(p->store);
    }
    myna_arena_free(a);
    return n;
}

void push_count_reset(struct push *p, const char *bare)
{
    struct myna_arena *a = myna_arena_new();
    size_t klen;
    char *k = key(a, bare, 'C', NULL, NULL, &klen);
    /* Only a write when there is something to reset; in a unit of its own (a login). */
    if (count_get(p, k, klen, a) != 0 && myna_store_unit_begin(p->store) == 0) {
        myna_store_del(p->store, k, klen);
        myna_store_unit_commit(p->store);
    }
    myna_arena_free(a);
}

void push_forget_user(struct push *p, const char *bare)
{
    myna_store_del_prefix(p->store, bare, strlen(bare) + 1, NULL);
}
