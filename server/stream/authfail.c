/* server/stream/authfail.c — see authfail.h. Keys are "ip:ADDRESS" (the port cut off) and
 * "user:NODE@DOMAIN"; values are struct authfail, owned by the table. */
#include "server/stream/authfail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/server.h"

#define AUTHFAIL_FORGET_MS (10 * 60 * 1000)

struct authfail {
    unsigned count;
    uint64_t last; /* loop ms of the last failure */
};

static unsigned bump(struct server *srv, const char *key)
{
    struct authfail *f = hashmap_get(srv->authfail, key);
    uint64_t now = loop_now(srv->loop);
    if (!f) {
        f = xcalloc(1, sizeof *f);
        hashmap_put(srv->authfail, key, f);
    }
    if (now - f->last > AUTHFAIL_FORGET_MS)
        f->count = 0;
    f->count++;
    f->last = now;
    return f->count;
}

/* The address part of a peer "ip:port" as a key. */
static void ip_key(const char *peer, char *key, size_t len)
{
    snprintf(key, len, "ip:%s", peer);
    char *colon = strrchr(key, ':');
    if (colon && colon > key + 3)
        *colon = 0;
}

uint64_t authfail_failed(struct server *srv, const char *peer, const char *user,
                         const char *domain)
{
    char key[600];
    unsigned n = 0;
    if (peer) {
        ip_key(peer, key, sizeof key);
        n = bump(srv, key);
    }
    if (user && domain) {
        snprintf(key, sizeof key, "user:%s@%s", user, domain);
        unsigned m = bump(srv, key);
        n = m > n ? m : n;
    }
    unsigned shift = n > 6 ? 5 : (n ? n - 1 : 0);
    return 250u << shift;
}

void authfail_succeeded(struct server *srv, const char *peer, const char *user,
                        const char *domain)
{
    char key[600];
    snprintf(key, sizeof key, "user:%s@%s", user, domain);
    free(hashmap_del(srv->authfail, key));
    /* A success from an address halves its count: people behind one address who mistype
     * are not slowed for long, while guessing across many accounts still adds up. */
    ip_key(peer ? peer : "?", key, sizeof key);
    struct authfail *f = hashmap_get(srv->authfail, key);
    if (f)
        f->count /= 2;
}

static void free_entry(const char *key, void *value, void *data)
{
    free(value);
}

void authfail_free(struct server *srv)
{
    hashmap_each(srv->authfail, free_entry, NULL);
}
