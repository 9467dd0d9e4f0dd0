/* tests/fuzz/fuzz_server.c — see fuzz_server.h. The config goes through config_load as
 * mynad's does, so the harnesses follow the defaults when they change; the fake transport
 * is the one both stream harnesses feed. */
#include "tests/fuzz/fuzz_server.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/config.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/server.h"
#include "server/net/wbuf.h"
#include "server/store/accounts.h"
#include "server/stream/stream.h"
#include "xml/parser.h"

int hosts_init(struct server *srv);

/* ---- the fake transport ---- */

#define FT(t) ((struct fuzz_transport *)(t))
#define CFT(t) ((const struct fuzz_transport *)(t))

static void f_write(struct transport *t, const void *d, size_t n)
{
    (void)d;
    FT(t)->written += n;
}

static void f_write_buf(struct transport *t, struct wbuf *b)
{
    f_write(t, b->data, b->len);
}

static void f_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                           const char *piece, size_t plen)
{
    (void)split, (void)piece;
    f_write(t, shared->data, shared->len + plen);
}

static void f_close(struct transport *t)
{
    FT(t)->closed++;
}

static void f_abort(struct transport *t, const char *why)
{
    (void)why;
    FT(t)->closed++;
}

static int f_start_tls(struct transport *t)
{
    if (FT(t)->tls_fails)
        return -1;
    stream_secured(FT(t)->st);
    return 0;
}

static bool f_is_encrypted(const struct transport *t)
{
    return CFT(t)->encrypted || CFT(t)->st->secured;
}

static int f_channel_binding(const struct transport *t, const char *type, unsigned char *out,
                             size_t outlen)
{
    (void)t, (void)type, (void)out, (void)outlen;
    return -1;
}

static const char *const *f_cb_types(const struct transport *t)
{
    (void)t;
    static const char *const none[] = {NULL};
    return none;
}

static void f_set_rate(struct transport *t, uint64_t rate, uint64_t burst)
{
    (void)t, (void)rate, (void)burst;
}

static uint64_t f_id(const struct transport *t)
{
    (void)t;
    return 1;
}

static const char *f_peer(const struct transport *t)
{
    (void)t;
    return "192.0.2.7:40000";
}

static size_t f_queued(const struct transport *t)
{
    (void)t;
    return 0;
}

static void f_request_peer_cert(struct transport *t)
{
    (void)t;
}

static bool f_peer_verified(const struct transport *t, const char *domain)
{
    (void)t;
    return domain && (strcmp(domain, "peer.example") == 0 ||
                      strcmp(domain, "conference.peer.example") == 0);
}

static const char *f_peer_problem(const struct transport *t, const char *domain)
{
    (void)t, (void)domain;
    return "the certificate names peer.example";
}

static const struct transport_ops fake_ops = {
    .write = f_write, .write_buf = f_write_buf, .write_splice = f_write_splice,
    .close = f_close, .abort = f_abort, .start_tls = f_start_tls,
    .is_encrypted = f_is_encrypted, .channel_binding = f_channel_binding,
    .channel_binding_types = f_cb_types, .set_rate = f_set_rate, .id = f_id,
    .peer = f_peer, .queued = f_queued, .request_peer_cert = f_request_peer_cert,
    .peer_verified = f_peer_verified, .peer_problem = f_peer_problem,
};

void fuzz_transport_init(struct fuzz_transport *ft, struct stream *st)
{
    memset(ft, 0, sizeof *ft);
    ft->tr.ops = &fake_ops;
    ft->st = st;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

/* The temporary data directory, removed at exit. */
static char data_dir[256];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_data_dir(void)
{
    if (data_dir[0])
        nftw(data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct server *fuzz_server_new(const char *name, const char *extra)
{
    log_init(MYNA_LOG_ERROR, false);
    xml_parser_set_allocator(pool_alloc, pool_free);
    char dir[256], path[512], text[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/myna-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(dir))
        abort();
    snprintf(data_dir, sizeof data_dir, "%s", dir);
    atexit(remove_data_dir);
    /* config_load wants readable files; nothing here makes a TLS context. */
    snprintf(path, sizeof path, "%s/host.pem", dir);
    write_file(path, "");
    snprintf(text, sizeof text,
             "data_dir = \"%s\";\n"
             "log = { level = \"error\"; syslog = false; };\n"
             "modules = { enabled = [ ]; };\n"
             "hosts = ( { domain = \"example.org\"; certificate = \"host.pem\"; "
             "key = \"host.pem\"; } );\n%s\n",
             dir, extra ? extra : "");
    snprintf(path, sizeof path, "%s/myna.conf", dir);
    write_file(path, text);
    struct server *srv = xcalloc(1, sizeof *srv);
    char err[512];
    if (config_load(path, &srv->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz config: %s\n", err);
        abort();
    }
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
    srv->signal_fd = srv->control_fd = -1;
    if (myna_store_env_open(srv->cfg.data_dir, 256, &srv->store) < 0 ||
        myna_store_table(srv->store, "accounts", &srv->accounts) < 0)
        abort();
    struct account acc;
    if (account_derive("secret", 4096, &acc) < 0 ||
        account_put(srv->accounts, "alice", "example.org", &acc, true) < 0 ||
        account_put(srv->accounts, "bob", "example.org", &acc, true) < 0)
        abort();
    myna_store_env_flush(srv->store);
    srv->jobs = jobs_new(srv->loop, 1);
    srv->started_ms = loop_clock_ms();
    hosts_init(srv);
    return srv;
}

static void stop_loop(void *data)
{
    loop_stop(data);
}

void fuzz_wait_jobs(struct server *srv)
{
    for (int i = 0; i < 2000 && jobs_pending(srv->jobs); i++) {
        loop_timer_add(srv->loop, 1, stop_loop, srv->loop);
        loop_run(srv->loop);
        fuzz_turn(srv);
    }
}

void fuzz_turn(struct server *srv)
{
    loop_defer(srv->loop, stop_loop, srv->loop);
    loop_run(srv->loop);
    if (myna_store_env_dirty(srv->store))
        myna_store_env_flush(srv->store);
}
