/* tests/e2e/scram_exporter.c — SCRAM-SHA-256-PLUS with the tls-exporter channel binding
 * (RFC 9266) over direct TLS 1.3, as a client computes it with OpenSSL on its side of the
 * connection (no Myna code): the right binding logs in and the server's signature checks
 * out; a binding that differs by one byte is refused with <not-authorized/>. This is the
 * binding the compact record layer captures before it frees OpenSSL's connection object. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static const char *env(const char *n)
{
    const char *v = getenv(n);
    if (!v || !*v)
        fail("%s not set (run through tests/e2e/harness.py)", n);
    return v;
}

/* Reads until `until` appears in what was read (or the peer closes); returns the text. */
static char *read_until(SSL *ssl, const char *until)
{
    static char buf[16384];
    size_t n = 0;
    buf[0] = 0;
    while (!strstr(buf, until) && n + 1 < sizeof buf) {
        int r = SSL_read(ssl, buf + n, (int)(sizeof buf - 1 - n));
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
    }
    return buf;
}

static void b64(const unsigned char *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static size_t unb64(const char *in, size_t len, unsigned char *out)
{
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    while (len > 0 && in[len - 1] == '=') { /* DecodeBlock counts padding as data */
        n--;
        len--;
    }
    return n < 0 ? 0 : (size_t)n;
}

/* Text between <tag ...> and </tag>, in place in buf; NULL if absent. */
static char *element_text(char *buf, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    char *s = strstr(buf, open), *e = s ? strstr(s, close) : NULL;
    if (!s || !e)
        return NULL;
    s = strchr(s, '>') + 1;
    *e = 0;
    return s;
}

static const char *attr(const char *msg, char key, char *out, size_t outlen)
{
    for (const char *p = msg; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (p[0] == key && p[1] == '=') {
            size_t n = strcspn(p + 2, ",");
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, p + 2, n);
            out[n] = 0;
            return out;
        }
    }
    return NULL;
}

/* One login attempt; `corrupt` flips a byte of the channel-binding data. Returns the
 * server's answer element name ("success" or "failure") after checking the signature. */
static const char *attempt(SSL_CTX *ctx, bool corrupt)
{
    const char *ip = env("E2E_IP"), *domain = env("E2E_DOMAIN");
    int port = atoi(env("E2E_DIRECT_PORT"));
    char user[64], pass[64];
    if (sscanf(env("E2E_USERS"), "%63[^:]:%63s", user, pass) != 2)
        fail("bad E2E_USERS");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        fail("connect");
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, domain);
    SSL_set1_host(ssl, domain);
    if (SSL_connect(ssl) != 1)
        fail("TLS handshake / certificate check failed");
    if (SSL_version(ssl) != TLS1_3_VERSION)
        fail("expected TLS 1.3");
    char out[4096];
    snprintf(out, sizeof out,
             "<stream:stream to='%s' version='1.0' xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams'>",
             domain);
    SSL_write(ssl, out, (int)strlen(out));
    char *feat = read_until(ssl, "</stream:features>");
    if (!strstr(feat, "SCRAM-SHA-256-PLUS") || !strstr(feat, "tls-exporter"))
        fail("SCRAM-SHA-256-PLUS with tls-exporter not offered: %s", feat);

    unsigned char nb[18];
    char cnonce[32], bare[256], first[300], enc[1024];
    RAND_bytes(nb, sizeof nb);
    b64(nb, sizeof nb, cnonce);
    const char *gs2 = "p=tls-exporter,,";
    snprintf(bare, sizeof bare, "n=%s,r=%s", user, cnonce);
    snprintf(first, sizeof first, "%s%s", gs2, bare);
    b64((unsigned char *)first, strlen(first), enc);
    snprintf(out, sizeof out,
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>%s"
             "</auth>", enc);
    SSL_write(ssl, out, (int)strlen(out));
    char *resp = read_until(ssl, "</challenge>");
    char *ch = element_text(resp, "challenge");
    if (!ch)
        fail("no challenge: %s", resp);
    unsigned char sfirst[512];
    size_t sl = unb64(ch, strlen(ch), sfirst);
    sfirst[sl] = 0;
    char r[128], s64[128], istr[16];
    if (!attr((char *)sfirst, 'r', r, sizeof r) || !attr((char *)sfirst, 's', s64, sizeof s64) ||
        !attr((char *)sfirst, 'i', istr, sizeof istr) || strncmp(r, cnonce, strlen(cnonce)))
        fail("bad server-first-message %s", sfirst);
    unsigned char salt[64];
    size_t saltl = unb64(s64, strlen(s64), salt);

    /* RFC 9266: 32 bytes of exporter output with this label and no context. */
    unsigned char cbind[128];
    size_t gl = strlen(gs2);
    memcpy(cbind, gs2, gl);
    const char *label = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl, cbind + gl, 32, label, strlen(label), NULL, 0, 0) != 1)
        fail("exporter");
    if (corrupt)
        cbind[gl] ^= 1;
    char c64[256], wo[512];
    b64(cbind, gl + 32, c64);
    snprintf(wo, sizeof wo, "c=%s,r=%s", c64, r);

    unsigned char salted[32], ckey[32], stored[32], csig[32], proof[32], skey[32], ssig[32];
    unsigned len = 32;
    PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, (int)saltl, atoi(istr), EVP_sha256(), 32,
                      salted);
    HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey, &len);
    EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL);
    char authmsg[2048];
    snprintf(authmsg, sizeof authmsg, "%s,%s,%s", bare, (char *)sfirst, wo);
    HMAC(EVP_sha256(), stored, 32, (unsigned char *)authmsg, strlen(authmsg), csig, &len);
    for (int k = 0; k < 32; k++)
        proof[k] = ckey[k] ^ csig[k];
    char p64[64], final[700];
    b64(proof, 32, p64);
    snprintf(final, sizeof final, "%s,p=%s", wo, p64);
    b64((unsigned char *)final, strlen(final), enc);
    snprintf(out, sizeof out, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>",
             enc);
    SSL_write(ssl, out, (int)strlen(out));
    resp = read_until(ssl, "</");
    const char *result = strstr(resp, "<success") ? "success"
                         : strstr(resp, "<failure") ? "failure" : "other";
    if (strcmp(result, "success") == 0) {
        char *v = element_text(resp, "success");
        unsigned char sfinal[128];
        size_t fl = v ? unb64(v, strlen(v), sfinal) : 0;
        sfinal[fl] = 0;
        HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, skey, &len);
        HMAC(EVP_sha256(), skey, 32, (unsigned char *)authmsg, strlen(authmsg), ssig, &len);
        char want[64];
        b64(ssig, 32, want);
        if (strncmp((char *)sfinal, "v=", 2) != 0 || strcmp((char *)sfinal + 2, want) != 0)
            fail("server signature does not verify: %s", sfinal);
    } else if (strcmp(result, "failure") == 0 && !strstr(resp, "not-authorized")) {
        fail("failure without not-authorized: %s", resp);
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    return result;
}

int main(void)
{
    if (!getenv("E2E_DIRECT_PORT") || !*getenv("E2E_DIRECT_PORT")) {
        printf("SKIP: no direct TLS port\n");
        return 77;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, env("E2E_CAFILE"), NULL) != 1)
        fail("CA file");
    const char *r = attempt(ctx, false);
    if (strcmp(r, "success") != 0)
        fail("SCRAM-SHA-256-PLUS with tls-exporter: %s", r);
    printf("PASS: SCRAM-SHA-256-PLUS with tls-exporter logs in; server signature verified\n");
    r = attempt(ctx, true);
    if (strcmp(r, "failure") != 0)
        fail("a wrong tls-exporter binding got %s", r);
    printf("PASS: a tls-exporter binding off by one bit is refused (not-authorized)\n");
    SSL_CTX_free(ctx);
    return 0;
}
