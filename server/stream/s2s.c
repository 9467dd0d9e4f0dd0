/* server/stream/s2s.c — the routes to remote domains (RFC 6120 §10.4 for remote
 * domains, §8.3.3.15/16 for the bounces): one struct s2s_route per local/remote domain
 * pair with a stanza waiting or a stream up. States: CONNECTING (an s2s_out attempt runs,
 * stanzas queue) -> READY (stanzas go straight out; an idle timer closes it) or, after a
 * failed attempt, WAITING (a retry timer, exponential backoff) -> CONNECTING ... and after
 * the last retry every queued stanza is bounced to its sender and the route is freed.
 * Invariants: a route is in the table exactly while it exists; r->out is the one attempt or
 * stream it owns, and that s2s_out points back at it until detached; nothing queued is
 * dropped without a bounce (errors themselves are never bounced, RFC 6120 §8.3.1). */
#include "server/stream/s2s.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/net/resolve.h"
#include "server/net/wbuf.h"
#include "myna/jid.h"
#include "server/route/router.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/component.h"
#include "server/stream/stream.h"

#define QUEUE_MAX 10000 /* stanzas waiting for one route */

struct pending {
    struct wbuf *w;   /* the stanza as it will be sent */
    bool bounce;      /* answered with an error when it cannot be delivered */
    struct pending *next;
};

enum route_state { ROUTE_CONNECTING, ROUTE_READY, ROUTE_WAITING };

struct s2s_route {
    struct server *srv;
    char *key;                  /* "local remote" */
    char *local, *remote;
    enum route_state state;
    struct s2s_out *out;        /* the attempt or the stream, or NULL while WAITING */
    struct pending *head, *tail;
    size_t nq;
    unsigned attempts;          /* failed attempts in a row */
    uint64_t timer;             /* retry (WAITING) or idle check (READY) */
    uint64_t last_used;
};

const char *s2s_route_local(const struct s2s_route *r)
{
    return r->local;
}

const char *s2s_route_remote(const struct s2s_route *r)
{
    return r->remote;
}

bool s2s_is_local(struct server *srv, const char *domain)
{
    return server_host(srv, domain) || hashmap_get(srv->subdomains, domain) ||
           component_is_domain(srv, domain);
}

/* ---- bounces (RFC 6120 §8.3.3.15 remote-server-not-found, §8.3.3.16 -timeout) ---- */

static bool should_bounce(const struct myna_stanza *pub)
{
    if (strcmp(pub->type, "error") == 0)
        return false;
    /* Presence other than subscriptions and probes is broadcast, not answered. */
    return pub->kind != MYNA_PRESENCE || strcmp(pub->type, "subscribe") == 0 ||
           strcmp(pub->type, "probe") == 0;
}

static void bounce(struct server *srv, struct pending *p, enum myna_error e, const char *text)
{
    if (!p->bounce)
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = myna_xml_parse(a, p->w->data, p->w->len, MYNA_NS_CLIENT);
    struct stanza_ctx ctx;
    enum myna_error err;
    if (el && stanza_init(&ctx, srv, el, NULL, NULL, &err) == 0)
        myna_reply_error(&ctx.pub, e, text);
    myna_arena_free(a);
}

static enum myna_error fail_error(enum s2s_fail why)
{
    return why == S2S_FAIL_TIMEOUT ? MYNA_ERR_REMOTE_SERVER_TIMEOUT
                                   : MYNA_ERR_REMOTE_SERVER_NOT_FOUND;
}

static void route_free(struct s2s_route *r)
{
    hashmap_del(r->srv->s2s_routes, r->key);
    if (r->timer)
        loop_timer_cancel(r->srv->loop, r->timer);
    if (r->out)
        s2s_out_detach(r->out, r);
    for (struct pending *p = r->head, *n; p; p = n) {
        n = p->next;
        wbuf_unref(p->w);
        free(p);
    }
    free(r->key);
    free(r->local);
    free(r->remote);
    free(r);
}

/* Every queued stanza goes back to its sender, then the route is gone. */
static void route_fail(struct s2s_route *r, enum s2s_fail why)
{
    struct server *srv = r->srv;
    struct pending *p = r->head;
    r->head = r->tail = NULL;
    r->nq = 0;
    log_info("s2s", "%s -> %s: %s after %u attempt(s)", r->local, r->remote,
             why == S2S_FAIL_TIMEOUT ? "timed out" : why == S2S_FAIL_POLICY ? "refused by policy"
                                                                            : "not reachable",
             r->attempts);
    route_free(r);
    const char *text = why == S2S_FAIL_POLICY ? "The remote server could not be authenticated"
                                              : NULL;
    while (p) {
        struct pending *n = p->next;
        bounce(srv, p, fail_error(why), text);
        wbuf_unref(p->w);
        free(p);
        p = n;
    }
}

/* ---- attempts ---- */

struct share_search {
    const struct s2s_route *r;
    struct s2s_out *found;
};

static void share_match(const char *key, void *value, void *data)
{
    (void)key;
    struct share_search *s = data;
    const struct s2s_route *o = value;
    if (!s->found && o != s->r && o->state == ROUTE_READY && o->out &&
        strcmp(o->remote, s->r->remote) == 0 && s2s_out_can_share(o->out))
        s->found = o->out;
}

/* RFC 6120 §4.7.1, XEP-0220 §2.4: a stream already authenticated to the same remote
 * domain carries the new pair too, instead of a connection of its own. */
static void attempt(struct s2s_route *r)
{
    r->state = ROUTE_CONNECTING;
    struct share_search s = {r, NULL};
    hashmap_each(r->srv->s2s_routes, share_match, &s);
    if (s.found) {
        r->out = s.found;
        s2s_out_piggyback(s.found, r);
        return;
    }
    r->out = s2s_out_start(r->srv, r);
}

static void retry_fire(void *data)
{
    struct s2s_route *r = data;
    r->timer = 0;
    attempt(r);
}

static void idle_fire(void *data)
{
    struct s2s_route *r = data;
    struct server *srv = r->srv;
    uint64_t idle = (uint64_t)srv->cfg.s2s.idle_timeout * 1000, now = loop_now(srv->loop);
    r->timer = 0;
    if (now - r->last_used < idle) {
        r->timer = loop_timer_add(srv->loop, idle - (now - r->last_used), idle_fire, r);
        return;
    }
    log_debug("s2s", "%s -> %s idle: closing", r->local, r->remote);
    route_free(r); /* the stream closes with its last pair */
}

void s2s_route_ready(struct s2s_route *r, struct s2s_out *o)
{
    struct server *srv = r->srv;
    r->state = ROUTE_READY;
    r->attempts = 0;
    r->last_used = loop_now(srv->loop);
    log_info("s2s", "%s -> %s ready, %zu stanza(s) queued", r->local, r->remote, r->nq);
    for (struct pending *p = r->head, *n; p; p = n) {
        n = p->next;
        s2s_out_send(o, p->w);
        wbuf_unref(p->w);
        free(p);
    }
    r->head = r->tail = NULL;
    r->nq = 0;
    r->timer = loop_timer_add(srv->loop, (uint64_t)srv->cfg.s2s.idle_timeout * 1000, idle_fire, r);
}

void s2s_route_lost(struct s2s_route *r, struct s2s_out *o, bool was_ready, enum s2s_fail why)
{
    struct server *srv = r->srv;
    if (r->out != o)
        return;
    r->out = NULL;
    if (r->timer) {
        loop_timer_cancel(srv->loop, r->timer);
        r->timer = 0;
    }
    if (srv->stopping) {
        route_fail(r, S2S_FAIL_NOT_FOUND);
        return;
    }
    if (was_ready) {
        /* A stream that worked ended (idle, or the peer closed): start again only for
         * stanzas that came since. */
        if (r->nq)
            attempt(r);
        else
            route_free(r);
        return;
    }
    r->attempts++;
    if (why == S2S_FAIL_POLICY || r->attempts > srv->cfg.s2s.retries) {
        route_fail(r, why);
        return;
    }
    uint64_t delay = (uint64_t)srv->cfg.s2s.retry_delay * 1000 << (r->attempts - 1);
    log_debug("s2s", "%s -> %s: attempt %u failed, again in %llu ms", r->local, r->remote,
              r->attempts, (unsigned long long)delay);
    r->state = ROUTE_WAITING;
    r->timer = loop_timer_add(srv->loop, delay, retry_fire, r);
}

/* ---- stanzas from peers ---- */

/* jabber:server -> jabber:client, the internal namespace of every stanza. */
static void map_ns(struct myna_xml *el)
{
    if (el->type != MYNA_XML_ELEMENT)
        return;
    if (strcmp(el->ns, MYNA_NS_SERVER) == 0)
        el->ns = MYNA_NS_CLIENT;
    for (struct myna_xml *ch = el->children; ch; ch = ch->next)
        map_ns(ch);
}

void s2s_stanza_in(struct stream *st, struct myna_xml *el,
                   bool (*authorized)(void *data, const char *domain), void *data)
{
    struct server *srv = st->srv;
    const char *from = myna_xml_attr(el, "from"), *to = myna_xml_attr(el, "to");
    if (!from || !to) {
        /* RFC 6120 §4.9.3.7, §8.1.1.2: both addresses are required on s2s. */
        stream_error(st, STREAM_ERR_IMPROPER_ADDRESSING, NULL);
        return;
    }
    struct myna_jid fj, tj;
    if (myna_jid_parse(el->arena, from, &fj) < 0 || !authorized(data, fj.domain)) {
        stream_error(st, STREAM_ERR_INVALID_FROM, NULL); /* §4.9.3.9 */
        return;
    }
    if (myna_jid_parse(el->arena, to, &tj) < 0 || !s2s_is_local(srv, tj.domain)) {
        stream_error(st, STREAM_ERR_HOST_UNKNOWN, NULL); /* §4.9.3.6 */
        return;
    }
    map_ns(el);
    struct stanza_ctx ctx;
    enum myna_error err;
    if (stanza_init(&ctx, srv, el, &fj, NULL, &err) < 0) {
        /* A bad type or id: answered through the router (our stream to the peer). */
        const char *type = myna_xml_attr(el, "type");
        if (!type || strcmp(type, "error") != 0) {
            struct myna_xml *e = stanza_error_element(el, from, err);
            myna_xml_set_attr(e, "from", to);
            stanza_send(srv, e);
        }
        return;
    }
    router_route(srv, &ctx);
    stanza_check_unit(&ctx);
}

/* ---- XEP-0288: incoming streams that carry our stanzas back ---- */

void s2s_bidi_register(struct server *srv, const char *local, const char *remote,
                       struct stream *st)
{
    char key[2 * 1024 + 2];
    snprintf(key, sizeof key, "%s %s", local, remote);
    if (srv->s2s_bidi)
        hashmap_put(srv->s2s_bidi, key, st);
}

void s2s_bidi_unregister(struct server *srv, const char *local, const char *remote,
                         struct stream *st)
{
    char key[2 * 1024 + 2];
    snprintf(key, sizeof key, "%s %s", local, remote);
    if (srv->s2s_bidi && hashmap_get(srv->s2s_bidi, key) == st)
        hashmap_del(srv->s2s_bidi, key);
}

static bool under_local_host(struct server *srv, const char *domain)
{
    size_t dl = strlen(domain);
    for (size_t i = 0; i < srv->cfg.nhosts; i++) {
        const char *h = srv->cfg.hosts[i].domain;
        size_t hl = strlen(h);
        if (dl > hl + 1 && domain[dl - hl - 1] == '.' && strcmp(domain + dl - hl, h) == 0)
            return true;
    }
    return false;
}

/* ---- the router's entry ---- */

void s2s_route(struct server *srv, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    const char *remote = pub->to.domain, *local = pub->from.domain;
    bool answer = should_bounce(pub);
    if (!srv->cfg.s2s.enabled || !srv->s2s_routes || srv->stopping) {
        if (answer)
            myna_reply_error(pub, MYNA_ERR_REMOTE_SERVER_NOT_FOUND, NULL);
        return;
    }
    if (!s2s_is_local(srv, local)) {
        /* Only what our own domains send leaves: never relay for others. */
        log_debug("s2s", "not relaying a stanza from %s to %s", local, remote);
        return;
    }
    if (under_local_host(srv, remote) && !config_s2s_domain(&srv->cfg, remote)) {
        /* A sub-domain of ours that nothing serves (a module unloaded, a typo): not a
         * peer to look up, unless the config says where it is. */
        if (answer)
            myna_reply_error(pub, MYNA_ERR_REMOTE_SERVER_NOT_FOUND, NULL);
        return;
    }
    if (config_s2s_policy(&srv->cfg, remote) == S2S_DENY) {
        if (answer)
            myna_reply_error(pub, MYNA_ERR_REMOTE_SERVER_NOT_FOUND,
                             "Federation with this domain is not allowed");
        return;
    }
    char key[2 * 1024 + 2];
    snprintf(key, sizeof key, "%s %s", local, remote);
    struct s2s_route *r = hashmap_get(srv->s2s_routes, key);
    struct stream *bidi = hashmap_get(srv->s2s_bidi, key);
    if ((!r || r->state != ROUTE_READY) && bidi && stream_writable(bidi)) {
        /* The peer's own stream carries our stanzas (XEP-0288): no connection of ours. */
        myna_xml_set_attr(pub->xml, "from", pub->from.full);
        struct wbuf *w = wbuf_serialize(pub->xml, MYNA_NS_CLIENT);
        stream_write_buf(bidi, w);
        wbuf_unref(w);
        return;
    }
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->srv = srv;
        r->key = xstrdup(key);
        r->local = xstrdup(local);
        r->remote = xstrdup(remote);
        hashmap_put(srv->s2s_routes, r->key, r);
    }
    myna_xml_set_attr(pub->xml, "from", pub->from.full);
    struct wbuf *w = wbuf_serialize(pub->xml, MYNA_NS_CLIENT);
    if (r->state == ROUTE_READY && r->out) {
        r->last_used = loop_now(srv->loop);
        s2s_out_send(r->out, w);
        wbuf_unref(w);
        return;
    }
    if (r->nq >= QUEUE_MAX) {
        wbuf_unref(w);
        if (answer)
            myna_reply_error(pub, MYNA_ERR_RESOURCE_CONSTRAINT, NULL);
        return;
    }
    struct pending *p = xcalloc(1, sizeof *p);
    p->w = w;
    p->bounce = answer;
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->nq++;
    if (!r->out && !r->timer)
        attempt(r);
}

/* ---- setup, admin ---- */

/* ---- the dialback secret ---- */

/* DATA_DIR/dialback.secret: 32 random bytes, made once, so keys handed out before a restart
 * still verify after it (a peer may ask about a stream it opened earlier). */
static int load_secret(struct server *srv, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dialback.secret", srv->cfg.data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, srv->dialback_secret, sizeof srv->dialback_secret);
        close(fd);
        if (n == (ssize_t)sizeof srv->dialback_secret)
            return 0;
    }
    if (RAND_bytes(srv->dialback_secret, sizeof srv->dialback_secret) != 1) {
        snprintf(err, errlen, "no randomness for the dialback secret");
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 ||
        write(fd, srv->dialback_secret, sizeof srv->dialback_secret) !=
            (ssize_t)sizeof srv->dialback_secret ||
        fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return 0;
}

void s2s_dialback_key(struct server *srv, const char *receiving, const char *originating,
                      const char *id, char out[65])
{
    unsigned char k[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
    char khex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256(srv->dialback_secret, sizeof srv->dialback_secret, k);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(khex + 2 * i, 3, "%02x", k[i]);
    struct myna_buf text;
    myna_buf_init(&text);
    myna_buf_printf(&text, "%s %s %s", receiving, originating, id);
    unsigned len = 0;
    HMAC(EVP_sha256(), khex, (int)strlen(khex), (const unsigned char *)text.data, text.len, mac,
         &len);
    myna_buf_free(&text);
    for (unsigned i = 0; i < len && i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    out[64] = 0;
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(khex, sizeof khex);
}

int s2s_init(struct server *srv, char *err, size_t errlen)
{
    if (load_secret(srv, err, errlen) < 0)
        return -1;
    srv->resolver = resolver_new(srv->loop, srv->cfg.s2s.dns_servers, err, errlen);
    if (!srv->resolver)
        return -1;
    srv->s2s_routes = hashmap_new();
    srv->s2s_bidi = hashmap_new();
    return 0;
}

static void collect(const char *key, void *value, void *data)
{
    (void)key;
    struct s2s_route ***v = data;
    *(*v)++ = value;
}

static size_t routes(struct server *srv, struct s2s_route ***out)
{
    size_t n = hashmap_count(srv->s2s_routes);
    struct s2s_route **v = xcalloc(n + 1, sizeof *v), **p = v;
    hashmap_each(srv->s2s_routes, collect, &p);
    *out = v;
    return n;
}

void s2s_free(struct server *srv)
{
    if (!srv->s2s_routes)
        return;
    struct s2s_route **v;
    size_t n = routes(srv, &v);
    for (size_t i = 0; i < n; i++)
        route_free(v[i]);
    free(v);
    hashmap_free(srv->s2s_routes);
    srv->s2s_routes = NULL;
    hashmap_free(srv->s2s_bidi);
    srv->s2s_bidi = NULL;
    resolver_free(srv->resolver);
    srv->resolver = NULL;
}

/* Whether an earlier route in v shares v[i]'s stream (piggybacking): count it once. */
static bool counted(struct s2s_route **v, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (v[j]->out == v[i]->out)
            return true;
    return false;
}

void s2s_count(struct server *srv, size_t *in, size_t *out)
{
    *out = 0;
    struct s2s_route **v;
    size_t n = srv->s2s_routes ? routes(srv, &v) : 0;
    for (size_t i = 0; i < n; i++)
        if (v[i]->out && !counted(v, i))
            (*out)++;
    if (srv->s2s_routes)
        free(v);
    s2s_in_count(srv, in);
}

void s2s_list(struct server *srv, struct myna_buf *b)
{
    struct s2s_route **v;
    size_t n = srv->s2s_routes ? routes(srv, &v) : 0;
    for (size_t i = 0; i < n; i++) {
        struct s2s_route *r = v[i];
        myna_buf_printf(b, "out %s %s %s queued=%zu", r->local, r->remote,
                        r->state == ROUTE_READY        ? "ready"
                        : r->state == ROUTE_CONNECTING ? "connecting"
                                                       : "waiting",
                        r->nq);
        if (r->out)
            s2s_out_describe(r->out, b);
        myna_buf_appends(b, "\n");
    }
    if (srv->s2s_routes)
        free(v);
    s2s_in_list(srv, b);
}

size_t s2s_close_domain(struct server *srv, const char *domain)
{
    size_t closed = 0;
    struct s2s_route **v;
    size_t n = srv->s2s_routes ? routes(srv, &v) : 0;
    /* The streams first: closing one tells every pair on it, and frees routes of v. */
    struct s2s_out **outs = xcalloc(n + 1, sizeof *outs);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->remote, domain) == 0 && v[i]->out && v[i]->state == ROUTE_READY &&
            !counted(v, i))
            outs[closed++] = v[i]->out;
    if (srv->s2s_routes)
        free(v);
    for (size_t i = 0; i < closed; i++)
        s2s_out_close(outs[i]);
    free(outs);
    return closed + s2s_in_close_domain(srv, domain);
}
