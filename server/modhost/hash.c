/* server/modhost/hash.c — myna_hash (include/myna/module.h, since 1.1): SipHash-2-4
 * (server/base/siphash.c) under one random key per process, drawn at the first call, for
 * modules' tables keyed by peer input. On its own so that tests can link it alone. */
#include <pthread.h>

#include "myna/module.h"
#include "server/base/siphash.h"

static struct siphash_key hash_key;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
    siphash_key_new(&hash_key);
}

uint64_t myna_hash(const void *data, size_t len)
{
    pthread_once(&hash_once, hash_key_init);
    return siphash24(&hash_key, data, len);
}
