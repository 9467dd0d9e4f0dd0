/* server/accounts.h — user accounts in the "accounts" table: for each user@host, SCRAM
 * credentials for SHA-1 and SHA-256 (never the password). Key: "user@host". Creating and
 * changing a password costs PBKDF2 (call off the event loop in the server). Used by mynad
 * (SASL) and mynactl. */
#ifndef MYNA_ACCOUNTS_H
#define MYNA_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/store.h"
#include "scram.h"

#define ACCOUNT_ITERATIONS 4096
#define ACCOUNT_EXISTS (-30101)
#define ACCOUNT_NOTFOUND (-30102)

struct account {
    struct scram_credentials sha1;
    struct scram_credentials sha256;
};

/* Derives credentials for `password` (slow: PBKDF2 twice). 0 or -1 for a bad password. */
int account_derive(const char *password, struct account *out);
/* Writes a new account (ACCOUNT_EXISTS if present; `replace` overwrites). */
int account_put(struct myna_store *accounts, const char *node, const char *host,
                const struct account *acc, bool replace);
/* Reads credentials; ACCOUNT_NOTFOUND if no such user. */
int account_get(struct myna_store *accounts, const char *node, const char *host,
                struct account *out);
bool account_exists(struct myna_store *accounts, const char *node, const char *host);
int account_delete(struct myna_store *accounts, const char *node, const char *host);
/* Deletes the account and, in every other table, every key that starts with
 * "node@host\0" (the user's data, as modules key it). */
int account_purge(struct myna_store_env *env, struct myna_store *accounts, const char *node,
                  const char *host);
/* Calls fn for each user (node part) of host, in order. */
int account_list(struct myna_store *accounts, const char *host,
                 void (*fn)(const char *node, void *data), void *data);

#endif
