/* tests/unit/test_scram.c — SCRAM server (server/base/scram.c).
 * RFC 5802 §5 (SHA-1) and RFC 7677 §3 (SHA-256) test vectors end to end, a full client
 * computed here for -PLUS runs, and hostile input: wrong proofs, malformed messages,
 * channel binding mismatch, downgrade (RFC 5802 §6), unknown users, base64, SASLprep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "server/base/scram.h"

static struct scram_credentials creds(enum scram_hash h, const char *salt64)
{
    unsigned char salt[32];
    int n = base64_decode(salt64, strlen(salt64), salt, sizeof(salt));
    assert_true(n > 0);
    struct scram_credentials c;
    assert_int_equal(scram_credentials_make(h, "pencil", salt, (size_t)n, 4096, &c), 0);
    return c;
}

/* Runs start+challenge with a fixed server nonce; returns the server (caller frees). */
static struct scram_server *begin(enum scram_hash h, bool plus, const char *cb_type,
                                  const char *cbdata, const struct scram_credentials *c,
                                  const char *first, const char *snonce, char *sfirst,
                                  size_t sflen)
{
    struct scram_server *s = scram_server_new(h, plus, cb_type, (const unsigned char *)cbdata,
                                              cbdata ? strlen(cbdata) : 0);
    const char *user = NULL, *authz = NULL;
    scram_server_set_nonce(s, snonce);
    assert_int_equal(scram_server_start(s, first, strlen(first), &user, &authz),
                     SCRAM_CONTINUE);
    assert_int_equal(scram_server_challenge(s, c, sfirst, sflen), SCRAM_CONTINUE);
    return s;
}

static void test_rfc5802_sha1(void **state)
{
    struct scram_credentials c = creds(SCRAM_SHA1, "QSXCR+Q6sek8bf92");
    char out[256];
    struct scram_server *s = scram_server_new(SCRAM_SHA1, false, NULL, NULL, 0);
    const char *user = NULL, *authz = (const char *)1;
    const char *first = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    scram_server_set_nonce(s, "3rfcNHYJY1ZVvWVs7j");
    assert_int_equal(scram_server_start(s, first, strlen(first), &user, &authz),
                     SCRAM_CONTINUE);
    assert_string_equal(user, "user");
    assert_null(authz);
    assert_int_equal(scram_server_challenge(s, &c, out, sizeof(out)), SCRAM_CONTINUE);
    assert_string_equal(out, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                             "s=QSXCR+Q6sek8bf92,i=4096");
    const char *final = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                        "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    assert_int_equal(scram_server_finish(s, final, strlen(final), out, sizeof(out)),
                     SCRAM_SUCCESS);
    assert_string_equal(out, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    scram_server_free(s);
}

static const char *const sha256_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
static const char *const sha256_snonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
static const char *const sha256_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

static void test_rfc7677_sha256(void **state)
{
    struct scram_credentials c = creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==");
    char out[256];
    struct scram_server *s =
        begin(SCRAM_SHA256, false, NULL, NULL, &c, sha256_first, sha256_snonce, out,
              sizeof(out));
    assert_string_equal(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                             "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    assert_int_equal(
        scram_server_finish(s, sha256_final, strlen(sha256_final), out, sizeof(out)),
        SCRAM_SUCCESS);
    assert_string_equal(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    scram_server_free(s);
}

static void test_wrong_proof(void **state)
{
    struct scram_credentials c = creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==");
    char out[256];
    struct scram_server *s = begin(SCRAM_SHA256, false, NULL, NULL, &c, sha256_first,
                                   sha256_snonce, out, sizeof(out));
    const char *bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=";
    assert_int_equal(scram_server_finish(s, bad, strlen(bad), out, sizeof(out)),
                     SCRAM_FAIL_AUTH);
    /* The exchange is over: a retry in the same exchange is refused. */
    assert_int_equal(
        scram_server_finish(s, sha256_final, strlen(sha256_final), out, sizeof(out)),
        SCRAM_FAIL_MALFORMED);
    scram_server_free(s);

    /* Wrong nonce in the final message. */
    s = begin(SCRAM_SHA256, false, NULL, NULL, &c, sha256_first, sha256_snonce, out,
              sizeof(out));
    const char *badnonce = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
                           "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    assert_int_equal(scram_server_finish(s, badnonce, strlen(badnonce), out, sizeof(out)),
                     SCRAM_FAIL_AUTH);
    scram_server_free(s);

    /* Proof of the wrong length. */
    s = begin(SCRAM_SHA256, false, NULL, NULL, &c, sha256_first, sha256_snonce, out,
              sizeof(out));
    const char *shortp = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                         "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    assert_int_equal(scram_server_finish(s, shortp, strlen(shortp), out, sizeof(out)),
                     SCRAM_FAIL_AUTH);
    scram_server_free(s);
}

static void test_unknown_user(void **state)
{
    char out1[256], out2[256], out3[256];
    struct scram_server *s = begin(SCRAM_SHA256, false, NULL, NULL, NULL, sha256_first,
                                   sha256_snonce, out1, sizeof(out1));
    /* Looks like a real challenge: 16-byte salt, 4096 iterations. */
    assert_non_null(strstr(out1, ",s="));
    assert_non_null(strstr(out1, "==,i=4096"));
    assert_int_equal(
        scram_server_finish(s, sha256_final, strlen(sha256_final), out3, sizeof(out3)),
        SCRAM_FAIL_AUTH);
    scram_server_free(s);
    /* Same name, same salt; another name, another salt. */
    s = begin(SCRAM_SHA256, false, NULL, NULL, NULL, sha256_first, sha256_snonce, out2,
              sizeof(out2));
    assert_string_equal(out1, out2);
    scram_server_free(s);
    s = begin(SCRAM_SHA256, false, NULL, NULL, NULL, "n,,n=other,r=rOprNGfwEbeRWgbNEkqO",
              sha256_snonce, out2, sizeof(out2));
    assert_string_not_equal(out1, out2);
    scram_server_free(s);
}

/* Unknown users' salts differ per hash like real ones, and depend only on the secret. */
static void test_fake_salt_per_hash(void **state)
{
    (void)state;
    unsigned char secret[32] = {1, 2, 3};
    unsigned char s1[SCRAM_SALT_LEN], s256[SCRAM_SALT_LEN], again[SCRAM_SALT_LEN];
    scram_set_fake_secret(secret, sizeof secret, 5000);
    scram_fake_salt(SCRAM_SHA1, "nobody", s1);
    scram_fake_salt(SCRAM_SHA256, "nobody", s256);
    assert_memory_not_equal(s1, s256, SCRAM_SALT_LEN);
    scram_set_fake_secret(secret, sizeof secret, 5000); /* a restart with the same store */
    scram_fake_salt(SCRAM_SHA1, "nobody", again);
    assert_memory_equal(s1, again, SCRAM_SALT_LEN);
    secret[0] = 9; /* another server */
    scram_set_fake_secret(secret, sizeof secret, 5000);
    scram_fake_salt(SCRAM_SHA1, "nobody", again);
    assert_memory_not_equal(s1, again, SCRAM_SALT_LEN);
    /* The challenge carries the configured count, like a new account's. */
    char out[256];
    struct scram_server *s = begin(SCRAM_SHA256, false, NULL, NULL, NULL, sha256_first,
                                   sha256_snonce, out, sizeof(out));
    assert_non_null(strstr(out, "==,i=5000"));
    scram_server_free(s);
    scram_set_fake_secret(secret, sizeof secret, 4096);
}

static void expect_start(enum scram_hash h, bool plus, const char *cbdata, const char *msg,
                         enum scram_step_result want)
{
    struct scram_server *s = scram_server_new(h, plus, cbdata ? "tls-exporter" : NULL,
                                              (const unsigned char *)cbdata,
                                              cbdata ? strlen(cbdata) : 0);
    const char *u, *a;
    enum scram_step_result r = scram_server_start(s, msg, strlen(msg), &u, &a);
    if (r != want)
        fail_msg("'%s': got %d, want %d", msg, r, want);
    scram_server_free(s);
}

static void test_malformed_first(void **state)
{
    static const char *const bad[] = {
        "",
        "n",
        "n,",
        "n,,",
        "x,,n=user,r=abc",
        "n,,r=abc,n=user",     /* order */
        "n,,n=user",           /* no nonce */
        "n,,n=,r=abc",         /* empty user */
        "n,,n=us=er,r=abc",    /* bad escape */
        "n,,n=us=2Xer,r=abc",
        "n,,n=user,r=",
        "n,,n=user,r=a b",
        "n,,m=ext,n=user,r=abc", /* mandatory extension */
        "n,a=,n=user,r=abc",     /* empty authzid */
        "n,b=x,n=user,r=abc",
        "n,,n=user,r=abc,",      /* trailing comma */
        "p=,,n=user,r=abc",
        "p=tls exporter,,n=user,r=abc",
        "n,,n=us\x01" "er,r=abc", /* SASLprep prohibits control characters */
        "n,,n=\xff,r=abc",        /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_start(SCRAM_SHA1, false, NULL, bad[i], SCRAM_FAIL_MALFORMED);
    /* Extensions after the nonce are allowed. */
    expect_start(SCRAM_SHA1, false, NULL, "n,,n=user,r=abc,x=ext", SCRAM_CONTINUE);
}

static void test_saslname_authzid(void **state)
{
    struct scram_server *s = scram_server_new(SCRAM_SHA1, false, NULL, NULL, 0);
    const char *u, *a;
    const char *msg = "n,a=admin=2Cx=3Dy@example.com,n=jo=2Ce=3Dx,r=abc";
    assert_int_equal(scram_server_start(s, msg, strlen(msg), &u, &a), SCRAM_CONTINUE);
    assert_string_equal(u, "jo,e=x");
    assert_string_equal(a, "admin,x=y@example.com");
    scram_server_free(s);

    /* SASLprep of the user name: non-ASCII space maps to space, soft hyphen to nothing. */
    s = scram_server_new(SCRAM_SHA1, false, NULL, NULL, 0);
    msg = "n,,n=I\xc2\xad" "X\xc2\xa0y,r=abc";
    assert_int_equal(scram_server_start(s, msg, strlen(msg), &u, &a), SCRAM_CONTINUE);
    assert_string_equal(u, "IX y");
    assert_null(a);
    scram_server_free(s);
}

static void test_malformed_final(void **state)
{
    struct scram_credentials c = creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==");
    static const char *const bad[] = {
        "",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=AAAA", /* order */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",      /* no proof */
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=***",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA,x=y",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",                     /* padding */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[256];
        struct scram_server *s = begin(SCRAM_SHA256, false, NULL, NULL, &c, sha256_first,
                                       sha256_snonce, out, sizeof(out));
        enum scram_step_result r = scram_server_finish(s, bad[i], strlen(bad[i]), out,
                                                       sizeof(out));
        if (r != SCRAM_FAIL_MALFORMED)
            fail_msg("final #%zu: got %d", i, r);
        scram_server_free(s);
    }
    /* Steps out of order. */
    char out[256];
    struct scram_server *s = scram_server_new(SCRAM_SHA1, false, NULL, NULL, 0);
    assert_int_equal(scram_server_challenge(s, &c, out, sizeof(out)), SCRAM_FAIL_MALFORMED);
    scram_server_free(s);
}

/* ---- A small client, to test channel binding paths the RFCs have no vectors for ---- */

static void client_final(enum scram_hash h, const char *password, const char *client_bare,
                         const char *server_first, const char *without_proof, char *out,
                         size_t outlen)
{
    const EVP_MD *md = h == SCRAM_SHA256 ? EVP_sha256() : EVP_sha1();
    size_t hl = scram_hash_len(h);
    unsigned char salt[64], salted[32], ckey[32], stored[32], sig[32], proof[32];
    unsigned len;
    const char *sp = strstr(server_first, ",s=") + 3;
    const char *ip = strstr(server_first, ",i=");
    int sl = base64_decode(sp, (size_t)(ip - sp), salt, sizeof(salt));
    assert_true(sl > 0);
    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sl, atoi(ip + 3), md, (int)hl,
                      salted);
    HMAC(md, salted, (int)hl, (const unsigned char *)"Client Key", 10, ckey, &len);
    EVP_Digest(ckey, hl, stored, &len, md, NULL);
    char auth[2048];
    snprintf(auth, sizeof(auth), "%s,%s,%s", client_bare, server_first, without_proof);
    HMAC(md, stored, (int)hl, (unsigned char *)auth, strlen(auth), sig, &len);
    for (size_t i = 0; i < hl; i++)
        proof[i] = ckey[i] ^ sig[i];
    char p64[64];
    base64_encode(proof, hl, p64, sizeof(p64));
    snprintf(out, outlen, "%s,p=%s", without_proof, p64);
}

/* Full exchange with a computed client; returns finish's result. */
static enum scram_step_result run_exchange(bool plus, const char *server_cb,
                                           const char *gs2, const char *client_cb)
{
    struct scram_credentials c;
    assert_int_equal(scram_credentials_make(SCRAM_SHA256, "pencil", NULL, 0, 64, &c), 0);
    struct scram_server *s =
        scram_server_new(SCRAM_SHA256, plus, server_cb ? "tls-exporter" : NULL,
                         (const unsigned char *)server_cb, server_cb ? strlen(server_cb) : 0);
    const char *bare = "n=user,r=clientnonce";
    char first[256], sfirst[256], cbind[256], cb64[512], wp[1024], final[1200], out[256];
    snprintf(first, sizeof(first), "%s%s", gs2, bare);
    const char *u, *a;
    enum scram_step_result r = scram_server_start(s, first, strlen(first), &u, &a);
    if (r != SCRAM_CONTINUE) {
        scram_server_free(s);
        return r;
    }
    assert_int_equal(scram_server_challenge(s, &c, sfirst, sizeof(sfirst)), SCRAM_CONTINUE);
    snprintf(cbind, sizeof(cbind), "%s%s", gs2, client_cb ? client_cb : "");
    base64_encode((const unsigned char *)cbind, strlen(cbind), cb64, sizeof(cb64));
    const char *nonce = sfirst + 2;
    const char *nend = strchr(nonce, ',');
    snprintf(wp, sizeof(wp), "c=%s,r=%.*s", cb64, (int)(nend - nonce), nonce);
    client_final(SCRAM_SHA256, "pencil", bare, sfirst, wp, final, sizeof(final));
    r = scram_server_finish(s, final, strlen(final), out, sizeof(out));
    if (r == SCRAM_SUCCESS)
        assert_int_equal(strncmp(out, "v=", 2), 0);
    scram_server_free(s);
    return r;
}

static void test_channel_binding(void **state)
{
    /* -PLUS with matching data. */
    assert_int_equal(run_exchange(true, "EXPORTED", "p=tls-exporter,,", "EXPORTED"),
                     SCRAM_SUCCESS);
    /* -PLUS with an authzid in the header: the header is bound too. */
    assert_int_equal(run_exchange(true, "EXPORTED", "p=tls-exporter,a=u@example.com,",
                                  "EXPORTED"),
                     SCRAM_SUCCESS);
    /* Different channel binding data (a MITM terminating TLS). */
    assert_int_equal(run_exchange(true, "EXPORTED", "p=tls-exporter,,", "EXPORTEX"),
                     SCRAM_FAIL_CHANNEL_BINDING);
    /* Missing data. */
    assert_int_equal(run_exchange(true, "EXPORTED", "p=tls-exporter,,", NULL),
                     SCRAM_FAIL_CHANNEL_BINDING);
    /* A binding type we do not offer. */
    assert_int_equal(run_exchange(true, "EXPORTED", "p=tls-unique,,", "EXPORTED"),
                     SCRAM_FAIL_CHANNEL_BINDING);
    /* -PLUS chosen but the client says it does not bind. */
    assert_int_equal(run_exchange(true, "EXPORTED", "n,,", NULL), SCRAM_FAIL_CHANNEL_BINDING);
    /* Non-PLUS mechanism with a "p" flag. */
    assert_int_equal(run_exchange(false, "EXPORTED", "p=tls-exporter,,", "EXPORTED"),
                     SCRAM_FAIL_CHANNEL_BINDING);
    /* Non-PLUS: "n" is fine with or without server support; "y" only without. */
    assert_int_equal(run_exchange(false, "EXPORTED", "n,,", NULL), SCRAM_SUCCESS);
    assert_int_equal(run_exchange(false, NULL, "n,,", NULL), SCRAM_SUCCESS);
    assert_int_equal(run_exchange(false, NULL, "y,,", NULL), SCRAM_SUCCESS);
    /* Downgrade: the client supports binding, thinks we don't, but we do (RFC 5802 §6). */
    assert_int_equal(run_exchange(false, "EXPORTED", "y,,", NULL), SCRAM_FAIL_CHANNEL_BINDING);
    /* The c= header must match the first message's header. */
    assert_int_equal(run_exchange(false, NULL, "n,,", "x"), SCRAM_FAIL_CHANNEL_BINDING);
}

static void test_authzid_returned(void **state)
{
    struct scram_server *s = scram_server_new(SCRAM_SHA1, true, "tls-server-end-point",
                                              (const unsigned char *)"abc", 3);
    const char *u, *a;
    const char *msg = "p=tls-server-end-point,a=juliet@example.com,n=juliet,r=xyz";
    assert_int_equal(scram_server_start(s, msg, strlen(msg), &u, &a), SCRAM_CONTINUE);
    assert_string_equal(a, "juliet@example.com");
    assert_string_equal(u, "juliet");
    scram_server_free(s);
}

static void test_plain_check(void **state)
{
    struct scram_credentials c;
    assert_int_equal(scram_credentials_make(SCRAM_SHA1, "pencil", NULL, 0, 128, &c), 0);
    assert_int_equal(c.salt_len, 16);
    assert_true(scram_check_password(&c, "pencil"));
    assert_false(scram_check_password(&c, "pencil "));
    assert_false(scram_check_password(&c, "Pencil"));
    /* SASLprep: U+00A0 is mapped to space, so both spellings are one password. */
    assert_int_equal(scram_credentials_make(SCRAM_SHA256, "a b", NULL, 0, 128, &c), 0);
    assert_true(scram_check_password(&c, "a\xc2\xa0" "b"));
    assert_int_equal(scram_credentials_make(SCRAM_SHA256, "bad\x07", NULL, 0, 128, &c), -1);
    assert_string_equal(scram_mech_name(SCRAM_SHA256, true), "SCRAM-SHA-256-PLUS");
    assert_string_equal(scram_mech_name(SCRAM_SHA1, false), "SCRAM-SHA-1");
}

static void test_base64(void **state)
{
    char enc[64];
    unsigned char dec[64];
    static const struct {
        const char *raw, *b64;
    } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].raw);
        assert_int_equal(base64_encode((const unsigned char *)v[i].raw, n, enc, sizeof(enc)),
                         (int)strlen(v[i].b64));
        assert_string_equal(enc, v[i].b64);
        assert_int_equal(base64_decode(v[i].b64, strlen(v[i].b64), dec, sizeof(dec)), (int)n);
        assert_memory_equal(dec, v[i].raw, n);
    }
    static const char *const bad[] = {"Zg=", "Zg", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n",
                                      "=Zm9", "Zg==Zg==", "Z===", "Zm9v====", "Zm-v"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) >= 0)
            fail_msg("accepted bad base64 '%s'", bad[i]);
    assert_int_equal(base64_encode((const unsigned char *)"foo", 3, enc, 4), -1);
    assert_int_equal(base64_decode("Zm9v", 4, dec, 2), -1);
}

static void test_saslprep(void **state)
{
    char out[64];
    assert_int_equal(saslprep("I\xc2\xad" "X", out, sizeof(out)), 2); /* RFC 4013 §3 */
    assert_string_equal(out, "IX");
    assert_int_equal(saslprep("user", out, sizeof(out)), 4);
    assert_int_equal(saslprep("\xe2\x85\xa8", out, sizeof(out)), 2); /* roman numeral IX */
    assert_string_equal(out, "IX");
    assert_int_equal(saslprep("\x07", out, sizeof(out)), -1);
    assert_int_equal(saslprep("\xd8\xa7" "1", out, sizeof(out)), -1); /* bidi rule */
    assert_int_equal(saslprep("toolong", out, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5802_sha1),     cmocka_unit_test(test_rfc7677_sha256),
        cmocka_unit_test(test_wrong_proof),      cmocka_unit_test(test_unknown_user),
        cmocka_unit_test(test_fake_salt_per_hash),
        cmocka_unit_test(test_malformed_first),  cmocka_unit_test(test_saslname_authzid),
        cmocka_unit_test(test_malformed_final),  cmocka_unit_test(test_channel_binding),
        cmocka_unit_test(test_authzid_returned), cmocka_unit_test(test_plain_check),
        cmocka_unit_test(test_base64),           cmocka_unit_test(test_saslprep),
    };
    return cmocka_run_group_tests_name("scram", tests, NULL, NULL);
}
