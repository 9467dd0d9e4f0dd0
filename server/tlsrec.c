/* server/tlsrec.c — compact TLS 1.3 record protection (see tlsrec.h).
 * RFC 8446 §5.2 (record payload protection), §5.3 (per-record nonce), §7.1 and §7.3 (key
 * schedule: HKDF-Expand-Label for "key", "iv", "traffic upd"), §4.6.3 (KeyUpdate).
 * Invariants: seq numbers never wrap (the connection is dropped first); a record that
 * fails authentication ends the connection; plaintext never exceeds 2^14 bytes. */
#include "tlsrec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"
#include "myna/xml.h"
#include "tls.h"

#define REC_HDR 5
#define TAG_LEN 16
#define MAX_PLAIN 16384
#define MAX_CIPHER (MAX_PLAIN + 256)
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define HS_KEY_UPDATE 24

struct tls13_dir {
    unsigned char secret[48];
    unsigned char key[32];
    unsigned char iv[12];
    uint64_t seq;
};

struct tlsrec {
    const EVP_CIPHER *cipher;
    const EVP_MD *md;
    size_t keylen, hashlen;
    struct tls13_dir rx, tx;
    unsigned char *partial; /* incomplete received record, or NULL */
    size_t plen;
    unsigned char exporter[32]; /* RFC 9266 tls-exporter value */
    bool has_exporter;
    unsigned char endpoint[64]; /* RFC 5929 tls-server-end-point value */
    int endpoint_len;
};

/* One scratch cipher context for the loop thread (reinitialized per record). */
static _Thread_local EVP_CIPHER_CTX *scratch;

static EVP_CIPHER_CTX *cctx(void)
{
    if (!scratch)
        scratch = EVP_CIPHER_CTX_new();
    if (!scratch)
        abort();
    return scratch;
}

void tlsrec_thread_cleanup(void)
{
    EVP_CIPHER_CTX_free(scratch);
    scratch = NULL;
}

/* HKDF-Expand-Label with an empty context, for outputs no longer than the hash (one
 * HMAC block, RFC 5869 §2.3 with N = 1). */
static int expand_label(const EVP_MD *md, const unsigned char *secret, size_t slen,
                        const char *label, unsigned char *out, size_t outlen)
{
    unsigned char info[2 + 1 + 6 + 32 + 1 + 1];
    size_t ll = strlen(label), n = 0;
    info[n++] = (unsigned char)(outlen >> 8);
    info[n++] = (unsigned char)outlen;
    info[n++] = (unsigned char)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0; /* empty context */
    info[n++] = 1; /* T(1) counter */
    unsigned char t[EVP_MAX_MD_SIZE];
    unsigned tl = 0;
    if (!HMAC(md, secret, (int)slen, info, n, t, &tl) || tl < outlen)
        return -1;
    memcpy(out, t, outlen);
    OPENSSL_cleanse(t, sizeof t);
    return 0;
}

static int dir_keys(const struct tlsrec *r, struct tls13_dir *d)
{
    d->seq = 0;
    return expand_label(r->md, d->secret, r->hashlen, "key", d->key, r->keylen) |
           expand_label(r->md, d->secret, r->hashlen, "iv", d->iv, 12);
}

static int dir_update(const struct tlsrec *r, struct tls13_dir *d)
{
    unsigned char next[48];
    if (expand_label(r->md, d->secret, r->hashlen, "traffic upd", next, r->hashlen) < 0)
        return -1;
    memcpy(d->secret, next, r->hashlen);
    OPENSSL_cleanse(next, sizeof next);
    return dir_keys(r, d);
}

struct tlsrec *tlsrec_new(SSL *ssl, const struct tls13_secrets *sec)
{
    if (SSL_version(ssl) != TLS1_3_VERSION || SSL_has_pending(ssl))
        return NULL;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    if (!c)
        return NULL;
    struct tlsrec *r = pool_alloc(sizeof *r);
    switch (SSL_CIPHER_get_id(c) & 0xffff) {
    case 0x1301:
        r->cipher = EVP_aes_128_gcm(), r->md = EVP_sha256(), r->keylen = 16;
        break;
    case 0x1302:
        r->cipher = EVP_aes_256_gcm(), r->md = EVP_sha384(), r->keylen = 32;
        break;
    case 0x1303:
        r->cipher = EVP_chacha20_poly1305(), r->md = EVP_sha256(), r->keylen = 32;
        break;
    default:
        pool_free(r, sizeof *r);
        return NULL;
    }
    r->hashlen = (size_t)EVP_MD_get_size(r->md);
    if (sec->client_len != r->hashlen || sec->server_len != r->hashlen) {
        pool_free(r, sizeof *r);
        return NULL;
    }
    memcpy(r->rx.secret, sec->client, r->hashlen);
    memcpy(r->tx.secret, sec->server, r->hashlen);
    if (dir_keys(r, &r->rx) < 0 || dir_keys(r, &r->tx) < 0) {
        tlsrec_free(r);
        return NULL;
    }
    int n = tls_channel_binding(ssl, "tls-exporter", r->exporter, sizeof r->exporter);
    r->has_exporter = n == 32;
    r->endpoint_len = tls_channel_binding(ssl, "tls-server-end-point", r->endpoint,
                                          sizeof r->endpoint);
    return r;
}

void tlsrec_free(struct tlsrec *r)
{
    if (!r)
        return;
    free(r->partial);
    OPENSSL_cleanse(r, sizeof *r);
    pool_free(r, sizeof *r);
}

static void nonce(const struct tls13_dir *d, unsigned char out[12])
{
    memcpy(out, d->iv, 12);
    for (int i = 0; i < 8; i++)
        out[11 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* Seals one record of inner content type `type` into out. */
static void seal_one(struct tlsrec *r, unsigned char type, const unsigned char *p, size_t n,
                     struct myna_buf *out)
{
    size_t clen = n + 1 + TAG_LEN;
    unsigned char hdr[REC_HDR] = {CT_APPDATA, 3, 3, (unsigned char)(clen >> 8),
                                  (unsigned char)clen};
    size_t start = out->len;
    myna_buf_append(out, hdr, REC_HDR);
    /* Make room, then encrypt in place after the header. */
    size_t need = out->len + clen;
    if (need > out->cap) {
        out->data = xrealloc(out->data, need);
        out->cap = need;
    }
    unsigned char *dst = (unsigned char *)out->data + start + REC_HDR;
    memcpy(dst, p, n);
    dst[n] = type;
    unsigned char iv[12];
    nonce(&r->tx, iv);
    EVP_CIPHER_CTX *x = cctx();
    int ol = 0, ok = EVP_EncryptInit_ex(x, r->cipher, NULL, r->tx.key, iv) &&
                     EVP_EncryptUpdate(x, NULL, &ol, hdr, REC_HDR) &&
                     EVP_EncryptUpdate(x, dst, &ol, dst, (int)(n + 1)) &&
                     EVP_EncryptFinal_ex(x, dst + ol, &ol) &&
                     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, dst + n + 1);
    if (!ok)
        abort(); /* cannot happen with valid keys; never send plaintext */
    out->len = start + REC_HDR + clen;
    r->tx.seq++;
}

void tlsrec_seal(struct tlsrec *r, const void *data, size_t len, struct myna_buf *out)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = len > MAX_PLAIN ? MAX_PLAIN : len;
        seal_one(r, CT_APPDATA, p, n, out);
        p += n;
        len -= n;
    }
}

void tlsrec_close_notify(struct tlsrec *r, struct myna_buf *out)
{
    static const unsigned char alert[2] = {1, 0}; /* warning, close_notify */
    seal_one(r, CT_ALERT, alert, 2, out);
}

/* Opens one record in place; returns plaintext length and sets *type, or -1. */
static long open_one(struct tlsrec *r, unsigned char *rec, size_t clen, unsigned char *type)
{
    if (clen < TAG_LEN + 1)
        return -1;
    unsigned char iv[12];
    nonce(&r->rx, iv);
    unsigned char *body = rec + REC_HDR;
    size_t n = clen - TAG_LEN;
    EVP_CIPHER_CTX *x = cctx();
    int ol = 0, fl = 0;
    if (!EVP_DecryptInit_ex(x, r->cipher, NULL, r->rx.key, iv) ||
        !EVP_DecryptUpdate(x, NULL, &ol, rec, REC_HDR) ||
        !EVP_DecryptUpdate(x, body, &ol, body, (int)n) ||
        !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, body + n) ||
        EVP_DecryptFinal_ex(x, body + ol, &fl) <= 0)
        return -1;
    r->rx.seq++;
    /* Strip zero padding; the last non-zero byte is the content type (§5.4). */
    while (n > 0 && body[n - 1] == 0)
        n--;
    if (n == 0)
        return -1;
    *type = body[n - 1];
    return (long)(n - 1);
}

static enum tlsrec_status handshake_msgs(struct tlsrec *r, const unsigned char *p, size_t n,
                                         struct myna_buf *out)
{
    while (n >= 4) {
        size_t len = ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
        if (p[0] != HS_KEY_UPDATE || len != 1 || n < 5 || p[4] > 1)
            return TLSREC_ERROR; /* nothing else may follow the handshake here */
        if (dir_update(r, &r->rx) < 0)
            return TLSREC_ERROR;
        if (p[4] == 1) {
            /* update_requested: answer with our own KeyUpdate, then switch keys. */
            static const unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 0};
            seal_one(r, CT_HANDSHAKE, ku, sizeof ku, out);
            if (dir_update(r, &r->tx) < 0)
                return TLSREC_ERROR;
        }
        p += 5;
        n -= 5;
    }
    return n == 0 ? TLSREC_OK : TLSREC_ERROR;
}

enum tlsrec_status tlsrec_input(struct tlsrec *r, unsigned char *buf, size_t len,
                                tlsrec_data_fn data, void *ud, struct myna_buf *out)
{
    size_t off = 0;
    while (len - off >= REC_HDR) {
        unsigned char *rec = buf + off;
        size_t clen = ((size_t)rec[3] << 8) | rec[4];
        if (rec[0] != CT_APPDATA || rec[1] != 3 || clen > MAX_CIPHER)
            return TLSREC_ERROR;
        if (len - off < REC_HDR + clen)
            break;
        unsigned char type;
        long n = open_one(r, rec, clen, &type);
        if (n < 0 || (size_t)n > MAX_PLAIN)
            return TLSREC_ERROR;
        off += REC_HDR + clen;
        const unsigned char *plain = rec + REC_HDR;
        switch (type) {
        case CT_APPDATA:
            if (n > 0)
                data(ud, (const char *)plain, (size_t)n);
            break;
        case CT_ALERT:
            return n == 2 && plain[1] == 0 ? TLSREC_CLOSED : TLSREC_ERROR;
        case CT_HANDSHAKE:
            if (handshake_msgs(r, plain, (size_t)n, out) != TLSREC_OK)
                return TLSREC_ERROR;
            break;
        default:
            return TLSREC_ERROR;
        }
    }
    free(r->partial);
    r->partial = NULL;
    r->plen = len - off;
    if (r->plen) {
        r->partial = xmalloc(r->plen);
        memcpy(r->partial, buf + off, r->plen);
    }
    return TLSREC_OK;
}

size_t tlsrec_pending(const struct tlsrec *r)
{
    return r->plen;
}

size_t tlsrec_take_pending(struct tlsrec *r, unsigned char *dst)
{
    size_t n = r->plen;
    if (n)
        memcpy(dst, r->partial, n);
    free(r->partial);
    r->partial = NULL;
    r->plen = 0;
    return n;
}

int tlsrec_channel_binding(const struct tlsrec *r, const char *type, unsigned char *out,
                           size_t outlen)
{
    if (strcmp(type, "tls-exporter") == 0 && r->has_exporter && outlen >= 32) {
        memcpy(out, r->exporter, 32);
        return 32;
    }
    if (strcmp(type, "tls-server-end-point") == 0 && r->endpoint_len > 0 &&
        (size_t)r->endpoint_len <= outlen) {
        memcpy(out, r->endpoint, (size_t)r->endpoint_len);
        return r->endpoint_len;
    }
    return -1;
}

size_t tlsrec_memory(const struct tlsrec *r)
{
    return sizeof *r + r->plen;
}
