/* tests/fuzz/fuzz_c2s.c — libFuzzer target for stanza handling on a client stream, per
 * stream state, through the stream layer (server/stream/stream.c) and c2s.c on a fake
 * transport (as tests/unit/test_stream.c drives the layer), with the real router, sessions
 * and store behind it (tests/fuzz/fuzz_server.c: the config defaults, one host,
 * example.org, accounts alice and bob; no modules loaded:
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

#include "server/loop/hashmap.h"
#include "server/net/transport.h"
#include "tests/fuzz/fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- one server for the whole run ---- */

static struct server *srv;

static void turn(void)
{
    fuzz_turn(srv);
}

static void server_setup(void)
{
    /* The config defaults (fuzz_server.c), but no XEP-0198 resumption: a held session
     * would outlive the input that made it (each input ends with its transport gone). */
    srv = fuzz_server_new("c2s", "limits = { sm_resume_timeout = 0; };");
}

struct client {
    struct c2s *c;
    struct fuzz_transport f;
};

static void client_open(struct client *cl)
{
    struct c2s *c = pool_alloc(sizeof *c);
    fuzz_transport_init(&cl->f, &c->st);
    cl->f.encrypted = true; /* as over TLS: SASL PLAIN is offered */
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
    fuzz_wait_jobs(srv); /* a PLAIN check the input started */
    client_gone(&alice);
    client_gone(&bob);
    fuzz_wait_jobs(srv);
    if (srv->nsessions != 0 || hashmap_count(srv->sessions) != 0 || srv->streams) {
        fprintf(stderr, "sessions or streams outlived their transport: %zu sessions\n",
                srv->nsessions);
        abort();
    }
    return 0;
}
