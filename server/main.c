/* server/main.c — mynad: reads the config, listens, gives up root (to `user`), opens
 * storage, loads modules, and runs the event loop until SIGTERM/SIGINT; then closes every
 * stream with </stream:stream>, waits briefly for the bytes to leave, and syncs storage.
 * SIGHUP (or `mynactl reload`) re-reads the config and loads/unloads modules.
 * mynad --batch does the same without listeners and serves one control connection on its
 * stdin (mynactl import/export while the server is stopped), then exits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server/admin/control.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/base/privs.h"
#include "server/base/scram.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/modhost/host.h"
#include "server/modhost/moddesc.h"
#include "server/modhost/users.h"
#include "server/net/bosh.h"
#include "server/net/conn.h"
#include "server/net/tls.h"
#include "server/net/http.h"
#include "server/net/tlsrec.h"
#include "server/route/router.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/stream/authfail.h"
#include "server/stream/c2s.h"
#include "server/stream/component.h"
#include "server/web/hostmeta.h"
#include "server/web/metrics.h"
#include "server/web/upload.h"
#include "server/stream/sm.h"
#include "server/stream/s2s.h"
#include "server/stream/stream.h"
#include "xml/parser.h"

#define SWEEP_INTERVAL_MS 2000
#define SHUTDOWN_GRACE_MS 3000

struct listener {
    struct server *srv;
    const struct config_listen *cfg; /* = &own */
    struct config_listen own; /* a copy: a reload frees the config it came from, while the
                                 socket stays bound (listeners change only at restart) */
    int fd;
};

static void on_accept(void *data, unsigned events)
{
    struct listener *l = data;
    struct server *srv = l->srv;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("listen", "accept on port %d: %s", l->cfg->port, strerror(errno));
            return;
        }
        if (srv->stopping || srv->nconns >= srv->cfg.max_sessions + 64) {
            close(fd);
            continue;
        }
        int one = 1, idle = 300, intvl = 30, cnt = 4;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* Peers that vanish without a FIN (laptop lid, NAT timeout) are found by TCP
         * keepalive after about 7 minutes of silence, so their sessions end. */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
        char host[INET6_ADDRSTRLEN] = "?", peer[64];
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
            port = ntohs(sin6->sin6_port);
        }
        snprintf(peer, sizeof peer, "%s:%d", host, port);
        if (l->cfg->type == LISTEN_C2S)
            c2s_accept(srv, l->cfg, fd, peer);
        else if (l->cfg->type == LISTEN_COMPONENT)
            component_accept(srv, l->cfg, fd, peer);
        else if (l->cfg->type == LISTEN_HTTP)
            http_accept(srv, l->cfg, fd, peer);
        else if (l->cfg->type == LISTEN_S2S)
            s2s_accept(srv, l->cfg, fd, peer);
        else
            close(fd);
    }
}

static int listen_on(struct server *srv, struct listener *l)
{
    const struct config_listen *c = l->cfg;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)c->port);
        sl = sizeof *sin;
    } else if (inet_pton(AF_INET6, c->address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)c->port);
        sl = sizeof *sin6;
    } else {
        log_error("listen", "bad address '%s'", c->address);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* "::" means IPv6 only, so that a "0.0.0.0" listener on the same port can sit beside
     * it whatever the system's bindv6only default is. */
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
        log_error("listen", "cannot listen on %s port %d: %s", c->address, c->port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    l->fd = fd;
    l->srv = srv;
    loop_watch(srv->loop, fd, LOOP_READ, on_accept, l);
    log_info("listen", "%s on %s port %d (%s)",
             c->type == LISTEN_C2S         ? "c2s"
             : c->type == LISTEN_COMPONENT ? "component"
             : c->type == LISTEN_HTTP      ? "http"
             : c->type == LISTEN_S2S       ? "s2s"
                                           : "other",
             c->address, c->port,
             c->tls == TLS_DIRECT ? "direct TLS" : c->tls == TLS_STARTTLS ? "STARTTLS" : "no TLS");
    return 0;
}

/* The commit, timed for /metrics (storage commit latency). */
static void timed_flush(struct server *srv)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    myna_store_env_flush(srv->store); /* logs its own failures */
    clock_gettime(CLOCK_MONOTONIC, &b);
    metrics_commit_timed(srv, (double)(b.tv_sec - a.tv_sec) +
                                  (double)(b.tv_nsec - a.tv_nsec) / 1e9);
}

/* The end of a loop iteration: group commit, then the held output. First the batch is
 * committed (synced) and the on_durable callbacks run, then every connection with output
 * gets it written (one writev each). Closing connections and callbacks may write again:
 * repeat until nothing is open or held. A failed commit never reaches a client: the store
 * calls commit_failed first, which drops the connections whose output followed it. */
static void before_sleep(void *data)
{
    struct server *srv = data;
    for (;;) {
        if (myna_store_env_dirty(srv->store))
            timed_flush(srv);
        conn_flush_all(srv);
        if (!myna_store_env_dirty(srv->store) && !conn_flush_pending(srv))
            return;
    }
}

static void commit_failed(uint64_t batch, int err, void *data)
{
    conn_drop_batch(data, batch);
}

/* What the HTTP listeners serve (docs/protocols.md). */
static void web_routes_init(struct server *srv)
{
    http_route_add(srv, "/xmpp-websocket", c2s_websocket, srv, 0); /* RFC 7395 */
    srv->bosh_sids = hashmap_new();
    if (srv->cfg.http.bosh)
        http_route_add(srv, "/http-bind", c2s_bosh, srv, 0); /* XEP-0206 */
    http_route_add(srv, "/.well-known/host-meta", hostmeta_request, srv, 0); /* XEP-0156 */
    http_route_add(srv, "/.well-known/host-meta.json", hostmeta_request, srv, 0);
    http_route_add_stream(srv, "/upload/", upload_request, &upload_body_ops, srv,
                          srv->cfg.http.upload_max_size);
    http_route_add_ops(srv, "/metrics", metrics_request, srv); /* listeners with metrics */
    http_route_add_ops(srv, "/health", metrics_request, srv);
}

static void sweep_tick(void *data)
{
    struct server *srv = data;
    static unsigned ticks;
    stream_sweep(srv, SWEEP_INTERVAL_MS);
    if (++ticks % 30 == 0)
        authfail_sweep(srv); /* once a minute: counts live for minutes */
    http_sweep(srv);
    bosh_sweep(srv);
    upload_sweep(srv);
    loop_timer_add(srv->loop, SWEEP_INTERVAL_MS, sweep_tick, srv);
}

static void shutdown_check(void *data)
{
    struct server *srv = data;
    if (srv->nconns == 0 || (srv->shutdown_waited += 50) >= SHUTDOWN_GRACE_MS) {
        loop_stop(srv->loop);
        return;
    }
    loop_timer_add(srv->loop, 50, shutdown_check, srv);
}

static void begin_shutdown(struct server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    log_info("main", "shutting down: closing %zu connections", srv->nconns);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].fd >= 0) {
            loop_unwatch(srv->loop, srv->listeners[i].fd);
            close(srv->listeners[i].fd);
            srv->listeners[i].fd = -1;
        }
    }
    stream_close_all(srv, STREAM_ERR_SYSTEM_SHUTDOWN);
    http_close_idle(srv);
    sm_end_all(srv); /* held sessions end too: what waited for them goes offline now */
    shutdown_check(srv);
}

static void on_signal(void *data, unsigned events)
{
    struct server *srv = data;
    struct signalfd_siginfo si;
    while (read(srv->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            begin_shutdown(srv);
        else if (si.ssi_signo == SIGHUP)
            control_reload(srv);
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void free_value(const char *key, void *value, void *data)
{
    free(value);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mynad -c FILE [-d] [--batch]\n"
               "  -c FILE   configuration file (libconfig syntax; see docs/configuration.md)\n"
               "  -d        debug logging (overrides log.level)\n"
               "  -V        print the version\n"
               "  --batch   no listeners: serve one mynactl connection on stdin, then exit\n"
               "            (mynactl import/export run it when mynad is not running)\n"
               "  --check-modules  check every enabled module and its options, then exit\n"
               "            (what mynactl check runs)\n"
               "Started as root, mynad switches to the config's `user` after binding its\n"
               "listeners.\n");
}

int main(int argc, char **argv)
{
    const char *cfgpath = NULL;
    bool debug = false, batch = false, check_modules = false;
    int opt;
    static const struct option longopts[] = {{"batch", no_argument, NULL, 'b'},
                                             {"check-modules", no_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    while ((opt = getopt_long(argc, argv, "c:dVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            batch = true;
            break;
        case 'm':
            check_modules = true;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'd':
            debug = true;
            break;
        case 'V':
            printf("mynad %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!cfgpath) {
        usage(stderr);
        return 2;
    }
    struct server *srv = xcalloc(1, sizeof *srv);
    int rc = 1;
    char err[1024];
    log_init(MYNA_LOG_INFO, false);
    if (config_load(cfgpath, &srv->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "mynad: %s\n", err);
        free(srv);
        return 1;
    }
    if (check_modules) {
        /* As the user mynad runs as: module files must be readable by it. */
        int drc = privs_drop(srv->cfg.user, err, sizeof err);
        if (drc < 0)
            printf("PROBLEM: %s\n", err);
        rc = drc < 0 || moddesc_check_config(&srv->cfg, stdout) ? 1 : 0;
        config_free(&srv->cfg);
        free(srv);
        return rc;
    }
    enum myna_log_level level = srv->cfg.log_level;
    if (batch && level > MYNA_LOG_WARN)
        level = MYNA_LOG_WARN; /* mynactl shows what matters; the rest is noise there */
    log_init(debug ? MYNA_LOG_DEBUG : level, srv->cfg.log_syslog);
    srv->batch = batch;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    /* Blocked before any thread starts, so only the signalfd sees them. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    xml_parser_set_allocator(pool_alloc, pool_free);
    srv->loop = loop_new();
    srv->host_map = hashmap_new();
    srv->subdomains = hashmap_new();
    srv->users = hashmap_new();
    srv->sessions = hashmap_new();
    srv->session_ids = hashmap_new();
    srv->pending_iqs = hashmap_new();
    srv->authfail = hashmap_new();
    srv->preauth = hashmap_new();
    srv->registrations = hashmap_new();
    srv->module_defs = hashmap_new();
    srv->components = hashmap_new();
    srv->metrics = hashmap_new();
    srv->signal_fd = -1;
    srv->control_fd = -1;
    srv->config_path = realpath(cfgpath, NULL);
    if (!srv->config_path)
        srv->config_path = xstrdup(cfgpath);

    /* Listeners first (a port below 1024 needs root), then give root up for good. */
    srv->nlisteners = batch ? 0 : srv->cfg.nlistens;
    srv->listeners = xcalloc(srv->nlisteners + 1, sizeof *srv->listeners);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        l->fd = -1;
        l->own = srv->cfg.listens[i];
        l->own.address = xstrdup(srv->cfg.listens[i].address);
        l->own.sm_location = NULL; /* read from the current config (c2s.c): reloads change it */
        l->cfg = &l->own;
        if (listen_on(srv, &srv->listeners[i]) < 0)
            goto out;
    }
    int dropped = privs_drop(srv->cfg.user, err, sizeof err);
    if (dropped < 0) {
        log_error("main", "%s", err);
        goto out;
    }
    if (dropped > 0)
        log_info("main", "running as user %s", srv->cfg.user);
    else if (geteuid() == 0 && !batch)
        log_warn("main", "running as root: set `user` in %s (e.g. user = \"myna\";) so that "
                         "mynad gives root up after binding its ports", srv->cfg.path);

    int src = myna_store_env_open(srv->cfg.data_dir, srv->cfg.store_map_mb, &srv->store);
    if (src < 0) {
        log_error("main", "cannot open storage in %s: %s", srv->cfg.data_dir,
                  myna_store_strerror(src));
        goto out;
    }
    if (myna_store_table(srv->store, "accounts", &srv->accounts) < 0) {
        log_error("main", "cannot open the accounts table");
        goto out;
    }
    unsigned char secret[ACCOUNT_SECRET_LEN];
    if (account_secret(srv->accounts, secret) != 0 || myna_store_env_flush(srv->store) != 0) {
        log_error("main", "cannot read or store the SCRAM salt secret");
        goto out;
    }
    scram_set_fake_secret(secret, sizeof secret, srv->cfg.scram_iterations);
    OPENSSL_cleanse(secret, sizeof secret);
    srv->tls = tls_new(&srv->cfg, err, sizeof err);
    if (!srv->tls) {
        log_error("main", "%s", err);
        goto out;
    }
    myna_store_env_on_fail(srv->store, commit_failed, srv);
    srv->jobs = jobs_new(srv->loop, 2);
    srv->started_ms = loop_clock_ms();
    hosts_init(srv);
    web_routes_init(srv);

    srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    loop_watch(srv->loop, srv->signal_fd, LOOP_READ, on_signal, srv);
    loop_set_before_sleep(srv->loop, before_sleep, srv);
    if (batch) {
        if (control_batch(srv, STDIN_FILENO) < 0) {
            log_error("main", "--batch needs a socket or pipe on stdin (mynactl gives one)");
            goto out;
        }
    } else {
        control_open(srv);
        loop_timer_add(srv->loop, SWEEP_INTERVAL_MS, sweep_tick, srv);
        log_info("main", "mynad %s started (%zu hosts, %zu listeners)", PACKAGE_VERSION,
                 srv->nhosts, srv->nlisteners);
    }
    /* After the control socket: what mynactl waits for is not held up by the resolver's
     * setup or the first start's dialback secret (written and synced). */
    if (s2s_init(srv, err, sizeof err) < 0) {
        log_error("main", "%s", err);
        goto out;
    }
    loop_run(srv->loop);
    rc = batch && !srv->batch_ok ? 1 : 0;
    log_info("main", "stopped");

out:
    for (size_t i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].fd >= 0)
            close(srv->listeners[i].fd);
        free(srv->listeners[i].own.address);
    }
    /* Whatever is still connected goes now; sessions end before modules unload. */
    stream_abort_all(srv);
    bosh_free_all(srv);
    http_abort_all(srv);
    http_addrs_free(srv);
    upload_free(srv);
    http_routes_free(srv);
    sm_server_free(srv);
    s2s_free(srv); /* attempts still resolving or connecting, and the resolver */
    control_close(srv);
    if (srv->jobs)
        jobs_free(srv->jobs);
    users_free(srv); /* after the pool: no worker touches a job any more */
    if (srv->loop)
        loop_free(srv->loop); /* runs deferred frees */
    srv->loop = NULL;         /* modules unloading now have no timers left to cancel */
    hosts_free(srv);
    if (srv->store)
        myna_store_env_close(srv->store);
    tls_free(srv->tls);
    tls_cache_free();
    tlsrec_thread_cleanup();
    wbuf_thread_cleanup();
    if (srv->signal_fd >= 0)
        close(srv->signal_fd);
    hashmap_free(srv->host_map);
    hashmap_free(srv->subdomains);
    hashmap_free(srv->users);
    hashmap_free(srv->sessions);
    hashmap_free(srv->session_ids);
    authfail_free(srv);
    router_free(srv);
    hashmap_each(srv->metrics, free_value, NULL);
    hashmap_free(srv->metrics);
    hashmap_free(srv->pending_iqs);
    hashmap_free(srv->authfail);
    hashmap_free(srv->preauth);
    hashmap_free(srv->registrations);
    hashmap_free(srv->module_defs);
    hashmap_free(srv->components);
    hashmap_free(srv->bosh_sids);
    free(srv->listeners);
    free(srv->session_slots);
    free(srv->user_slots);
    config_free(&srv->cfg);
    free(srv->config_path);
    free(srv);
    return rc;
}
