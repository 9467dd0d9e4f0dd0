/* server/net/peeraddr.c — see peeraddr.h. */
#include "server/net/peeraddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

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
