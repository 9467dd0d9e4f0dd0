/* modules/muc/map.c — a small string-keyed hash map (chained, power-of-two buckets,
 * grows at load 1, keyed hash) for rooms, nicks and real JIDs. Keys are copied; values are
 * borrowed. */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

/* Room names, nicks and JIDs come from peers: a keyed hash (myna_hash). */
static size_t hash(const char *s)
{
    return (size_t)myna_hash(s, strlen(s));
}

static void grow(struct muc_map *m)
{
    size_t nb = m->nb ? m->nb * 2 : 16;
    struct muc_map_ent **b = calloc(nb, sizeof *b);
    if (!b)
        abort();
    for (size_t i = 0; i < m->nb; i++) {
        for (struct muc_map_ent *e = m->b[i], *n; e; e = n) {
            n = e->next;
            size_t j = hash(e->key) & (nb - 1);
            e->next = b[j];
            b[j] = e;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

static struct muc_map_ent **slot(const struct muc_map *m, const char *key)
{
    struct muc_map_ent **p = &m->b[hash(key) & (m->nb - 1)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

void *muc_map_get(const struct muc_map *m, const char *key)
{
    if (!m->nb)
        return NULL;
    struct muc_map_ent *e = *slot(m, key);
    return e ? e->val : NULL;
}

void *muc_map_put(struct muc_map *m, const char *key, void *val)
{
    if (m->n >= m->nb)
        grow(m);
    struct muc_map_ent **p = slot(m, key);
    if (*p) {
        void *old = (*p)->val;
        (*p)->val = val;
        return old;
    }
    struct muc_map_ent *e = malloc(sizeof *e);
    if (!e || !(e->key = strdup(key)))
        abort();
    e->val = val;
    e->next = NULL;
    *p = e;
    m->n++;
    return NULL;
}

void *muc_map_del(struct muc_map *m, const char *key)
{
    if (!m->nb)
        return NULL;
    struct muc_map_ent **p = slot(m, key);
    struct muc_map_ent *e = *p;
    if (!e)
        return NULL;
    *p = e->next;
    void *v = e->val;
    free(e->key);
    free(e);
    m->n--;
    return v;
}

void muc_map_each(const struct muc_map *m, void (*fn)(const char *key, void *val, void *d),
                  void *d)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct muc_map_ent *e = m->b[i], *n; e; e = n) {
            n = e->next; /* fn may delete the entry it is given */
            fn(e->key, e->val, d);
        }
}

static int cmp_ent(const void *a, const void *b)
{
    return strcmp((*(struct muc_map_ent *const *)a)->key, (*(struct muc_map_ent *const *)b)->key);
}

void muc_map_each_sorted(const struct muc_map *m,
                         void (*fn)(const char *key, void *val, void *d), void *d)
{
    if (!m->n)
        return;
    struct muc_map_ent **v = malloc(m->n * sizeof *v);
    if (!v)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < m->nb; i++)
        for (struct muc_map_ent *e = m->b[i]; e; e = e->next)
            v[k++] = e;
    qsort(v, k, sizeof *v, cmp_ent);
    for (size_t i = 0; i < k; i++)
        fn(v[i]->key, v[i]->val, d);
    free(v);
}

void muc_map_free(struct muc_map *m)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct muc_map_ent *e = m->b[i], *n; e; e = n) {
            n = e->next;
            free(e->key);
            free(e);
        }
    free(m->b);
    memset(m, 0, sizeof *m);
}
