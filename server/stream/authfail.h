/* server/stream/authfail.h — login throttling: failed authentications are counted per
 * address and per account (srv->authfail), and each failure is answered only after a delay
 * that doubles with the count, from 250 ms to 8 s. A count is forgotten after 10 minutes
 * without failures; a success clears the account's count and halves the address's. Used
 * by SASL (sasl.c) for every kind of stream. */
#ifndef MYNA_AUTHFAIL_H
#define MYNA_AUTHFAIL_H

#include <stdint.h>

struct server;

/* Counts a failure from `peer` ("ip:port"; NULL when the transport is gone) for
 * user@domain (user NULL when no account was named). Returns the delay (ms) before the
 * failure may be answered. */
uint64_t authfail_failed(struct server *srv, const char *peer, const char *user,
                         const char *domain);
/* A success from `peer` as user@domain. */
void authfail_succeeded(struct server *srv, const char *peer, const char *user,
                        const char *domain);
/* Frees the table's entries (exit). */
void authfail_free(struct server *srv);

#endif
