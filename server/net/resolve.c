/* server/net/resolve.c — see resolve.h. A request runs: both SRV queries at once -> the
 * ordered list of (target, port, TLS) -> ares_getaddrinfo for each target in turn -> the
 * callback with every address. c-ares (chosen over libunbound: a small library built for
 * an application's own event loop through its socket-state callback, and its
 * ares_getaddrinfo reads /etc/hosts, which test and private deployments rely on).
 * Invariant: a request is freed only by its own last c-ares callback (or by the resolver
 * being destroyed), so cancelling only clears its callback. */
#include "server/net/resolve.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/loop.h"

#define TICK_MS 100
#define MAX_SRV 16
#define MAX_TARGETS 32

struct resolver {
    struct loop *loop;
    ares_channel ch;
    uint64_t timer;      /* c-ares timeouts, while requests run */
    unsigned running;    /* requests not yet finished */
    int fds[16];         /* sockets c-ares asked us to watch */
    size_t nfds;
    struct resolve_req *reqs; /* every request not yet freed */
};

struct srv_rec {
    char *host;
    int port;
    bool tls;
    unsigned short prio;  /* SRV records only */
};

struct resolve_req {
    struct resolver *r;
    resolve_fn fn;
    void *data;
    char *domain;
    int pending_srv;      /* SRV answers still to come */
    bool srv_refused[2];  /* a "." target: the service is decidedly not offered */
    struct srv_rec srv[2][MAX_SRV]; /* [0] xmpps, [1] xmpp */
    size_t nsrv[2];
    struct srv_rec *order; /* the flattened list being resolved */
    size_t norder, next;
    struct resolve_target t[MAX_TARGETS];
    size_t nt;
    char err[96];
    uint64_t start_timer;  /* until the request starts */
    struct resolve_req *lnext, *lprev; /* r->reqs */
};

/* ---- the loop binding ---- */

static void on_io(void *data, unsigned events);

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    unsigned ev = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);
    size_t i = 0;
    while (i < r->nfds && r->fds[i] != fd)
        i++;
    if (!ev) {
        if (i < r->nfds) {
            loop_unwatch(r->loop, fd);
            r->fds[i] = r->fds[--r->nfds];
        }
        return;
    }
    if (i == r->nfds && r->nfds < sizeof r->fds / sizeof r->fds[0])
        r->fds[r->nfds++] = fd;
    loop_watch(r->loop, fd, ev, on_io, r); /* replaces any earlier watch of fd */
}

static void process_all(struct resolver *r)
{
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    int n = ares_fds(r->ch, &rd, &wr);
    if (n > 0)
        ares_process(r->ch, &rd, &wr);
    else
        ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static void on_io(void *data, unsigned events)
{
    (void)events;
    /* Which socket woke us is not passed; c-ares checks readiness itself (non-blocking
     * reads that find nothing are cheap, and it has a handful of sockets at most). */
    struct resolver *r = data;
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    for (size_t i = 0; i < r->nfds; i++) {
        FD_SET(r->fds[i], &rd);
        FD_SET(r->fds[i], &wr);
    }
    ares_process(r->ch, &rd, &wr);
}

static void tick(void *data)
{
    struct resolver *r = data;
    r->timer = 0;
    process_all(r);
    if (r->running && !r->timer)
        r->timer = loop_timer_add(r->loop, TICK_MS, tick, r);
}

static void started(struct resolver *r)
{
    r->running++;
    if (!r->timer)
        r->timer = loop_timer_add(r->loop, TICK_MS, tick, r);
}

static void finish(struct resolve_req *q);

struct resolver *resolver_new(struct loop *loop, const char *servers, char *err,
                              size_t errlen)
{
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        return NULL;
    }
    struct resolver *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    struct ares_options o = {0};
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = r;
    o.timeout = 2000; /* ms per try, with ARES_OPT_TIMEOUTMS */
    o.tries = 2;
    rc = ares_init_options(&r->ch, &o,
                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        free(r);
        ares_library_cleanup();
        return NULL;
    }
    if (servers && (rc = ares_set_servers_ports_csv(r->ch, servers)) != ARES_SUCCESS) {
        snprintf(err, errlen, "s2s.dns_servers: %s", ares_strerror(rc));
        ares_destroy(r->ch);
        free(r);
        ares_library_cleanup();
        return NULL;
    }
    return r;
}

void resolver_free(struct resolver *r)
{
    if (!r)
        return;
    if (r->timer)
        loop_timer_cancel(r->loop, r->timer);
    for (struct resolve_req *q = r->reqs; q; q = q->lnext) {
        q->fn = NULL;
        if (q->start_timer) { /* not started: c-ares does not know it */
            loop_timer_cancel(r->loop, q->start_timer);
            q->start_timer = 0;
        }
    }
    ares_destroy(r->ch); /* started requests end with ARES_EDESTRUCTION and free themselves */
    while (r->reqs) {
        r->running++; /* finish() counts it down */
        finish(r->reqs);
    }
    for (size_t i = 0; i < r->nfds; i++)
        loop_unwatch(r->loop, r->fds[i]);
    free(r);
    ares_library_cleanup();
}

/* ---- requests ---- */

static void req_free(struct resolve_req *q)
{
    if (q->lprev)
        q->lprev->lnext = q->lnext;
    else
        q->r->reqs = q->lnext;
    if (q->lnext)
        q->lnext->lprev = q->lprev;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < q->nsrv[k]; i++)
            free(q->srv[k][i].host);
    for (size_t i = 0; i < q->norder; i++)
        free(q->order[i].host);
    free(q->order);
    free(q->domain);
    free(q);
}

static void finish(struct resolve_req *q)
{
    q->r->running--;
    if (q->fn)
        q->fn(q->data, q->t, q->nt, q->nt ? NULL : q->err[0] ? q->err : "no address");
    req_free(q);
}

static void next_target(struct resolve_req *q);

static void start_host(void *data)
{
    struct resolve_req *q = data;
    q->start_timer = 0;
    next_target(q);
}

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    struct resolve_req *q = arg;
    const struct srv_rec *s = &q->order[q->next - 1];
    if (status == ARES_SUCCESS && res) {
        for (struct ares_addrinfo_node *n = res->nodes; n && q->nt < MAX_TARGETS; n = n->ai_next) {
            if ((size_t)n->ai_addrlen > sizeof q->t[0].addr)
                continue;
            struct resolve_target *t = &q->t[q->nt++];
            memcpy(&t->addr, n->ai_addr, n->ai_addrlen);
            t->len = n->ai_addrlen;
            t->direct_tls = s->tls;
        }
    } else if (status != ARES_SUCCESS) {
        snprintf(q->err, sizeof q->err, "%s: %s", s->host, ares_strerror(status));
    }
    if (res)
        ares_freeaddrinfo(res);
    if (status == ARES_EDESTRUCTION) {
        q->fn = NULL;
        finish(q);
        return;
    }
    next_target(q);
}

/* An address literal (a configured host, an SRV target written as an address) needs no
 * lookup: c-ares would still ask DNS about it for the other address family. */
static bool add_literal(struct resolve_req *q, const struct srv_rec *s)
{
    struct resolve_target t = {.direct_tls = s->tls};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t.addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t.addr;
    if (inet_pton(AF_INET, s->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)s->port);
        t.len = sizeof *v4;
    } else if (inet_pton(AF_INET6, s->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)s->port);
        t.len = sizeof *v6;
    } else {
        return false;
    }
    if (q->nt < MAX_TARGETS)
        q->t[q->nt++] = t;
    return true;
}

static void next_target(struct resolve_req *q)
{
    while (q->fn && q->next < q->norder && add_literal(q, &q->order[q->next]))
        q->next++;
    if (q->next >= q->norder || !q->fn) {
        finish(q);
        return;
    }
    const struct srv_rec *s = &q->order[q->next++];
    char port[8];
    snprintf(port, sizeof port, "%d", s->port);
    struct ares_addrinfo_hints h = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                    .ai_flags = ARES_AI_NUMERICSERV};
    ares_getaddrinfo(q->r->ch, s->host, port, &h, addr_cb, q);
}

/* RFC 2782: lowest priority first; within one priority, a weighted random order. */
static void srv_order(struct srv_rec *v, const unsigned short *prio, const unsigned short *w,
                      size_t n)
{
    struct srv_rec tmp;
    unsigned short tp, tw;
    unsigned short pr[MAX_SRV], wt[MAX_SRV];
    memcpy(pr, prio, n * sizeof *pr);
    memcpy(wt, w, n * sizeof *wt);
    for (size_t i = 0; i < n; i++) {
        /* Among the remaining records of the lowest priority, pick by weight. */
        size_t lo = i;
        for (size_t j = i + 1; j < n; j++)
            if (pr[j] < pr[lo])
                lo = j;
        unsigned long sum = 0;
        for (size_t j = i; j < n; j++)
            if (pr[j] == pr[lo])
                sum += wt[j] + 1u;
        unsigned long pick = (unsigned long)random() % sum, acc = 0;
        size_t k = lo;
        for (size_t j = i; j < n; j++) {
            if (pr[j] != pr[lo])
                continue;
            acc += wt[j] + 1u;
            if (pick < acc) {
                k = j;
                break;
            }
        }
        tmp = v[i], v[i] = v[k], v[k] = tmp;
        tp = pr[i], pr[i] = pr[k], pr[k] = tp;
        tw = wt[i], wt[i] = wt[k], wt[k] = tw;
    }
}

static void srv_done(struct resolve_req *q)
{
    size_t n = q->nsrv[0] + q->nsrv[1];
    if (n == 0 && !q->srv_refused[0] && !q->srv_refused[1]) {
        /* RFC 6120 §3.2.2: no SRV records: the domain itself, on the default port. */
        q->order = xcalloc(1, sizeof *q->order);
        q->order[0] = (struct srv_rec){xstrdup(q->domain), 5269, false, 0};
        q->norder = 1;
    } else {
        /* XEP-0368 §3: direct TLS and STARTTLS records are one list by priority (each
         * already in RFC 2782 order); ours keeps direct TLS first at equal priority,
         * which the XEP allows. */
        q->order = xcalloc(n + 1, sizeof *q->order);
        size_t i = 0, j = 0;
        while (i < q->nsrv[0] || j < q->nsrv[1]) {
            bool tls = j >= q->nsrv[1] ||
                       (i < q->nsrv[0] && q->srv[0][i].prio <= q->srv[1][j].prio);
            struct srv_rec *s = tls ? &q->srv[0][i++] : &q->srv[1][j++];
            q->order[q->norder++] = *s;
            s->host = NULL;
        }
        q->nsrv[0] = q->nsrv[1] = 0;
    }
    next_target(q);
}

static void srv_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen, int tls)
{
    (void)timeouts;
    struct resolve_req *q = arg;
    int k = tls ? 0 : 1;
    struct ares_srv_reply *rep = NULL;
    if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &rep) == ARES_SUCCESS) {
        unsigned short prio[MAX_SRV], w[MAX_SRV];
        for (struct ares_srv_reply *s = rep; s && q->nsrv[k] < MAX_SRV; s = s->next) {
            if (strcmp(s->host, ".") == 0 || !s->host[0]) {
                q->srv_refused[k] = true; /* RFC 2782: "decidedly not available" */
                continue;
            }
            prio[q->nsrv[k]] = s->priority;
            w[q->nsrv[k]] = s->weight;
            q->srv[k][q->nsrv[k]++] = (struct srv_rec){xstrdup(s->host), s->port, tls,
                                                       s->priority};
        }
        ares_free_data(rep);
        srv_order(q->srv[k], prio, w, q->nsrv[k]);
    }
    if (status == ARES_EDESTRUCTION)
        q->fn = NULL;
    if (--q->pending_srv > 0)
        return;
    if (!q->fn) {
        finish(q);
        return;
    }
    srv_done(q);
}

static void srv_tls_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    srv_cb(arg, status, timeouts, abuf, alen, 1);
}

static void srv_plain_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    srv_cb(arg, status, timeouts, abuf, alen, 0);
}

static struct resolve_req *req_new(struct resolver *r, const char *domain, resolve_fn fn,
                                   void *data)
{
    struct resolve_req *q = xcalloc(1, sizeof *q);
    q->r = r;
    q->fn = fn;
    q->data = data;
    q->domain = xstrdup(domain);
    q->lnext = r->reqs;
    if (q->lnext)
        q->lnext->lprev = q;
    r->reqs = q;
    started(r);
    return q;
}

/* c-ares may answer from inside a call (/etc/hosts, bad names): requests start from a
 * timer, so that their callbacks never run before the caller holds the handle. */
static void start_s2s(void *data)
{
    struct resolve_req *q = data;
    q->start_timer = 0;
    if (!q->fn) {
        finish(q);
        return;
    }
    char name[300];
    q->pending_srv = 2;
    snprintf(name, sizeof name, "_xmpps-server._tcp.%s", q->domain);
    ares_query(q->r->ch, name, C_IN, T_SRV, srv_tls_cb, q);
    snprintf(name, sizeof name, "_xmpp-server._tcp.%s", q->domain);
    ares_query(q->r->ch, name, C_IN, T_SRV, srv_plain_cb, q);
}

struct resolve_req *resolve_s2s(struct resolver *r, const char *domain, resolve_fn fn,
                                void *data)
{
    struct resolve_req *q = req_new(r, domain, fn, data);
    q->start_timer = loop_timer_add(r->loop, 0, start_s2s, q);
    return q;
}

struct resolve_req *resolve_host(struct resolver *r, const char *host, int port,
                                 bool direct_tls, resolve_fn fn, void *data)
{
    struct resolve_req *q = req_new(r, host, fn, data);
    q->order = xcalloc(1, sizeof *q->order);
    q->order[0] = (struct srv_rec){xstrdup(host), port, direct_tls, 0};
    q->norder = 1;
    q->start_timer = loop_timer_add(r->loop, 0, start_host, q);
    return q;
}

void resolve_cancel(struct resolve_req *q)
{
    if (q)
        q->fn = NULL;
}
