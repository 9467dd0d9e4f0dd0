/* server/net/peeraddr.h — a peer's address as the limits see it.
 * - The key that per-address limits count under: a peer "ip:port" becomes "ip:ADDRESS"
 *   (the port cut off; IPv6 reduced to its /64, which one customer usually holds whole).
 *   Shared by the HTTP limits (net/http.c), the unauthenticated connection cap
 *   (stream/preauth.c) and login throttling (stream/authfail.c).
 * - Whether a peer is in an IP range (registration_allow, http.trusted_proxies).
 * - The client behind a trusted reverse proxy, from X-Forwarded-For (net/http.c). */
#ifndef MYNA_PEERADDR_H
#define MYNA_PEERADDR_H

#include <stdbool.h>
#include <stddef.h>

#define PEER_KEY_MAX 64
/* Room for a peer string "ip:port" (IPv6 included). */
#define PEER_MAX 48

struct config_range;

void peer_address_key(const char *peer, char *key, size_t len);

/* True when the address of `peer` ("ip:port") is in range r. */
bool peer_in_range(const struct config_range *r, const char *peer);

/* The client a request from `peer` is for, when `peer` is one of the n trusted proxies
 * and `xff` (the X-Forwarded-For values, comma separated, every header line joined in
 * order) names one: walking from the right, the first address that is not a trusted
 * proxy (the leftmost if all are). Written to out as "ip:0"; false (out untouched) when
 * the peer is not trusted, there is no header, or an entry on the way is not an address
 * (then the proxy's own address counts). */
bool peer_forwarded(const struct config_range *proxies, size_t n, const char *peer,
                    const char *xff, char *out, size_t len);

#endif
