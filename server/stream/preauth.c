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

void peer_address_key(const char *peer, char *key, size_t len)
{
    char addr[INET6_ADDRSTRLEN + 8];
    snprintf(addr, sizeof addr, "%s", peer ? peer : "?");
    char *colon = strrchr(addr, ':');
    if (colon && colon > addr)
        *colon = 0;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        memset(a6.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a6, addr, sizeof addr);
        snprintf(key, len, "ip:%s/64", addr);
        return;
    }
    snprintf(key, len, "ip:%s", addr);
}

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
