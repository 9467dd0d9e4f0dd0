/* tests/e2e/tls_records.c — the TLS 1.3 record layer under unusual and hostile record
 * streams, differentially: every case runs once against the compact record layer
 * (E2E_DIRECT_PORT, server/net/tlsrec.c) and once against OpenSSL's own
 * (E2E_DIRECT_OPENSSL_PORT, tls_record_layer = "openssl"). OpenSSL does the client
 * handshake; the keylog callback hands over the traffic secrets, and from then on this
 * program protects records itself (RFC 8446 §5.2, §7.1, §7.3, no Myna code), so it can send
 * what no TLS library would. It logs in, sends the case's bytes, and records what came back:
 * decrypted application data, alerts, and the close. Each case states what a correct server
 * sends (the RFC, and OpenSSL 3.0's choice where the RFC leaves one); both layers must give
 * exactly that, and the same transcript. The few cases where the compact layer follows the
 * RFC and OpenSSL 3.0 is laxer are marked and only the compact result is asserted.
 * Usage: tls_records [CASE-NAME-SUBSTRING] (through tests/e2e/harness.py). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define HS_KEY_UPDATE 24
#define HS_NEW_SESSION_TICKET 4
#define MAX_PLAIN 16384

/* Alert descriptions (RFC 8446 §6). */
#define A_CLOSE_NOTIFY 0
#define A_UNEXPECTED 10
#define A_BAD_MAC 20
#define A_OVERFLOW 22
#define A_HANDSHAKE_FAILURE 40
#define A_ILLEGAL_PARAM 47
#define A_DECODE 50
#define A_PROTOCOL_VERSION 70
#define A_USER_CANCELED 90

static void die(const char *fmt, ...)
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
        die("%s not set (run through tests/e2e/harness.py)", n);
    return v;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a growable byte buffer ---- */

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("out of memory");
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void clear(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    puts_(b, tmp);
}

/* ---- TLS 1.3 record protection, written from RFC 8446 ---- */

struct suite {
    const char *name;
    const EVP_CIPHER *cipher;
    const EVP_MD *md;
    size_t keylen, hashlen;
};

struct dir {
    unsigned char secret[48], key[32], iv[12];
    uint64_t seq;
};

/* §7.1 HKDF-Expand-Label(Secret, Label, "", Length) for Length <= Hash.length. */
static void expand_label(const struct suite *s, const unsigned char *secret, const char *label,
                         unsigned char *out, size_t outlen)
{
    unsigned char info[64], t[EVP_MAX_MD_SIZE];
    size_t ll = strlen(label), n = 0;
    info[n++] = 0;
    info[n++] = (unsigned char)outlen;
    info[n++] = (unsigned char)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, ll);
    n += 6 + ll;
    info[n++] = 0;
    info[n++] = 1; /* HKDF-Expand's first block counter */
    unsigned tl;
    HMAC(s->md, secret, (int)s->hashlen, info, n, t, &tl);
    memcpy(out, t, outlen);
}

static void dir_init(const struct suite *s, struct dir *d)
{
    expand_label(s, d->secret, "key", d->key, s->keylen);
    expand_label(s, d->secret, "iv", d->iv, 12);
    d->seq = 0;
}

/* §7.2: application_traffic_secret_N+1. */
static void dir_next(const struct suite *s, struct dir *d)
{
    unsigned char next[48];
    expand_label(s, d->secret, "traffic upd", next, s->hashlen);
    memcpy(d->secret, next, s->hashlen);
    dir_init(s, d);
}

static void nonce(const struct dir *d, unsigned char n[12])
{
    memcpy(n, d->iv, 12);
    for (int i = 0; i < 8; i++)
        n[11 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* ---- one connection ---- */

struct tconn {
    int fd;
    struct suite s;
    struct dir tx, rx;
    struct buf in;         /* received bytes not yet a whole record */
    struct buf data;       /* decrypted application data since the last reset */
    struct buf events;     /* alerts and the close, in order, as text */
    struct buf transcript; /* data and events interleaved, for the comparison */
    int server_key_updates;
    bool eof, broken;
};

static struct {
    unsigned char client[48], server[48];
    size_t clen, slen;
} keylog;

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    unsigned char *dst;
    size_t *len;
    if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
        dst = keylog.client, len = &keylog.clen;
    else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
        dst = keylog.server, len = &keylog.slen;
    else
        return;
    const char *hex = strrchr(line, ' ') + 1;
    size_t n = strlen(hex) / 2;
    if (n > 48)
        die("traffic secret too long");
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    *len = n;
}

/* Seals `inner` (TLSInnerPlaintext: content, type, padding, as given) with the outer
 * header type/version; `flip` corrupts the tag. Advances the send sequence number. */
static void seal_inner(struct tconn *t, struct buf *o, unsigned char outer, unsigned version,
                       const unsigned char *inner, size_t n, bool flip)
{
    size_t clen = n + 16;
    unsigned char hdr[5] = {outer, (unsigned char)(version >> 8), (unsigned char)version,
                            (unsigned char)(clen >> 8), (unsigned char)clen};
    unsigned char *ct = malloc(clen), iv[12];
    nonce(&t->tx, iv);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol;
    if (!EVP_EncryptInit_ex(x, t->s.cipher, NULL, t->tx.key, iv) ||
        !EVP_EncryptUpdate(x, NULL, &ol, hdr, 5) ||
        (n && !EVP_EncryptUpdate(x, ct, &ol, inner, (int)n)) ||
        !EVP_EncryptFinal_ex(x, ct + n, &ol) ||
        !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, ct + n))
        die("encrypt");
    EVP_CIPHER_CTX_free(x);
    if (flip)
        ct[clen - 1] ^= 0x80;
    put(o, hdr, 5);
    put(o, ct, clen);
    free(ct);
    t->tx.seq++;
}

/* A record of inner type `type` holding `content`, then `pad` zero bytes. */
static void seal_pad(struct tconn *t, struct buf *o, unsigned char type, const void *content,
                     size_t n, size_t pad)
{
    unsigned char *inner = calloc(1, n + 1 + pad);
    memcpy(inner, content, n);
    inner[n] = type;
    seal_inner(t, o, CT_APPDATA, 0x0303, inner, n + 1 + pad, false);
    free(inner);
}

static void seal(struct tconn *t, struct buf *o, unsigned char type, const void *content,
                 size_t n)
{
    seal_pad(t, o, type, content, n, 0);
}

static void seal_str(struct tconn *t, struct buf *o, const char *s)
{
    seal(t, o, CT_APPDATA, s, strlen(s));
}

static void ping_text(struct buf *b, const char *id)
{
    putf(b, "<iq type='get' id='%s'><ping xmlns='urn:xmpp:ping'/></iq>", id);
}

static void ping(struct tconn *t, struct buf *o, const char *id)
{
    struct buf b = {0};
    ping_text(&b, id);
    seal(t, o, CT_APPDATA, b.p, b.len);
    free(b.p);
}

/* §4.6.3: a KeyUpdate in its own record; our send keys change after it. */
static void key_update(struct tconn *t, struct buf *o, bool requested)
{
    unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, requested};
    seal(t, o, CT_HANDSHAKE, ku, sizeof ku);
    dir_next(&t->s, &t->tx);
}

static void alert(struct tconn *t, struct buf *o, unsigned char level, unsigned char desc)
{
    unsigned char a[2] = {level, desc};
    seal(t, o, CT_ALERT, a, 2);
}

/* ---- reading what the server sends ---- */

static void note(struct tconn *t, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    puts_(&t->events, tmp);
    puts_(&t->transcript, tmp);
}

static void handshake_in(struct tconn *t, const unsigned char *p, size_t n)
{
    /* After the handshake the server sends its session tickets (RFC 8446 §4.6.1, which a
     * client may ignore, as this one does) and KeyUpdate, nothing else. */
    if (n >= 4 && p[0] == HS_NEW_SESSION_TICKET && ((size_t)p[1] << 16 | p[2] << 8 | p[3]) == n - 4)
        return;
    if (n != 5 || p[0] != HS_KEY_UPDATE || p[1] || p[2] || p[3] != 1 || p[4] > 1) {
        note(t, "[client: unexpected handshake message type %u, %zu bytes]", p[0], n);
        t->broken = true;
        return;
    }
    t->server_key_updates++;
    dir_next(&t->s, &t->rx);
}

/* Opens every whole record in t->in. */
static void records_in(struct tconn *t)
{
    size_t off = 0;
    while (!t->broken && t->in.len - off >= 5) {
        unsigned char *h = t->in.p + off;
        size_t clen = (size_t)h[3] << 8 | h[4];
        if (h[0] != CT_APPDATA || h[1] != 3 || h[2] != 3 || clen < 17 || clen > MAX_PLAIN + 256) {
            note(t, "[client: bad record header %02x%02x%02x]", h[0], h[1], h[2]);
            t->broken = true;
            break;
        }
        if (t->in.len - off < 5 + clen)
            break;
        if (t->events.len && strstr((char *)t->events.p, "[alert")) {
            note(t, "[client: record after an alert]"); /* §6: the alert is the last */
            t->broken = true;
            break;
        }
        unsigned char iv[12], *pt = malloc(clen);
        nonce(&t->rx, iv);
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
        int ol, fl;
        size_t n = clen - 16;
        bool ok = EVP_DecryptInit_ex(x, t->s.cipher, NULL, t->rx.key, iv) &&
                  EVP_DecryptUpdate(x, NULL, &ol, h, 5) &&
                  EVP_DecryptUpdate(x, pt, &ol, h + 5, (int)n) &&
                  EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, h + 5 + n) &&
                  EVP_DecryptFinal_ex(x, pt + ol, &fl) > 0;
        EVP_CIPHER_CTX_free(x);
        off += 5 + clen;
        if (!ok) {
            /* What a client sees when records come out of order (bad_record_mac). */
            note(t, "[client: cannot decrypt record %llu]", (unsigned long long)t->rx.seq);
            t->broken = true;
            free(pt);
            break;
        }
        t->rx.seq++;
        while (n > 0 && pt[n - 1] == 0)
            n--;
        unsigned char type = n ? pt[--n] : 0;
        if (type == CT_APPDATA) {
            put(&t->data, pt, n);
            put(&t->transcript, pt, n);
        } else if (type == CT_ALERT && n == 2) {
            note(t, "[alert %u.%u]", pt[0], pt[1]);
        } else if (type == CT_HANDSHAKE) {
            handshake_in(t, pt, n);
        } else {
            note(t, "[client: record type %u, %zu bytes]", type, n);
            t->broken = true;
        }
        free(pt);
    }
    memmove(t->in.p, t->in.p + off, t->in.len - off);
    t->in.len -= off;
}

/* Reads until `want` is in the data received since `from`, the connection ends, or the
 * deadline passes. Returns true if `want` arrived. */
static bool read_until(struct tconn *t, const char *want, size_t from, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!t->eof && !t->broken) {
        if (want && t->data.len > from && strstr((char *)t->data.p + from, want))
            return true;
        uint64_t now = now_ms();
        if (now >= end) {
            note(t, "[timeout]");
            return false;
        }
        struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            continue;
        unsigned char tmp[65536];
        ssize_t r = read(t->fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* A reset counts as a close: a server that closes with our unread bytes in its
             * socket makes the kernel send RST instead of FIN; what came before is kept. */
            note(t, "[close]");
            t->eof = true;
            break;
        }
        put(&t->in, tmp, (size_t)r);
        records_in(t);
    }
    return want && t->data.len > from && strstr((char *)t->data.p + from, want);
}

static void send_all(struct tconn *t, const unsigned char *p, size_t n, size_t chunk)
{
    if (!chunk)
        chunk = n;
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        if (send(t->fd, p + off, k, MSG_NOSIGNAL) != (ssize_t)k)
            return; /* the server may have closed already: what it sent is still read */
        if (chunk < n)
            usleep(200);
    }
}

static void send_buf(struct tconn *t, struct buf *o)
{
    send_all(t, o->p, o->len, 0);
    clear(o);
}

static const struct suite *suite_named(const char *name);

/* TCP, the TLS 1.3 handshake by OpenSSL with the given suite, then the keys taken over. */
static void tconn_open(struct tconn *t, int port, const char *suite)
{
    memset(t, 0, sizeof *t);
    const char *ip = env("E2E_IP"), *domain = env("E2E_DOMAIN");
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    if (connect(t->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect to port %d: %s", port, strerror(errno));
    int one = 1;
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, suite);
    SSL_CTX_load_verify_locations(ctx, env("E2E_CAFILE"), NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, t->fd); /* BIO_NOCLOSE: the socket outlives the SSL */
    SSL_set_tlsext_host_name(ssl, domain);
    SSL_set1_host(ssl, domain);
    memset(&keylog, 0, sizeof keylog);
    if (SSL_connect(ssl) != 1)
        die("TLS handshake with port %d failed", port);
    if (SSL_version(ssl) != TLS1_3_VERSION)
        die("expected TLS 1.3");
    t->s = *suite_named(suite);
    if (keylog.clen != t->s.hashlen || keylog.slen != t->s.hashlen)
        die("no traffic secrets from the keylog callback");
    memcpy(t->tx.secret, keylog.client, keylog.clen);
    memcpy(t->rx.secret, keylog.server, keylog.slen);
    dir_init(&t->s, &t->tx);
    dir_init(&t->s, &t->rx);
    /* OpenSSL reads record by record and the server's tickets come after our Finished, so
     * nothing is buffered inside OpenSSL: the socket is ours from here on (SSL_free sends
     * nothing); the tickets arrive as our first records. */
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

static void tconn_close(struct tconn *t)
{
    close(t->fd);
    free(t->in.p);
    free(t->data.p);
    free(t->events.p);
    free(t->transcript.p);
}

/* Stream, SASL PLAIN, restart, bind: a session on which pings are answered. */
static void login(struct tconn *t)
{
    const char *domain = env("E2E_DOMAIN");
    char user[64], pass[64];
    if (sscanf(env("E2E_USERS"), "%63[^:]:%63s", user, pass) != 2)
        die("bad E2E_USERS");
    char hdr[300];
    snprintf(hdr, sizeof hdr,
             "<stream:stream to='%s' version='1.0' xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams'>",
             domain);
    struct buf o = {0};
    seal_str(t, &o, hdr);
    send_buf(t, &o);
    if (!read_until(t, "</stream:features>", 0, 10000))
        die("login: no stream features: %s%s", t->data.p, t->events.p);
    unsigned char cred[160];
    int n = snprintf((char *)cred, sizeof cred, "%c%s%c%s", 0, user, 0, pass);
    char b64[256], auth[400];
    EVP_EncodeBlock((unsigned char *)b64, cred, n);
    snprintf(auth, sizeof auth,
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", b64);
    size_t mark = t->data.len;
    seal_str(t, &o, auth);
    send_buf(t, &o);
    if (!read_until(t, "<success", mark, 10000))
        die("login: no SASL success: %s%s", t->data.p + mark, t->events.p);
    mark = t->data.len;
    seal_str(t, &o, hdr);
    send_buf(t, &o);
    if (!read_until(t, "</stream:features>", mark, 10000))
        die("login: no features after SASL");
    mark = t->data.len;
    seal_str(t, &o, "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                    "<resource>records</resource></bind></iq>");
    send_buf(t, &o);
    if (!read_until(t, "</iq>", mark, 10000))
        die("login: no bind result");
    free(o.p);
    /* From here on only the case's exchange counts. */
    clear(&t->data);
    clear(&t->events);
    clear(&t->transcript);
    t->server_key_updates = 0;
}

/* ---- the cases ---- */

enum end { END_OPEN, END_ALERT, END_CLOSE_NOTIFY, END_SILENT };

struct tcase {
    const char *name;
    void (*build)(struct tconn *t, struct buf *o);
    size_t chunk;        /* write the bytes in pieces of this size (0: one write) */
    enum end end;        /* how the server must end (END_OPEN: it stays open) */
    int alert;           /* the alert description for END_ALERT */
    const char *answers; /* ids of the pings that must be answered, in order */
    bool check_kus;      /* the compact layer sends at most max_kus KeyUpdates back */
    int max_kus;
    bool rfc_stricter;   /* the compact layer follows the RFC where OpenSSL 3.0 is laxer */
    void (*after)(struct tconn *t); /* runs after the bytes are sent (e.g. a half-close) */
};

static void c_coalesced(struct tconn *t, struct buf *o)
{
    ping(t, o, "a1");
    ping(t, o, "a2");
    ping(t, o, "a3");
}

static void c_stanzas_split(struct tconn *t, struct buf *o)
{
    struct buf b = {0};
    ping_text(&b, "b1");
    ping_text(&b, "b2");
    for (size_t off = 0, k = 1; off < b.len; off += k, k = k % 7 + 1)
        seal(t, o, CT_APPDATA, b.p + off, off + k > b.len ? b.len - off : k);
    free(b.p);
}

static void c_one_record(struct tconn *t, struct buf *o)
{
    struct buf b = {0};
    ping_text(&b, "c1");
    ping_text(&b, "c2");
    ping_text(&b, "c3");
    seal(t, o, CT_APPDATA, b.p, b.len);
    free(b.p);
}

static void c_full_record(struct tconn *t, struct buf *o)
{
    /* 2^14 bytes of content: whitespace between stanzas, then a ping ending exactly there. */
    struct buf p = {0};
    ping_text(&p, "d1");
    unsigned char *c = malloc(MAX_PLAIN);
    memset(c, ' ', MAX_PLAIN);
    memcpy(c + MAX_PLAIN - p.len, p.p, p.len);
    seal(t, o, CT_APPDATA, c, MAX_PLAIN);
    free(c);
    free(p.p);
    ping(t, o, "d2");
}

static void c_padding(struct tconn *t, struct buf *o)
{
    struct buf p = {0};
    ping_text(&p, "e1");
    seal_pad(t, o, CT_APPDATA, p.p, p.len, 100);
    /* TLSInnerPlaintext of exactly 2^14 + 1 bytes: the most §5.4 allows. */
    p.len = 0;
    ping_text(&p, "e2");
    seal_pad(t, o, CT_APPDATA, p.p, p.len, MAX_PLAIN - p.len);
    free(p.p);
}

static void c_empty_records(struct tconn *t, struct buf *o)
{
    ping(t, o, "f1");
    for (int i = 0; i < 5; i++)
        seal(t, o, CT_APPDATA, "", 0);
    ping(t, o, "f2");
}

static void empties(struct tconn *t, struct buf *o, int n)
{
    ping(t, o, "g1");
    for (int i = 0; i < n; i++)
        seal(t, o, CT_APPDATA, "", 0);
    ping(t, o, "g2");
}

static void c_32_empty(struct tconn *t, struct buf *o)
{
    empties(t, o, 32);
}

static void c_33_empty(struct tconn *t, struct buf *o)
{
    empties(t, o, 33);
}

static void c_ku_not_requested(struct tconn *t, struct buf *o)
{
    ping(t, o, "h1");
    key_update(t, o, false);
    ping(t, o, "h2");
}

static void c_ku_requested_coalesced(struct tconn *t, struct buf *o)
{
    ping(t, o, "i1");
    key_update(t, o, true);
    ping(t, o, "i2");
}

static void c_ku_run(struct tconn *t, struct buf *o)
{
    ping(t, o, "j1");
    for (int i = 0; i < 50; i++)
        key_update(t, o, true);
    ping(t, o, "j2");
}

static void c_ku_run_not_requested(struct tconn *t, struct buf *o)
{
    for (int i = 0; i < 50; i++)
        key_update(t, o, false);
    ping(t, o, "k1");
}

/* A KeyUpdate in two records split after `first` bytes, then a ping. */
static void ku_split(struct tconn *t, struct buf *o, size_t first)
{
    unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 1};
    seal(t, o, CT_HANDSHAKE, ku, first);
    seal(t, o, CT_HANDSHAKE, ku + first, 5 - first);
    dir_next(&t->s, &t->tx);
    ping(t, o, "l1");
}

static void c_ku_split_header(struct tconn *t, struct buf *o)
{
    ku_split(t, o, 2);
}

static void c_ku_split_body(struct tconn *t, struct buf *o)
{
    ku_split(t, o, 4);
}

static void c_ku_padded(struct tconn *t, struct buf *o)
{
    unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 1};
    seal_pad(t, o, CT_HANDSHAKE, ku, 5, 64);
    dir_next(&t->s, &t->tx);
    ping(t, o, "m1");
}

/* `count` KeyUpdates in one record (one is legal, more are not: §5.1). */
static void kus_in_record(struct tconn *t, struct buf *o, int count)
{
    ping(t, o, "n1");
    unsigned char *m = malloc((size_t)count * 5);
    for (int i = 0; i < count; i++)
        memcpy(m + 5 * i, (unsigned char[]){HS_KEY_UPDATE, 0, 0, 1, 1}, 5);
    seal(t, o, CT_HANDSHAKE, m, (size_t)count * 5);
    free(m);
}

static void c_two_ku(struct tconn *t, struct buf *o)
{
    kus_in_record(t, o, 2);
}

static void c_ku_flood(struct tconn *t, struct buf *o)
{
    kus_in_record(t, o, MAX_PLAIN / 5);
}

static void c_ku_then_partial(struct tconn *t, struct buf *o)
{
    unsigned char m[7] = {HS_KEY_UPDATE, 0, 0, 1, 0, HS_KEY_UPDATE, 0};
    seal(t, o, CT_HANDSHAKE, m, sizeof m);
}

static void hs(struct tconn *t, struct buf *o, const unsigned char *m, size_t n)
{
    ping(t, o, "o1");
    seal(t, o, CT_HANDSHAKE, m, n);
}

static void c_ku_bad_value(struct tconn *t, struct buf *o)
{
    hs(t, o, (unsigned char[]){HS_KEY_UPDATE, 0, 0, 1, 2}, 5);
}

static void c_ku_len0(struct tconn *t, struct buf *o)
{
    hs(t, o, (unsigned char[]){HS_KEY_UPDATE, 0, 0, 0}, 4);
}

static void c_ku_len2(struct tconn *t, struct buf *o)
{
    hs(t, o, (unsigned char[]){HS_KEY_UPDATE, 0, 0, 2, 0, 0}, 6);
}

static void c_client_hello(struct tconn *t, struct buf *o)
{
    hs(t, o, (unsigned char[]){1, 0, 0, 4, 3, 3, 0, 0}, 8);
}

static void c_finished(struct tconn *t, struct buf *o)
{
    unsigned char m[4 + 32] = {20, 0, 0, 32};
    hs(t, o, m, sizeof m);
}

static void c_empty_handshake(struct tconn *t, struct buf *o)
{
    hs(t, o, (const unsigned char *)"", 0);
}

/* Application data between two records of one handshake message (§5.1 forbids it). */
static void hs_interleaved(struct tconn *t, struct buf *o, size_t first)
{
    unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 0};
    seal(t, o, CT_HANDSHAKE, ku, first);
    ping(t, o, "p1");
    seal(t, o, CT_HANDSHAKE, ku + first, 5 - first);
}

static void c_interleaved_body(struct tconn *t, struct buf *o)
{
    hs_interleaved(t, o, 4);
}

static void c_interleaved_header(struct tconn *t, struct buf *o)
{
    hs_interleaved(t, o, 2);
}

static void c_close_notify(struct tconn *t, struct buf *o)
{
    ping(t, o, "q1");
    alert(t, o, 1, A_CLOSE_NOTIFY);
}

static void c_data_after_close_notify(struct tconn *t, struct buf *o)
{
    ping(t, o, "r1");
    alert(t, o, 1, A_CLOSE_NOTIFY);
    ping(t, o, "r2");
}

static void c_user_canceled(struct tconn *t, struct buf *o)
{
    ping(t, o, "s1");
    alert(t, o, 1, A_USER_CANCELED);
    ping(t, o, "s2");
}

static void c_user_canceled_5(struct tconn *t, struct buf *o)
{
    ping(t, o, "t1");
    for (int i = 0; i < 5; i++)
        alert(t, o, 1, A_USER_CANCELED);
    ping(t, o, "t2");
}

static void c_user_canceled_reset(struct tconn *t, struct buf *o)
{
    /* The count of warning alerts restarts after a record of data (as in OpenSSL). */
    for (int i = 0; i < 4; i++)
        alert(t, o, 1, A_USER_CANCELED);
    ping(t, o, "t3");
    for (int i = 0; i < 4; i++)
        alert(t, o, 1, A_USER_CANCELED);
    ping(t, o, "t4");
}

static void c_fatal_alert(struct tconn *t, struct buf *o)
{
    ping(t, o, "u1");
    alert(t, o, 2, A_HANDSHAKE_FAILURE);
}

static void c_warning_alert(struct tconn *t, struct buf *o)
{
    alert(t, o, 1, 112); /* unrecognized_name at warning level: an error in TLS 1.3 (§6) */
}

static void c_empty_alert(struct tconn *t, struct buf *o)
{
    ping(t, o, "v1");
    seal(t, o, CT_ALERT, "", 0);
}

static void c_long_alert(struct tconn *t, struct buf *o)
{
    seal(t, o, CT_ALERT, "\1\0\0", 3);
}

static void c_short_alert(struct tconn *t, struct buf *o)
{
    seal(t, o, CT_ALERT, "\1", 1);
}

static void c_bad_tag(struct tconn *t, struct buf *o)
{
    ping(t, o, "w1");
    struct buf p = {0};
    ping_text(&p, "w2");
    p.p[p.len] = CT_APPDATA;
    seal_inner(t, o, CT_APPDATA, 0x0303, p.p, p.len + 1, true);
    free(p.p);
}

static void c_short_ciphertext(struct tconn *t, struct buf *o)
{
    ping(t, o, "x1");
    put(o, "\x17\x03\x03\x00\x10", 5);
    put(o, "0123456789abcdef", 16);
}

static void c_zero_length(struct tconn *t, struct buf *o)
{
    (void)t;
    put(o, "\x17\x03\x03\x00\x00", 5);
}

static void c_length_over(struct tconn *t, struct buf *o)
{
    (void)t;
    /* 2^14 + 257: refused from the header alone (§5.2). */
    put(o, "\x17\x03\x03\x41\x01", 5);
}

static void c_content_over(struct tconn *t, struct buf *o)
{
    unsigned char *c = malloc(MAX_PLAIN + 1);
    memset(c, ' ', MAX_PLAIN + 1);
    seal(t, o, CT_APPDATA, c, MAX_PLAIN + 1);
    free(c);
}

static void c_inner_over_padded(struct tconn *t, struct buf *o)
{
    /* 2^14 + 2 bytes of TLSInnerPlaintext, content well under 2^14 (§5.4). */
    ping(t, o, "y1");
    seal_pad(t, o, CT_APPDATA, "  ", 2, MAX_PLAIN - 1);
}

static void c_no_type(struct tconn *t, struct buf *o)
{
    unsigned char z[20] = {0};
    seal_inner(t, o, CT_APPDATA, 0x0303, z, sizeof z, false);
}

static void c_unknown_type(struct tconn *t, struct buf *o)
{
    seal(t, o, 0x42, "x", 1);
}

static void c_inner_ccs(struct tconn *t, struct buf *o)
{
    seal(t, o, CT_CCS, "\1", 1);
}

static void c_outer_ccs(struct tconn *t, struct buf *o)
{
    (void)t;
    put(o, "\x14\x03\x03\x00\x01\x01", 6); /* Appendix D.4: only before Finished */
}

static void c_outer_handshake(struct tconn *t, struct buf *o)
{
    (void)t;
    put(o, "\x16\x03\x03\x00\x05\x18\x00\x00\x01\x00", 10);
}

static void c_plain_alert(struct tconn *t, struct buf *o)
{
    (void)t;
    put(o, "\x15\x03\x03\x00\x02\x01\x00", 7);
}

static void c_version_0301(struct tconn *t, struct buf *o)
{
    struct buf p = {0};
    ping_text(&p, "z1");
    p.p[p.len] = CT_APPDATA;
    seal_inner(t, o, CT_APPDATA, 0x0301, p.p, p.len + 1, false);
    free(p.p);
}

static void c_version_0403(struct tconn *t, struct buf *o)
{
    (void)t;
    put(o, "\x17\x04\x03\x00\x20", 5);
}

static void c_http(struct tconn *t, struct buf *o)
{
    (void)t;
    puts_(o, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

static void c_random(struct tconn *t, struct buf *o)
{
    (void)t;
    unsigned char r[69] = {0x17, 3, 3, 0, 64};
    uint32_t x = 2463534242u;
    for (size_t i = 5; i < sizeof r; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        r[i] = (unsigned char)x;
    }
    put(o, r, sizeof r);
}

static void c_bad_xml(struct tconn *t, struct buf *o)
{
    ping(t, o, "aa1");
    seal_str(t, o, "<iq type='get' id='aa2'><<</iq>");
}

static void c_bad_xml_then_ku(struct tconn *t, struct buf *o)
{
    /* The stream error closes the stream: nothing may follow our close_notify. */
    c_bad_xml(t, o);
    key_update(t, o, true);
    ping(t, o, "aa3");
}

static void c_truncated(struct tconn *t, struct buf *o)
{
    ping(t, o, "ab1");
    struct buf r = {0};
    ping(t, &r, "ab2");
    put(o, r.p, r.len - 10);
    free(r.p);
}

static void c_half_close(struct tconn *t, struct buf *o)
{
    ping(t, o, "ac1");
}

static void half_close(struct tconn *t)
{
    shutdown(t->fd, SHUT_WR);
}

#define OPEN(ids) .end = END_OPEN, .answers = ids
#define ALERT(a, ids) .end = END_ALERT, .alert = a, .answers = ids
#define KUS(n) .check_kus = true, .max_kus = n

static const struct tcase cases[] = {
    {.name = "coalesced records", .build = c_coalesced, OPEN("a1 a2 a3")},
    {.name = "stanzas split over 1-7 byte records", .build = c_stanzas_split, OPEN("b1 b2")},
    {.name = "stanzas split over 1-byte writes", .build = c_coalesced, .chunk = 1,
     OPEN("a1 a2 a3")},
    {.name = "records split over 7-byte writes", .build = c_stanzas_split, .chunk = 7,
     OPEN("b1 b2")},
    {.name = "three stanzas in one record", .build = c_one_record, OPEN("c1 c2 c3")},
    {.name = "record of 2^14 bytes", .build = c_full_record, OPEN("d1 d2")},
    {.name = "padded records up to 2^14+1", .build = c_padding, OPEN("e1 e2")},
    {.name = "empty application data records", .build = c_empty_records, OPEN("f1 f2")},
    {.name = "32 empty records in a row", .build = c_32_empty, OPEN("g1 g2")},
    {.name = "33 empty records in a row", .build = c_33_empty, ALERT(A_UNEXPECTED, "g1")},
    {.name = "KeyUpdate, not requested", .build = c_ku_not_requested, OPEN("h1 h2"), KUS(0)},
    {.name = "KeyUpdate requested, data in the same write", .build = c_ku_requested_coalesced,
     OPEN("i1 i2"), KUS(1)},
    {.name = "KeyUpdate requested, data in 1-byte writes", .build = c_ku_requested_coalesced,
     .chunk = 1, OPEN("i1 i2"), KUS(1)},
    {.name = "50 KeyUpdates requested, then data", .build = c_ku_run, OPEN("j1 j2"), KUS(1)},
    {.name = "50 KeyUpdates not requested, then data", .build = c_ku_run_not_requested, OPEN("k1"),
     KUS(0)},
    {.name = "KeyUpdate split inside its header", .build = c_ku_split_header, OPEN("l1"), KUS(1)},
    {.name = "KeyUpdate split after its header", .build = c_ku_split_body, OPEN("l1"), KUS(1)},
    {.name = "KeyUpdate in a padded record", .build = c_ku_padded, OPEN("m1"), KUS(1)},
    {.name = "two KeyUpdates in one record", .build = c_two_ku, ALERT(A_UNEXPECTED, "n1"), KUS(0)},
    {.name = "3276 KeyUpdates in one record", .build = c_ku_flood, ALERT(A_UNEXPECTED, "n1"),
     KUS(0)},
    {.name = "KeyUpdate, then more in the same record", .build = c_ku_then_partial,
     ALERT(A_UNEXPECTED, ""), KUS(0)},
    {.name = "KeyUpdate request value 2", .build = c_ku_bad_value, ALERT(A_ILLEGAL_PARAM, "o1"),
     KUS(0)},
    {.name = "KeyUpdate of length 0", .build = c_ku_len0, ALERT(A_DECODE, "o1"), KUS(0)},
    {.name = "KeyUpdate of length 2", .build = c_ku_len2, ALERT(A_ILLEGAL_PARAM, "o1"), KUS(0)},
    {.name = "ClientHello after the handshake", .build = c_client_hello, ALERT(A_UNEXPECTED, "o1"),
     KUS(0)},
    {.name = "Finished after the handshake", .build = c_finished, ALERT(A_UNEXPECTED, "o1"),
     KUS(0)},
    {.name = "empty handshake record", .build = c_empty_handshake, ALERT(A_UNEXPECTED, "o1"),
     KUS(0)},
    {.name = "data inside a handshake message, after its header", .build = c_interleaved_body,
     ALERT(A_UNEXPECTED, ""), KUS(0)},
    {.name = "data inside a handshake message header", .build = c_interleaved_header,
     ALERT(A_UNEXPECTED, ""), KUS(0)},
    {.name = "close_notify", .build = c_close_notify, .end = END_CLOSE_NOTIFY, .answers = "q1"},
    {.name = "data after close_notify", .build = c_data_after_close_notify, .end = END_CLOSE_NOTIFY,
     .answers = "r1"},
    {.name = "user_canceled alert", .build = c_user_canceled, OPEN("s1 s2")},
    {.name = "5 user_canceled alerts", .build = c_user_canceled_5, ALERT(A_UNEXPECTED, "t1")},
    {.name = "4 user_canceled alerts twice, data between", .build = c_user_canceled_reset,
     OPEN("t3 t4")},
    {.name = "fatal alert from the client", .build = c_fatal_alert, .end = END_SILENT,
     .answers = "u1"},
    {.name = "error alert at warning level", .build = c_warning_alert, .end = END_SILENT,
     .answers = ""},
    {.name = "empty alert record", .build = c_empty_alert, ALERT(A_UNEXPECTED, "v1")},
    {.name = "alert record of 3 bytes", .build = c_long_alert, ALERT(A_UNEXPECTED, "")},
    {.name = "alert record of 1 byte", .build = c_short_alert, ALERT(A_UNEXPECTED, "")},
    {.name = "bad authentication tag", .build = c_bad_tag, ALERT(A_BAD_MAC, "w1")},
    {.name = "ciphertext shorter than a tag", .build = c_short_ciphertext, ALERT(A_BAD_MAC, "x1")},
    {.name = "record of length 0", .build = c_zero_length, ALERT(A_BAD_MAC, "")},
    {.name = "length field over 2^14+256", .build = c_length_over, ALERT(A_OVERFLOW, "")},
    {.name = "content over 2^14 bytes", .build = c_content_over, ALERT(A_OVERFLOW, "")},
    {.name = "TLSInnerPlaintext over 2^14+1 by padding", .build = c_inner_over_padded,
     ALERT(A_OVERFLOW, "y1"), .rfc_stricter = true},
    {.name = "plaintext without a content type", .build = c_no_type, ALERT(A_UNEXPECTED, "")},
    {.name = "unknown inner content type", .build = c_unknown_type, ALERT(A_UNEXPECTED, "")},
    {.name = "protected change_cipher_spec", .build = c_inner_ccs, ALERT(A_UNEXPECTED, "")},
    {.name = "change_cipher_spec record after the handshake", .build = c_outer_ccs,
     ALERT(A_UNEXPECTED, "")},
    {.name = "plaintext handshake record", .build = c_outer_handshake, ALERT(A_UNEXPECTED, "")},
    {.name = "plaintext alert record", .build = c_plain_alert, ALERT(A_UNEXPECTED, "")},
    {.name = "legacy_record_version 0x0301", .build = c_version_0301, ALERT(A_DECODE, "")},
    {.name = "record version 0x0403", .build = c_version_0403, ALERT(A_PROTOCOL_VERSION, "")},
    {.name = "an HTTP request", .build = c_http, ALERT(A_PROTOCOL_VERSION, "")},
    {.name = "random bytes in a record", .build = c_random, ALERT(A_BAD_MAC, "")},
    {.name = "malformed XML in good records", .build = c_bad_xml, .end = END_CLOSE_NOTIFY,
     .answers = "aa1"},
    {.name = "malformed XML, then a KeyUpdate request", .build = c_bad_xml_then_ku,
     .end = END_CLOSE_NOTIFY, .answers = "aa1", KUS(0)},
    {.name = "truncated record, then the client half-closes", .build = c_truncated,
     ALERT(A_DECODE, "ab1"), .after = half_close},
    {.name = "the client half-closes between records", .build = c_half_close,
     ALERT(A_DECODE, "ac1"), .after = half_close},
};

static const struct suite *suite_named(const char *name)
{
    static struct suite s[3];
    s[0] = (struct suite){"TLS_AES_128_GCM_SHA256", EVP_aes_128_gcm(), EVP_sha256(), 16, 32};
    s[1] = (struct suite){"TLS_AES_256_GCM_SHA384", EVP_aes_256_gcm(), EVP_sha384(), 32, 48};
    s[2] = (struct suite){"TLS_CHACHA20_POLY1305_SHA256", EVP_chacha20_poly1305(), EVP_sha256(),
                          32, 32};
    for (int i = 0; i < 3; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    die("unknown suite %s", name);
    return NULL;
}

/* The ids of the iq answers in the data, space separated. */
static void answer_ids(const struct buf *data, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = 0;
    const char *p = data->p ? (const char *)data->p : "";
    while ((p = strstr(p, "<iq "))) {
        const char *end = strchr(p, '>'), *id = strstr(p, " id='");
        p += 4;
        if (!end || !id || id > end)
            continue;
        id += 5;
        size_t n = strcspn(id, "'");
        if (o + n + 2 > outlen)
            break;
        if (o)
            out[o++] = ' ';
        memcpy(out + o, id, n);
        o += n;
        out[o] = 0;
    }
}

struct result {
    char transcript[2048];
    char problem[1200];
    int key_updates;
};

static void check(const struct tcase *c, struct tconn *t, struct result *r, bool compact)
{
    char ids[512];
    answer_ids(&t->data, ids, sizeof ids);
    const char *ev = t->events.p ? (const char *)t->events.p : "";
    char want_end[64] = "";
    switch (c->end) {
    case END_OPEN:
        snprintf(want_end, sizeof want_end, "[alert 1.0][close]");
        break;
    case END_ALERT:
        snprintf(want_end, sizeof want_end, "[alert 2.%d][close]", c->alert);
        break;
    case END_CLOSE_NOTIFY:
        snprintf(want_end, sizeof want_end, "[alert 1.0][close]");
        break;
    case END_SILENT:
        snprintf(want_end, sizeof want_end, "[close]");
        break;
    }
    char want_ids[512];
    snprintf(want_ids, sizeof want_ids, "%s%s%s", c->answers,
             c->end == END_OPEN && *c->answers ? " " : "", c->end == END_OPEN ? "end" : "");
    r->problem[0] = 0;
    if (strcmp(ids, want_ids) != 0)
        snprintf(r->problem, sizeof r->problem, "answers [%s], want [%s]", ids, want_ids);
    else if (strcmp(ev, want_end) != 0)
        snprintf(r->problem, sizeof r->problem, "ended with %s, want %s", ev, want_end);
    else if (compact && c->check_kus && t->server_key_updates > c->max_kus)
        snprintf(r->problem, sizeof r->problem, "%d KeyUpdates sent back, want at most %d",
                 t->server_key_updates, c->max_kus);
    r->key_updates = t->server_key_updates;
    snprintf(r->transcript, sizeof r->transcript, "%s",
             t->transcript.p ? (char *)t->transcript.p : "");
}

static void run_case(const struct tcase *c, int port, const char *suite, struct result *r,
                     bool compact)
{
    struct tconn t;
    tconn_open(&t, port, suite);
    login(&t);
    struct buf o = {0};
    c->build(&t, &o);
    send_all(&t, o.p, o.len, c->chunk);
    free(o.p);
    if (c->after)
        c->after(&t);
    if (c->end == END_OPEN) {
        /* Still working: a last ping is answered, and our close_notify is answered. */
        struct buf e = {0};
        ping(&t, &e, "end");
        send_buf(&t, &e);
        if (read_until(&t, "'end'", 0, 10000)) {
            alert(&t, &e, 1, A_CLOSE_NOTIFY);
            send_buf(&t, &e);
        }
        free(e.p);
    }
    /* Where OpenSSL is laxer it may leave the connection open: no need to wait long. */
    read_until(&t, NULL, 0, c->rfc_stricter && !compact ? 2000 : 10000);
    check(c, &t, r, compact);
    tconn_close(&t);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const char *only = argc > 1 ? argv[1] : NULL;
    int compact = atoi(env("E2E_DIRECT_PORT"));
    int openssl = atoi(env("E2E_DIRECT_OPENSSL_PORT"));
    static const char *const suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                         "TLS_CHACHA20_POLY1305_SHA256"};
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        if (only && !strstr(c->name, only))
            continue;
        const char *suite = suites[i % 3];
        struct result rc, ro;
        run_case(c, compact, suite, &rc, true);
        run_case(c, openssl, suite, &ro, false);
        ran++;
        bool same = strcmp(rc.transcript, ro.transcript) == 0;
        const char *verdict = "ok";
        if (rc.problem[0])
            verdict = "FAIL (compact)";
        else if (!c->rfc_stricter && ro.problem[0])
            verdict = "FAIL (openssl)";
        else if (!c->rfc_stricter && !same)
            verdict = "FAIL (transcripts differ)";
        printf("%-52s %-12s compact: %s%s (%d KeyUpdates back)\n", c->name, verdict,
               rc.problem[0] ? rc.problem : "as expected", "", rc.key_updates);
        if (strcmp(verdict, "ok") != 0 || c->rfc_stricter || getenv("TLS_RECORDS_VERBOSE")) {
            printf("    %-6s %s\n", "openssl:", ro.problem[0] ? ro.problem : "as expected");
            printf("    compact transcript: %.300s\n", rc.transcript);
            printf("    openssl transcript: %.300s\n", ro.transcript);
        }
        if (strcmp(verdict, "ok") != 0)
            failed++;
    }
    if (!ran)
        die("no case matches '%s'", only);
    printf("%d cases, %d failed\n", ran, failed);
    return failed ? 1 : 0;
}
