/* server/store/accounts.c — user accounts in the "accounts" table (server/store/accounts.h).
 *
 * Key: "node@host" (prepared parts, so equal JIDs give equal keys). Value: a versioned
 * binary record, version 1:
 *   u8 version=1, u8 count (1 or 2), then per credential:
 *   u8 hash, u32be iterations, u8 salt_len, salt, stored_key, server_key (hash length each)
 * Only SCRAM keys are stored (RFC 5802 §3), never the password. The key "@host" (no node,
 * so never an account) holds the host's counters: u32be accounts lacking SHA-1, u32be
 * accounts lacking SHA-256; every put and delete adjusts them in the same batch. Writes
 * join the store's current batch; callers flush (mynactl) or wait for on_durable (mynad).
 */
#include "server/store/accounts.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "server/base/log.h"

#define ACCOUNT_RECORD_V1 1
#define ACCOUNT_RECORD_MAX (2 + 2 * (1 + 4 + 1 + SCRAM_SALT_MAX + 2 * SCRAM_MAX_HASH))
#define COUNTERS_LEN 8

int account_derive(const char *password, unsigned iterations, struct account *out)
{
    memset(out, 0, sizeof *out);
    if (!iterations)
        iterations = ACCOUNT_ITERATIONS;
    if (scram_credentials_make(SCRAM_SHA1, password, NULL, 0, iterations, &out->sha1) != 0 ||
        scram_credentials_make(SCRAM_SHA256, password, NULL, 0, iterations, &out->sha256) != 0)
        return -1;
    out->hashes = ACCOUNT_ALL;
    return 0;
}

#define SECRET_KEY "#fake-salt-secret"

int account_secret(struct myna_store *accounts, unsigned char out[ACCOUNT_SECRET_LEN])
{
    struct myna_arena *a = myna_arena_new();
    void *val = NULL;
    size_t len = 0;
    int rc = myna_store_get(accounts, SECRET_KEY, strlen(SECRET_KEY), a, &val, &len);
    if (rc == 0 && len == ACCOUNT_SECRET_LEN) {
        memcpy(out, val, ACCOUNT_SECRET_LEN);
        OPENSSL_cleanse(val, len);
        myna_arena_free(a);
        return 0;
    }
    myna_arena_free(a);
    if (rc != 0 && rc != MYNA_STORE_NOTFOUND)
        return rc;
    if (RAND_bytes(out, ACCOUNT_SECRET_LEN) != 1)
        return -1;
    return myna_store_put(accounts, SECRET_KEY, strlen(SECRET_KEY), out, ACCOUNT_SECRET_LEN);
}

const struct scram_credentials *account_cred(const struct account *acc, enum scram_hash h)
{
    if (!(acc->hashes & ACCOUNT_HAS(h)))
        return NULL;
    return h == SCRAM_SHA256 ? &acc->sha256 : &acc->sha1;
}

/* The strongest credential present. */
static const struct scram_credentials *strongest(const struct account *acc)
{
    const struct scram_credentials *c = account_cred(acc, SCRAM_SHA256);
    return c ? c : account_cred(acc, SCRAM_SHA1);
}

bool account_check_password(const struct account *acc, const char *password)
{
    const struct scram_credentials *c = strongest(acc);
    return c && scram_check_password(c, password);
}

bool account_complete(struct account *acc, const char *password)
{
    const struct scram_credentials *have = strongest(acc);
    if (!have || (acc->hashes & ACCOUNT_ALL) == ACCOUNT_ALL)
        return false;
    /* The iteration count the account already has (the old server's, or the admin's) is
     * kept for the new hash too. */
    unsigned iterations = have->iterations;
    bool added = false;
    for (int h = SCRAM_SHA1; h <= SCRAM_SHA256; h++) {
        struct scram_credentials *c = h == SCRAM_SHA256 ? &acc->sha256 : &acc->sha1;
        if (!(acc->hashes & ACCOUNT_HAS(h)) &&
            scram_credentials_make((enum scram_hash)h, password, NULL, 0, iterations, c) == 0) {
            acc->hashes |= ACCOUNT_HAS(h);
            added = true;
        }
    }
    return added;
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

/* Decodes a stored record. 0 or MYNA_STORE_ERROR. */
static int record_decode(const unsigned char *p, size_t left, struct account *out)
{
    memset(out, 0, sizeof *out);
    if (left < 2 || p[0] != ACCOUNT_RECORD_V1 || p[1] < 1 || p[1] > 2)
        return MYNA_STORE_ERROR;
    unsigned count = p[1];
    p += 2;
    left -= 2;
    for (unsigned i = 0; i < count; i++) {
        struct scram_credentials c;
        if (cred_decode(&p, &left, &c) != 0 || (out->hashes & ACCOUNT_HAS(c.hash)))
            return MYNA_STORE_ERROR;
        if (c.hash == SCRAM_SHA1)
            out->sha1 = c;
        else
            out->sha256 = c;
        out->hashes |= ACCOUNT_HAS(c.hash);
    }
    return 0;
}

/* Reads the record under `key`: 0 with *out, ACCOUNT_NOTFOUND, or an error. */
static int record_get(struct myna_store *accounts, const char *key, size_t klen,
                      struct account *out)
{
    struct myna_arena *a = myna_arena_new();
    void *val = NULL;
    size_t len = 0;
    int rc = myna_store_get(accounts, key, klen, a, &val, &len);
    if (rc == MYNA_STORE_NOTFOUND)
        rc = ACCOUNT_NOTFOUND;
    else if (rc == 0 && (rc = record_decode(val, len, out)) != 0)
        log_error("accounts", "corrupt account record for %.*s", (int)klen, key);
    myna_arena_free(a);
    return rc;
}

/* "@host": the key of a host's counters. */
static char *counters_key(const char *host, size_t *len)
{
    size_t hl = strlen(host);
    char *k = xmalloc(hl + 2);
    k[0] = '@';
    memcpy(k + 1, host, hl + 1);
    *len = hl + 1;
    return k;
}

static void counters_read(struct myna_store *accounts, const char *host, unsigned long miss[2])
{
    size_t klen, len = 0;
    char *key = counters_key(host, &klen);
    struct myna_arena *a = myna_arena_new();
    void *val = NULL;
    miss[0] = miss[1] = 0;
    if (myna_store_get(accounts, key, klen, a, &val, &len) == 0 && len == COUNTERS_LEN) {
        const unsigned char *p = val;
        for (int h = 0; h < 2; h++)
            miss[h] = (unsigned long)p[4 * h] << 24 | (unsigned long)p[4 * h + 1] << 16 |
                      (unsigned long)p[4 * h + 2] << 8 | p[4 * h + 3];
    }
    myna_arena_free(a);
    free(key);
}

/* Moves the host's counters from an account's old hash bits to its new ones (0 = no
 * account). */
static int counters_adjust(struct myna_store *accounts, const char *host, unsigned old_hashes,
                           unsigned new_hashes)
{
    unsigned long miss[2];
    bool changed = false;
    counters_read(accounts, host, miss);
    for (int h = 0; h < 2; h++) {
        bool was = old_hashes && !(old_hashes & ACCOUNT_HAS(h));
        bool is = new_hashes && !(new_hashes & ACCOUNT_HAS(h));
        if (was == is)
            continue;
        changed = true;
        if (is)
            miss[h]++;
        else if (miss[h] > 0)
            miss[h]--;
    }
    if (!changed)
        return 0;
    size_t klen;
    char *key = counters_key(host, &klen);
    int rc;
    if (miss[0] == 0 && miss[1] == 0) {
        rc = myna_store_del(accounts, key, klen);
    } else {
        unsigned char v[COUNTERS_LEN];
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 4; i++)
                v[4 * h + i] = (unsigned char)(miss[h] >> (24 - 8 * i));
        rc = myna_store_put(accounts, key, klen, v, sizeof v);
    }
    free(key);
    return rc;
}

unsigned long account_missing(struct myna_store *accounts, const char *host, enum scram_hash h)
{
    unsigned long miss[2];
    counters_read(accounts, host, miss);
    return miss[h == SCRAM_SHA256];
}

unsigned account_host_hashes(struct myna_store *accounts, const char *host)
{
    unsigned long miss[2];
    counters_read(accounts, host, miss);
    return (miss[0] ? 0 : ACCOUNT_HAS(SCRAM_SHA1)) | (miss[1] ? 0 : ACCOUNT_HAS(SCRAM_SHA256));
}

int account_put(struct myna_store *accounts, const char *node, const char *host,
                const struct account *acc, bool replace)
{
    unsigned hashes = acc->hashes & ACCOUNT_ALL;
    size_t klen;
    char *key = hashes ? account_key(node, host, &klen) : NULL;
    if (!key)
        return -1;
    struct account old;
    int rc = record_get(accounts, key, klen, &old);
    if (rc == 0 && !replace) {
        free(key);
        return ACCOUNT_EXISTS;
    }
    unsigned old_hashes = rc == 0 ? old.hashes : 0;
    unsigned char rec[ACCOUNT_RECORD_MAX];
    size_t n = 0;
    rec[n++] = ACCOUNT_RECORD_V1;
    rec[n++] = (unsigned char)(hashes == ACCOUNT_ALL ? 2 : 1);
    if (hashes & ACCOUNT_HAS(SCRAM_SHA1))
        n += cred_encode(&acc->sha1, rec + n);
    if (hashes & ACCOUNT_HAS(SCRAM_SHA256))
        n += cred_encode(&acc->sha256, rec + n);
    rc = myna_store_put(accounts, key, klen, rec, n);
    if (rc == 0)
        rc = counters_adjust(accounts, host, old_hashes, hashes);
    free(key);
    return rc;
}

int account_upgrade(struct myna_store *accounts, const char *node, const char *host,
                    const struct account *checked, const struct account *completed)
{
    struct account now;
    int rc = account_get(accounts, node, host, &now);
    if (rc != 0)
        return rc;
    /* Only if what the password was checked against is still what is stored. */
    for (int h = 0; h < 2; h++) {
        const struct scram_credentials *a = account_cred(&now, (enum scram_hash)h);
        const struct scram_credentials *b = account_cred(checked, (enum scram_hash)h);
        if ((a == NULL) != (b == NULL) || (a && memcmp(a, b, sizeof *a) != 0))
            return 0;
    }
    return account_put(accounts, node, host, completed, true);
}

int account_get(struct myna_store *accounts, const char *node, const char *host,
                struct account *out)
{
    size_t klen;
    char *key = account_key(node, host, &klen);
    if (!key)
        return ACCOUNT_NOTFOUND;
    int rc = record_get(accounts, key, klen, out);
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
    struct account old;
    int rc = record_get(accounts, key, klen, &old);
    if (rc == 0 || rc == MYNA_STORE_ERROR) {
        unsigned old_hashes = rc == 0 ? old.hashes : ACCOUNT_ALL;
        rc = myna_store_del(accounts, key, klen);
        if (rc == 0)
            rc = counters_adjust(accounts, host, old_hashes, 0);
    }
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
