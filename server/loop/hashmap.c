/* server/loop/hashmap.c — see hashmap.h. SipHash-2-4 with a random key per map (keys come
 * from peers: JIDs, addresses, names tried at login); each entry holds its key inline. */
#include "server/loop/hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/base/siphash.h"
#include "server/loop/pool.h"

struct entry {
    struct entry *next;
    uint32_t hash;
    void *value;
    char key[];
};

struct hashmap {
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
    struct siphash_key key;
};

static uint32_t hash_str(const struct hashmap *h, const char *s)
{
    return (uint32_t)siphash24(&h->key, s, strlen(s));
}

struct hashmap *hashmap_new(void)
{
    struct hashmap *h = xcalloc(1, sizeof *h);
    h->nbuckets = 16;
    h->buckets = xcalloc(h->nbuckets, sizeof *h->buckets);
    siphash_key_new(&h->key);
    return h;
}

void hashmap_free(struct hashmap *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct entry *e = h->buckets[i];
        while (e) {
            struct entry *n = e->next;
            pool_free(e, sizeof *e + strlen(e->key) + 1);
            e = n;
        }
    }
    free(h->buckets);
    free(h);
}

static struct entry **find(const struct hashmap *h, const char *key, uint32_t hash)
{
    struct entry **pe = &h->buckets[hash & (h->nbuckets - 1)];
    while (*pe && ((*pe)->hash != hash || strcmp((*pe)->key, key) != 0))
        pe = &(*pe)->next;
    return pe;
}

void *hashmap_get(const struct hashmap *h, const char *key)
{
    struct entry **pe = find(h, key, hash_str(h, key));
    return *pe ? (*pe)->value : NULL;
}

static void grow(struct hashmap *h)
{
    size_t n = h->nbuckets * 2;
    struct entry **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct entry *e = h->buckets[i];
        while (e) {
            struct entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

void *hashmap_put(struct hashmap *h, const char *key, void *value)
{
    uint32_t hash = hash_str(h, key);
    struct entry **pe = find(h, key, hash);
    if (*pe) {
        void *old = (*pe)->value;
        (*pe)->value = value;
        return old;
    }
    size_t len = strlen(key);
    struct entry *e = pool_alloc(sizeof *e + len + 1);
    memcpy(e->key, key, len + 1);
    e->hash = hash;
    e->value = value;
    e->next = NULL;
    *pe = e;
    if (++h->count > h->nbuckets)
        grow(h);
    return NULL;
}

void *hashmap_del(struct hashmap *h, const char *key)
{
    struct entry **pe = find(h, key, hash_str(h, key));
    if (!*pe)
        return NULL;
    struct entry *e = *pe;
    void *v = e->value;
    *pe = e->next;
    pool_free(e, sizeof *e + strlen(e->key) + 1);
    h->count--;
    return v;
}

size_t hashmap_count(const struct hashmap *h)
{
    return h->count;
}

void hashmap_each(const struct hashmap *h, void (*fn)(const char *key, void *value, void *data),
                  void *data)
{
    for (size_t i = 0; i < h->nbuckets; i++)
        for (struct entry *e = h->buckets[i]; e; e = e->next)
            fn(e->key, e->value, data);
}

size_t hashmap_longest_chain(const struct hashmap *h)
{
    size_t longest = 0;
    for (size_t i = 0; i < h->nbuckets; i++) {
        size_t n = 0;
        for (struct entry *e = h->buckets[i]; e; e = e->next)
            n++;
        if (n > longest)
            longest = n;
    }
    return longest;
}
