/* server/net/tlsrec.c — compact TLS 1.3 record protection (see tlsrec.h). RFC 8446 §5.1
 * (record layer: outer type and version, handshake messages neither interleaved nor across
 * a key change), §5.2 (payload protection, length limits), §5.3 (per-record nonce), §5.4
 * (padding), §5.5 (key usage limits), §6 (alerts), §4.6.3 (KeyUpdate), §7.1 and §7.3
 * (HKDF-Expand-Label "key", "iv", "traffic upd"); Appendix D.4 (change_cipher_spec only
 * during the handshake). Each check answers with the alert OpenSSL 3.0 sends. Invariants:
 * nothing is sealed after an alert or close_notify; the send sequence number stays below
 * TLSREC_KEY_LIMIT and the receive one never wraps; keys are wiped before their memory is
 * released. */
#include "server/net/tlsrec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "server/base/log.h"
#include "server/loop/pool.h"
#include "server/net/tls.h"

#define REC_HDR 5
#define TAG_LEN 16
#define MAX_PLAIN 16384
#define MAX_CIPHER (MAX_PLAIN + 256)
#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define HS_KEY_UPDATE 24
#define MAX_EMPTY_RUN 32  /* consecutive empty records OpenSSL accepts */
#define MAX_WARN_ALERTS 5 /* OpenSSL refuses the 5th warning alert in a row */

/* Alert descriptions (§6). */
#define AL_CLOSE_NOTIFY 0
#define AL_UNEXPECTED_MESSAGE 10
#define AL_BAD_RECORD_MAC 20
#define AL_RECORD_OVERFLOW 22
#define AL_ILLEGAL_PARAMETER 47
#define AL_DECODE_ERROR 50
#define AL_PROTOCOL_VERSION 70
#define AL_USER_CANCELED 90

struct tls13_dir {
    unsigned char secret[48];
    unsigned char key[32];
    unsigned char iv[12];
    uint64_t seq;
};

struct tlsrec {
    const EVP_CIPHER *cipher;
    const EVP_MD *md;
    uint8_t keylen, hashlen;
    uint8_t hs_len;      /* bytes of the handshake message being received (0..4) */
    uint8_t empty_run;   /* consecutive empty records received */
    uint8_t warn_alerts; /* consecutive warning alerts received */
    bool ku_sent;        /* our last record was a KeyUpdate: a request is already answered */
    bool asked_update;   /* we asked the peer to update its key (receive limit) */
    bool tx_closed;      /* an alert or close_notify went out: nothing more is sealed */
    unsigned char hs[5]; /* that handshake message so far */
    struct tls13_dir rx, tx;
    unsigned char *partial; /* incomplete received record, or NULL */
    size_t plen;
    unsigned char exporter[32]; /* RFC 9266 tls-exporter value */
    bool has_exporter;
    unsigned char endpoint[64]; /* RFC 5929 tls-server-end-point value */
    int endpoint_len;
};

/* The cipher context of the loop thread, reused across records. It remembers the cipher
 * and the address of the key it was last set up with: a record under the same key (the
 * records of one read) only sets the nonce, another key of the same suite skips the
 * cipher's re-initialization. (A cache of one context per busy key saved ~1.5% of the CPU
 * per message for ~1 KiB per cached key: not kept.) A key that changes or goes away is
 * forgotten (cctx_forget) before its memory is reused. */
#define CTX_SLOTS 1
struct ctx_slot {
    EVP_CIPHER_CTX *x;
    const EVP_CIPHER *cipher;
    const unsigned char *key; /* the key it was last set up with, or NULL */
};
static _Thread_local struct ctx_slot *slots;

static struct ctx_slot *slot_of(const unsigned char *key)
{
    (void)key;
    return &slots[0];
}

/* The suites' ciphers, fetched once: OpenSSL 3 looks a legacy EVP_aes_*() cipher up in its
 * provider store (locks, hash lookups, string compares) on every init that names it. */
static const EVP_CIPHER *suite_cipher(int which)
{
    static const char *const names[3] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
    static EVP_CIPHER *fetched[3];
    if (!fetched[which])
        fetched[which] = EVP_CIPHER_fetch(NULL, names[which], NULL);
    if (fetched[which])
        return fetched[which];
    return which == 0 ? EVP_aes_128_gcm() : which == 1 ? EVP_aes_256_gcm()
                                                       : EVP_chacha20_poly1305();
}

/* A context ready to protect (enc 1) or open (enc 0) a record under `key` with nonce iv;
 * NULL if OpenSSL fails. */
static EVP_CIPHER_CTX *cctx(const EVP_CIPHER *cipher, const unsigned char *key,
                            const unsigned char *iv, int enc)
{
    if (!slots && !(slots = calloc(CTX_SLOTS, sizeof *slots)))
        abort();
    struct ctx_slot *sl = slot_of(key);
    if (!sl->x && !(sl->x = EVP_CIPHER_CTX_new()))
        abort();
    int ok;
    if (sl->cipher == cipher && sl->key == key)
        ok = EVP_CipherInit_ex(sl->x, NULL, NULL, NULL, iv, enc);
    else if (sl->cipher == cipher)
        ok = EVP_CipherInit_ex(sl->x, NULL, NULL, key, iv, enc);
    else
        ok = EVP_CipherInit_ex(sl->x, cipher, NULL, key, iv, enc);
    sl->cipher = ok ? cipher : NULL;
    sl->key = ok ? key : NULL;
    return ok ? sl->x : NULL;
}

/* The key at `key` is about to change or go away: its expanded copy is wiped. */
static void cctx_forget(const unsigned char *key)
{
    if (!slots)
        return;
    struct ctx_slot *sl = slot_of(key);
    if (sl->key == key) {
        EVP_CIPHER_CTX_reset(sl->x);
        sl->cipher = NULL;
        sl->key = NULL;
    }
}

void tlsrec_thread_cleanup(void)
{
    if (!slots)
        return;
    for (int i = 0; i < CTX_SLOTS; i++)
        EVP_CIPHER_CTX_free(slots[i].x);
    free(slots);
    slots = NULL;
}

void tls13_secrets_free(struct tls13_secrets *sec)
{
    if (!sec)
        return;
    OPENSSL_cleanse(sec, sizeof *sec);
    free(sec);
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
    int rc = HMAC(md, secret, (int)slen, info, n, t, &tl) && tl >= outlen ? 0 : -1;
    if (rc == 0)
        memcpy(out, t, outlen);
    OPENSSL_cleanse(t, sizeof t);
    return rc;
}

static int dir_keys(const struct tlsrec *r, struct tls13_dir *d)
{
    cctx_forget(d->key);
    d->seq = 0;
    return expand_label(r->md, d->secret, r->hashlen, "key", d->key, r->keylen) |
           expand_label(r->md, d->secret, r->hashlen, "iv", d->iv, 12);
}

/* §7.2: application_traffic_secret_N+1, then its key and iv. */
static int dir_update(const struct tlsrec *r, struct tls13_dir *d)
{
    unsigned char next[48];
    int rc = expand_label(r->md, d->secret, r->hashlen, "traffic upd", next, r->hashlen);
    if (rc == 0)
        memcpy(d->secret, next, r->hashlen);
    OPENSSL_cleanse(next, sizeof next);
    return rc < 0 ? -1 : dir_keys(r, d);
}

struct tlsrec *tlsrec_new_keys(unsigned suite, const unsigned char *rx_secret,
                               const unsigned char *tx_secret, size_t len)
{
    struct tlsrec *r = pool_alloc(sizeof *r);
    switch (suite) {
    case 0x1301:
        r->cipher = suite_cipher(0), r->md = EVP_sha256(), r->keylen = 16;
        break;
    case 0x1302:
        r->cipher = suite_cipher(1), r->md = EVP_sha384(), r->keylen = 32;
        break;
    case 0x1303:
        r->cipher = suite_cipher(2), r->md = EVP_sha256(), r->keylen = 32;
        break;
    default:
        pool_free(r, sizeof *r);
        return NULL;
    }
    r->hashlen = (uint8_t)EVP_MD_get_size(r->md);
    if (len != r->hashlen) {
        pool_free(r, sizeof *r);
        return NULL;
    }
    memcpy(r->rx.secret, rx_secret, len);
    memcpy(r->tx.secret, tx_secret, len);
    if (dir_keys(r, &r->rx) < 0 || dir_keys(r, &r->tx) < 0) {
        tlsrec_free(r);
        return NULL;
    }
    return r;
}

struct tlsrec *tlsrec_new(SSL *ssl, const struct tls13_secrets *sec)
{
    if (SSL_version(ssl) != TLS1_3_VERSION || SSL_has_pending(ssl))
        return NULL;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    if (!c || sec->client_len != sec->server_len)
        return NULL;
    /* We are the server: we receive what the client's secret protects. */
    struct tlsrec *r = tlsrec_new_keys(SSL_CIPHER_get_id(c) & 0xffff, sec->client, sec->server,
                                       sec->client_len);
    if (!r)
        return NULL;
    /* Nothing was received under the client's application key yet (SSL_has_pending), but
     * the session tickets went out under ours. */
    r->tx.seq = sec->tx_records;
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
    /* A cached cipher context may hold the expanded keys. */
    cctx_forget(r->rx.key);
    cctx_forget(r->tx.key);
    OPENSSL_cleanse(r, sizeof *r);
    pool_free(r, sizeof *r);
}

static void nonce(const struct tls13_dir *d, unsigned char out[12])
{
    memcpy(out, d->iv, 12);
    for (int i = 0; i < 8; i++)
        out[11 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* Where a record's content is read from: pieces taken in order (a cursor over them). */
struct gather {
    const struct iovec *iov;
    int cnt;
    size_t off; /* into iov[0] */
};

/* Seals one record at dst: the next n content bytes from g, the inner content type `type`,
 * then `pad` (at most 255) zero bytes (§5.4; the server itself never pads: the fuzzer's
 * client does). Returns the record's size. */
static size_t seal_at(struct tlsrec *r, unsigned char type, struct gather *g, size_t n,
                      size_t pad, unsigned char *dst)
{
    static const unsigned char zeros[255];
    size_t clen = n + 1 + pad + TAG_LEN;
    unsigned char *hdr = dst;
    hdr[0] = CT_APPDATA, hdr[1] = 3, hdr[2] = 3;
    hdr[3] = (unsigned char)(clen >> 8), hdr[4] = (unsigned char)clen;
    unsigned char *o = dst + REC_HDR;
    unsigned char iv[12];
    nonce(&r->tx, iv);
    EVP_CIPHER_CTX *x = cctx(r->cipher, r->tx.key, iv, 1);
    OPENSSL_cleanse(iv, sizeof iv);
    int ol = 0;
    bool ok = x && EVP_EncryptUpdate(x, NULL, &ol, hdr, REC_HDR);
    /* Straight from the pieces (the serialized stanzas) into the record: no staging copy. */
    while (ok && n > 0) {
        size_t take = g->iov->iov_len - g->off;
        if (take > n)
            take = n;
        ok = EVP_EncryptUpdate(x, o, &ol, (const unsigned char *)g->iov->iov_base + g->off,
                               (int)take);
        o += ol;
        n -= take;
        g->off += take;
        if (g->off == g->iov->iov_len)
            g->iov++, g->cnt--, g->off = 0;
    }
    ok = ok && EVP_EncryptUpdate(x, o, &ol, &type, 1);
    o += ok ? ol : 0;
    ok = ok && pad <= sizeof zeros && (pad == 0 || EVP_EncryptUpdate(x, o, &ol, zeros, (int)pad));
    o += ok && pad ? ol : 0;
    ok = ok && EVP_EncryptFinal_ex(x, o, &ol);
    o += ok ? ol : 0;
    ok = ok && (size_t)(o - dst) == REC_HDR + clen - TAG_LEN &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, o);
    if (!ok)
        abort(); /* cannot happen with valid keys; never send plaintext */
    r->tx.seq++;
    return REC_HDR + clen;
}

/* Seals one record with content p[0..n) and `pad` zero bytes, appended to out. */
static void seal_one(struct tlsrec *r, unsigned char type, const unsigned char *p, size_t n,
                     size_t pad, struct myna_buf *out)
{
    size_t need = out->len + REC_HDR + n + 1 + pad + TAG_LEN;
    if (need > out->cap) {
        out->data = xrealloc(out->data, need);
        out->cap = need;
    }
    struct iovec v = {(void *)p, n};
    struct gather g = {&v, 1, 0};
    out->len += seal_at(r, type, &g, n, pad, (unsigned char *)out->data + out->len);
}

/* Our KeyUpdate (§4.6.3), then the send key changes. */
static void send_key_update(struct tlsrec *r, bool request, struct myna_buf *out)
{
    const unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, request};
    seal_one(r, CT_HANDSHAKE, ku, sizeof ku, 0, out);
    if (dir_update(r, &r->tx) < 0)
        abort(); /* HMAC cannot fail here; never reuse a key past its limit */
    r->ku_sent = true;
}

/* The KeyUpdate record: a 5-byte handshake message. */
#define KU_RECORD (REC_HDR + 5 + 1 + TAG_LEN)

size_t tlsrec_seal_bound(size_t len)
{
    return len + (len + MAX_PLAIN - 1) / MAX_PLAIN * (REC_HDR + 1 + TAG_LEN) + KU_RECORD;
}

size_t tlsrec_seal_v(struct tlsrec *r, const struct iovec *iov, int iovcnt, unsigned char *out)
{
    size_t len = 0, w = 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    struct gather g = {iov, iovcnt, 0};
    while (g.cnt > 0 && g.iov->iov_len == 0)
        g.iov++, g.cnt--;
    while (len > 0 && !r->tx_closed) {
        if (r->tx.seq >= TLSREC_KEY_LIMIT - 1) { /* §5.5; the KeyUpdate itself takes the last */
            struct myna_buf ku;
            myna_buf_init(&ku);
            send_key_update(r, false, &ku);
            memcpy(out + w, ku.data, ku.len);
            w += ku.len;
            myna_buf_free(&ku);
        }
        size_t n = len > MAX_PLAIN ? MAX_PLAIN : len;
        w += seal_at(r, CT_APPDATA, &g, n, 0, out + w);
        r->ku_sent = false;
        len -= n;
    }
    return w;
}

void tlsrec_seal(struct tlsrec *r, const void *data, size_t len, struct myna_buf *out)
{
    size_t need = out->len + tlsrec_seal_bound(len);
    if (need > out->cap) {
        out->data = xrealloc(out->data, need);
        out->cap = need;
    }
    struct iovec v = {(void *)data, len};
    out->len += tlsrec_seal_v(r, &v, 1, (unsigned char *)out->data + out->len);
}

static void seal_alert(struct tlsrec *r, unsigned char level, unsigned char desc,
                       struct myna_buf *out)
{
    if (r->tx_closed)
        return;
    const unsigned char alert[2] = {level, desc};
    seal_one(r, CT_ALERT, alert, 2, 0, out);
    r->tx_closed = true;
}

void tlsrec_close_notify(struct tlsrec *r, struct myna_buf *out)
{
    seal_alert(r, 1, AL_CLOSE_NOTIFY, out);
}

/* Records sealed for tlsrec_input go to io->send at once, so they are queued in sealing
 * order with the data the owner writes from io->data. */
static void send_records(struct tlsrec_io *io, struct myna_buf *out)
{
    if (out->len)
        io->send(io, out->data, out->len);
    myna_buf_free(out);
}

static void send_alert_now(struct tlsrec *r, struct tlsrec_io *io, unsigned char level,
                           unsigned char desc)
{
    struct myna_buf out;
    myna_buf_init(&out);
    if (io->sealing)
        io->sealing(io);
    seal_alert(r, level, desc, &out);
    send_records(io, &out);
}

static void send_key_update_now(struct tlsrec *r, struct tlsrec_io *io, bool request)
{
    struct myna_buf out;
    myna_buf_init(&out);
    if (io->sealing)
        io->sealing(io);
    send_key_update(r, request, &out);
    send_records(io, &out);
}

/* Ends the connection with a fatal alert (§6.2). */
static enum tlsrec_status fatal(struct tlsrec *r, struct tlsrec_io *io, unsigned char desc,
                                const char *why)
{
    send_alert_now(r, io, 2, desc);
    io->why = why;
    return TLSREC_ERROR;
}

void tlsrec_eof(struct tlsrec *r, struct tlsrec_io *io)
{
    /* OpenSSL 3.0 reports a truncated connection with decode_error. */
    send_alert_now(r, io, 2, AL_DECODE_ERROR);
    io->why = "closed by peer without close_notify";
}

/* Checks a record header as soon as it is complete, in OpenSSL's order (§5.1, §5.2). */
static enum tlsrec_status check_header(struct tlsrec *r, const unsigned char *h, size_t clen,
                                       struct tlsrec_io *io)
{
    if (h[1] != 3)
        return fatal(r, io, AL_PROTOCOL_VERSION, "not a TLS record");
    if (h[0] != CT_APPDATA) /* change_cipher_spec too: only before Finished (App. D.4) */
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "unprotected record after the handshake");
    if (h[2] != 3)
        return fatal(r, io, AL_DECODE_ERROR, "legacy_record_version is not 0x0303");
    if (clen > MAX_CIPHER)
        return fatal(r, io, AL_RECORD_OVERFLOW, "record longer than 2^14+256");
    return TLSREC_OK;
}

/* Authenticates and decrypts one record in place; returns the TLSInnerPlaintext length or
 * -1. The receive sequence number must not wrap (§5.3): that record is refused. */
static long open_one(struct tlsrec *r, unsigned char *rec, size_t clen)
{
    if (clen < TAG_LEN + 1 || r->rx.seq == UINT64_MAX)
        return -1;
    unsigned char iv[12];
    nonce(&r->rx, iv);
    unsigned char *body = rec + REC_HDR;
    size_t n = clen - TAG_LEN;
    EVP_CIPHER_CTX *x = cctx(r->cipher, r->rx.key, iv, 0);
    int ol = 0, fl = 0;
    bool ok = x && EVP_DecryptUpdate(x, NULL, &ol, rec, REC_HDR) &&
              EVP_DecryptUpdate(x, body, &ol, body, (int)n) &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, body + n) &&
              EVP_DecryptFinal_ex(x, body + ol, &fl) > 0;
    OPENSSL_cleanse(iv, sizeof iv);
    if (!ok)
        return -1;
    r->rx.seq++;
    return (long)n;
}

/* A complete KeyUpdate from the peer (§4.6.3). */
static enum tlsrec_status key_update_in(struct tlsrec *r, bool requested, struct tlsrec_io *io)
{
    if (dir_update(r, &r->rx) < 0)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "KeyUpdate failed");
    r->asked_update = false;
    /* Answered at once, ahead of any data sealed after it; several requests while we sent
     * nothing else are answered once. */
    if (requested && !r->ku_sent && !r->tx_closed)
        send_key_update_now(r, io, false);
    return TLSREC_OK;
}

/* Handshake bytes p[0..n) of one record. After the handshake only KeyUpdate is valid; it
 * may be fragmented, but must end its record (§5.1: no message spans a key change). */
static enum tlsrec_status handshake_in(struct tlsrec *r, const unsigned char *p, size_t n,
                                       struct tlsrec_io *io)
{
    for (size_t i = 0; i < n; i++) {
        r->hs[r->hs_len++] = p[i];
        if (r->hs_len == 1 && p[i] != HS_KEY_UPDATE)
            return fatal(r, io, AL_UNEXPECTED_MESSAGE, "handshake message after the handshake");
        if (r->hs_len < 4)
            continue;
        size_t mlen = (size_t)r->hs[1] << 16 | (size_t)r->hs[2] << 8 | r->hs[3];
        if (mlen > 1)
            return fatal(r, io, AL_ILLEGAL_PARAMETER, "KeyUpdate too long");
        if (r->hs_len < 4 + mlen)
            continue;
        r->hs_len = 0;
        if (i + 1 != n)
            return fatal(r, io, AL_UNEXPECTED_MESSAGE, "KeyUpdate not at the end of its record");
        if (mlen == 0)
            return fatal(r, io, AL_DECODE_ERROR, "empty KeyUpdate");
        if (r->hs[4] > 1)
            return fatal(r, io, AL_ILLEGAL_PARAMETER, "bad KeyUpdate request value");
        return key_update_in(r, r->hs[4] == 1, io);
    }
    return TLSREC_OK;
}

static enum tlsrec_status alert_in(struct tlsrec *r, const unsigned char *p, size_t n,
                                   struct tlsrec_io *io)
{
    if (n != 2)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "alert record not 2 bytes");
    if ((p[0] == 1 || p[1] == AL_USER_CANCELED) && ++r->warn_alerts >= MAX_WARN_ALERTS)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "too many warning alerts");
    if (p[1] == AL_USER_CANCELED) /* §6.1: a close_notify should follow; ignored */
        return TLSREC_OK;
    if (p[1] == AL_CLOSE_NOTIFY) {
        send_alert_now(r, io, 1, AL_CLOSE_NOTIFY); /* §6.1: answered before we close */
        io->why = "closed by peer (close_notify)";
        return TLSREC_CLOSED;
    }
    if (io->sealing) /* what the owner wrote before the alert arrived still goes out */
        io->sealing(io);
    r->tx_closed = true; /* §6.2: an error alert from the peer; we send nothing more */
    io->why = "peer sent an error alert";
    return TLSREC_ERROR;
}

/* One decrypted record: inner[0..n) is its TLSInnerPlaintext (§5.2, §5.4). */
static enum tlsrec_status record_in(struct tlsrec *r, unsigned char *inner, size_t n,
                                    struct tlsrec_io *io)
{
    size_t inner_len = n;
    while (n > 0 && inner[n - 1] == 0)
        n--;
    if (n == 0)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "record without a content type");
    unsigned char type = inner[--n];
    if (type != CT_APPDATA && type != CT_HANDSHAKE && type != CT_ALERT)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "bad inner content type");
    if (type != CT_APPDATA && n == 0)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "empty handshake or alert record");
    if (inner_len > MAX_PLAIN + 1)
        return fatal(r, io, AL_RECORD_OVERFLOW, "TLSInnerPlaintext longer than 2^14+1");
    if (r->hs_len && type != CT_HANDSHAKE)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "record inside a handshake message");
    if (n == 0 && ++r->empty_run > MAX_EMPTY_RUN)
        return fatal(r, io, AL_UNEXPECTED_MESSAGE, "too many empty records");
    if (n != 0)
        r->empty_run = 0;
    if (type != CT_ALERT && n != 0)
        r->warn_alerts = 0;
    switch (type) {
    case CT_APPDATA:
        if (n > 0)
            io->data(io, (const char *)inner, n);
        return TLSREC_OK;
    case CT_HANDSHAKE:
        return handshake_in(r, inner, n, io);
    default:
        return alert_in(r, inner, n, io);
    }
}

enum tlsrec_status tlsrec_input(struct tlsrec *r, unsigned char *buf, size_t len,
                                struct tlsrec_io *io)
{
    size_t off = 0;
    enum tlsrec_status st = TLSREC_OK;
    while (st == TLSREC_OK && !io->stop && !r->tx_closed && len - off >= REC_HDR) {
        unsigned char *rec = buf + off;
        size_t clen = ((size_t)rec[3] << 8) | rec[4];
        if ((st = check_header(r, rec, clen, io)) != TLSREC_OK)
            break;
        if (len - off < REC_HDR + clen)
            break;
        off += REC_HDR + clen;
        long n = open_one(r, rec, clen);
        if (n < 0) {
            st = fatal(r, io, AL_BAD_RECORD_MAC, "bad record MAC");
            break;
        }
        st = record_in(r, rec + REC_HDR, (size_t)n, io);
        /* §5.5: the peer should update its key before the limit; ask it once. */
        if (st == TLSREC_OK && r->rx.seq >= TLSREC_KEY_LIMIT && !r->asked_update &&
            !r->tx_closed) {
            r->asked_update = true;
            send_key_update_now(r, io, true);
        }
    }
    free(r->partial);
    r->partial = NULL;
    r->plen = 0;
    /* A tail is kept only while the connection goes on. */
    if (st == TLSREC_OK && !io->stop && !r->tx_closed && len > off) {
        r->plen = len - off;
        r->partial = xmalloc(r->plen);
        memcpy(r->partial, buf + off, r->plen);
    }
    return st;
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
