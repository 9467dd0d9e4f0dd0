/* lg_conn.c: connections of myna-bench: non-blocking sockets on one edge-triggered epoll,
 * optional TLS (OpenSSL), a minimal scanner that cuts the server's stream into top-level
 * elements, and the client login: RFC 6120 §5.4 STARTTLS, §6 SASL (RFC 4616 PLAIN,
 * RFC 5802 SCRAM-SHA-1), §7 resource binding, RFC 6121 §2.1.3 roster get, §4.2 presence.
 * Invariant: a connection's buffers are NULL when empty; a closed slot keeps no memory.
 * SCRAM salted passwords are cached by (salt, iterations) so PBKDF2 runs once per salt.
 */
#include "config.h"

#include "bench/loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

struct lg_scram {
    char cnonce[33];       /* client nonce (base64 alphabet) */
    unsigned char server_sig[SHA_DIGEST_LENGTH];
};

int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "myna-bench: out of memory\n");
        abort();
    }
    return q;
}

/* ---- element helpers ---- */

const char *lg_find(const char *hay, size_t len, const char *needle)
{
    return memmem(hay, len, needle, strlen(needle));
}

bool lg_is(const char *elem, size_t len, const char *tagname)
{
    size_t n = strlen(tagname);
    if (len < n + 2 || elem[0] != '<' || memcmp(elem + 1, tagname, n) != 0)
        return false;
    char ch = elem[n + 1];
    return ch == ' ' || ch == '>' || ch == '/' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Attribute of the element's first tag. */
bool lg_attr(const char *elem, size_t len, const char *name, const char **val, size_t *vlen)
{
    const char *end = memchr(elem, '>', len);
    size_t n = strlen(name);
    if (!end)
        end = elem + len;
    for (const char *p = elem + 1; p + n + 2 < end; p++) {
        if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r')
            && memcmp(p, name, n) == 0 && p[n] == '=' && (p[n + 1] == '\'' || p[n + 1] == '"')) {
            char q = p[n + 1];
            const char *v = p + n + 2;
            const char *e = memchr(v, q, (size_t)(end - v));
            if (!e)
                return false;
            *val = v;
            *vlen = (size_t)(e - v);
            return true;
        }
    }
    return false;
}

/* ---- SCRAM salted-password cache ---- */

struct salt_entry {
    unsigned char salt[64];
    unsigned salt_len, iter;
    unsigned char salted[SHA_DIGEST_LENGTH];
};
static struct salt_entry *salt_tab;
static size_t salt_n, salt_cap, salt_saved;

static const unsigned char *salted_password(const char *pw, const unsigned char *salt,
                                            unsigned salt_len, unsigned iter)
{
    for (size_t i = salt_n; i-- > 0;)
        if (salt_tab[i].iter == iter && salt_tab[i].salt_len == salt_len
            && memcmp(salt_tab[i].salt, salt, salt_len) == 0)
            return salt_tab[i].salted;
    if (salt_len > sizeof salt_tab[0].salt)
        return NULL;
    if (salt_n == salt_cap) {
        salt_cap = salt_cap ? salt_cap * 2 : 64;
        salt_tab = xrealloc(salt_tab, salt_cap * sizeof *salt_tab);
    }
    struct salt_entry *e = &salt_tab[salt_n];
    memcpy(e->salt, salt, salt_len);
    e->salt_len = salt_len;
    e->iter = iter;
    PKCS5_PBKDF2_HMAC_SHA1(pw, (int)strlen(pw), salt, (int)salt_len, (int)iter,
                           SHA_DIGEST_LENGTH, e->salted);
    salt_n++;
    return e->salted;
}

static void hex_put(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static size_t hex_get(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    unsigned v;
    while (n < max && sscanf(s + 2 * n, "%2x", &v) == 1 && s[2 * n] != ' ')
        out[n++] = (unsigned char)v;
    return n;
}

/* Cache file lines: "<salt hex> <iterations> <salted password hex>". The password is not
 * stored; entries are only valid for the password they were made with (one per file). */
void lg_scram_cache_load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        if (salt_n == salt_cap) {
            salt_cap = salt_cap ? salt_cap * 2 : 64;
            salt_tab = xrealloc(salt_tab, salt_cap * sizeof *salt_tab);
        }
        struct salt_entry *e = &salt_tab[salt_n];
        e->salt_len = (unsigned)hex_get(line, e->salt, sizeof e->salt);
        char *sp2 = NULL;
        e->iter = (unsigned)strtoul(sp + 1, &sp2, 10);
        if (!sp2 || *sp2 != ' ' || hex_get(sp2 + 1, e->salted, SHA_DIGEST_LENGTH) != SHA_DIGEST_LENGTH)
            continue;
        salt_n++;
    }
    salt_saved = salt_n;
    fclose(f);
}

void lg_scram_cache_save(const char *path)
{
    if (salt_n == salt_saved)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    for (size_t i = salt_saved; i < salt_n; i++) {
        hex_put(f, salt_tab[i].salt, salt_tab[i].salt_len);
        fprintf(f, " %u ", salt_tab[i].iter);
        hex_put(f, salt_tab[i].salted, SHA_DIGEST_LENGTH);
        fputc('\n', f);
    }
    salt_saved = salt_n;
    fclose(f);
}

/* ---- setup ---- */

/* A session ticket arrived (RFC 8446 §4.6.1): keep it for the slot's next connection. */
static struct lg *session_owner; /* the one generator whose slots keep the tickets */

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct lg *g = session_owner;
    struct lg_conn *c = SSL_get_app_data(ssl);
    if (!g || !c || !g->sessions)
        return 0;
    uint32_t idx = (uint32_t)(c - g->conns);
    if (g->sessions[idx])
        SSL_SESSION_free(g->sessions[idx]);
    g->sessions[idx] = sess;
    return 1; /* we keep the reference */
}

int lg_init(struct lg *g, uint32_t cap)
{
    g->cap = cap;
    g->conns = calloc(cap, sizeof *g->conns);
    if (!g->conns)
        return -ENOMEM;
    for (uint32_t i = 0; i < cap; i++)
        g->conns[i].fd = -1;
    g->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g->epfd < 0)
        return -errno;
    struct in_addr a;
    if (inet_pton(AF_INET, g->cfg.src_base, &a) != 1)
        return -EINVAL;
    g->src_addr = ntohl(a.s_addr);
    if (g->cfg.tls != LG_TLS_NONE) {
        g->ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!g->ssl_ctx)
            return -EIO;
        SSL_CTX_set_min_proto_version(g->ssl_ctx, TLS1_2_VERSION);
        SSL_CTX_set_mode(g->ssl_ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                                         | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_options(g->ssl_ctx, SSL_OP_NO_COMPRESSION);
        if (g->cfg.resume) {
            g->sessions = calloc(cap, sizeof *g->sessions);
            if (!g->sessions)
                return -ENOMEM;
            SSL_CTX_set_session_cache_mode(g->ssl_ctx, SSL_SESS_CACHE_CLIENT
                                                           | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(g->ssl_ctx, new_session);
            session_owner = g;
        } else {
            SSL_CTX_set_session_cache_mode(g->ssl_ctx, SSL_SESS_CACHE_OFF);
        }
        if (g->cfg.cafile) {
            if (SSL_CTX_load_verify_locations(g->ssl_ctx, g->cfg.cafile, NULL) != 1)
                return -ENOENT;
            SSL_CTX_set_verify(g->ssl_ctx, SSL_VERIFY_PEER, NULL);
        } else {
            SSL_CTX_set_verify(g->ssl_ctx, SSL_VERIFY_NONE, NULL);
        }
    }
    if (g->cfg.scram_cache)
        lg_scram_cache_load(g->cfg.scram_cache);
    return 0;
}

void lg_free(struct lg *g)
{
    for (uint32_t i = 0; i < g->cap; i++) {
        if (g->conns[i].fd >= 0)
            lg_close(g, &g->conns[i], NULL);
        free(g->conns[i].smid);
    }
    if (g->cfg.scram_cache)
        lg_scram_cache_save(g->cfg.scram_cache);
    if (g->sessions)
        for (uint32_t i = 0; i < g->cap; i++)
            if (g->sessions[i])
                SSL_SESSION_free(g->sessions[i]);
    free(g->sessions);
    if (g->ssl_ctx)
        SSL_CTX_free(g->ssl_ctx);
    close(g->epfd);
    free(g->conns);
}

/* ---- low-level I/O ---- */

static void conn_fail(struct lg *g, struct lg_conn *c, const char *why)
{
    bool was_login = c->state != LG_S_READY;
    if (was_login) {
        g->failed++;
        if (g->pending)
            g->pending--;
        if (!g->first_error[0])
            snprintf(g->first_error, sizeof g->first_error, "%s (state %d)", why, c->state);
    } else {
        g->closed_later++;
        if (!g->first_error[0])
            snprintf(g->first_error, sizeof g->first_error, "ready session closed: %s", why);
    }
    lg_close(g, c, why);
}

void lg_close(struct lg *g, struct lg_conn *c, const char *why)
{
    if (c->state == LG_S_FREE || c->state == LG_S_CLOSED)
        return;
    /* close_notify first, as clients do: OpenSSL marks the session of a connection freed
     * without it as not resumable (and that is the ticket --tls-resume keeps). */
    if (c->ssl && g->sessions && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    if (c->ssl)
        SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->in);
    free(c->out);
    free(c->scram);
    c->in = c->out = NULL;
    c->scram = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_cap = 0;
    c->state = LG_S_CLOSED;
    if (why && g->cb.closed)
        g->cb.closed(c, why);
}

/* Writes as much of data as the socket takes; returns bytes written, -1 on error. */
static ssize_t raw_write(struct lg_conn *c, const char *data, size_t len)
{
    if (c->ssl) {
        ERR_clear_error();
        int n = SSL_write(c->ssl, data, (int)len);
        if (n > 0)
            return n;
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE)
            return 0;
        if (err == SSL_ERROR_WANT_READ) {
            c->tls_read_on_write = 1;
            return 0;
        }
        return -1;
    }
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
}

static void out_append(struct lg_conn *c, const char *data, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + len)
            cap *= 2;
        c->out = xrealloc(c->out, cap);
        c->out_cap = (uint32_t)cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += (uint32_t)len;
}

static int flush_out(struct lg_conn *c)
{
    /* SSL_write must be retried with the same buffer: only whole out[] is ever offered. */
    while (c->out_len) {
        ssize_t n = raw_write(c, c->out, c->out_len);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (uint32_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
    return 0;
}

static void conn_write(struct lg *g, struct lg_conn *c, const char *data, size_t len)
{
    if (c->state == LG_S_CLOSED || c->state == LG_S_FREE)
        return;
    if (c->out_len == 0) {
        ssize_t n = raw_write(c, data, len);
        if (n < 0) {
            conn_fail(g, c, "write failed");
            return;
        }
        data += n;
        len -= (size_t)n;
    }
    if (len)
        out_append(c, data, len);
}

void lg_send(struct lg *g, struct lg_conn *c, const char *data, size_t len)
{
    conn_write(g, c, data, len);
}

static void send_str(struct lg *g, struct lg_conn *c, const char *s)
{
    conn_write(g, c, s, strlen(s));
}

static bool on_peer(const struct lg *g, uint32_t idx)
{
    return g->cfg.peer_host && idx >= g->cfg.peer_from;
}

const char *lg_host(const struct lg *g, uint32_t idx)
{
    return on_peer(g, idx) ? g->cfg.peer_host : g->cfg.host;
}

const char *lg_domain(const struct lg *g, uint32_t idx)
{
    return on_peer(g, idx) && g->cfg.peer_domain ? g->cfg.peer_domain : g->cfg.domain;
}

static void send_stream_header(struct lg *g, struct lg_conn *c)
{
    char buf[320];
    int n = snprintf(buf, sizeof buf,
                     "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>",
                     lg_domain(g, (uint32_t)(c - g->conns)));
    conn_write(g, c, buf, (size_t)n);
    c->depth = 0;
    c->in_len = 0;
}

/* ---- login state machine ---- */

static void b64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* XEP-0115 entity capabilities of the generator, as real clients put in their presence:
 * ver is the SHA-1 verification string of CAPS_IDENTITY and CAPS_FEATURES (§5.1), so the
 * server's disco#info check of the first session succeeds and the rest hit its cache. */
#define CAPS_NODE "https://myna.im/bench"
#define CAPS_VER "PUxmIvWeecOpfjAehUMv6SzbyXQ="
#define CAPS_INFO                                                                          \
    "<identity category='client' type='pc' name='myna-bench'/>"                            \
    "<feature var='http://jabber.org/protocol/caps'/>"                                     \
    "<feature var='http://jabber.org/protocol/disco#info'/>"

static void login_done(struct lg *g, struct lg_conn *c)
{
    /* A realistic session (roster and presence) announces caps like every client does;
     * a resumed session keeps the presence it had. */
    if (g->cfg.presence && !c->resumed)
        send_str(g, c, g->cfg.roster ? "<presence><c xmlns='http://jabber.org/protocol/caps' "
                                       "hash='sha-1' node='" CAPS_NODE "' ver='" CAPS_VER
                                       "'/></presence>"
                                     : "<presence/>");
    c->state = LG_S_READY;
    c->t_ready = lg_now_ns();
    g->ready++;
    if (g->pending)
        g->pending--;
    if (g->cb.ready)
        g->cb.ready(c);
}

static void start_tls(struct lg *g, struct lg_conn *c, enum lg_state next);

static void tls_step(struct lg *g, struct lg_conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        if (SSL_session_reused(c->ssl))
            g->resumed++;
        /* Both STARTTLS and direct TLS continue with a stream offering SASL. */
        c->state = LG_S_FEATURES2;
        send_stream_header(g, c);
        return;
    }
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return;
    char msg[120];
    snprintf(msg, sizeof msg, "TLS handshake failed: %s",
             ERR_reason_error_string(ERR_peek_error()) ? ERR_reason_error_string(ERR_peek_error())
                                                        : "connection closed");
    conn_fail(g, c, msg);
}

static void start_tls(struct lg *g, struct lg_conn *c, enum lg_state next)
{
    c->ssl = SSL_new(g->ssl_ctx);
    if (!c->ssl) {
        conn_fail(g, c, "SSL_new failed");
        return;
    }
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_app_data(c->ssl, c);
    if (g->sessions && g->sessions[c - g->conns])
        SSL_set_session(c->ssl, g->sessions[c - g->conns]);
    SSL_set_tlsext_host_name(c->ssl, lg_domain(g, (uint32_t)(c - g->conns)));
    if (g->cfg.cafile)
        SSL_set1_host(c->ssl, lg_domain(g, (uint32_t)(c - g->conns)));
    SSL_set_connect_state(c->ssl);
    c->state = (uint8_t)next;
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    tls_step(g, c);
}

static bool has_mech(const char *e, size_t len, const char *mech)
{
    char pat[64];
    snprintf(pat, sizeof pat, ">%s<", mech);
    return lg_find(e, len, pat) != NULL;
}

static void auth_start(struct lg *g, struct lg_conn *c, const char *e, size_t len)
{
    char user[96], buf[512];
    snprintf(user, sizeof user, "%s%u", g->cfg.prefix, c->user);
    bool scram = g->cfg.sasl == LG_SASL_SCRAM
                 || (g->cfg.sasl == LG_SASL_AUTO && has_mech(e, len, "SCRAM-SHA-1"));
    if (scram && !has_mech(e, len, "SCRAM-SHA-1")) {
        conn_fail(g, c, "server does not offer SCRAM-SHA-1");
        return;
    }
    if (!scram && !has_mech(e, len, "PLAIN")) {
        conn_fail(g, c, "server does not offer PLAIN");
        return;
    }
    c->state = LG_S_AUTH;
    if (!scram) {
        unsigned char raw[256];
        size_t ul = strlen(user), pl = strlen(g->cfg.password);
        if (ul + pl + 2 > sizeof raw)
            return conn_fail(g, c, "credentials too long");
        raw[0] = 0;
        memcpy(raw + 1, user, ul);
        raw[1 + ul] = 0;
        memcpy(raw + 2 + ul, g->cfg.password, pl);
        char enc[360];
        b64(raw, ul + pl + 2, enc);
        int n = snprintf(buf, sizeof buf,
                         "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>",
                         enc);
        conn_write(g, c, buf, (size_t)n);
        return;
    }
    c->scram = xrealloc(NULL, sizeof *c->scram);
    unsigned char rnd[24];
    RAND_bytes(rnd, sizeof rnd);
    b64(rnd, sizeof rnd, c->scram->cnonce);
    char first[200], enc[300];
    int fl = snprintf(first, sizeof first, "n,,n=%s,r=%s", user, c->scram->cnonce);
    b64((const unsigned char *)first, (size_t)fl, enc);
    int n = snprintf(buf, sizeof buf,
                     "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>%s</auth>",
                     enc);
    conn_write(g, c, buf, (size_t)n);
}

/* Text content of a simple element such as <challenge>...</challenge>. */
static bool elem_text(const char *e, size_t len, const char **t, size_t *tl)
{
    const char *gt = memchr(e, '>', len);
    if (!gt || gt[-1] == '/') {
        *t = e;
        *tl = 0;
        return gt != NULL;
    }
    const char *lt = memchr(gt, '<', len - (size_t)(gt - e));
    if (!lt)
        return false;
    *t = gt + 1;
    *tl = (size_t)(lt - gt - 1);
    return true;
}

static int b64dec(const char *in, size_t n, unsigned char *out, size_t max)
{
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > max)
        return -1;
    int r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (r < 0)
        return -1;
    if (in[n - 1] == '=')
        r--;
    if (in[n - 2] == '=')
        r--;
    return r;
}

static void scram_challenge(struct lg *g, struct lg_conn *c, const char *e, size_t len)
{
    const char *t;
    size_t tl;
    unsigned char sf[512];
    int sfl;
    if (!c->scram || !elem_text(e, len, &t, &tl) || (sfl = b64dec(t, tl, sf, sizeof sf - 1)) <= 0)
        return conn_fail(g, c, "bad SCRAM challenge");
    sf[sfl] = 0;
    const char *sfs = (const char *)sf;
    const char *r = strstr(sfs, "r="), *s = strstr(sfs, ",s="), *i = strstr(sfs, ",i=");
    if (!r || !s || !i || strncmp(r + 2, c->scram->cnonce, strlen(c->scram->cnonce)) != 0)
        return conn_fail(g, c, "bad SCRAM server-first message");
    size_t rl = strcspn(r + 2, ",");
    size_t sl = strcspn(s + 3, ",");
    unsigned iter = (unsigned)strtoul(i + 3, NULL, 10);
    unsigned char salt[128];
    int saltl = b64dec(s + 3, sl, salt, sizeof salt);
    if (saltl <= 0 || iter == 0 || iter > 1000000)
        return conn_fail(g, c, "bad SCRAM salt or iteration count");
    const unsigned char *sp = salted_password(g->cfg.password, salt, (unsigned)saltl, iter);
    if (!sp)
        return conn_fail(g, c, "SCRAM salt too long");
    unsigned char ck[SHA_DIGEST_LENGTH], sk[SHA_DIGEST_LENGTH], stored[SHA_DIGEST_LENGTH];
    unsigned char sig[SHA_DIGEST_LENGTH];
    unsigned int ml;
    HMAC(EVP_sha1(), sp, SHA_DIGEST_LENGTH, (const unsigned char *)"Client Key", 10, ck, &ml);
    HMAC(EVP_sha1(), sp, SHA_DIGEST_LENGTH, (const unsigned char *)"Server Key", 10, sk, &ml);
    SHA1(ck, sizeof ck, stored);
    char am[1024], final_wo[300];
    int fwl = snprintf(final_wo, sizeof final_wo, "c=biws,r=%.*s", (int)rl, r + 2);
    int aml = snprintf(am, sizeof am, "n=%s%u,r=%s,%s,%s", g->cfg.prefix, c->user,
                       c->scram->cnonce, sfs, final_wo);
    if (aml <= 0 || (size_t)aml >= sizeof am || fwl <= 0 || (size_t)fwl >= sizeof final_wo)
        return conn_fail(g, c, "SCRAM message too long");
    HMAC(EVP_sha1(), stored, sizeof stored, (unsigned char *)am, (size_t)aml, sig, &ml);
    unsigned char proof[SHA_DIGEST_LENGTH];
    for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
        proof[k] = ck[k] ^ sig[k];
    HMAC(EVP_sha1(), sk, sizeof sk, (unsigned char *)am, (size_t)aml, c->scram->server_sig, &ml);
    char p64[40], final[400], enc[600], buf[700];
    b64(proof, sizeof proof, p64);
    int fl = snprintf(final, sizeof final, "%s,p=%s", final_wo, p64);
    b64((const unsigned char *)final, (size_t)fl, enc);
    int n = snprintf(buf, sizeof buf, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>", enc);
    conn_write(g, c, buf, (size_t)n);
}

static void auth_success(struct lg *g, struct lg_conn *c, const char *e, size_t len)
{
    if (c->scram) {
        const char *t;
        size_t tl;
        unsigned char v[128];
        int vl;
        if (elem_text(e, len, &t, &tl) && tl > 0 && (vl = b64dec(t, tl, v, sizeof v - 1)) > 2) {
            v[vl] = 0;
            unsigned char sig[64];
            int sl = strncmp((char *)v, "v=", 2) == 0
                         ? b64dec((char *)v + 2, (size_t)vl - 2, sig, sizeof sig) : -1;
            if (sl != SHA_DIGEST_LENGTH || memcmp(sig, c->scram->server_sig, SHA_DIGEST_LENGTH) != 0)
                return conn_fail(g, c, "SCRAM server signature mismatch");
        }
        free(c->scram);
        c->scram = NULL;
    }
    c->state = LG_S_FEATURES3;
    send_stream_header(g, c);
}

static void bind_start(struct lg *g, struct lg_conn *c)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf,
                     "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                     "<resource>%s</resource></bind></iq>", g->cfg.resource);
    c->state = LG_S_BIND;
    conn_write(g, c, buf, (size_t)n);
}

/* After binding (and the roster): XEP-0198 with resumption, or the end of the login. */
static void bound(struct lg *g, struct lg_conn *c)
{
    if (!g->cfg.sm)
        return login_done(g, c);
    c->state = LG_S_ENABLE;
    send_str(g, c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
}

/* Instead of binding: take the previous session over (XEP-0198 §5). */
static void resume_start(struct lg *g, struct lg_conn *c)
{
    char buf[200];
    int n = snprintf(buf, sizeof buf, "<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%u'/>",
                     c->smid, c->sm_in);
    c->state = LG_S_RESUME;
    conn_write(g, c, buf, (size_t)n);
}

static void sm_enabled(struct lg *g, struct lg_conn *c, const char *e, size_t len)
{
    const char *v;
    size_t vl;
    if (!lg_is(e, len, "enabled") || !lg_attr(e, len, "id", &v, &vl) || vl == 0 || vl > 100)
        return conn_fail(g, c, "XEP-0198 enable refused or without resumption");
    free(c->smid);
    c->smid = malloc(vl + 1);
    if (!c->smid)
        return conn_fail(g, c, "out of memory");
    memcpy(c->smid, v, vl);
    c->smid[vl] = 0;
    c->sm_in = 0;
    login_done(g, c);
}

static bool is_result(const char *e, size_t len, const char *id)
{
    const char *v;
    size_t vl;
    if (!lg_attr(e, len, "id", &v, &vl) || vl != strlen(id) || memcmp(v, id, vl) != 0)
        return false;
    return lg_attr(e, len, "type", &v, &vl) && vl == 6 && memcmp(v, "result", 6) == 0;
}

/* One complete top-level element from the server. */
static void on_element(struct lg *g, struct lg_conn *c, const char *e, size_t len)
{
    if (lg_is(e, len, "stream:error")) {
        char why[120];
        const char *cond = lg_find(e, len, "<");
        cond = cond ? lg_find(e + 1, len - 1, "<") : NULL;
        snprintf(why, sizeof why, "stream error %.60s", cond ? cond : "");
        return conn_fail(g, c, why);
    }
    switch (c->state) {
    case LG_S_FEATURES1:
        if (!lg_is(e, len, "stream:features"))
            return;
        if (g->cfg.tls == LG_TLS_STARTTLS) {
            if (!lg_find(e, len, "<starttls"))
                return conn_fail(g, c, "server offers no STARTTLS");
            c->state = LG_S_PROCEED;
            send_str(g, c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        } else {
            auth_start(g, c, e, len);
        }
        return;
    case LG_S_PROCEED:
        if (lg_is(e, len, "proceed"))
            start_tls(g, c, LG_S_TLS);
        else
            conn_fail(g, c, "STARTTLS refused");
        return;
    case LG_S_FEATURES2:
        if (lg_is(e, len, "stream:features"))
            auth_start(g, c, e, len);
        return;
    case LG_S_AUTH:
        if (lg_is(e, len, "challenge"))
            scram_challenge(g, c, e, len);
        else if (lg_is(e, len, "success"))
            auth_success(g, c, e, len);
        else
            conn_fail(g, c, "SASL failure (wrong account or password?)");
        return;
    case LG_S_FEATURES3:
        if (!lg_is(e, len, "stream:features"))
            return;
        if (g->cfg.sm && c->smid)
            resume_start(g, c);
        else
            bind_start(g, c);
        return;
    case LG_S_ENABLE:
        sm_enabled(g, c, e, len);
        return;
    case LG_S_RESUME:
        if (!lg_is(e, len, "resumed"))
            return conn_fail(g, c, "XEP-0198 resume failed");
        c->resumed = 1;
        login_done(g, c);
        return;
    case LG_S_BIND:
        if (!lg_is(e, len, "iq"))
            return;
        if (!is_result(e, len, "bind"))
            return conn_fail(g, c, "resource bind failed");
        if (g->cfg.roster) {
            c->state = LG_S_ROSTER;
            send_str(g, c, "<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
            return;
        }
        bound(g, c);
        return;
    case LG_S_ROSTER:
        if (lg_is(e, len, "iq") && is_result(e, len, "roster"))
            bound(g, c);
        else if (lg_is(e, len, "iq"))
            conn_fail(g, c, "roster get failed");
        return;
    case LG_S_READY:
        if (c->smid && lg_is(e, len, "r")) {
            char buf[64];
            int n = snprintf(buf, sizeof buf, "<a xmlns='urn:xmpp:sm:3' h='%u'/>", c->sm_in);
            conn_write(g, c, buf, (size_t)n);
            return;
        }
        if (c->smid && (lg_is(e, len, "message") || lg_is(e, len, "presence") ||
                        lg_is(e, len, "iq")))
            c->sm_in++;
        if (lg_is(e, len, "iq")) {
            const char *v;
            size_t vl;
            /* Answer server pings (XEP-0199) and any other get/set with a plain result. */
            if (lg_attr(e, len, "type", &v, &vl) && ((vl == 3 && memcmp(v, "get", 3) == 0)
                                                      || (vl == 3 && memcmp(v, "set", 3) == 0))) {
                const char *id, *from;
                size_t il, fl;
                char buf[800];
                if (lg_attr(e, len, "id", &id, &il) && il < 120) {
                    int n;
                    bool info = lg_find(e, len, "http://jabber.org/protocol/disco#info") != NULL;
                    if (info && lg_attr(e, len, "from", &from, &fl) && fl < 200)
                        n = snprintf(buf, sizeof buf,
                                     "<iq type='result' id='%.*s' to='%.*s'><query xmlns='"
                                     "http://jabber.org/protocol/disco#info' node='" CAPS_NODE
                                     "#" CAPS_VER "'>" CAPS_INFO "</query></iq>",
                                     (int)il, id, (int)fl, from);
                    else if (lg_attr(e, len, "from", &from, &fl) && fl < 200)
                        n = snprintf(buf, sizeof buf, "<iq type='result' id='%.*s' to='%.*s'/>",
                                     (int)il, id, (int)fl, from);
                    else
                        n = snprintf(buf, sizeof buf, "<iq type='result' id='%.*s'/>", (int)il, id);
                    conn_write(g, c, buf, (size_t)n);
                }
                return;
            }
        }
        if (g->cb.stanza)
            g->cb.stanza(c, e, len);
        return;
    default:
        return;
    }
}

/* Cuts data into top-level elements and handles them; returns bytes consumed. Stops early
 * when the connection closes or its stream restarts (state change resets the scanner). */
static size_t scan(struct lg *g, struct lg_conn *c, const char *p, size_t len)
{
    size_t i = 0, consumed = 0, elem_start = 0;
    unsigned depth = c->depth, base = c->depth;
    while (i < len) {
        const char *lt = memchr(p + i, '<', len - i);
        if (!lt) {
            if (depth == base)
                consumed = len;
            break;
        }
        i = (size_t)(lt - p);
        size_t j = i + 1;
        char quote = 0;
        for (; j < len; j++) {
            char ch = p[j];
            if (quote) {
                if (ch == quote)
                    quote = 0;
            } else if (ch == '"' || ch == '\'') {
                quote = ch;
            } else if (ch == '>') {
                break;
            }
        }
        if (j >= len)
            break;
        if (p[i + 1] == '?' || p[i + 1] == '!') {
            i = j + 1;
            if (depth == base)
                consumed = i;
            continue;
        }
        int restart_gen = c->state;
        if (p[i + 1] == '/') {
            if (depth == 0)
                return len; /* garbage */
            depth--;
            if (depth == 0) {
                conn_fail(g, c, "server closed the stream");
                return len;
            }
            if (depth == 1) {
                on_element(g, c, p + elem_start, j + 1 - elem_start);
                consumed = j + 1;
            }
        } else if (p[j - 1] == '/') {
            if (depth == 1) {
                on_element(g, c, p + i, j + 1 - i);
                consumed = j + 1;
            }
        } else {
            if (depth == 1)
                elem_start = i;
            depth++;
            if (depth == 1) {
                base = 1; /* stream header seen */
                consumed = j + 1;
            }
        }
        i = j + 1;
        if (c->state == LG_S_CLOSED)
            return len;
        if (c->state != restart_gen && (c->state == LG_S_FEATURES3 || c->state == LG_S_TLS
                                        || c->state == LG_S_FEATURES2)) {
            /* New stream (after SASL success or TLS): drop the old stream's leftovers. */
            c->depth = 0;
            return len;
        }
    }
    c->depth = (uint8_t)base;
    return consumed;
}

static void feed(struct lg *g, struct lg_conn *c, const char *data, size_t n)
{
    const char *p;
    size_t len;
    if (c->in_len) {
        if (c->in_len + n > c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap : 2048;
            while (cap < c->in_len + n)
                cap *= 2;
            if (cap > (64u << 20))
                return conn_fail(g, c, "element too large");
            c->in = xrealloc(c->in, cap);
            c->in_cap = (uint32_t)cap;
        }
        memcpy(c->in + c->in_len, data, n);
        c->in_len += (uint32_t)n;
        p = c->in;
        len = c->in_len;
    } else {
        p = data;
        len = n;
    }
    size_t used = scan(g, c, p, len);
    if (c->state == LG_S_CLOSED)
        return;
    if (used >= len) {
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
        return;
    }
    size_t rest = len - used;
    if (p == c->in) {
        memmove(c->in, c->in + used, rest);
        c->in_len = (uint32_t)rest;
    } else {
        if (rest > c->in_cap) {
            size_t cap = 2048;
            while (cap < rest)
                cap *= 2;
            c->in = xrealloc(c->in, cap);
            c->in_cap = (uint32_t)cap;
        }
        memcpy(c->in, p + used, rest);
        c->in_len = (uint32_t)rest;
    }
}

static char rbuf[65536];

static void on_readable(struct lg *g, struct lg_conn *c)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (c->state == LG_S_CLOSED)
            return;
        if (c->state == LG_S_TLS || c->state == LG_S_TLS_DIRECT) {
            tls_step(g, c);
            if (c->state == LG_S_TLS || c->state == LG_S_TLS_DIRECT || c->state == LG_S_CLOSED)
                return;
            continue;
        }
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, rbuf, sizeof rbuf);
            if (r <= 0) {
                int err = SSL_get_error(c->ssl, r);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                    return;
                return conn_fail(g, c, err == SSL_ERROR_ZERO_RETURN ? "TLS closed by server"
                                                                     : "TLS read error");
            }
            n = r;
        } else {
            n = recv(c->fd, rbuf, sizeof rbuf, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    return;
                return conn_fail(g, c, strerror(errno));
            }
            if (n == 0)
                return conn_fail(g, c, "connection closed by server");
        }
        feed(g, c, rbuf, (size_t)n);
        if (c->tls_read_on_write && c->out_len && c->state != LG_S_CLOSED) {
            c->tls_read_on_write = 0;
            if (flush_out(c) < 0)
                return conn_fail(g, c, "write failed");
        }
    }
    /* More data pending: edge-triggered epoll will not tell us again, so keep it in the
     * ready list by re-arming (cheap, rare: only under floods). */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)(c - g->conns)};
    epoll_ctl(g->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_writable(struct lg *g, struct lg_conn *c)
{
    if (c->state == LG_S_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err)
            return conn_fail(g, c, strerror(err));
        if (g->cfg.tls == LG_TLS_DIRECT) {
            start_tls(g, c, LG_S_TLS_DIRECT);
            return;
        }
        c->state = LG_S_FEATURES1;
        send_stream_header(g, c);
        return;
    }
    if (c->state == LG_S_TLS || c->state == LG_S_TLS_DIRECT) {
        tls_step(g, c);
        return;
    }
    if (c->out_len && flush_out(c) < 0)
        conn_fail(g, c, "write failed");
}

bool lg_open(struct lg *g, uint32_t idx, uint32_t user)
{
    struct lg_conn *c = &g->conns[idx];
    if (c->state != LG_S_FREE && c->state != LG_S_CLOSED)
        lg_close(g, c, NULL);
    char *smid = c->user == user ? c->smid : NULL; /* a session to resume */
    uint32_t sm_in = c->sm_in;
    if (!smid)
        free(c->smid);
    memset(c, 0, sizeof *c);
    c->smid = smid;
    c->sm_in = smid ? sm_in : 0;
    c->fd = -1;
    c->user = user;
    c->t_start = lg_now_ns();
    g->opened++;
    g->pending++;
    c->state = LG_S_CONNECTING;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_fail(g, c, strerror(errno));
        return false;
    }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(g->src_addr + (g->next_src++ % (uint32_t)g->cfg.src_count));
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
        conn_fail(g, c, "bind to source address failed");
        return false;
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->cfg.port)};
    inet_pton(AF_INET, lg_host(g, idx), &dst.sin_addr);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        conn_fail(g, c, strerror(errno));
        return false;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = idx};
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        conn_fail(g, c, "epoll_ctl failed");
        return false;
    }
    return true;
}

void lg_poll(struct lg *g, int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(g->epfd, evs, 512, timeout_ms);
    for (int k = 0; k < n; k++) {
        struct lg_conn *c = &g->conns[evs[k].data.u32];
        uint32_t e = evs[k].events;
        if (c->state == LG_S_CLOSED || c->state == LG_S_FREE)
            continue;
        if (e & (EPOLLOUT | EPOLLERR))
            on_writable(g, c);
        if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->state != LG_S_CLOSED
            && c->state != LG_S_CONNECTING)
            on_readable(g, c);
    }
}

void lg_check_timeouts(struct lg *g)
{
    int64_t now = lg_now_ns();
    int64_t limit = (int64_t)(g->cfg.login_timeout * 1e9);
    for (uint32_t i = 0; i < g->cap; i++) {
        struct lg_conn *c = &g->conns[i];
        if (c->state != LG_S_FREE && c->state != LG_S_CLOSED && c->state != LG_S_READY
            && now - c->t_start > limit)
            conn_fail(g, c, "login timed out");
    }
}
