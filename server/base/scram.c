/* server/base/scram.c — SCRAM-SHA-1/-SHA-256(-PLUS) for SASL (server/base/scram.h).
 *
 * RFC 5802 §3 (key derivation), §5.1 (attribute order and syntax), §6 (channel binding and
 * downgrade protection), RFC 7677 (SHA-256), RFC 4013 SASLprep via libidn, RFC 4648 strict
 * base64. The exchange is an explicit state machine: start -> challenge -> finish -> done;
 * any failure ends it. Unknown users get a salt derived from the name, the hash and the
 * store's secret, and the iteration count of new accounts, so their challenge looks like a
 * real one and stays the same between tries and across restarts.
 * Proofs are compared in constant time; nothing secret is logged.
 */
#include "server/base/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#include "server/base/log.h"

#define SCRAM_MSG_MAX 8192      /* no legitimate SCRAM message comes near this */
#define SCRAM_SNONCE_BYTES 24   /* 32 base64 characters */
#define SCRAM_FAKE_ITERATIONS 4096

enum scram_state { ST_START, ST_CHALLENGE, ST_FINISH, ST_DONE };

struct scram_server {
    enum scram_state state;
    enum scram_hash hash;
    bool plus;                   /* the -PLUS mechanism was selected */
    char *cb_type;               /* channel binding the TLS layer offers, or NULL */
    unsigned char *cb_data;
    size_t cb_len;
    char *gs2_header;            /* exactly as the client sent it, e.g. "n,," */
    char *client_first_bare;
    char *username;              /* decoded and SASLprep'd */
    char *authzid;               /* decoded, or NULL */
    char *nonce;                 /* client nonce + server nonce */
    size_t cnonce_len;
    char *snonce_override;       /* test hook: fixed server nonce */
    char *server_first;
    bool fake;                   /* unknown user: the exchange must fail at the end */
    struct scram_credentials cred;
};

/* ---- Hashes ---------------------------------------------------------------------- */

static const EVP_MD *scram_md(enum scram_hash h)
{
    return h == SCRAM_SHA256 ? EVP_sha256() : EVP_sha1();
}

size_t scram_hash_len(enum scram_hash h)
{
    return h == SCRAM_SHA256 ? 32 : 20;
}

const char *scram_mech_name(enum scram_hash h, bool plus)
{
    if (h == SCRAM_SHA256)
        return plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
    return plus ? "SCRAM-SHA-1-PLUS" : "SCRAM-SHA-1";
}

static void hmac(enum scram_hash h, const unsigned char *key, size_t klen, const void *msg,
                 size_t mlen, unsigned char *out)
{
    unsigned int olen = 0;
    if (!HMAC(scram_md(h), key, (int)klen, msg, mlen, out, &olen))
        abort(); /* only on allocation failure inside OpenSSL */
}

static void digest(enum scram_hash h, const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned int olen = 0;
    if (!EVP_Digest(in, len, out, &olen, scram_md(h), NULL))
        abort();
}

/* ---- Base64 (RFC 4648 §4, strict) ------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    size_t need = (len + 2) / 3 * 4;
    if (need + 1 > outlen || need > (size_t)INT32_MAX)
        return -1;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = b64_alphabet[(v >> 6) & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return (int)need;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Rejects whitespace, missing or misplaced padding and nonzero unused bits, so that every
 * byte string has exactly one accepted encoding. */
int base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
    if (len % 4 != 0 || len > (size_t)INT32_MAX)
        return -1;
    size_t pad = 0;
    if (len > 0 && in[len - 1] == '=')
        pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
    size_t need = len / 4 * 3 - pad;
    if (need > outlen)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            if (last && k >= 4 - (int)pad) {
                v[k] = 0;
                continue;
            }
            if ((v[k] = b64_value(in[i + (size_t)k])) < 0)
                return -1;
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                     (unsigned)v[3];
        if (last && pad == 2 && (v[1] & 0x0f))
            return -1;
        if (last && pad == 1 && (v[2] & 0x03))
            return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (!(last && pad == 2))
            out[o++] = (unsigned char)(w >> 8);
        if (!(last && pad >= 1))
            out[o++] = (unsigned char)w;
    }
    return (int)o;
}

/* ---- SASLprep --------------------------------------------------------------------- */

int saslprep(const char *in, char *out, size_t outlen)
{
    char *res = NULL;
    /* Query semantics (unassigned code points allowed, RFC 4013 §2.5 via RFC 3454 §7):
     * clients prepare with newer Unicode than libidn's tables. */
    if (stringprep_profile(in, &res, "SASLprep", 0) != STRINGPREP_OK) {
        free(res);
        return -1;
    }
    size_t n = strlen(res);
    int rc = -1;
    if (n + 1 <= outlen) {
        memcpy(out, res, n + 1);
        rc = (int)n;
    }
    free(res);
    return rc;
}

/* ---- Credentials (RFC 5802 §3) ---------------------------------------------------- */

static void keys_from_salted(enum scram_hash h, const unsigned char *salted,
                             unsigned char *stored_key, unsigned char *server_key)
{
    size_t hl = scram_hash_len(h);
    unsigned char client_key[SCRAM_MAX_HASH];
    hmac(h, salted, hl, "Client Key", 10, client_key);
    digest(h, client_key, hl, stored_key);
    hmac(h, salted, hl, "Server Key", 10, server_key);
    OPENSSL_cleanse(client_key, sizeof(client_key));
}

static int salted_password(enum scram_hash h, const char *password, const unsigned char *salt,
                           size_t salt_len, unsigned iterations, unsigned char *out)
{
    size_t plen = strlen(password);
    char *prepped = malloc(plen * 4 + 16);
    if (!prepped)
        abort();
    int n = saslprep(password, prepped, plen * 4 + 16);
    int rc = -1;
    if (n >= 0 && iterations >= 1 &&
        PKCS5_PBKDF2_HMAC(prepped, n, salt, (int)salt_len, (int)iterations, scram_md(h),
                          (int)scram_hash_len(h), out) == 1)
        rc = 0;
    OPENSSL_cleanse(prepped, plen * 4 + 16);
    free(prepped);
    return rc;
}

int scram_credentials_make(enum scram_hash h, const char *password, const unsigned char *salt,
                           size_t salt_len, unsigned iterations, struct scram_credentials *out)
{
    struct scram_credentials c = {0};
    unsigned char salted[SCRAM_MAX_HASH];
    c.hash = h;
    c.iterations = iterations;
    if (salt) {
        if (salt_len == 0 || salt_len > sizeof(c.salt))
            return -1;
        memcpy(c.salt, salt, salt_len);
        c.salt_len = salt_len;
    } else {
        if (RAND_bytes(c.salt, SCRAM_SALT_LEN) != 1)
            return -1;
        c.salt_len = SCRAM_SALT_LEN;
    }
    if (!password || salted_password(h, password, c.salt, c.salt_len, iterations, salted) != 0)
        return -1;
    keys_from_salted(h, salted, c.stored_key, c.server_key);
    OPENSSL_cleanse(salted, sizeof(salted));
    *out = c;
    return 0;
}

bool scram_check_password(const struct scram_credentials *cred, const char *password)
{
    unsigned char salted[SCRAM_MAX_HASH], stored[SCRAM_MAX_HASH], server[SCRAM_MAX_HASH];
    if (!password || salted_password(cred->hash, password, cred->salt, cred->salt_len,
                                     cred->iterations, salted) != 0)
        return false;
    keys_from_salted(cred->hash, salted, stored, server);
    OPENSSL_cleanse(salted, sizeof(salted));
    return CRYPTO_memcmp(stored, cred->stored_key, scram_hash_len(cred->hash)) == 0;
}

/* ---- Fake salt for unknown users --------------------------------------------------- */

/* The secret is the store's (scram_set_fake_secret, at startup), so a fake salt is the same
 * after a restart, like a real one; until it is set (tools, tests) a per-process one. */
static unsigned char fake_secret[32];
static bool fake_secret_set;
static unsigned fake_iterations = SCRAM_FAKE_ITERATIONS;
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;

static void fake_secret_init(void)
{
    if (!fake_secret_set && RAND_bytes(fake_secret, sizeof(fake_secret)) != 1)
        abort(); /* a guessable secret would tell accounts apart */
}

void scram_set_fake_secret(const unsigned char *secret, size_t len, unsigned iterations)
{
    pthread_once(&fake_once, fake_secret_init);
    hmac(SCRAM_SHA256, secret, len, "myna fake salt", 14, fake_secret);
    fake_secret_set = true;
    if (iterations)
        fake_iterations = iterations;
}

/* HMAC(secret, username || NUL || hash): like real accounts, one salt per hash, stable. */
void scram_fake_salt(enum scram_hash h, const char *username, unsigned char *salt)
{
    unsigned char mac[32];
    pthread_once(&fake_once, fake_secret_init);
    size_t n = strlen(username);
    char *msg = xmalloc(n + 2);
    memcpy(msg, username, n);
    msg[n] = '\0';
    msg[n + 1] = (char)('0' + (int)h);
    hmac(SCRAM_SHA256, fake_secret, sizeof(fake_secret), msg, n + 2, mac);
    free(msg);
    memcpy(salt, mac, SCRAM_SALT_LEN);
}

static void fake_credentials(enum scram_hash h, const char *username,
                             struct scram_credentials *c)
{
    memset(c, 0, sizeof(*c));
    c->hash = h;
    c->iterations = fake_iterations;
    scram_fake_salt(h, username, c->salt);
    c->salt_len = SCRAM_SALT_LEN;
    /* Keys stay random-looking garbage: the proof can never match, and fake is checked. */
    RAND_bytes(c->stored_key, sizeof(c->stored_key));
    RAND_bytes(c->server_key, sizeof(c->server_key));
}

/* ---- The exchange ------------------------------------------------------------------ */

struct scram_server *scram_server_new(enum scram_hash h, bool plus, const char *cb_type,
                                      const unsigned char *cb_data, size_t cb_len)
{
    struct scram_server *s = xcalloc(1, sizeof(*s));
    s->state = ST_START;
    s->hash = h;
    s->plus = plus;
    if (cb_type && cb_data) {
        s->cb_type = xstrdup(cb_type);
        s->cb_data = xmalloc(cb_len ? cb_len : 1);
        memcpy(s->cb_data, cb_data, cb_len);
        s->cb_len = cb_len;
    }
    return s;
}

void scram_server_free(struct scram_server *s)
{
    if (!s)
        return;
    free(s->cb_type);
    free(s->cb_data);
    free(s->gs2_header);
    free(s->client_first_bare);
    free(s->username);
    free(s->authzid);
    free(s->nonce);
    free(s->snonce_override);
    free(s->server_first);
    OPENSSL_cleanse(&s->cred, sizeof(s->cred));
    free(s);
}

void scram_server_set_nonce(struct scram_server *s, const char *snonce)
{
    free(s->snonce_override);
    s->snonce_override = snonce ? xstrdup(snonce) : NULL;
}

static enum scram_step_result fail(struct scram_server *s, enum scram_step_result r)
{
    s->state = ST_DONE;
    return r;
}

/* Decodes an RFC 5802 saslname (",", "=" escaped as =2C, =3D) into a new string; NULL if
 * malformed or empty. */
static char *saslname_decode(const char *p, size_t len)
{
    if (len == 0)
        return NULL;
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '=') {
            if (i + 2 < len && p[i + 1] == '2' && p[i + 2] == 'C')
                out[o++] = ',';
            else if (i + 2 < len && p[i + 1] == '3' && p[i + 2] == 'D')
                out[o++] = '=';
            else {
                free(out);
                return NULL;
            }
            i += 2;
        } else if (p[i] == ',' || p[i] == '\0') {
            free(out);
            return NULL;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* A cursor over "k=value,k=value" attributes of one message. */
struct attrs {
    const char *p, *end;
};

/* Reads the next attribute; false at the end or if it is not "<letter>=...". */
static bool attr_next(struct attrs *a, char *key, const char **val, size_t *vlen)
{
    if (a->p >= a->end)
        return false;
    const char *comma = memchr(a->p, ',', (size_t)(a->end - a->p));
    const char *stop = comma ? comma : a->end;
    if (stop - a->p < 2 || a->p[1] != '=' ||
        !((a->p[0] >= 'a' && a->p[0] <= 'z') || (a->p[0] >= 'A' && a->p[0] <= 'Z')))
        return false;
    *key = a->p[0];
    *val = a->p + 2;
    *vlen = (size_t)(stop - a->p - 2);
    a->p = comma ? comma + 1 : a->end;
    if (comma && a->p == a->end)
        return false; /* a trailing comma is malformed */
    return true;
}

/* RFC 5802 §7: printable ASCII except ','. */
static bool nonce_valid(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
            return false;
    return true;
}

static bool cb_name_valid(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* Parses the GS2 header (RFC 5802 §7 gs2-header; RFC 5801 §4) at the start of msg and checks
 * the channel binding flag against what this exchange allows. On success *hdr_len is the
 * header length including its second comma. */
static enum scram_step_result parse_gs2(struct scram_server *s, const char *msg, size_t len,
                                        size_t *hdr_len)
{
    const char *end = msg + len;
    const char *c1 = memchr(msg, ',', len);
    if (!c1)
        return SCRAM_FAIL_MALFORMED;
    const char *c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
    if (!c2)
        return SCRAM_FAIL_MALFORMED;
    size_t flen = (size_t)(c1 - msg);

    /* authzid */
    if (c2 > c1 + 1) {
        if (c2 - c1 - 1 < 3 || c1[1] != 'a' || c1[2] != '=')
            return SCRAM_FAIL_MALFORMED;
        s->authzid = saslname_decode(c1 + 3, (size_t)(c2 - c1 - 3));
        if (!s->authzid)
            return SCRAM_FAIL_MALFORMED;
    }

    if (flen == 1 && msg[0] == 'n') {
        /* The client does not support channel binding. */
        if (s->plus)
            return SCRAM_FAIL_CHANNEL_BINDING;
    } else if (flen == 1 && msg[0] == 'y') {
        /* The client supports it but thinks we do not: if we offer -PLUS, someone removed
         * it from the mechanism list (RFC 5802 §6, downgrade protection). */
        if (s->plus || s->cb_data)
            return SCRAM_FAIL_CHANNEL_BINDING;
    } else if (flen > 2 && msg[0] == 'p' && msg[1] == '=') {
        if (!cb_name_valid(msg + 2, flen - 2))
            return SCRAM_FAIL_MALFORMED;
        if (!s->plus || !s->cb_type || strlen(s->cb_type) != flen - 2 ||
            memcmp(s->cb_type, msg + 2, flen - 2) != 0)
            return SCRAM_FAIL_CHANNEL_BINDING;
    } else {
        return SCRAM_FAIL_MALFORMED;
    }
    *hdr_len = (size_t)(c2 + 1 - msg);
    return SCRAM_CONTINUE;
}

static bool message_ok(const char *msg, size_t len)
{
    return msg && len > 0 && len <= SCRAM_MSG_MAX && !memchr(msg, '\0', len);
}

enum scram_step_result scram_server_start(struct scram_server *s, const char *msg, size_t len,
                                          const char **username, const char **authzid)
{
    if (s->state != ST_START)
        return fail(s, SCRAM_FAIL_MALFORMED);
    if (!message_ok(msg, len))
        return fail(s, SCRAM_FAIL_MALFORMED);
    size_t hl = 0;
    enum scram_step_result r = parse_gs2(s, msg, len, &hl);
    if (r != SCRAM_CONTINUE)
        return fail(s, r);
    s->gs2_header = xmalloc(hl + 1);
    memcpy(s->gs2_header, msg, hl);
    s->gs2_header[hl] = '\0';

    const char *bare = msg + hl;
    size_t blen = len - hl;
    struct attrs a = {bare, bare + blen};
    char key;
    const char *v;
    size_t vl;
    /* RFC 5802 §5.1: "m" is reserved for mandatory extensions, which we do not know. */
    if (!attr_next(&a, &key, &v, &vl) || key != 'n')
        return fail(s, SCRAM_FAIL_MALFORMED);
    char *raw = saslname_decode(v, vl);
    if (!raw)
        return fail(s, SCRAM_FAIL_MALFORMED);
    size_t cap = strlen(raw) * 4 + 16;
    s->username = xmalloc(cap);
    int n = saslprep(raw, s->username, cap);
    free(raw);
    if (n <= 0)
        return fail(s, SCRAM_FAIL_MALFORMED);
    if (!attr_next(&a, &key, &v, &vl) || key != 'r' || !nonce_valid(v, vl))
        return fail(s, SCRAM_FAIL_MALFORMED);
    s->cnonce_len = vl;
    s->nonce = xmalloc(vl + 1);
    memcpy(s->nonce, v, vl);
    s->nonce[vl] = '\0';
    /* Optional extensions follow; the grammar allows them and we ignore them. */
    while (attr_next(&a, &key, &v, &vl))
        ;
    if (a.p != a.end)
        return fail(s, SCRAM_FAIL_MALFORMED);

    s->client_first_bare = xmalloc(blen + 1);
    memcpy(s->client_first_bare, bare, blen);
    s->client_first_bare[blen] = '\0';
    s->state = ST_CHALLENGE;
    if (username)
        *username = s->username;
    if (authzid)
        *authzid = s->authzid;
    return SCRAM_CONTINUE;
}

enum scram_step_result scram_server_challenge(struct scram_server *s,
                                              const struct scram_credentials *cred, char *out,
                                              size_t outlen)
{
    if (s->state != ST_CHALLENGE)
        return fail(s, SCRAM_FAIL_MALFORMED);
    if (cred && cred->hash == s->hash && cred->salt_len > 0 &&
        cred->salt_len <= sizeof(cred->salt) && cred->iterations > 0) {
        s->cred = *cred;
    } else {
        if (cred)
            log_warn("sasl", "stored credentials unusable for %s", scram_mech_name(s->hash, 0));
        fake_credentials(s->hash, s->username, &s->cred);
        s->fake = true;
    }

    char snonce[64];
    if (s->snonce_override) {
        snprintf(snonce, sizeof(snonce), "%s", s->snonce_override);
    } else {
        unsigned char rnd[SCRAM_SNONCE_BYTES];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return fail(s, SCRAM_FAIL_AUTH);
        base64_encode(rnd, sizeof(rnd), snonce, sizeof(snonce));
    }
    size_t full = s->cnonce_len + strlen(snonce);
    s->nonce = xrealloc(s->nonce, full + 1);
    strcpy(s->nonce + s->cnonce_len, snonce);

    char salt64[SCRAM_SALT_MAX / 3 * 4 + 8];
    base64_encode(s->cred.salt, s->cred.salt_len, salt64, sizeof(salt64));
    int n = snprintf(out, outlen, "r=%s,s=%s,i=%u", s->nonce, salt64, s->cred.iterations);
    if (n < 0 || (size_t)n >= outlen)
        return fail(s, SCRAM_FAIL_MALFORMED);
    s->server_first = xstrdup(out);
    s->state = ST_FINISH;
    return SCRAM_CONTINUE;
}

/* Checks the c= attribute: base64 of the GS2 header, plus the channel binding data when
 * the client chose "p". */
static bool channel_binding_ok(const struct scram_server *s, const char *v, size_t vl)
{
    size_t hl = strlen(s->gs2_header);
    bool with_data = s->gs2_header[0] == 'p';
    size_t want_len = hl + (with_data ? s->cb_len : 0);
    unsigned char *got = xmalloc(vl / 4 * 3 + 3);
    int n = base64_decode(v, vl, got, vl / 4 * 3 + 3);
    bool ok = n >= 0 && (size_t)n == want_len && memcmp(got, s->gs2_header, hl) == 0 &&
              (!with_data || CRYPTO_memcmp(got + hl, s->cb_data, s->cb_len) == 0);
    free(got);
    return ok;
}

enum scram_step_result scram_server_finish(struct scram_server *s, const char *msg, size_t len,
                                           char *out, size_t outlen)
{
    if (s->state != ST_FINISH || !message_ok(msg, len))
        return fail(s, SCRAM_FAIL_MALFORMED);
    size_t hl = scram_hash_len(s->hash);
    struct attrs a = {msg, msg + len};
    char key;
    const char *v, *proof = NULL;
    size_t vl, proof_len = 0;

    if (!attr_next(&a, &key, &v, &vl) || key != 'c')
        return fail(s, SCRAM_FAIL_MALFORMED);
    const char *cb = v;
    size_t cb_len = vl;
    if (!attr_next(&a, &key, &v, &vl) || key != 'r')
        return fail(s, SCRAM_FAIL_MALFORMED);
    if (vl != strlen(s->nonce) || memcmp(v, s->nonce, vl) != 0)
        return fail(s, SCRAM_FAIL_AUTH);
    /* Extensions, then the proof, which must come last (RFC 5802 §7 client-final-message). */
    const char *without_proof_end = NULL;
    for (;;) {
        const char *attr_start = a.p;
        if (!attr_next(&a, &key, &v, &vl))
            return fail(s, SCRAM_FAIL_MALFORMED);
        if (key == 'p') {
            without_proof_end = attr_start - 1; /* the comma before "p=" */
            proof = v;
            proof_len = vl;
            break;
        }
    }
    if (a.p != a.end)
        return fail(s, SCRAM_FAIL_MALFORMED);
    if (!channel_binding_ok(s, cb, cb_len))
        return fail(s, SCRAM_FAIL_CHANNEL_BINDING);

    unsigned char client_proof[SCRAM_MAX_HASH + 3];
    int pn = base64_decode(proof, proof_len, client_proof, sizeof(client_proof));
    if (pn < 0)
        return fail(s, SCRAM_FAIL_MALFORMED);
    if ((size_t)pn != hl)
        return fail(s, SCRAM_FAIL_AUTH);

    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    size_t wlen = (size_t)(without_proof_end - msg);
    size_t cfl = strlen(s->client_first_bare), sfl = strlen(s->server_first);
    size_t alen = cfl + 1 + sfl + 1 + wlen;
    char *auth = xmalloc(alen + 1);
    memcpy(auth, s->client_first_bare, cfl);
    auth[cfl] = ',';
    memcpy(auth + cfl + 1, s->server_first, sfl);
    auth[cfl + 1 + sfl] = ',';
    memcpy(auth + cfl + 1 + sfl + 1, msg, wlen);
    auth[alen] = '\0';

    unsigned char client_sig[SCRAM_MAX_HASH], client_key[SCRAM_MAX_HASH];
    unsigned char stored[SCRAM_MAX_HASH], server_sig[SCRAM_MAX_HASH];
    hmac(s->hash, s->cred.stored_key, hl, auth, alen, client_sig);
    for (size_t i = 0; i < hl; i++)
        client_key[i] = client_proof[i] ^ client_sig[i];
    digest(s->hash, client_key, hl, stored);
    bool match = CRYPTO_memcmp(stored, s->cred.stored_key, hl) == 0;
    hmac(s->hash, s->cred.server_key, hl, auth, alen, server_sig);
    free(auth);
    OPENSSL_cleanse(client_key, sizeof(client_key));
    if (!match || s->fake)
        return fail(s, SCRAM_FAIL_AUTH);

    char sig64[64];
    base64_encode(server_sig, hl, sig64, sizeof(sig64));
    int n = snprintf(out, outlen, "v=%s", sig64);
    if (n < 0 || (size_t)n >= outlen)
        return fail(s, SCRAM_FAIL_MALFORMED);
    s->state = ST_DONE;
    return SCRAM_SUCCESS;
}
