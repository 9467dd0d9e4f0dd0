/* tests/unit/test_tls.c — server TLS contexts (server/net/tls.c): what a TLS 1.2 client can
 * negotiate, whatever the certificate type. Every TLS 1.2 suite enabled must use ECDHE key
 * exchange (forward secrecy, no static RSA) and an AEAD cipher (no CBC, no SHA-1 MAC). The
 * certificates are made here (one RSA, one ECDSA host); clients are tested end to end in
 * tests/e2e/test_tls.py. Also the RFC 6125 names a peer server's certificate must carry (s2s).  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/base/config.h"
#include "server/net/tls.h"

static char dir[] = "/tmp/myna-test-tls-XXXXXX";

/* A self-signed certificate for `name` with a new key of `type` ("RSA" or "EC"). */
static void make_cert(const char *name, const char *type, char *crt, char *key, size_t len)
{
    EVP_PKEY *pk = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                            : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    snprintf(crt, len, "%s/%s.crt", dir, name);
    snprintf(key, len, "%s/%s.key", dir, name);
    FILE *f = fopen(crt, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key, "w");
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void test_tls12_ciphers(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    char crt[2][256], key[2][256];
    make_cert("rsa.example", "RSA", crt[0], key[0], sizeof crt[0]);
    make_cert("ec.example", "EC", crt[1], key[1], sizeof crt[1]);
    struct config_host hosts[2] = {
        {.domain = "rsa.example", .certificate = crt[0], .key = key[0]},
        {.domain = "ec.example", .certificate = crt[1], .key = key[1]},
    };
    struct config cfg = {.hosts = hosts, .nhosts = 2};
    char err[256];
    struct tls *t = tls_new(&cfg, err, sizeof err);
    if (!t)
        fail_msg("tls_new: %s", err);
    /* The first host's context; SNI switches to another with the same settings. */
    SSL *ssl = tls_ssl_new(t, -1);
    STACK_OF(SSL_CIPHER) *cs = SSL_get_ciphers(ssl);
    int tls12 = 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(cs); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(cs, i);
        if (SSL_CIPHER_get_protocol_id(c) >> 8 == 0x13) /* TLS 1.3 suites */
            continue;
        tls12++;
        if (SSL_CIPHER_get_kx_nid(c) != NID_kx_ecdhe || !SSL_CIPHER_is_aead(c))
            fail_msg("TLS 1.2 suite %s enabled", SSL_CIPHER_get_name(c));
    }
    assert_int_equal(tls12, 6); /* AES-128-GCM, AES-256-GCM, ChaCha20 x RSA, ECDSA */
    SSL_free(ssl);
    tls_free(t);
    for (int i = 0; i < 2; i++) {
        unlink(crt[i]);
        unlink(key[i]);
    }
    rmdir(dir);
}

/* A certificate with subjectAltName `san` (OpenSSL config syntax) and CN `cn`. */
static X509 *cert_with(const char *cn, const char *san)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (san) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, pk, EVP_sha256());
    EVP_PKEY_free(pk);
    return x;
}

/* RFC 6125 / RFC 6120 §13.7.1.2 names of a peer server: DNS-ID (a wildcard only as the
 * whole left-most label, matching one label), SRV-ID _xmpp-server.DOMAIN, XmppAddr. */
static void test_peer_names(void **state)
{
    (void)state;
    X509 *x = cert_with("ignored.example", "DNS:example.org, DNS:*.example.org, "
                        "otherName:1.3.6.1.5.5.7.8.5;UTF8:xmpp.example.net, "
                        "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:_xmpp-server.srv.example.com");
    assert_true(tls_cert_names(x, "example.org"));
    assert_true(tls_cert_names(x, "conference.example.org"));
    assert_false(tls_cert_names(x, "a.b.example.org")); /* one label only */
    assert_false(tls_cert_names(x, "example.org.evil"));
    assert_true(tls_cert_names(x, "xmpp.example.net"));       /* XmppAddr */
    assert_false(tls_cert_names(x, "example.net"));
    assert_true(tls_cert_names(x, "srv.example.com"));        /* SRV-ID */
    assert_false(tls_cert_names(x, "other.example.com"));
    assert_false(tls_cert_names(x, "ignored.example")); /* CN is not looked at with SANs */
    X509_free(x);
    /* Partial wildcards are refused (RFC 6125 §6.4.3 allows refusing them). */
    x = cert_with("x", "DNS:f*.example.org");
    assert_false(tls_cert_names(x, "foo.example.org"));
    X509_free(x);
    /* An SRV-ID for another service does not count. */
    x = cert_with("x", "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:_xmpp-client.example.org");
    assert_false(tls_cert_names(x, "example.org"));
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_ciphers),
        cmocka_unit_test(test_peer_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
