/* server/store/accounts.h — user accounts in the "accounts" table: for each user@host, SCRAM
 * credentials for SHA-1 and/or SHA-256 (never the password). Key: "user@host". Accounts
 * made here have both; imported ones may have one (Prosody 0.12 exports SHA-1 only), and
 * a per-host counter of accounts lacking each hash decides which SCRAM mechanisms the host
 * can offer. Creating and changing a password costs PBKDF2 (call off the event loop in the
 * server). Used by mynad (SASL, import) and mynactl. */
#ifndef MYNA_ACCOUNTS_H
#define MYNA_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/store.h"
#include "server/base/scram.h"

#define ACCOUNT_ITERATIONS 4096 /* default of the config's scram_iterations */
#define ACCOUNT_SECRET_LEN 32
#define ACCOUNT_EXISTS (-30101)
#define ACCOUNT_NOTFOUND (-30102)

/* Bits of struct account.hashes: which credentials the account has. */
#define ACCOUNT_HAS(h) (1u << (unsigned)(h))
#define ACCOUNT_ALL (ACCOUNT_HAS(SCRAM_SHA1) | ACCOUNT_HAS(SCRAM_SHA256))

struct account {
    struct scram_credentials sha1;   /* valid when hashes has ACCOUNT_HAS(SCRAM_SHA1) */
    struct scram_credentials sha256; /* valid when hashes has ACCOUNT_HAS(SCRAM_SHA256) */
    unsigned hashes;                 /* ACCOUNT_HAS bits, never 0 for a stored account */
};

/* Derives both credentials for `password` (slow: PBKDF2 twice, `iterations` rounds, the
 * config's scram_iterations). 0, or -1 for a password SASLprep refuses. */
int account_derive(const char *password, unsigned iterations, struct account *out);
/* The server's secret for unknown users' SCRAM salts (scram_set_fake_secret), key
 * "#fake-salt-secret" of the accounts table (no '@': never an account); made and written
 * into the current batch the first time. 0 or a store error. */
int account_secret(struct myna_store *accounts, unsigned char out[ACCOUNT_SECRET_LEN]);
/* The credential for hash h, or NULL when the account lacks it. */
const struct scram_credentials *account_cred(const struct account *acc, enum scram_hash h);
/* Checks a plaintext password against the strongest credential present (PBKDF2). */
bool account_check_password(const struct account *acc, const char *password);
/* After account_check_password() succeeded: derives the credentials the account lacks,
 * with the iteration count of the one it has. Returns true if it added any (PBKDF2). */
bool account_complete(struct account *acc, const char *password);

/* Writes a new account (ACCOUNT_EXISTS if present; `replace` overwrites). -1 if `acc`
 * has no credential. Keeps the host's counters of incomplete accounts right. */
int account_put(struct myna_store *accounts, const char *node, const char *host,
                const struct account *acc, bool replace);
/* Stores `completed` (account_complete) unless the account changed since `checked` was
 * read (a password change meanwhile wins). 0 or an error. */
int account_upgrade(struct myna_store *accounts, const char *node, const char *host,
                    const struct account *checked, const struct account *completed);
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
/* How many accounts of `host` lack the credential for hash h. */
unsigned long account_missing(struct myna_store *accounts, const char *host, enum scram_hash h);
/* ACCOUNT_HAS bits of the hashes every account of `host` has: the SCRAM mechanisms the
 * host can offer without failing anyone (RFC 6120 §6.3.3: the list is per host). */
unsigned account_host_hashes(struct myna_store *accounts, const char *host);

#endif
