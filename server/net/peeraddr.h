/* server/net/peeraddr.h — the key that per-address limits count under: a peer "ip:port"
 * becomes "ip:ADDRESS" (the port cut off; IPv6 reduced to its /64, which one customer
 * usually holds whole). Shared by the HTTP limits (net/http.c), the unauthenticated
 * connection cap (stream/preauth.c) and login throttling (stream/authfail.c). */
#ifndef MYNA_PEERADDR_H
#define MYNA_PEERADDR_H

#include <stddef.h>

#define PEER_KEY_MAX 64

void peer_address_key(const char *peer, char *key, size_t len);

#endif
