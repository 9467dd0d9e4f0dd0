/* server/admin/control.c — the local control socket (DATA_DIR/mynad.sock, mode 0600) that
 * mynactl uses for live operations: one command line in, a reply out, then close.
 * Commands: "reload" (re-read the config; load/unload modules per host without dropping
 * connections; new certificates for new connections), "stats" (key=value lines),
 * "deluser JID", "user-created JID", "password-changed JID", "subdomains" (what modules claim, for mynactl check),
 * "s2s" (server-to-server connections), "s2s-close DOMAIN",
 * and "import"/"export", which turn the connection
 * into a framed XEP-0227 stream (server/admin/control_pie.c). mynad --batch serves one such
 * connection on its stdin instead of a socket, and exits when it ends.
 * Reload frees the old config at once (listeners and components keep copies of their
 * settings), unless a host was removed, whose modules keep running on it until restart;
 * the old TLS contexts go when the last SSL made from them does (server/net/tls.c). */
#include "server/admin/control.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/base/asan.h"
#if defined(MYNA_ASAN)
size_t __sanitizer_get_current_allocated_bytes(void); /* ASan's allocator interface */
#endif

#include "server/base/config.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/modhost/users.h"
#include "server/net/tls.h"
#include "server/route/session.h"
#include "server/server.h"
#include "server/stream/s2s.h"
#include "server/store/accounts.h"
#include "server/stream/sm.h"
#include "server/stream/stream.h"

/* Long enough for any command on the longest JID (3 x 1023 bytes, RFC 7622 §3.1). */
#define CMD_MAX 4096

/* A config a removed host still points into (kept until exit). */
struct retired {
    struct config cfg;
    struct retired *next;
};

struct ctl_client {
    struct server *srv;
    int fd;
    char buf[CMD_MAX];
    size_t len;
    size_t drained;  /* after the reply: bytes of input read and dropped (see client_io) */
};

static bool in_list(char **list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

/* Options of modules that stay loaded must still be valid in the new config. */
static int check_kept_options(struct server *srv, const struct config *ncfg, char *err,
                              size_t errlen)
{
    for (size_t i = 0; i < srv->nhosts; i++)
        for (struct myna_module *m = srv->hosts[i]->modules; m; m = m->next)
            if (config_module_check(ncfg, m->def->name, m->def->desc->options, err, errlen) < 0)
                return -1;
    return 0;
}

/* A module stays if it is listed or something listed (transitively) depends on it. */
static bool wanted(struct host *h, char **list, const char *name, int depth)
{
    if (in_list(list, name))
        return true;
    if (depth > 16)
        return false;
    for (struct myna_module *m = h->modules; m; m = m->next) {
        const char *const *dep = m->def->desc->depends;
        for (; dep && *dep; dep++)
            if (strcmp(*dep, name) == 0 && wanted(h, list, m->def->name, depth + 1))
                return true;
    }
    return false;
}

static int do_reload(struct server *srv, char *out, size_t outlen)
{
    struct config ncfg;
    char err[1024];
    memset(&ncfg, 0, sizeof ncfg);
    if (config_load(srv->config_path, &ncfg, err, sizeof err) < 0 ||
        check_kept_options(srv, &ncfg, err, sizeof err) < 0) {
        snprintf(out, outlen, "error: %s\n", err);
        log_error("control", "reload refused: %s", err);
        if (ncfg.path)
            config_free(&ncfg);
        return -1;
    }
    struct tls *ntls = tls_new(&ncfg, err, sizeof err);
    if (!ntls) {
        snprintf(out, outlen, "error: %s\n", err);
        log_error("control", "reload refused: %s", err);
        config_free(&ncfg);
        return -1;
    }
    /* Switch to the new config and TLS contexts. The old config is freed below unless a
     * removed host still points into it; the old contexts live on while handshakes or
     * OpenSSL-layer connections use them. */
    struct config ocfg = srv->cfg;
    tls_free(srv->tls);
    srv->cfg = ncfg;
    srv->tls = ntls;
    bool keep_old = false;
    log_set_level(srv->cfg.log_level);

    size_t loaded = 0, unloaded = 0;
    for (size_t i = 0; i < srv->nhosts; i++) {
        struct host *h = srv->hosts[i];
        const struct config_host *nh = config_find_host(&srv->cfg, h->domain);
        if (!nh) {
            log_warn("control", "host %s was removed from the config: restart to drop it",
                     h->domain);
            keep_old = true;
            continue;
        }
        h->cfg = nh;
        for (struct myna_module *m = h->modules, *next; m; m = next) {
            next = m->next;
            if (!wanted(h, nh->modules, m->def->name, 0)) {
                module_unload(m);
                unloaded++;
                next = h->modules; /* the list changed: start over */
            }
        }
        for (char **name = nh->modules; name && *name; name++) {
            bool had = false;
            for (struct myna_module *m = h->modules; m; m = m->next)
                if (strcmp(m->def->name, *name) == 0)
                    had = true;
            if (!had && module_load(h, *name) == 0)
                loaded++;
        }
    }
    for (size_t i = 0; i < srv->cfg.nhosts; i++)
        if (!server_host(srv, srv->cfg.hosts[i].domain))
            log_warn("control", "new host %s needs a restart", srv->cfg.hosts[i].domain);
    if (keep_old) {
        struct retired *r = xcalloc(1, sizeof *r);
        r->cfg = ocfg;
        r->next = srv->retired;
        srv->retired = r;
    } else {
        config_free(&ocfg);
    }
    log_info("control", "reloaded %s: %zu modules loaded, %zu unloaded", srv->config_path,
             loaded, unloaded);
    snprintf(out, outlen, "ok: reloaded (%zu modules loaded, %zu unloaded)\n", loaded,
             unloaded);
    return 0;
}

int control_reload(struct server *srv)
{
    char out[1200];
    return do_reload(srv, out, sizeof out);
}

/* Bytes allocated and not freed. Under AddressSanitizer malloc is ASan's: mallinfo2()
 * reports nothing, so ask ASan (freed blocks in its quarantine do not count). */
static size_t heap_used_bytes(void)
{
#if defined(MYNA_ASAN)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static size_t retired_count(const struct server *srv)
{
    size_t n = 0;
    for (const struct retired *r = srv->retired; r; r = r->next)
        n++;
    return n;
}

/* Open descriptors of the process (a leak shows here first). */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

struct metric_out {
    char *out;
    size_t outlen;
    size_t *n;
};

static void print_metric(const char *key, void *value, void *data)
{
    struct metric_out *mo = data;
    if (*mo->n < mo->outlen)
        *mo->n += (size_t)snprintf(mo->out + *mo->n, mo->outlen - *mo->n, "metric.%s=%lld\n",
                                   key, *(long long *)value);
}

static void do_stats(struct server *srv, char *out, size_t outlen)
{
    size_t n = 0;
    struct mallinfo2 mi = mallinfo2();
    n += (size_t)snprintf(out + n, outlen - n,
                          "connections=%zu\nsessions=%zu\nusers_online=%zu\nrss_kib=%ld\n"
                          "heap_used_kib=%zu\nheap_free_kib=%zu\nheap_used_bytes=%zu\n"
                          "tls_contexts=%zu\nconfigs_retired=%zu\nfds=%d\n",
                          srv->nconns, srv->nsessions, hashmap_count(srv->users), rss_kib(),
                          mi.uordblks / 1024, mi.fordblks / 1024, heap_used_bytes(),
                          tls_contexts_alive(), retired_count(srv), open_fds());
    size_t s2s_in = 0, s2s_out = 0;
    s2s_count(srv, &s2s_in, &s2s_out);
    if (n < outlen)
        n += (size_t)snprintf(out + n, outlen - n, "s2s_in=%zu\ns2s_out=%zu\n", s2s_in, s2s_out);
    struct myna_store_stats st;
    myna_store_env_stats(srv->store, &st);
    if (n < outlen)
        n += (size_t)snprintf(out + n, outlen - n,
                              "store.map_bytes=%llu\nstore.used_bytes=%llu\n"
                              "store.commits=%llu\nstore.commit_failures=%llu\n"
                              "store.write_failures=%llu\nstore.full=%llu\n"
                              "store.nearly_full=%d\n",
                              (unsigned long long)st.map_bytes,
                              (unsigned long long)st.used_bytes,
                              (unsigned long long)st.commits,
                              (unsigned long long)st.commit_failures,
                              (unsigned long long)st.write_failures,
                              (unsigned long long)st.full, st.careful ? 1 : 0);
    size_t held;
    uint64_t resumed, expired;
    sm_stats(srv, &held, &resumed, &expired);
    if (n < outlen)
        n += (size_t)snprintf(out + n, outlen - n, "sm.held=%zu\nsm.resumed=%llu\n"
                              "sm.expired=%llu\n", held, (unsigned long long)resumed,
                              (unsigned long long)expired);
    /* Queues and tables that must shrink back when sessions end (bench/soak.sh watches
     * them): output not yet sent, streams, login throttling and pending server iqs. */
    size_t queued = 0, nstreams = 0, ids = 0, gone = 0;
    for (struct stream *sp = srv->streams; sp; sp = sp->next, nstreams++)
        queued += stream_queued(sp);
    sm_table_sizes(srv, &ids, &gone);
    if (n < outlen)
        n += (size_t)snprintf(out + n, outlen - n,
                              "queued_bytes=%zu\nstreams=%zu\nsm.ids=%zu\nsm.gone=%zu\n"
                              "authfail_entries=%zu\npreauth_entries=%zu\npending_iqs=%zu\n",
                              queued, nstreams, ids, gone, hashmap_count(srv->authfail),
                              hashmap_count(srv->preauth), hashmap_count(srv->pending_iqs));
    struct metric_out mo = {out, outlen, &n};
    hashmap_each(srv->metrics, print_metric, &mo);
    for (size_t i = 0; i < srv->nhosts && n < outlen; i++) {
        n += (size_t)snprintf(out + n, outlen - n, "host=%s modules=", srv->hosts[i]->domain);
        for (struct myna_module *m = srv->hosts[i]->modules; m && n < outlen; m = m->next)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", m->def->name, m->next ? "," : "");
        if (n < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "\n");
    }
}

struct sub_out {
    char *out;
    size_t outlen, n;
};

static void print_subdomain(const char *key, void *value, void *data)
{
    struct subdomain *sd = value;
    struct sub_out *so = data;
    if (so->n < so->outlen)
        so->n += (size_t)snprintf(so->out + so->n, so->outlen - so->n, "%s %s\n",
                                  sd->owner->host->domain, sd->domain);
}

/* "subdomains": each sub-domain a module claims, with its host (for mynactl check). */
static void do_subdomains(struct server *srv, char *out, size_t outlen)
{
    struct sub_out so = {out, outlen, 0};
    out[0] = '\0';
    hashmap_each(srv->subdomains, print_subdomain, &so);
}

/* "s2s": one line per server-to-server connection; "s2s-close DOMAIN" closes those with
 * the remote domain. */
static void do_s2s_list(struct server *srv, char *out, size_t outlen)
{
    struct myna_buf b;
    myna_buf_init(&b);
    s2s_list(srv, &b);
    snprintf(out, outlen, "%.*s", (int)b.len, b.data ? b.data : "");
    myna_buf_free(&b);
}

static void do_s2s_close(struct server *srv, const char *domain, char *out, size_t outlen)
{
    size_t n = s2s_close_domain(srv, domain);
    snprintf(out, outlen, "closed %zu connection(s) with %s\n", n, domain);
}

enum user_cmd { USER_DELETE, USER_CREATED, USER_PASSWORD_CHANGED };

/* "deluser JID": end the user's sessions, tell the modules (they delete their data),
 * delete the account and every "user@host\0" key. "user-created JID": tell the modules.
 * "password-changed JID" (mynactl passwd wrote the new keys): end the user's sessions,
 * which were opened with the old password (RFC 6120 §4.9.3.17 <reset/>). */
static void do_user(struct server *srv, const char *jid, enum user_cmd cmd, char *out,
                    size_t outlen)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j;
    struct host *h = NULL;
    if (myna_jid_parse(a, jid, &j) < 0 || !j.node || j.resource ||
        !(h = server_host(srv, j.domain))) {
        snprintf(out, outlen, "error: bad user JID or unknown host: %s\n", jid);
        myna_arena_free(a);
        return;
    }
    if (!account_exists(srv->accounts, j.node, j.domain)) {
        snprintf(out, outlen, "error: no such user %s\n", j.bare);
        myna_arena_free(a);
        return;
    }
    if (cmd == USER_PASSWORD_CHANGED) {
        unsigned n = users_end_sessions(srv, j.bare, NULL, "reset", "Password changed");
        log_info("control", "password of %s changed: %u session(s) ended", j.bare, n);
        snprintf(out, outlen, "ok: %u session(s) ended\n", n);
    } else if (cmd == USER_DELETE) {
        /* The same deletion as the module API's (users.c). */
        int rc = users_delete(srv, h, &j);
        if (rc != 0)
            snprintf(out, outlen, "error: cannot delete %s: %s\n", j.bare,
                     myna_store_strerror(rc));
        else
            snprintf(out, outlen, "ok: deleted %s\n", j.bare);
    } else {
        struct myna_event ev = {.type = MYNA_EVENT_USER_CREATED, .user = &j};
        events_emit(h, &ev);
        snprintf(out, outlen, "ok\n");
    }
    myna_arena_free(a);
}

void control_conn_ended(struct server *srv)
{
    if (srv->batch)
        loop_stop(srv->loop); /* mynad --batch: its one connection is its whole job */
}

static void client_free(struct ctl_client *c)
{
    struct server *srv = c->srv;
    loop_unwatch(srv->loop, c->fd);
    close(c->fd);
    free(c);
    control_conn_ended(srv);
}

static bool is_cmd(const char *line, const char *cmd)
{
    size_t n = strlen(cmd);
    return strncmp(line, cmd, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

/* "import [dry-run]" and "export [HOST...]": the rest of the connection is framed. */
static void client_to_pie(struct ctl_client *c, char *nl)
{
    struct server *srv = c->srv;
    int fd = c->fd;
    size_t restlen = c->len - (size_t)(nl + 1 - c->buf);
    char cmd[CMD_MAX], rest[CMD_MAX];
    snprintf(cmd, sizeof cmd, "%s", c->buf);
    memcpy(rest, nl + 1, restlen);
    loop_unwatch(srv->loop, fd);
    free(c);
    if (control_pie_start(srv, fd, cmd, rest, restlen) < 0)
        log_error("control", "cannot start %s", cmd);
}

/* After the reply to a refused over-long line, input is read and dropped until the peer
 * closes (bounded): closing with unread input would reset the connection, and the peer
 * could lose the reply. */
static void client_drain(void *data, unsigned events)
{
    struct ctl_client *c = data;
    char tmp[4096];
    ssize_t r = read(c->fd, tmp, sizeof tmp);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r > 0 && (c->drained += (size_t)r) < (1u << 20))
        return;
    client_free(c);
}

static void client_io(void *data, unsigned events)
{
    struct ctl_client *c = data;
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        client_free(c);
        return;
    }
    c->len += (size_t)r;
    c->buf[c->len] = 0;
    char *nl = memchr(c->buf, '\n', c->len);
    if (!nl && c->len < sizeof c->buf - 1)
        return;
    char out[8192];
    /* A command is one whole line: never run a truncated one (a cut JID can name
     * another account), nor one with a NUL inside. It is one unit of work: deluser
     * removes everything or nothing. */
    myna_store_env_unit_begin(c->srv->store);
    if (!nl)
        snprintf(out, sizeof out, "error: command too long (at most %d bytes)\n", CMD_MAX - 2);
    else if ((*nl = 0, strlen(c->buf) != (size_t)(nl - c->buf)))
        snprintf(out, sizeof out, "error: NUL byte in command\n");
    else if (is_cmd(c->buf, "import") || is_cmd(c->buf, "export")) {
        myna_store_env_unit_commit(c->srv->store); /* nothing written: the slices have units */
        client_to_pie(c, nl);
        return;
    } else if (strcmp(c->buf, "reload") == 0)
        do_reload(c->srv, out, sizeof out);
    else if (strcmp(c->buf, "stats") == 0)
        do_stats(c->srv, out, sizeof out);
    else if (strcmp(c->buf, "subdomains") == 0)
        do_subdomains(c->srv, out, sizeof out);
    else if (strcmp(c->buf, "s2s") == 0)
        do_s2s_list(c->srv, out, sizeof out);
    else if (strncmp(c->buf, "s2s-close ", 10) == 0)
        do_s2s_close(c->srv, c->buf + 10, out, sizeof out);
    else if (strncmp(c->buf, "deluser ", 8) == 0)
        do_user(c->srv, c->buf + 8, USER_DELETE, out, sizeof out);
    else if (strncmp(c->buf, "user-created ", 13) == 0)
        do_user(c->srv, c->buf + 13, USER_CREATED, out, sizeof out);
    else if (strncmp(c->buf, "password-changed ", 17) == 0)
        do_user(c->srv, c->buf + 17, USER_PASSWORD_CHANGED, out, sizeof out);
    else if (strcmp(c->buf, "trim") == 0) {
        malloc_trim(0);
        do_stats(c->srv, out, sizeof out);
    }
    else
        snprintf(out, sizeof out, "error: unknown command (reload, stats, s2s, deluser JID, "
                                  "import, export)\n");
    /* The reply goes straight to the socket, not through the held output of client
     * connections: commit what the command wrote before answering. */
    int err = myna_store_env_unit_commit(c->srv->store);
    if (err == 0 && myna_store_env_dirty(c->srv->store))
        err = myna_store_env_flush(c->srv->store);
    if (err != 0)
        snprintf(out, sizeof out, "error: %s\n", myna_store_strerror(err));
    /* Replies are small; a blocking-free best effort write is enough for a local tool. */
    ssize_t w = write(c->fd, out, strlen(out));
    (void)w;
    if (!nl) {
        shutdown(c->fd, SHUT_WR);
        loop_watch(c->srv->loop, c->fd, LOOP_READ, client_drain, c);
        return;
    }
    client_free(c);
}

static void on_accept(void *data, unsigned events)
{
    struct server *srv = data;
    for (;;) {
        int fd = accept4(srv->control_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ctl_client *c = xcalloc(1, sizeof *c);
        c->srv = srv;
        c->fd = fd;
        loop_watch(srv->loop, fd, LOOP_READ, client_io, c);
    }
}

void control_socket_path(const struct config *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "%s/mynad.sock", cfg->data_dir);
}

int control_open(struct server *srv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    control_socket_path(&srv->cfg, sa.sun_path, sizeof sa.sun_path);
    if (strlen(sa.sun_path) >= sizeof sa.sun_path - 1) {
        log_warn("control", "data_dir path too long for a control socket; mynactl reload "
                            "and stats will not work");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(sa.sun_path);
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) {
        log_warn("control", "cannot open %s: %s", sa.sun_path, strerror(errno));
        close(fd);
        return -1;
    }
    srv->control_fd = fd;
    loop_watch(srv->loop, fd, LOOP_READ, on_accept, srv);
    return 0;
}

int control_batch(struct server *srv, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    struct ctl_client *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->fd = fd;
    if (loop_watch(srv->loop, fd, LOOP_READ, client_io, c) < 0) {
        free(c);
        return -1; /* not a socket or pipe (epoll refuses regular files) */
    }
    return 0;
}

void control_close(struct server *srv)
{
    control_pie_close_all(srv);
    if (srv->control_fd >= 0) {
        loop_unwatch(srv->loop, srv->control_fd);
        close(srv->control_fd);
        srv->control_fd = -1;
        char path[512];
        control_socket_path(&srv->cfg, path, sizeof path);
        unlink(path);
    }
    while (srv->retired) {
        struct retired *r = srv->retired;
        srv->retired = r->next;
        config_free(&r->cfg);
        free(r);
    }
}
