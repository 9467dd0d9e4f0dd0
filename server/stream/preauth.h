/* server/stream/preauth.h — unauthenticated client connections, counted per address (IPv6
 * per /64) and in total (srv->preauth, srv->npreauth), apart from bound sessions, so that
 * connections that never log in cannot take the room of those that do
 * (limits.preauth_per_address, limits.preauth_total). Each counted connection is
 * released exactly once: when it authenticates or when it goes away. Addresses are keyed
 * by peer_address_key (net/peeraddr.h), as login throttling and the HTTP limits do. */
#ifndef MYNA_PREAUTH_H
#define MYNA_PREAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/net/peeraddr.h" /* peer_address_key */

struct server;

#define PREAUTH_KEY_MAX PEER_KEY_MAX

/* Counts a new unauthenticated connection from `peer` and writes its address key into
 * `key` (PREAUTH_KEY_MAX bytes); false (nothing counted) when the address or the server
 * is at its limit. */
bool preauth_admit(struct server *srv, const char *peer, char *key);
/* The connection admitted under `key` authenticated or ended. */
void preauth_release(struct server *srv, const char *key);

#endif
