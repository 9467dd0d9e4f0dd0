/* server/net/peeraddr.c — see peeraddr.h. */
#include "server/net/peeraddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "server/base/config.h"

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

/* An IPv4 address written as IPv6 (::ffff:a.b.c.d), as some proxies and dual-stack
 * sockets give them (Myna's own listeners are IPv6-only). */
static bool v4_mapped(const unsigned char *bin, size_t len)
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return len == 16 && memcmp(bin, prefix, 12) == 0;
}

/* The binary address of "ip:port": 4 or 16 bytes, or 0. */
static size_t peer_binary(const char *peer, unsigned char bin[16])
{
    char addr[INET6_ADDRSTRLEN + 8];
    snprintf(addr, sizeof addr, "%s", peer ? peer : "");
    char *colon = strrchr(addr, ':');
    if (colon)
        *colon = 0;
    if (inet_pton(AF_INET, addr, bin) == 1)
        return 4;
    if (inet_pton(AF_INET6, addr, bin) == 1)
        return 16;
    return 0;
}

static bool binary_in_range(const struct config_range *r, const unsigned char *bin, size_t len)
{
    if (r->family == 4 && v4_mapped(bin, len)) {
        bin += 12;
        len = 4;
    }
    if (len != (r->family == 4 ? 4u : 16u))
        return false;
    unsigned full = r->bits / 8, rest = r->bits % 8;
    if (full > len || memcmp(bin, r->addr, full) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return rest == 0 || (bin[full] & mask) == (r->addr[full] & mask);
}

bool peer_in_range(const struct config_range *r, const char *peer)
{
    unsigned char bin[16];
    size_t len = peer_binary(peer, bin);
    return len && binary_in_range(r, bin, len);
}

static bool trusted(const struct config_range *proxies, size_t n, const unsigned char *bin,
                    size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (binary_in_range(&proxies[i], bin, len))
            return true;
    return false;
}

/* One X-Forwarded-For entry [s, e): an address, perhaps "[v6]" or "v4:port" as some
 * proxies write it. Its binary form (4 or 16 bytes), or 0. */
static size_t entry_binary(const char *s, const char *e, unsigned char bin[16])
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    char a[INET6_ADDRSTRLEN + 8];
    if (e - s <= 0 || (size_t)(e - s) >= sizeof a)
        return 0;
    memcpy(a, s, (size_t)(e - s));
    a[e - s] = 0;
    char *p = a;
    if (*p == '[') { /* "[v6]" or "[v6]:port" */
        char *close = strchr(p, ']');
        if (!close)
            return 0;
        *close = 0;
        p++;
    } else if (strchr(p, ':') == strrchr(p, ':') && strchr(p, ':')) {
        *strchr(p, ':') = 0; /* "v4:port" */
    }
    if (inet_pton(AF_INET, p, bin) == 1)
        return 4;
    if (inet_pton(AF_INET6, p, bin) == 1)
        return 16;
    return 0;
}

bool peer_forwarded(const struct config_range *proxies, size_t n, const char *peer,
                    const char *xff, char *out, size_t len)
{
    unsigned char bin[16];
    size_t blen = peer_binary(peer, bin);
    if (!xff || !blen || !trusted(proxies, n, bin, blen))
        return false;
    const char *end = xff + strlen(xff);
    unsigned char client[16];
    size_t clen = 0;
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        clen = entry_binary(start, end, client);
        if (!clen)
            return false; /* not an address: no more trust in what is left of it */
        if (!trusted(proxies, n, client, clen))
            break;
        end = start > xff ? start - 1 : xff;
    }
    if (!clen)
        return false;
    char a[INET6_ADDRSTRLEN];
    if (v4_mapped(client, clen)) /* one client, one key: its IPv4 form */
        inet_ntop(AF_INET, client + 12, a, sizeof a);
    else
        inet_ntop(clen == 4 ? AF_INET : AF_INET6, client, a, sizeof a);
    snprintf(out, len, "%s:0", a);
    return true;
}
