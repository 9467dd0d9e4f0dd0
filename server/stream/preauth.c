/* server/stream/preauth.c — see preauth.h. The per-address count is stored in the map's
 * value pointer (no allocation); an address leaves the map when its count drops to 0. */
#include "server/stream/preauth.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/server.h"

bool preauth_admit(struct server *srv, const char *peer, char *key)
{
    peer_address_key(peer, key, PREAUTH_KEY_MAX);
    uintptr_t n = (uintptr_t)hashmap_get(srv->preauth, key);
    if (srv->npreauth >= srv->cfg.preauth_total) {
        log_warn("c2s", "peer=%s refused: %zu unauthenticated connections in all "
                 "(limits.preauth_total)", peer, srv->npreauth);
        return false;
    }
    if (n >= srv->cfg.preauth_per_address) {
        log_warn("c2s", "peer=%s refused: %lu unauthenticated connections from this address "
                 "(limits.preauth_per_address)", peer, (unsigned long)n);
        return false;
    }
    hashmap_put(srv->preauth, key, (void *)(n + 1));
    srv->npreauth++;
    return true;
}

void preauth_release(struct server *srv, const char *key)
{
    uintptr_t n = (uintptr_t)hashmap_get(srv->preauth, key);
    if (n > 1)
        hashmap_put(srv->preauth, key, (void *)(n - 1));
    else
        hashmap_del(srv->preauth, key);
    if (srv->npreauth)
        srv->npreauth--;
}
