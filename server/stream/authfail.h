/* server/stream/authfail.h — login throttling, across connections. Password failures are
 * counted per address (IPv6 per /64) and per account (srv->authfail, a SipHash-keyed map);
 * each failure is answered after a delay that doubles with the count (250 ms to 8 s), and
 * past limits.auth_failures_address / _account failures the address or the account is
 * refused (without a password check) for limits.auth_lockout seconds. Only failures where
 * a password was checked count: malformed requests, unknown mechanisms and aborts never do
 * (a client probing mechanisms is not guessing). A count is forgotten 10 minutes after its
 * last failure; the table is swept and bounded by limits.auth_table_size. */
#ifndef MYNA_AUTHFAIL_H
#define MYNA_AUTHFAIL_H

#include <stdbool.h>
#include <stdint.h>

struct server;

/* True while `peer` ("ip:port"; NULL: unknown) or user@domain (user NULL: not named yet)
 * is refused; the attempt is not counted. */
bool authfail_locked(struct server *srv, const char *peer, const char *user,
                     const char *domain);
/* Counts a password failure from `peer` for user@domain (user NULL when no account was
 * named). Returns the delay (ms) before the failure may be answered. */
uint64_t authfail_failed(struct server *srv, const char *peer, const char *user,
                         const char *domain);
/* A success from `peer` as user@domain. */
void authfail_succeeded(struct server *srv, const char *peer, const char *user,
                        const char *domain);
/* Drops the entries whose time is over (called every few seconds). */
void authfail_sweep(struct server *srv);
/* Frees the table's entries (exit). */
void authfail_free(struct server *srv);

#endif
