/* tests/fuzz/fuzz_server.c — see fuzz_server.h. The config goes through config_load as
 * mynad's does, so the harnesses follow the defaults when they change. */
#include "tests/fuzz/fuzz_server.h"

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
#include "server/store/accounts.h"
#include "xml/parser.h"

int hosts_init(struct server *srv);

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

struct server *fuzz_server_new(const char *name, const char *extra)
{
    log_init(MYNA_LOG_ERROR, false);
    xml_parser_set_allocator(pool_alloc, pool_free);
    char dir[256], path[512], text[4096];
    snprintf(dir, sizeof dir, "/tmp/myna-fuzz-%s-XXXXXX", name);
    if (!mkdtemp(dir))
        abort();
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

void fuzz_turn(struct server *srv)
{
    loop_defer(srv->loop, stop_loop, srv->loop);
    loop_run(srv->loop);
    if (myna_store_env_dirty(srv->store))
        myna_store_env_flush(srv->store);
}
