/* tests/fuzz/fuzz_c2s.c — libFuzzer target for stanza handling on a client stream, per
 * stream state, through the stream layer (server/stream/stream.c) and c2s.c on a fake
 * transport (as tests/unit/test_stream.c drives the layer), with the real router, sessions
 * and store behind it (one host, example.org, accounts alice and bob; no modules loaded:
 * they are fuzzed end to end by tests/modules/stream_fuzz.sh).
 *
 * The first input byte picks the state the fuzzed bytes arrive in: 0 before
 * authentication (features sent: SASL, no TLS), 1 authenticated (resource binding), 2
 * bound, 3 bound and available, plus bob online as a recipient; and the chunk size the
 * bytes are fed in (1..32, or all at once). The harness gets there itself (SASL success
 * is taken directly, binding and presence are sent as a client would). Then the stream
 * ends as the transport goes away. Sanitizers catch memory errors and leaks; the harness
 * checks that no session or connection outlives its stream.
 * Build and run: see tests/fuzz/README.md; `make check` runs it briefly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/stream/c2s.c" /* its statics: the kind and the SASL-success callback */

#include "server/base/config.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/net/transport.h"
#include "server/store/accounts.h"
#include "xml/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int hosts_init(struct server *srv);

/* ---- a fake transport: output is counted and dropped ---- */

struct fake {
    struct transport tr;
    size_t written;
    int closed;
};

static void f_write(struct transport *t, const void *d, size_t n) { ((struct fake *)t)->written += n; (void)d; }
static void f_write_buf(struct transport *t, struct wbuf *b) { f_write(t, b->data, b->len); }
static void f_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                           const char *piece, size_t plen)
{
    (void)split, (void)piece;
    f_write(t, shared->data, shared->len + plen);
}
static void f_close(struct transport *t) { ((struct fake *)t)->closed++; }
static void f_abort(struct transport *t, const char *why) { (void)why; ((struct fake *)t)->closed++; }
static int f_start_tls(struct transport *t) { (void)t; return -1; }
static bool f_is_encrypted(const struct transport *t) { (void)t; return true; }
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
static void f_set_rate(struct transport *t, uint64_t rate, uint64_t burst) { (void)t, (void)rate, (void)burst; }
static uint64_t f_id(const struct transport *t) { (void)t; return 1; }
static const char *f_peer(const struct transport *t) { (void)t; return "192.0.2.1:5555"; }
static size_t f_queued(const struct transport *t) { (void)t; return 0; }

static const struct transport_ops fake_ops = {
    .write = f_write, .write_buf = f_write_buf, .write_splice = f_write_splice,
    .close = f_close, .abort = f_abort, .start_tls = f_start_tls,
    .is_encrypted = f_is_encrypted, .channel_binding = f_channel_binding,
    .channel_binding_types = f_cb_types, .set_rate = f_set_rate, .id = f_id,
    .peer = f_peer, .queued = f_queued,
};

/* ---- one server for the whole run ---- */

static struct server *srv;

static void stop_loop(void *data)
{
    loop_stop(data);
}

/* What mynad's loop does between reads: deferred frees, the group commit. */
static void turn(void)
{
    loop_defer(srv->loop, stop_loop, srv->loop);
    loop_run(srv->loop);
    if (myna_store_env_dirty(srv->store))
        myna_store_env_flush(srv->store);
}

static void server_setup(void)
{
    log_init(MYNA_LOG_ERROR, false);
    xml_parser_set_allocator(pool_alloc, pool_free);
    srv = xcalloc(1, sizeof *srv);
    struct config *c = &srv->cfg;
    c->nhosts = 1;
    c->hosts = xcalloc(1, sizeof *c->hosts);
    c->hosts[0].domain = xstrdup("example.org");
    c->c2s_stanza_size = 16384;
    c->c2s_max_depth = 32;
    c->c2s_max_attrs = 32;
    c->auth_timeout = 30;
    c->max_sessions = 1000;
    c->sessions_per_account = 64;
    c->preauth_stanza_size = 10240;
    c->preauth_per_address = 1000;
    c->preauth_total = 1000;
    c->auth_failures_address = 10;
    c->auth_failures_account = 30;
    c->auth_lockout = 300;
    c->auth_table_size = 65536;
    c->scram_iterations = 4096;
    /* XEP-0198 acks with the default caps; no resumption: a held session would outlive the
     * input that made it (each input ends with its transport gone). */
    c->sm_resume_timeout = 0;
    c->sm_max_unacked = 5000;
    c->sm_max_unacked_bytes = 4 << 20;
    c->log_level = MYNA_LOG_ERROR;
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
    char dir[] = "/tmp/myna-fuzz-c2s-XXXXXX";
    if (!mkdtemp(dir) || myna_store_env_open(dir, 256, &srv->store) < 0 ||
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
}

struct client {
    struct c2s *c;
    struct fake f;
};

static void client_open(struct client *cl)
{
    memset(&cl->f, 0, sizeof cl->f);
    cl->f.tr.ops = &fake_ops;
    struct c2s *c = pool_alloc(sizeof *c);
    struct stream_limits lim = {
        .max_stanza_bytes = srv->cfg.c2s_stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
    };
    c->sasl = sasl_new(&c->st, SASL_C2S, c2s_authenticated);
    stream_attach(&c->st, srv, &c2s_kind, &lim, &cl->f.tr, STREAM_TLS_NONE);
    cl->c = c;
}

static void client_feed(struct client *cl, const char *s, size_t n)
{
    if (!cl->f.closed)
        stream_input(&cl->c->st, s, n);
    turn();
}

static void client_feeds(struct client *cl, const char *s)
{
    client_feed(cl, s, strlen(s));
}

#define HEADER                                                                               \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                             \
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"

/* Brings a client to `state` (see the header comment) as `user`/`res`. */
static void client_to_state(struct client *cl, int state, const char *user, const char *res)
{
    client_open(cl);
    client_feeds(cl, HEADER);
    if (state >= 1 && !cl->f.closed) {
        c2s_authenticated(&cl->c->st, user);
        turn();
        client_feeds(cl, HEADER);
    }
    if (state >= 2) {
        char bind[256];
        snprintf(bind, sizeof bind,
                 "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                 "<resource>%s</resource></bind></iq>", res);
        client_feeds(cl, bind);
    }
    if (state >= 3)
        client_feeds(cl, "<presence><priority>1</priority></presence>");
    /* The harness must really reach the state it claims, or the run fuzzes less. */
    if ((state >= 1 && cl->c->phase == PHASE_PREAUTH) || (state >= 2 && !cl->c->session) ||
        (state >= 3 && !cl->c->session->available)) {
        fprintf(stderr, "harness: state %d not reached for %s\n", state, user);
        abort();
    }
}

static void client_gone(struct client *cl)
{
    if (!cl->c)
        return;
    stream_transport_gone(&cl->c->st, "fuzz input done");
    turn();
    cl->c = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        server_setup();
    if (size < 1)
        return 0;
    int state = data[0] & 3;
    size_t chunk = (data[0] >> 2) & 31;
    struct client bob = {0}, alice = {0};
    if (state == 3)
        client_to_state(&bob, 3, "bob", "b");
    client_to_state(&alice, state, "alice", "a");
    const char *in = (const char *)data + 1;
    size_t left = size - 1;
    while (left > 0 && !alice.f.closed) {
        size_t n = chunk == 0 || chunk > left ? left : chunk;
        client_feed(&alice, in, n);
        in += n;
        left -= n;
    }
    client_gone(&alice);
    client_gone(&bob);
    if (srv->nsessions != 0 || hashmap_count(srv->sessions) != 0 || srv->streams) {
        fprintf(stderr, "sessions or streams outlived their transport: %zu sessions\n",
                srv->nsessions);
        abort();
    }
    return 0;
}
