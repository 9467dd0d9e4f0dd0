/* modules/mam/ids.c — archive ids (XEP-0313 §5.2, XEP-0359 §5): an id is one AES-128
 * block, sequence number (8 bytes), generation (4 bytes) and a tag of the owner's JID (4
 * bytes), encrypted under a random key kept in the store, in URL-safe base64. Ids are
 * unique per archive and never reused (a sequence number comes back only in a later
 * generation, see mam.h), reveal nothing (not the archive's size, nor whether two archives
 * hold the same position), map back to the record key with one decryption, and an id
 * forged or copied from another archive fails the tag or generation check
 * (item-not-found). The generation counts module starts, kept under "\0gen".
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mam.h"

#define KEY_NAME "\0id-key"
#define KEY_NAME_LEN 7
#define GEN_NAME "\0gen"
#define GEN_NAME_LEN 4

struct mam_ids {
    EVP_CIPHER_CTX *enc, *dec;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* FNV-1a: a tag, not a MAC (the block cipher is what hides and binds it). */
static uint32_t owner_tag(const char *owner)
{
    uint32_t h = 0x811c9dc5u;
    for (const unsigned char *p = (const unsigned char *)owner; *p; p++)
        h = (h ^ *p) * 0x01000193u;
    return h;
}

/* This start's generation: one more than the last one stored. */
static int next_generation(struct mam *c)
{
    struct myna_arena *a = myna_arena_new();
    void *v;
    size_t len;
    uint32_t g = 0;
    int rc = myna_store_get(c->prefs, GEN_NAME, GEN_NAME_LEN, a, &v, &len);
    if (rc == 0 && len == 4) {
        const unsigned char *p = v;
        g = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    } else if (rc != MYNA_STORE_NOTFOUND) {
        rc = rc ? rc : MYNA_STORE_ERROR;
        myna_arena_free(a);
        return rc;
    }
    c->gen = g + 1;
    unsigned char out[4] = {(unsigned char)(c->gen >> 24), (unsigned char)(c->gen >> 16),
                            (unsigned char)(c->gen >> 8), (unsigned char)c->gen};
    rc = myna_store_put(c->prefs, GEN_NAME, GEN_NAME_LEN, out, 4);
    myna_arena_free(a);
    return rc;
}

static int load_key(struct mam *c, unsigned char key[16])
{
    struct myna_arena *a = myna_arena_new();
    void *v;
    size_t len;
    int rc = myna_store_get(c->prefs, KEY_NAME, KEY_NAME_LEN, a, &v, &len);
    if (rc == 0 && len == 16) {
        memcpy(key, v, 16);
    } else if (rc == MYNA_STORE_NOTFOUND) {
        if (getrandom(key, 16, 0) != 16) {
            rc = MYNA_STORE_ERROR;
        } else {
            rc = myna_store_put(c->prefs, KEY_NAME, KEY_NAME_LEN, key, 16);
        }
    } else if (rc == 0) {
        rc = MYNA_STORE_ERROR; /* a key of the wrong size: refuse rather than guess */
    }
    myna_arena_free(a);
    return rc;
}

int ids_open(struct mam *c)
{
    unsigned char key[16];
    int rc = load_key(c, key);
    if (rc == 0)
        rc = next_generation(c);
    if (rc != 0) {
        myna_log(c->m, MYNA_LOG_ERROR, "cannot load or create the archive id key: %s",
                 myna_store_strerror(rc));
        return -1;
    }
    struct mam_ids *ids = calloc(1, sizeof *ids);
    if (!ids)
        return -1;
    c->ids = ids;
    ids->enc = EVP_CIPHER_CTX_new();
    ids->dec = EVP_CIPHER_CTX_new();
    if (!ids->enc || !ids->dec ||
        EVP_EncryptInit_ex(ids->enc, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(ids->dec, EVP_aes_128_ecb(), NULL, key, NULL) != 1) {
        memset(key, 0, sizeof key);
        return -1;
    }
    EVP_CIPHER_CTX_set_padding(ids->enc, 0);
    EVP_CIPHER_CTX_set_padding(ids->dec, 0);
    memset(key, 0, sizeof key);
    return 0;
}

void ids_close(struct mam *c)
{
    if (!c->ids)
        return;
    EVP_CIPHER_CTX_free(c->ids->enc);
    EVP_CIPHER_CTX_free(c->ids->dec);
    free(c->ids);
    c->ids = NULL;
}

static void be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

void id_encode(struct mam *c, const char *owner, uint64_t seq, uint32_t gen,
               char out[ID_LEN + 1])
{
    unsigned char in[16], ct[16 + 16];
    int n = 0;
    be(in, seq, 8);
    be(in + 8, gen, 4);
    be(in + 12, owner_tag(owner), 4);
    EVP_EncryptUpdate(c->ids->enc, ct, &n, in, sizeof in);
    /* 16 bytes -> 22 characters, 6 bits each, no padding. */
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc << 8 | ct[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

static int b64_value(char ch)
{
    const char *p = ch ? strchr(b64, ch) : NULL;
    return p ? (int)(p - b64) : -1;
}

bool id_decode(struct mam *c, const char *owner, const char *id, uint64_t *seq,
               uint32_t *gen)
{
    if (!id || strlen(id) != ID_LEN)
        return false;
    unsigned char ct[16], pt[16 + 16];
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < ID_LEN; i++) {
        int v = b64_value(id[i]);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < 16)
                ct[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (o != 16 || (acc & ((1u << bits) - 1)) != 0)
        return false; /* trailing bits must be zero: one spelling per id */
    int n = 0;
    if (EVP_DecryptUpdate(c->ids->dec, pt, &n, ct, sizeof ct) != 1 || n != 16)
        return false;
    uint64_t s = 0;
    uint32_t g = 0, tag = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | pt[i];
    for (int i = 8; i < 12; i++)
        g = g << 8 | pt[i];
    for (int i = 12; i < 16; i++)
        tag = tag << 8 | pt[i];
    if (tag != owner_tag(owner) || s == 0)
        return false;
    *seq = s;
    *gen = g;
    return true;
}

void record_id(struct mam *c, const char *owner, const struct record *r, char out[ID_LEN + 1])
{
    id_encode(c, owner, r->seq, r->gen, out);
}

static int same_gen(const struct record *r, void *data)
{
    return r->gen == *(uint32_t *)data ? 0 : 1;
}

bool id_known(struct mam *c, const char *owner, const char *id, uint64_t *seq)
{
    uint32_t gen;
    return id_decode(c, owner, id, seq, &gen) && archive_read(c, owner, *seq, same_gen, &gen) == 0;
}
