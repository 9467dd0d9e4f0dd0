/* server/stream/s2s_out.c — one outgoing s2s connection attempt and, once authenticated,
 * the stream that carries a route's stanzas (RFC 6120 §4-6 as the initiating entity,
 * XEP-0178, XEP-0368).
 * States: RESOLVING (config map or DNS SRV, net/resolve.c) -> CONNECTING (each address in
 * turn, connect_timeout each) -> NEGOTIATING (our header; <starttls/> unless direct TLS;
 * the peer's certificate checked against the policy; SASL EXTERNAL) -> READY (the route's
 * stanzas flow) -> DONE. Before the stream is attached the struct frees itself; after,
 * the stream layer's last reference frees it (kind->free). The route hears exactly once
 * (s2s_route_lost) unless it detached first.
 * Piggybacking (XEP-0220 §2.4, RFC 6120 §4.7.1): once READY, further local domains
 * sending to the same remote domain join the stream (s2s_out_piggyback) with a db:result
 * each; their routes wait until its answer, and hear of the stream's end like the first. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "myna/jid.h"
#include "server/base/log.h"
#include "server/base/scram.h"
#include "server/loop/loop.h"
#include "server/net/resolve.h"
#include "server/net/tls.h"
#include "server/net/wbuf.h"
#include "server/server.h"
#include "server/stream/s2s.h"
#include "server/stream/stream.h"

enum out_state { OUT_RESOLVING, OUT_CONNECTING, OUT_NEGOTIATING, OUT_READY, OUT_DONE };

struct s2s_out {
    struct stream st;             /* first; bound once connected (attached) */
    struct server *srv;
    struct s2s_route *r;          /* NULL once detached */
    char *local, *remote;
    enum out_state state;
    struct resolve_req *rq;
    struct resolve_target *t;
    size_t nt, next;
    int fd;                       /* while CONNECTING */
    uint64_t timer;               /* connect timeout */
    uint64_t started;             /* loop ms */
    bool attached;
    bool timed_out;               /* some step ran out of time */
    enum s2s_fail fail;           /* why it failed, when it is known */
    bool fail_known;
    bool dialback;                /* db:result sent: waiting for its answer */
    bool bidi;                    /* XEP-0288: the peer may send to us on this stream */
    char peer[64];
    char peer_id[128];            /* the id of the peer's header: dialback keys name it */
    /* A verification connection (XEP-0220 §2.1.3; no route): db:verify and its answer. */
    bool verifying;
    char *v_id, *v_key;
    s2s_verify_fn v_fn;
    void *v_data;
    bool peer_dialback;           /* the peer offered dialback, so it can add domains */
    /* Further (local, remote) pairs on this stream, XEP-0220 §2.4. */
    struct piggy {
        struct s2s_route *r;      /* its route; the pair is forgotten when it detaches */
        char *local;
        bool ready;               /* the peer said "valid" */
        uint64_t timer;           /* waiting for that answer (auth_timeout) */
    } pig[S2S_MAX_PIGGYBACK];
    size_t npig;
};

#define OUT(s) ((struct s2s_out *)(s))

static void out_free(struct s2s_out *o)
{
    for (size_t i = 0; i < o->npig; i++) {
        if (o->pig[i].timer)
            loop_timer_cancel(o->srv->loop, o->pig[i].timer);
        free(o->pig[i].local);
    }
    free(o->v_id);
    free(o->v_key);
    free(o->t);
    free(o->local);
    free(o->remote);
    free(o);
}

/* Still wanted: by its route, or by whoever waits for a verification. */
static bool wanted(const struct s2s_out *o)
{
    for (size_t i = 0; i < o->npig; i++)
        if (o->pig[i].r)
            return true;
    return o->r || o->v_fn;
}

/* Forgets piggybacked pair i (its route has been told, or has gone). */
static void pig_remove(struct s2s_out *o, size_t i)
{
    if (o->pig[i].timer)
        loop_timer_cancel(o->srv->loop, o->pig[i].timer);
    free(o->pig[i].local);
    /* Shifted, not swapped: the pairs stay in the order they were asked for, which is
     * the order their deadlines fire in. */
    memmove(&o->pig[i], &o->pig[i + 1], (o->npig - i - 1) * sizeof o->pig[0]);
    o->pig[--o->npig] = (struct piggy){0};
}

/* A verification's answer, once. */
static void verified(struct s2s_out *o, int valid)
{
    s2s_verify_fn fn = o->v_fn;
    o->v_fn = NULL;
    if (fn)
        fn(o->v_data, valid);
}

/* Tells the route (once) and forgets it. */
static void report(struct s2s_out *o)
{
    struct s2s_route *r = o->r;
    verified(o, -1);
    bool was_ready = o->state == OUT_READY;
    o->state = OUT_DONE;
    enum s2s_fail why = o->fail_known ? o->fail
                        : o->timed_out ? S2S_FAIL_TIMEOUT
                                       : S2S_FAIL_NOT_FOUND;
    /* The further pairs end with the stream; one still waiting for its answer is retried
     * like a failed attempt (nothing said it was refused). */
    while (o->npig) {
        struct s2s_route *pr = o->pig[0].r;
        bool pready = o->pig[0].ready;
        pig_remove(o, 0);
        s2s_route_lost(pr, o, pready, S2S_FAIL_NOT_FOUND);
    }
    if (!r)
        return;
    o->r = NULL;
    s2s_route_lost(r, o, was_ready, why);
}

/* A failure before the stream exists: report and free. */
static void fail_early(struct s2s_out *o, const char *why)
{
    log_info("s2s", "%s -> %s: %s", o->local, o->remote, why);
    report(o);
    out_free(o);
}

/* A failure on the stream: it ends, and `ended` reports. */
static void fail_stream(struct s2s_out *o, enum s2s_fail why, enum stream_error e,
                        const char *text)
{
    o->fail = why;
    o->fail_known = true;
    log_info("s2s", "%s -> %s: %s", o->local, o->remote, text);
    stream_error(&o->st, e, text);
}

/* ---- the stream kind ---- */

static bool out_header(struct stream *st, const struct myna_xml *header, const char *to)
{
    (void)to;
    /* The answer to our header; its id names the stream in dialback keys. */
    const char *id = myna_xml_attr(header, "id");
    snprintf(OUT(st)->peer_id, sizeof OUT(st)->peer_id, "%s", id ? id : "");
    return true;
}

/* XEP-0220 §2.1.1: our key for this stream, to be checked with our authoritative side. */
static void write_db_result(struct s2s_out *o, const char *local)
{
    char key[65];
    s2s_dialback_key(o->srv, o->remote, local, o->peer_id, key);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<db:result from='%s' to='%s'>%s</db:result>", local, o->remote, key);
    stream_write(&o->st, b.data, b.len);
    myna_buf_free(&b);
}

static void send_db_result(struct s2s_out *o)
{
    write_db_result(o, o->local);
    o->dialback = true;
}

static void send_db_verify(struct s2s_out *o)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<db:verify from='%s' to='%s' id='", o->local, o->remote);
    myna_buf_append_escaped(&b, o->v_id, strlen(o->v_id));
    myna_buf_appends(&b, "'>");
    myna_buf_append_escaped(&b, o->v_key, strlen(o->v_key));
    myna_buf_appends(&b, "</db:verify>");
    stream_write(&o->st, b.data, b.len);
    myna_buf_free(&b);
}

static void send_auth_external(struct s2s_out *o)
{
    /* XEP-0178 §4: authorization identity = our domain. */
    char enc[1024];
    int n = base64_encode((const unsigned char *)o->local, strlen(o->local), enc, sizeof enc);
    if (n < 0)
        n = 0;
    enc[n] = 0;
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<auth xmlns='%s' mechanism='EXTERNAL'>%s</auth>", MYNA_NS_SASL, enc);
    stream_write(&o->st, b.data, b.len);
    myna_buf_free(&b);
}

static bool offers_mechanism(const struct myna_xml *features, const char *name)
{
    const struct myna_xml *mechs = myna_xml_find(features, MYNA_NS_SASL, "mechanisms");
    for (const struct myna_xml *m = mechs ? myna_xml_find(mechs, MYNA_NS_SASL, "mechanism")
                                          : NULL;
         m; m = myna_xml_find_next(m, MYNA_NS_SASL, "mechanism"))
        if (strcmp(myna_xml_text(m), name) == 0)
            return true;
    return false;
}

static void ready(struct s2s_out *o)
{
    o->state = OUT_READY;
    stream_established(&o->st);
    log_info("s2s", "conn=%llu %s -> %s authenticated (%s)",
             (unsigned long long)stream_conn_id(&o->st), o->local, o->remote, o->peer);
    if (o->r)
        s2s_route_ready(o->r, o);
    else
        stream_close(&o->st);
}

/* The authoritative server's certificate on a verification connection, checked per the
 * domain's policy like any outgoing stream's: one that verifies is needed unless the
 * policy allows dialback. Then any certificate is tolerated and logged: dialback's answer
 * is as good as the DNS that led here (XEP-0220 §2.1.3), and a domain hosted by a provider
 * whose certificate names only the provider (the case dialback exists for) must keep
 * federating. */
static bool verify_peer_ok(struct s2s_out *o)
{
    struct stream *st = &o->st;
    if (stream_peer_verified(st, o->remote))
        return true;
    const char *problem = stream_peer_problem(st, o->remote);
    if (config_s2s_policy(&o->srv->cfg, o->remote) == S2S_DIALBACK) {
        log_info("s2s", "%s -> %s: verification connection: certificate not verified (%s); "
                        "policy allows dialback", o->local, o->remote, problem);
        return true;
    }
    char text[256];
    snprintf(text, sizeof text, "Certificate of %s not accepted for a dialback verification: %s",
             o->remote, problem);
    verified(o, 0);
    fail_stream(o, S2S_FAIL_POLICY, STREAM_ERR_POLICY_VIOLATION, text);
    return false;
}

static void on_features(struct s2s_out *o, struct myna_xml *f)
{
    struct stream *st = &o->st;
    if (st->authenticated) {
        ready(o);
        return;
    }
    if (!st->secured) {
        /* RFC 7590 §3.1: never federate in plaintext. */
        if (!myna_xml_find(f, MYNA_NS_TLS, "starttls")) {
            fail_stream(o, S2S_FAIL_POLICY, STREAM_ERR_POLICY_VIOLATION,
                        "The peer does not offer TLS");
            return;
        }
        stream_write_str(st, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        return;
    }
    if (o->verifying) { /* a verification needs no authentication (XEP-0220 §2.1.3) */
        if (verify_peer_ok(o))
            send_db_verify(o);
        return;
    }
    o->peer_dialback = myna_xml_find(f, S2S_NS_DIALBACK_FEATURE, "dialback") != NULL;
    /* XEP-0288 §2: asked for before authentication; no answer comes. */
    if (!o->bidi && o->srv->cfg.s2s.bidi && myna_xml_find(f, S2S_NS_BIDI_FEATURE, "bidi")) {
        stream_write_str(st, "<bidi xmlns='" S2S_NS_BIDI "'/>");
        o->bidi = true;
    }
    /* TLS is up: the peer must prove its name with its certificate (RFC 6120 §13.7.2),
     * unless policy lets dialback (the DNS we just used) vouch for it. */
    bool cert_ok = stream_peer_verified(st, o->remote);
    if (!cert_ok && config_s2s_policy(&o->srv->cfg, o->remote) != S2S_DIALBACK) {
        char text[256];
        snprintf(text, sizeof text, "Certificate of %s not accepted: %s", o->remote,
                 stream_peer_problem(st, o->remote));
        fail_stream(o, S2S_FAIL_POLICY, STREAM_ERR_POLICY_VIOLATION, text);
        return;
    }
    if (cert_ok && offers_mechanism(f, "EXTERNAL")) {
        send_auth_external(o);
        return;
    }
    /* The peer does not take our certificate, or its own did not verify: dialback. */
    send_db_result(o);
}

/* The answer for a piggybacked pair: its route goes on, or bounces what it queued. */
static void pig_answer(struct s2s_out *o, size_t i, bool valid, const char *type)
{
    struct piggy *p = &o->pig[i];
    log_info("s2s", "conn=%llu %s -> %s on the stream of %s: %s",
             (unsigned long long)stream_conn_id(&o->st), p->local, o->remote, o->local,
             valid ? "valid" : type);
    if (valid) {
        p->ready = true;
        if (p->timer) {
            loop_timer_cancel(o->srv->loop, p->timer);
            p->timer = 0;
        }
        s2s_route_ready(p->r, o);
        return;
    }
    struct s2s_route *r = p->r;
    pig_remove(o, i);
    /* XEP-0220 §2.4: refused for this pair only; the stream stays up */
    s2s_route_lost(r, o, false, S2S_FAIL_POLICY);
}

static ssize_t pig_find(const struct s2s_out *o, const char *local)
{
    for (size_t i = 0; local && i < o->npig; i++)
        if (strcmp(o->pig[i].local, local) == 0)
            return (ssize_t)i;
    return -1;
}

static void on_dialback(struct s2s_out *o, struct myna_xml *el)
{
    const char *type = myna_xml_attr(el, "type");
    type = type ? type : "";
    if (strcmp(el->name, "verify") == 0 && o->verifying) {
        verified(o, strcmp(type, "valid") == 0 ? 1 : 0);
        stream_close(&o->st);
        return;
    }
    const char *to = myna_xml_attr(el, "to");
    if (strcmp(el->name, "result") == 0 && o->state == OUT_READY && !o->verifying) {
        ssize_t i = pig_find(o, to);
        /* An answer for a pair that gave up waiting is ignored. */
        if (i >= 0 && !o->pig[i].ready)
            pig_answer(o, (size_t)i, strcmp(type, "valid") == 0, type);
        return;
    }
    if (strcmp(el->name, "result") != 0 || !o->dialback || o->verifying) {
        stream_error(&o->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    o->dialback = false;
    if (strcmp(type, "valid") == 0) {
        o->peer_dialback = true;
        ready(o);
        return;
    }
    o->fail = S2S_FAIL_POLICY;
    o->fail_known = true;
    log_info("s2s", "%s -> %s: dialback refused (%s)", o->local, o->remote, type);
    stream_close(&o->st);
}

/* On a bidirectional stream the peer speaks for the domain it was authenticated as. */
static bool from_remote(void *data, const char *domain)
{
    return strcmp(((struct s2s_out *)data)->remote, domain) == 0;
}

static void out_element(struct stream *st, struct myna_xml *el)
{
    struct s2s_out *o = OUT(st);
    if (myna_xml_is(el, MYNA_NS_STREAM, "features")) {
        on_features(o, el);
    } else if (myna_xml_is(el, MYNA_NS_TLS, "proceed")) {
        if (stream_starttls_client(st, o->local, o->remote) < 0)
            fail_stream(o, S2S_FAIL_NOT_FOUND, STREAM_ERR_INTERNAL_SERVER_ERROR,
                        "TLS could not start");
    } else if (myna_xml_is(el, MYNA_NS_TLS, "failure")) {
        o->fail = S2S_FAIL_NOT_FOUND;
        o->fail_known = true;
        stream_close(st);
    } else if (myna_xml_is(el, MYNA_NS_SASL, "success")) {
        stream_authenticated(st); /* RFC 6120 §6.4.6: a new stream, our header first */
    } else if (myna_xml_is(el, MYNA_NS_SASL, "failure")) {
        /* Our certificate was not taken after all: dialback instead (XEP-0178 §3). */
        log_info("s2s", "%s -> %s: SASL EXTERNAL refused, trying dialback", o->local,
                 o->remote);
        send_db_result(o);
    } else if (strcmp(el->ns, S2S_NS_DIALBACK) == 0) {
        on_dialback(o, el);
    } else if (myna_xml_is(el, MYNA_NS_STREAM, "error")) {
        /* handled by the layer's close; nothing to add */
    } else if (o->bidi && o->state == OUT_READY && stream_is_stanza(st, el)) {
        s2s_stanza_in(st, el, from_remote, o); /* XEP-0288: the peer's stanzas */
    } else {
        /* An outgoing stream carries our stanzas only (RFC 6120 §4.2: one direction). */
        stream_error(st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
    }
}

static void out_ended(struct stream *st)
{
    struct s2s_out *o = OUT(st);
    if (o->state != OUT_READY &&
        loop_now(o->srv->loop) - o->started >= (uint64_t)o->srv->cfg.s2s.auth_timeout * 1000)
        o->timed_out = true;
    report(o);
}

static void out_free_st(struct stream *st)
{
    out_free(OUT(st));
}

static const char *out_who(const struct stream *st)
{
    return OUT(st)->remote;
}

static const struct stream_kind out_kind = {
    .name = "s2s-out",
    .ns = MYNA_NS_SERVER,
    .rfc6120 = true,
    .header = out_header,
    .element = out_element,
    .ended = out_ended,
    .free = out_free_st,
    .who = out_who,
    .header_xmlns = S2S_HEADER_XMLNS,
};

/* ---- connecting ---- */

static void try_next(struct s2s_out *o);

static void stop_connecting(struct s2s_out *o)
{
    if (o->timer) {
        loop_timer_cancel(o->srv->loop, o->timer);
        o->timer = 0;
    }
    if (o->fd >= 0) {
        loop_unwatch(o->srv->loop, o->fd);
        close(o->fd);
        o->fd = -1;
    }
}

static void attach(struct s2s_out *o, bool direct_tls)
{
    struct server *srv = o->srv;
    int fd = o->fd, one = 1;
    loop_unwatch(srv->loop, fd);
    o->fd = -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct stream_limits lim = {
        .max_stanza_bytes = srv->cfg.s2s.stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
        .deadline_ms = (uint64_t)srv->cfg.s2s.auth_timeout * 1000,
        .keepalive_ms = srv->cfg.s2s.keepalive * 1000,
    };
    o->state = OUT_NEGOTIATING;
    o->attached = true;
    stream_connected(&o->st, srv, &out_kind, &lim, fd, o->peer, direct_tls);
    stream_set_domain(&o->st, o->local);
    if (!direct_tls) {
        stream_initiate(&o->st);
        return;
    }
    /* XEP-0368: TLS first; the restart in stream_starttls_client queues our header
     * behind the handshake. */
    o->st.initiator = true;
    if (stream_starttls_client(&o->st, o->local, o->remote) < 0)
        stream_abort(&o->st, "TLS setup failed");
}

static void connect_io(void *data, unsigned events)
{
    (void)events;
    struct s2s_out *o = data;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        log_debug("s2s", "%s -> %s: connect to %s: %s", o->local, o->remote, o->peer,
                  strerror(err));
        stop_connecting(o);
        try_next(o);
        return;
    }
    if (o->timer) {
        loop_timer_cancel(o->srv->loop, o->timer);
        o->timer = 0;
    }
    attach(o, o->t[o->next - 1].direct_tls);
}

static void connect_timeout(void *data)
{
    struct s2s_out *o = data;
    o->timer = 0;
    o->timed_out = true;
    log_debug("s2s", "%s -> %s: connect to %s timed out", o->local, o->remote, o->peer);
    stop_connecting(o);
    try_next(o);
}

static void format_peer(const struct resolve_target *t, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (t->addr.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&t->addr;
        inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
        port = ntohs(s->sin_port);
    } else if (t->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&t->addr;
        inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
        port = ntohs(s->sin6_port);
    }
    snprintf(out, len, "%s:%d", host, port);
}

static void try_next(struct s2s_out *o)
{
    if (!wanted(o)) { /* detached while connecting */
        out_free(o);
        return;
    }
    while (o->next < o->nt) {
        const struct resolve_target *t = &o->t[o->next++];
        format_peer(t, o->peer, sizeof o->peer);
        int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, (const struct sockaddr *)&t->addr, t->len) < 0 && errno != EINPROGRESS) {
            log_debug("s2s", "%s -> %s: connect to %s: %s", o->local, o->remote, o->peer,
                      strerror(errno));
            close(fd);
            continue;
        }
        o->fd = fd;
        o->state = OUT_CONNECTING;
        loop_watch(o->srv->loop, fd, LOOP_WRITE, connect_io, o);
        o->timer = loop_timer_add(o->srv->loop, (uint64_t)o->srv->cfg.s2s.connect_timeout * 1000,
                                  connect_timeout, o);
        return;
    }
    fail_early(o, o->nt ? "no address accepted the connection" : "no address");
}

static void resolved(void *data, const struct resolve_target *t, size_t n, const char *err)
{
    struct s2s_out *o = data;
    o->rq = NULL;
    if (!n) {
        char why[160];
        snprintf(why, sizeof why, "cannot resolve: %s", err ? err : "no address");
        fail_early(o, why);
        return;
    }
    o->t = xcalloc(n, sizeof *o->t);
    memcpy(o->t, t, n * sizeof *t);
    o->nt = n;
    try_next(o);
}

static struct s2s_out *out_new(struct server *srv, struct s2s_route *r, const char *local,
                               const char *remote)
{
    struct s2s_out *o = xcalloc(1, sizeof *o);
    o->srv = srv;
    o->r = r;
    o->fd = -1;
    o->local = xstrdup(local);
    o->remote = xstrdup(remote);
    o->started = loop_now(srv->loop);
    o->state = OUT_RESOLVING;
    const struct config_s2s_domain *d = config_s2s_domain(&srv->cfg, o->remote);
    if (d && d->host)
        o->rq = resolve_host(srv->resolver, d->host, d->port, d->direct_tls, resolved, o);
    else
        o->rq = resolve_s2s(srv->resolver, o->remote, resolved, o);
    return o;
}

struct s2s_out *s2s_out_start(struct server *srv, struct s2s_route *r)
{
    return out_new(srv, r, s2s_route_local(r), s2s_route_remote(r));
}

void s2s_out_verify(struct server *srv, const char *receiving, const char *originating,
                    const char *id, const char *key, s2s_verify_fn fn, void *data)
{
    struct s2s_out *o = out_new(srv, NULL, receiving, originating);
    o->verifying = true;
    o->v_id = xstrdup(id);
    o->v_key = xstrdup(key);
    o->v_fn = fn;
    o->v_data = data;
}

void s2s_out_detach(struct s2s_out *o, struct s2s_route *r)
{
    if (o->r == r)
        o->r = NULL;
    ssize_t i = pig_find(o, s2s_route_local(r));
    if (i >= 0 && o->pig[i].r == r)
        pig_remove(o, (size_t)i);
    if (o->attached) {
        if (!wanted(o)) /* the last pair on the stream has gone */
            stream_close(&o->st);
        return;
    }
    if (o->state == OUT_RESOLVING) {
        resolve_cancel(o->rq); /* its callback will not run: free now */
        out_free(o);
        return;
    }
    stop_connecting(o);
    out_free(o);
}

void s2s_out_send(struct s2s_out *o, struct wbuf *w)
{
    stream_write_buf(&o->st, w);
}

void s2s_out_close(struct s2s_out *o)
{
    if (o->attached)
        stream_close(&o->st);
    else
        report(o);
}

void s2s_out_describe(struct s2s_out *o, struct myna_buf *b)
{
    static const char *const names[] = {"resolving", "connecting", "negotiating", "ready",
                                        "done"};
    myna_buf_printf(b, " %s peer=%s%s%s", names[o->state], o->peer[0] ? o->peer : "-",
                    o->attached && o->st.secured ? " tls" : "", o->bidi ? " bidi" : "");
    if (o->attached)
        myna_buf_printf(b, " conn=%llu", (unsigned long long)stream_conn_id(&o->st));
}

bool s2s_out_can_share(const struct s2s_out *o)
{
    return o->attached && o->state == OUT_READY && stream_writable(&o->st) && !o->verifying &&
           o->peer_dialback && o->npig < S2S_MAX_PIGGYBACK;
}

static void pig_timeout(void *data)
{
    struct s2s_out *o = data;
    for (size_t i = 0; i < o->npig; i++) { /* the first one waiting is the one due */
        struct piggy *p = &o->pig[i];
        if (!p->timer || p->ready)
            continue;
        p->timer = 0;
        log_info("s2s", "%s -> %s on the stream of %s: no answer", p->local, o->remote,
                 o->local);
        struct s2s_route *r = p->r;
        pig_remove(o, i);
        s2s_route_lost(r, o, false, S2S_FAIL_TIMEOUT);
        return;
    }
}

void s2s_out_piggyback(struct s2s_out *o, struct s2s_route *r)
{
    const char *local = s2s_route_local(r);
    if (strcmp(local, o->local) == 0 && !o->r) {
        /* The stream's own pair, whose route had gone idle: still authenticated. */
        o->r = r;
        s2s_route_ready(r, o);
        return;
    }
    struct piggy *p = &o->pig[o->npig++];
    p->r = r;
    p->local = xstrdup(local);
    /* XEP-0220 §2.4: the peer answers for this pair alone, with the XEP-0344 shortcut
     * when our certificate names `local` (conference.HOST under *.HOST), else by calling
     * our authoritative side back. */
    write_db_result(o, local);
    p->timer = loop_timer_add(o->srv->loop, (uint64_t)o->srv->cfg.s2s.auth_timeout * 1000,
                              pig_timeout, o);
    log_info("s2s", "conn=%llu %s -> %s: piggybacking on the stream of %s",
             (unsigned long long)stream_conn_id(&o->st), local, o->remote, o->local);
}
