/* tests/fuzz/fuzz_sasl.c — libFuzzer target for the SASL messages a client sends before it
 * is authenticated: SCRAM client-first and client-final (server/base/scram.c: GS2 header,
 * attributes, SASLprep, base64, channel binding, nonce and proof) and PLAIN
 * (server/base/plain.c, then nodeprep of the authcid as sasl.c does), plus the base64 of
 * the <auth/> and <response/> text.
 *
 * Input: a flag byte, then client-first, a 0xff byte, client-final. Flag bits: 0 hash
 * (SHA-1/SHA-256), 1 -PLUS with a channel binding, 2 the account exists, 3 PLAIN instead,
 * 4 the messages are base64 text to decode first. So that random input reaches the proof
 * check and success, "r=@" in client-final becomes the combined nonce and "p=@" the right
 * proof for the password "pencil". Checked: no crash or leak; SCRAM_SUCCESS only for an
 * existing account with the computed proof; the server signature is "v=" + base64. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/jid.h"
#include "myna/xml.h"
#include "server/base/plain.h"
#include "server/base/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SNONCE "fuzzservernonce"
#define MAXMSG 4096

static struct scram_credentials creds[2];

static void init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    static const unsigned char salt[] = "saltsaltsaltsalt";
    for (int h = 0; h < 2; h++)
        if (scram_credentials_make((enum scram_hash)h, "pencil", salt, 16, 1, &creds[h]) != 0)
            abort();
}

static const EVP_MD *md(enum scram_hash h)
{
    return h == SCRAM_SHA256 ? EVP_sha256() : EVP_sha1();
}

/* The right ClientProof for AuthMessage `am` (RFC 5802 §3), base64, into out. */
static void proof(enum scram_hash h, const char *am, char *out, size_t outlen)
{
    unsigned char salted[64], ckey[64], stored[64], sig[64], p[64];
    unsigned hl = (unsigned)EVP_MD_size(md(h)), n;
    PKCS5_PBKDF2_HMAC("pencil", 6, (const unsigned char *)"saltsaltsaltsalt", 16, 1, md(h),
                      (int)hl, salted);
    HMAC(md(h), salted, (int)hl, (const unsigned char *)"Client Key", 10, ckey, &n);
    EVP_Digest(ckey, hl, stored, &n, md(h), NULL);
    HMAC(md(h), stored, (int)hl, (const unsigned char *)am, strlen(am), sig, &n);
    for (unsigned i = 0; i < hl; i++)
        p[i] = ckey[i] ^ sig[i];
    base64_encode(p, hl, out, outlen);
}

/* Replaces the first `tok` ("r=@" or "p=@") in buf by prefix + with. */
static void subst(char *buf, size_t cap, const char *tok, const char *with)
{
    char *at = strstr(buf, tok);
    if (!at)
        return;
    char tmp[MAXMSG * 2];
    size_t pre = (size_t)(at - buf) + 2; /* keep "r=" / "p=" */
    snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)pre, buf, with, at + 3);
    snprintf(buf, cap, "%s", tmp);
}

/* Optionally base64-decodes (flag bit 4) a message into out; returns its length or -1. */
static int message(const uint8_t *p, size_t n, bool b64, char *out, size_t cap)
{
    if (n >= cap)
        n = cap - 1;
    if (!b64) {
        memcpy(out, p, n);
        out[n] = 0;
        return (int)n;
    }
    int r = base64_decode((const char *)p, n, (unsigned char *)out, cap - 1);
    if (r >= 0)
        out[r] = 0;
    return r;
}

static void fuzz_plain(const char *msg, int len)
{
    const char *authzid, *authcid, *passwd;
    if (sasl_plain_parse((const unsigned char *)msg, (size_t)len, &authzid, &authcid,
                         &passwd) != 0)
        return;
    if (strlen(authzid) + strlen(authcid) + strlen(passwd) + 2 != (size_t)len)
        abort(); /* the parts must cover the message exactly */
    struct myna_arena *a = myna_arena_new();
    const char *user = myna_jid_nodeprep(a, authcid);
    struct myna_jid j;
    if (*authzid)
        (void)myna_jid_parse(a, authzid, &j);
    if (user && *user) {
        /* Prepared once, prepared for good (RFC 7622 §3.2 idempotence). */
        const char *again = myna_jid_nodeprep(a, user);
        if (!again || strcmp(again, user) != 0)
            abort();
    }
    char prepped[1100];
    (void)saslprep(passwd, prepped, sizeof prepped);
    myna_arena_free(a);
}

static void fuzz_scram(unsigned flags, const char *first, int flen, char *final, size_t fcap)
{
    enum scram_hash h = (flags & 1) ? SCRAM_SHA256 : SCRAM_SHA1;
    bool plus = flags & 2, exists = flags & 4;
    static const unsigned char cb[] = "channel-binding-data";
    struct scram_server *s = scram_server_new(h, plus, plus ? "tls-exporter" : NULL,
                                              plus ? cb : NULL, plus ? sizeof cb - 1 : 0);
    scram_server_set_nonce(s, SNONCE);
    const char *user = NULL, *authzid = NULL;
    char sfirst[512], out[512];
    if (scram_server_start(s, first, (size_t)flen, &user, &authzid) != SCRAM_CONTINUE ||
        scram_server_challenge(s, exists ? &creds[h] : NULL, sfirst, sizeof sfirst) !=
            SCRAM_CONTINUE) {
        scram_server_free(s);
        return;
    }
    /* r=@ -> client nonce + server nonce, taken from server-first "r=...,s=...". */
    const char *r = strstr(sfirst, "r=");
    const char *comma = r ? strchr(r, ',') : NULL;
    if (r && comma) {
        char nonce[300];
        snprintf(nonce, sizeof nonce, "%.*s", (int)(comma - r - 2), r + 2);
        subst(final, fcap, "r=@", nonce);
    }
    char *pp = strstr(final, ",p=@");
    if (pp) {
        /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
        /* client-first-bare follows the GS2 header "flag,[a=authzid]," (two commas). */
        const char *c1 = strchr(first, ',');
        const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        const char *bare = c2 ? c2 + 1 : first;
        char am[MAXMSG * 3], p64[100];
        snprintf(am, sizeof am, "%s,%s,%.*s", bare, sfirst, (int)(pp - final), final);
        proof(h, am, p64, sizeof p64);
        subst(final, fcap, "p=@", p64);
    }
    enum scram_step_result res = scram_server_finish(s, final, strlen(final), out, sizeof out);
    if (res == SCRAM_SUCCESS && (!exists || strncmp(out, "v=", 2) != 0))
        abort(); /* success without an account, or without a server signature */
    scram_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    data++, size--;
    const uint8_t *sep = memchr(data, 0xff, size);
    size_t n1 = sep ? (size_t)(sep - data) : size;
    static char first[MAXMSG], final[MAXMSG * 2];
    int flen = message(data, n1, flags & 16, first, sizeof first);
    if (flen < 0)
        return 0;
    if (flags & 8) {
        fuzz_plain(first, flen);
        return 0;
    }
    final[0] = 0;
    if (sep && message(sep + 1, size - n1 - 1, flags & 16, final, MAXMSG) < 0)
        return 0;
    fuzz_scram(flags, first, flen, final, sizeof final);
    return 0;
}
