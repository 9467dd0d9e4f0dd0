/* server/net/tls.c — see tls.h. Each host's SSL_CTX shares settings: TLS >= 1.2 (TLS 1.2
 * only with ECDHE key exchange and AEAD ciphers), no compression, no renegotiation, server
 * cipher preference, release-buffers mode so an idle connection holds no 16 KiB records.
 * SNI switches the SSL to the host's context. */
#include "server/net/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/config.h"
#include "server/base/log.h"
#include "server/net/tlsrec.h"

#define TLS12_CIPHERS                                                                      \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                           \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                           \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_host {
    char *domain;
    SSL_CTX *ctx;
};

/* Owned by whoever called tls_new (the server, until a reload replaces it) and by every
 * SSL made from it (their SNI callback names it): freed with the last of them. */
struct tls {
    struct tls_host *hosts;
    size_t nhosts;
    unsigned refs;
    SSL_CTX **clients; /* per host: outgoing s2s, presenting the host's certificate */
};

static int ssl_owner_idx = -1; /* SSL ex_data: the struct tls an SSL was made from */
static size_t tls_alive;       /* contexts not yet freed, for `mynactl stats` */

static void tls_unref(struct tls *t)
{
    if (--t->refs > 0)
        return;
    for (size_t i = 0; i < t->nhosts; i++) {
        SSL_CTX_free(t->hosts[i].ctx);
        SSL_CTX_free(t->clients[i]);
        free(t->hosts[i].domain);
    }
    free(t->hosts);
    free(t->clients);
    free(t);
    tls_alive--;
}

/* OpenSSL calls this when an SSL is freed (a handshake handed over to tlsrec.c, a
 * connection closed). */
static void ssl_owner_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                           void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (ptr)
        tls_unref(ptr);
}

size_t tls_contexts_alive(void)
{
    return tls_alive;
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct tls *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    for (size_t i = 0; i < t->nhosts; i++) {
        const char *d = t->hosts[i].domain;
        size_t dl = strlen(d), nl = strlen(name);
        /* Exact host, or a sub-domain of it (conference.example.org uses the host cert,
         * which the admin should issue with *.domain). */
        if (strcasecmp(name, d) == 0 ||
            (nl > dl + 1 && name[nl - dl - 1] == '.' && strcasecmp(name + nl - dl, d) == 0)) {
            SSL_set_SSL_CTX(ssl, t->hosts[i].ctx);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_OK; /* unknown name: keep the default; the stream says host-unknown */
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Collects the TLS 1.3 application traffic secrets for the compact record layer
 * (tlsrec.c). The secrets never reach a log. */
static void keylog_cb(const SSL *ssl, const char *line)
{
    struct tls13_secrets *sec = SSL_get_app_data(ssl);
    if (!sec)
        return;
    unsigned char *dst;
    size_t *dlen;
    if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
        dst = sec->client, dlen = &sec->client_len;
    else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
        dst = sec->server, dlen = &sec->server_len;
    else
        return;
    const char *hex = strrchr(line, ' ');
    if (!hex)
        return;
    hex++;
    size_t n = strlen(hex) / 2;
    if (n > sizeof sec->client)
        return;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    *dlen = n;
}

/* Counts the records OpenSSL writes under the server's application key (its secret is
 * logged right after the server Finished record is built): the session tickets sent after
 * the handshake, so the compact record layer continues their sequence numbers. */
static void record_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                      SSL *ssl, void *arg)
{
    (void)version, (void)buf, (void)len, (void)arg;
    struct tls13_secrets *sec = SSL_get_app_data(ssl);
    if (sec && write_p && content_type == SSL3_RT_HEADER && sec->server_len)
        sec->tx_records++;
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    snprintf(err, errlen, "%s %s: %s", what, path, buf);
}

/* The trust store for peer certificates (s2s): the configured CA file and directory, or the
 * system's default. Made once per tls_new and shared by every context (loading it is most
 * of a reload's cost); none when s2s is off, since client streams never present
 * certificates. -1 with `err` set on failure; 0 with *store NULL when s2s is off. */
static int trust_new(const struct config *cfg, X509_STORE **store, char *err, size_t errlen)
{
    *store = NULL;
    if (!cfg->s2s.enabled)
        return 0;
    X509_STORE *st = X509_STORE_new();
    const char *file = cfg->s2s.ca_file, *dir = cfg->s2s.ca_path;
    /* The system default as a hashed directory (Debian's /etc/ssl/certs): looked up lazily
     * per issuer, where the bundle file would be parsed whole at every reload. */
    const char *sysdir = getenv(X509_get_default_cert_dir_env());
    if (!sysdir)
        sysdir = X509_get_default_cert_dir();
    if (!st || (!file && !dir ? X509_STORE_load_path(st, sysdir)
                              : X509_STORE_load_locations(st, file, dir)) != 1) {
        ssl_err(err, errlen, "cannot load the s2s trust store",
                file ? file : dir ? dir : "(system default)");
        X509_STORE_free(st);
        return -1;
    }
    *store = st;
    return 0;
}

/* Lets the handshake finish whatever the chain: tls_peer_verified() judges it later. */
static int verify_accept(int ok, X509_STORE_CTX *st)
{
    (void)ok;
    (void)st;
    return 1;
}

static SSL_CTX *ctx_new(struct tls *t, X509_STORE *trust, const struct config_host *h,
                        bool client, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* TLS 1.2: forward secrecy (no static RSA key exchange) and AEAD only (no CBC with its
     * MAC-then-encrypt and SHA-1); TLS 1.3 suites are all of this kind already. */
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        ssl_err(err, errlen, "cannot set the TLS 1.2 ciphers for", h->domain);
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"myna", 4);
    if (SSL_CTX_use_certificate_chain_file(ctx, h->certificate) != 1) {
        ssl_err(err, errlen, "cannot load certificate", h->certificate);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, h->key, SSL_FILETYPE_PEM) != 1) {
        ssl_err(err, errlen, "cannot load key", h->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "key %s does not match certificate %s", h->key, h->certificate);
        goto fail;
    }
    if (trust && X509_STORE_up_ref(trust) == 1)
        SSL_CTX_set_cert_store(ctx, trust); /* takes the reference */
    /* Peer servers often carry serverAuth only: the purpose is not what RFC 6125 checks. */
    X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx), X509_PURPOSE_ANY);
    if (client) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_accept);
        return ctx;
    }
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    SSL_CTX_set_msg_callback(ctx, record_cb);
    /* TLS 1.3 resumption (RFC 8446 §2.2): one stateless ticket after each handshake, full
     * or resumed, encrypted with this context's key, which lives as long as the process.
     * An XMPP client holds one connection per account, and each resumption brings it a
     * fresh ticket, so OpenSSL's default of two (for browsers' parallel connections) only
     * cost a second ticket's encoding and encryption per login. Reconnecting clients skip
     * the certificate signature and the key exchange's verification work; no early data
     * (0-RTT is off). */
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, t);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls *tls_new(const struct config *cfg, char *err, size_t errlen)
{
    if (ssl_owner_idx < 0)
        ssl_owner_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_owner_free);
    if (ssl_owner_idx < 0) {
        snprintf(err, errlen, "SSL_get_ex_new_index failed");
        return NULL;
    }
    struct tls *t = xcalloc(1, sizeof *t);
    t->refs = 1;
    tls_alive++;
    t->hosts = xcalloc(cfg->nhosts, sizeof *t->hosts);
    t->clients = xcalloc(cfg->nhosts, sizeof *t->clients);
    X509_STORE *trust;
    if (trust_new(cfg, &trust, err, errlen) != 0) {
        tls_free(t);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nhosts; i++) {
        t->hosts[i].domain = xstrdup(cfg->hosts[i].domain);
        t->hosts[i].ctx = ctx_new(t, trust, &cfg->hosts[i], false, err, errlen);
        t->nhosts++;
        if (t->hosts[i].ctx)
            t->clients[i] = ctx_new(t, trust, &cfg->hosts[i], true, err, errlen);
        if (!t->hosts[i].ctx || !t->clients[i]) {
            X509_STORE_free(trust);
            tls_free(t);
            return NULL;
        }
    }
    X509_STORE_free(trust); /* the contexts hold it */
    return t;
}

void tls_free(struct tls *t)
{
    if (t)
        tls_unref(t);
}

SSL *tls_ssl_new(struct tls *t, int fd)
{
    SSL *ssl = SSL_new(t->hosts[0].ctx);
    if (!ssl)
        return NULL;
    if (SSL_set_ex_data(ssl, ssl_owner_idx, t) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    t->refs++;
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    return ssl;
}

/* RFC 5929 §4.1: the certificate's signature hash, but SHA-256 for MD5/SHA-1. */
/* RFC 5929 §4.1 values of the certificates in use, computed once per certificate (every
 * TLS 1.3 login needs it at the record layer's handover; X509_digest re-encodes the
 * certificate each time). Each entry holds a reference, so a certificate's address is not
 * reused while it is cached; a reload's new certificates replace the oldest entries. */
#define EP_CACHE 8
static struct {
    X509 *cert;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len;
} ep_cache[EP_CACHE];
static unsigned ep_next;

static int server_end_point(SSL *ssl, unsigned char *out, size_t outlen)
{
    X509 *cert = SSL_get_certificate(ssl);
    if (!cert)
        return -1;
    for (int i = 0; i < EP_CACHE; i++)
        if (ep_cache[i].cert == cert) {
            if (ep_cache[i].len > outlen)
                return -1;
            memcpy(out, ep_cache[i].d, ep_cache[i].len);
            return (int)ep_cache[i].len;
        }
    int md_nid = NID_sha256, pk_nid;
    if (X509_get_signature_info(cert, &md_nid, &pk_nid, NULL, NULL) != 1 ||
        md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef)
        md_nid = NID_sha256;
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    if (!md)
        md = EVP_sha256();
    unsigned len = 0;
    if ((size_t)EVP_MD_get_size(md) > outlen || X509_digest(cert, md, out, &len) != 1)
        return -1;
    if (X509_up_ref(cert) == 1) {
        unsigned i = ep_next++ % EP_CACHE;
        X509_free(ep_cache[i].cert);
        ep_cache[i].cert = cert;
        memcpy(ep_cache[i].d, out, len);
        ep_cache[i].len = len;
    }
    return (int)len;
}

void tls_cache_free(void)
{
    for (int i = 0; i < EP_CACHE; i++) {
        X509_free(ep_cache[i].cert);
        ep_cache[i].cert = NULL;
    }
}

int tls_channel_binding(SSL *ssl, const char *type, unsigned char *out, size_t outlen)
{
    if (!ssl || !type)
        return -1;
    if (strcmp(type, "tls-exporter") == 0) {
        /* RFC 9266: only with TLS 1.3 or the extended master secret. */
        if (SSL_version(ssl) < TLS1_3_VERSION && !SSL_get_extms_support(ssl))
            return -1;
        if (outlen < 32)
            return -1;
        static const char label[] = "EXPORTER-Channel-Binding";
        if (SSL_export_keying_material(ssl, out, 32, label, sizeof label - 1, NULL, 0, 0) != 1)
            return -1;
        return 32;
    }
    if (strcmp(type, "tls-server-end-point") == 0)
        return server_end_point(ssl, out, outlen);
    if (strcmp(type, "tls-unique") == 0) {
        /* RFC 5929 §3: undefined for TLS 1.3. Without the extended master secret (RFC 7627)
         * a triple handshake lets an attacker relay it (RFC 9266 §1): not offered then.
         * The first Finished of the handshake: the client's on a full handshake, ours on a
         * resumed one. */
        if (SSL_version(ssl) >= TLS1_3_VERSION || !SSL_get_extms_support(ssl))
            return -1;
        size_t n = SSL_session_reused(ssl) ? SSL_get_finished(ssl, out, outlen)
                                           : SSL_get_peer_finished(ssl, out, outlen);
        return n > 0 && n <= outlen ? (int)n : -1;
    }
    return -1;
}

const char *const *tls_channel_binding_types(SSL *ssl)
{
    static const char *const v13[] = {"tls-exporter", "tls-server-end-point", NULL};
    static const char *const v12ems[] = {"tls-exporter", "tls-unique", "tls-server-end-point",
                                         NULL};
    static const char *const v12[] = {"tls-server-end-point", NULL};
    if (SSL_version(ssl) >= TLS1_3_VERSION)
        return v13;
    return SSL_get_extms_support(ssl) ? v12ems : v12;
}

/* ---- server-to-server ---- */

/* `name` is `domain` or a sub-domain of it. */
static bool within(const char *name, const char *domain)
{
    size_t nl = strlen(name), dl = strlen(domain);
    return strcasecmp(name, domain) == 0 ||
           (nl > dl + 1 && name[nl - dl - 1] == '.' && strcasecmp(name + nl - dl, domain) == 0);
}

SSL *tls_client_ssl_new(struct tls *t, const char *domain, const char *peer, int fd)
{
    size_t pick = 0;
    for (size_t i = 0; i < t->nhosts; i++)
        if (within(domain, t->hosts[i].domain))
            pick = i;
    SSL *ssl = SSL_new(t->clients[pick]);
    if (!ssl)
        return NULL;
    if (SSL_set_ex_data(ssl, ssl_owner_idx, t) != 1) { /* kept alive as tls_ssl_new does */
        SSL_free(ssl);
        return NULL;
    }
    t->refs++;
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, peer);
    SSL_set_connect_state(ssl);
    return ssl;
}

void tls_request_peer_cert(SSL *ssl)
{
    SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_accept);
}

/* id-on-xmppAddr (RFC 6120 §13.7.1.4) and id-on-dnsSRV (RFC 4985). */
static bool othername_matches(const OTHERNAME *on, const char *domain)
{
    char oid[64];
    OBJ_obj2txt(oid, sizeof oid, on->type_id, 1);
    const ASN1_TYPE *v = on->value;
    if (strcmp(oid, "1.3.6.1.5.5.7.8.5") == 0 && v->type == V_ASN1_UTF8STRING) {
        const ASN1_STRING *s = v->value.utf8string;
        return (size_t)ASN1_STRING_length(s) == strlen(domain) &&
               strncasecmp((const char *)ASN1_STRING_get0_data(s), domain,
                           (size_t)ASN1_STRING_length(s)) == 0;
    }
    if (strcmp(oid, "1.3.6.1.5.5.7.8.7") == 0 && v->type == V_ASN1_IA5STRING) {
        static const char svc[] = "_xmpp-server.";
        const ASN1_STRING *s = v->value.ia5string;
        size_t len = (size_t)ASN1_STRING_length(s), sl = sizeof svc - 1;
        const char *d = (const char *)ASN1_STRING_get0_data(s);
        return len == sl + strlen(domain) && strncasecmp(d, svc, sl) == 0 &&
               strncasecmp(d + sl, domain, len - sl) == 0;
    }
    return false;
}

bool tls_cert_names(X509 *cert, const char *domain)
{
    /* DNS-ID (RFC 6125 §6.4; a wildcard only as the whole left-most label). */
    if (X509_check_host(cert, domain, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
        return true;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; names && !found && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_OTHERNAME)
            found = othername_matches(gn->d.otherName, domain);
    }
    GENERAL_NAMES_free(names);
    return found;
}

bool tls_peer_verified(SSL *ssl, const char *domain)
{
    X509 *cert = ssl && domain ? SSL_get0_peer_certificate(ssl) : NULL;
    return cert && SSL_get_verify_result(ssl) == X509_V_OK && tls_cert_names(cert, domain);
}

const char *tls_peer_problem(SSL *ssl, const char *domain)
{
    X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    if (!cert)
        return "no certificate";
    long r = SSL_get_verify_result(ssl);
    if (r != X509_V_OK)
        return X509_verify_cert_error_string(r);
    if (!domain || !tls_cert_names(cert, domain))
        return TLS_WRONG_NAME;
    return "verified";
}
