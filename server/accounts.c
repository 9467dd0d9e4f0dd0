/* server/accounts.c — user accounts in the "accounts" table (server/accounts.h).
 *
 * Key: "node@host" (prepared parts, so equal JIDs give equal keys). Value: a versioned
 * binary record, version 1:
 *   u8 version=1, u8 count, then per credential:
 *   u8 hash, u32be iterations, u8 salt_len, salt, stored_key, server_key (hash length each)
 * Only SCRAM keys are stored (RFC 5802 §3), never the password. Writes join the store's
 * current batch; callers flush (mynactl) or wait for on_durable (mynad).
 */
#include "server/accounts.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"

#define ACCOUNT_RECORD_V1 1
#define ACCOUNT_RECORD_MAX (2 + 2 * (1 + 4 + 1 + 16 + 2 * SCRAM_MAX_HASH))

int account_derive(const char *password, struct account *out)
{
    if (scram_credentials_make(SCRAM_SHA1, password, NULL, 0, ACCOUNT_ITERATIONS,
                               &out->sha1) != 0 ||
        scram_credentials_make(SCRAM_SHA256, password, NULL, 0, ACCOUNT_ITERATIONS,
                               &out->sha256) != 0)
        return -1;
    return 0;
}

/* "node@host" in a heap string; NULL if an argument is missing. */
static char *account_key(const char *node, const char *host, size_t *len)
{
    if (!node || !host || !*node || !*host)
        return NULL;
    size_t nl = strlen(node), hl = strlen(host);
    char *k = xmalloc(nl + 1 + hl + 1);
    memcpy(k, node, nl);
    k[nl] = '@';
    memcpy(k + nl + 1, host, hl + 1);
    *len = nl + 1 + hl;
    return k;
}

static size_t cred_encode(const struct scram_credentials *c, unsigned char *p)
{
    size_t hl = scram_hash_len(c->hash);
    unsigned char *start = p;
    *p++ = (unsigned char)c->hash;
    *p++ = (unsigned char)(c->iterations >> 24);
    *p++ = (unsigned char)(c->iterations >> 16);
    *p++ = (unsigned char)(c->iterations >> 8);
    *p++ = (unsigned char)c->iterations;
    *p++ = (unsigned char)c->salt_len;
    memcpy(p, c->salt, c->salt_len);
    p += c->salt_len;
    memcpy(p, c->stored_key, hl);
    p += hl;
    memcpy(p, c->server_key, hl);
    p += hl;
    return (size_t)(p - start);
}

/* Decodes one credential at *p (len bytes left); advances *p. -1 if truncated/invalid. */
static int cred_decode(const unsigned char **pp, size_t *left, struct scram_credentials *c)
{
    const unsigned char *p = *pp;
    memset(c, 0, sizeof(*c));
    if (*left < 6 || p[0] > SCRAM_SHA256 || p[5] == 0 || p[5] > sizeof(c->salt))
        return -1;
    c->hash = (enum scram_hash)p[0];
    c->iterations = (unsigned)p[1] << 24 | (unsigned)p[2] << 16 | (unsigned)p[3] << 8 | p[4];
    c->salt_len = p[5];
    size_t hl = scram_hash_len(c->hash);
    size_t need = 6 + c->salt_len + 2 * hl;
    if (*left < need || c->iterations == 0)
        return -1;
    memcpy(c->salt, p + 6, c->salt_len);
    memcpy(c->stored_key, p + 6 + c->salt_len, hl);
    memcpy(c->server_key, p + 6 + c->salt_len + hl, hl);
    *pp = p + need;
    *left -= need;
    return 0;
}

int account_put(struct myna_store *accounts, const char *node, const char *host,
                const struct account *acc, bool replace)
{
    size_t klen;
    char *key = account_key(node, host, &klen);
    if (!key)
        return -1;
    if (!replace && account_exists(accounts, node, host)) {
        free(key);
        return ACCOUNT_EXISTS;
    }
    unsigned char rec[ACCOUNT_RECORD_MAX];
    size_t n = 0;
    rec[n++] = ACCOUNT_RECORD_V1;
    rec[n++] = 2;
    n += cred_encode(&acc->sha1, rec + n);
    n += cred_encode(&acc->sha256, rec + n);
    int rc = myna_store_put(accounts, key, klen, rec, n);
    free(key);
    return rc;
}

int account_get(struct myna_store *accounts, const char *node, const char *host,
                struct account *out)
{
    size_t klen, len = 0;
    char *key = account_key(node, host, &klen);
    if (!key)
        return ACCOUNT_NOTFOUND;
    struct myna_arena *a = myna_arena_new();
    void *val = NULL;
    int rc = myna_store_get(accounts, key, klen, a, &val, &len);
    if (rc == MYNA_STORE_NOTFOUND) {
        rc = ACCOUNT_NOTFOUND;
    } else if (rc == 0) {
        const unsigned char *p = val;
        size_t left = len;
        struct account acc;
        bool have1 = false, have256 = false;
        if (left < 2 || p[0] != ACCOUNT_RECORD_V1) {
            rc = MYNA_STORE_ERROR;
        } else {
            unsigned count = p[1];
            p += 2;
            left -= 2;
            for (unsigned i = 0; i < count && rc == 0; i++) {
                struct scram_credentials c;
                if (cred_decode(&p, &left, &c) != 0) {
                    rc = MYNA_STORE_ERROR;
                } else if (c.hash == SCRAM_SHA1) {
                    acc.sha1 = c;
                    have1 = true;
                } else {
                    acc.sha256 = c;
                    have256 = true;
                }
            }
            if (rc == 0 && (!have1 || !have256))
                rc = MYNA_STORE_ERROR;
        }
        if (rc == 0)
            *out = acc;
        else
            log_error("accounts", "corrupt account record for %s", key);
    }
    myna_arena_free(a);
    free(key);
    return rc;
}

bool account_exists(struct myna_store *accounts, const char *node, const char *host)
{
    size_t klen, len;
    char *key = account_key(node, host, &klen);
    if (!key)
        return false;
    struct myna_arena *a = myna_arena_new();
    void *val;
    int rc = myna_store_get(accounts, key, klen, a, &val, &len);
    myna_arena_free(a);
    free(key);
    return rc == 0;
}

int account_delete(struct myna_store *accounts, const char *node, const char *host)
{
    size_t klen;
    char *key = account_key(node, host, &klen);
    if (!key)
        return ACCOUNT_NOTFOUND;
    int rc = ACCOUNT_NOTFOUND;
    if (account_exists(accounts, node, host))
        rc = myna_store_del(accounts, key, klen);
    free(key);
    return rc;
}

struct list_ctx {
    const char *host;
    size_t hlen;
    void (*fn)(const char *node, void *data);
    void *data;
};

static int list_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct list_ctx *ctx = data;
    const char *k = key;
    const char *at = memchr(k, '@', klen);
    if (!at)
        return 0;
    size_t nlen = (size_t)(at - k);
    if (klen - nlen - 1 != ctx->hlen || memcmp(at + 1, ctx->host, ctx->hlen) != 0)
        return 0;
    char node[1024];
    if (nlen == 0 || nlen >= sizeof(node))
        return 0;
    memcpy(node, k, nlen);
    node[nlen] = '\0';
    ctx->fn(node, ctx->data);
    return 0;
}

int account_list(struct myna_store *accounts, const char *host,
                 void (*fn)(const char *node, void *data), void *data)
{
    /* Keys are grouped by user, not by host: listing one host's users is a full scan,
     * which is fine for an admin command. */
    struct list_ctx ctx = {host, strlen(host), fn, data};
    return myna_store_iter(accounts, NULL, 0, NULL, 0, false, 0, list_one, &ctx);
}

struct purge {
    struct myna_store_env *env;
    const char *prefix;
    size_t plen;
    int rc;
};

static void purge_table(const char *name, void *data)
{
    struct purge *p = data;
    struct myna_store *t;
    if (strcmp(name, "accounts") == 0 || myna_store_table(p->env, name, &t) != 0)
        return;
    int rc = myna_store_del_prefix(t, p->prefix, p->plen, NULL);
    if (rc != 0)
        p->rc = rc;
}

int account_purge(struct myna_store_env *env, struct myna_store *accounts, const char *node,
                  const char *host)
{
    int rc = account_delete(accounts, node, host);
    if (rc != 0)
        return rc;
    /* Every module keys a user's data as "user@host\0..." (myna/store.h). */
    char prefix[2 * 1024 + 2];
    int n = snprintf(prefix, sizeof prefix, "%s@%s", node, host);
    if (n < 0 || (size_t)n + 1 >= sizeof prefix)
        return MYNA_STORE_TOOBIG;
    struct purge p = {env, prefix, (size_t)n + 1, 0};
    myna_store_env_tables(env, purge_table, &p);
    return p.rc;
}
