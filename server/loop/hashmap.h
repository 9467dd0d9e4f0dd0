/* server/loop/hashmap.h — string-keyed hash map (chained, power-of-two buckets, grows at load
 * factor 1). Keys are copied and owned by the map; values are borrowed pointers. Keys are
 * hashed with SipHash under a random key of each map, so peers cannot pick colliding keys. */
#ifndef MYNA_HASHMAP_H
#define MYNA_HASHMAP_H

#include <stddef.h>

struct hashmap;

struct hashmap *hashmap_new(void);
/* Frees the map and its keys (not the values). */
void hashmap_free(struct hashmap *h);
void *hashmap_get(const struct hashmap *h, const char *key);
/* Sets key to value (replacing); returns the previous value or NULL. */
void *hashmap_put(struct hashmap *h, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *hashmap_del(struct hashmap *h, const char *key);
size_t hashmap_count(const struct hashmap *h);
/* Calls fn for each entry; fn must not change the map. */
void hashmap_each(const struct hashmap *h, void (*fn)(const char *key, void *value, void *data),
                  void *data);
/* The most entries in one bucket (tests and statistics). */
size_t hashmap_longest_chain(const struct hashmap *h);

#endif
