/* tests/fuzz/fuzz_s2s.c — libFuzzer target for incoming server-to-server streams through
 * the stream layer (server/stream/stream.c) and s2s_in.c on a fake transport, with the
 * real router, sessions, store and s2s routes behind it (tests/fuzz/fuzz_server.c: the
 * config defaults, one host example.org with accounts alice and bob, no modules, and the
 * fake transport, whose certificate names peer.example and conference.peer.example);
 * dialback.example may use dialback (policy "dialback"), and s2s.domains sends both
 * peer domains and dialback.example to 127.0.0.1 port 1, where nothing listens, so a
 * reply or a dialback callback fails at once, without DNS (retries = 0).
 *
 * First input byte: bits 0-1 the state the fuzzed bytes arrive in: 0 nothing yet (the
 * input starts with the peer's header), 1 header sent by the harness (features out), 2
 * authenticated as peer.example by SASL EXTERNAL (and restarted), 3 authenticated for
 * peer.example by db:result (XEP-0344: the certificate names it) after <bidi/> (XEP-0288);
 * bit 2: TLS from the first byte (else STARTTLS is required; bit 3 makes it fail); bits
 * 4-7 the chunk size (1..15, or 0: all at once). The states 2-3 are always over TLS.
 * Then the transport goes away and the loop runs until every stream, route and
 * verification is gone: the harness checks that nothing outlives the input.
 * Build and run: see tests/fuzz/README.md; `make check` runs it briefly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/stream/s2s_in.c" /* its statics: the kind and struct s2s_in */

#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/net/transport.h"
#include "tests/fuzz/fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- one server for the whole run ---- */

static struct server *srv;

static void server_setup(void)
{
    srv = fuzz_server_new(
        "s2s", "s2s = { retries = 0; domains = (\n"
               "  { domain = \"peer.example\"; host = \"127.0.0.1\"; port = 1; },\n"
               "  { domain = \"conference.peer.example\"; host = \"127.0.0.1\"; port = 1; },\n"
               "  { domain = \"dialback.example\"; host = \"127.0.0.1\"; port = 1;\n"
               "    policy = \"dialback\"; } ); };");
    char err[256];
    if (s2s_init(srv, err, sizeof err) < 0) {
        fprintf(stderr, "s2s_init: %s\n", err);
        abort();
    }
}

static void stop_loop(void *data)
{
    loop_stop(data);
}

/* Runs the loop until what the input started is over (a route's connection attempt and
 * a dialback verification, each to a closed port: a few turns), at most about 5 s. */
static bool settled(void)
{
    for (int i = 0; i < 5000; i++) {
        if (i >= 4 && !srv->streams && hashmap_count(srv->s2s_routes) == 0 &&
            hashmap_count(srv->s2s_bidi) == 0)
            return true;
        loop_timer_add(srv->loop, i < 10 ? 0 : 1, stop_loop, srv->loop);
        loop_run(srv->loop);
        fuzz_turn(srv);
    }
    return false;
}

struct peer {
    struct s2s_in *in;
    struct fuzz_transport f;
};

static void peer_feed(struct peer *p, const char *s, size_t n)
{
    if (!p->f.closed && p->in)
        stream_input(&p->in->st, s, n);
    fuzz_turn(srv);
}

static void peer_feeds(struct peer *p, const char *s)
{
    peer_feed(p, s, strlen(s));
}

#define HEADER                                                                               \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "                             \
    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "     \
    "from='peer.example' to='example.org' version='1.0'>"

static void peer_open(struct peer *p, bool direct_tls, bool tls_fails)
{
    struct s2s_in *in = xcalloc(1, sizeof *in);
    fuzz_transport_init(&p->f, &in->st);
    p->f.tls_fails = tls_fails;
    struct stream_limits lim = {
        .max_stanza_bytes = srv->cfg.s2s.stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
    };
    snprintf(in->ip, sizeof in->ip, "192.0.2.7");
    in->sasl = sasl_new(&in->st, SASL_S2S, in_authenticated);
    stream_attach(&in->st, srv, &in_kind, &lim, &p->f.tr, STREAM_TLS_STARTTLS);
    if (direct_tls)
        stream_secured(&in->st);
    p->in = in;
}

static void peer_to_state(struct peer *p, int state)
{
    if (state >= 1)
        peer_feeds(p, HEADER);
    if (state == 2) {
        /* base64("peer.example") */
        peer_feeds(p, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>"
                      "cGVlci5leGFtcGxl</auth>");
        peer_feeds(p, HEADER);
    }
    if (state == 3)
        peer_feeds(p, "<bidi xmlns='urn:xmpp:bidi'/><db:result from='peer.example' "
                      "to='example.org'>0123</db:result>");
    if (state >= 2 && (p->f.closed || p->in->nauth != 1)) {
        fprintf(stderr, "harness: state %d not reached\n", state);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        server_setup();
    if (size < 1)
        return 0;
    int state = data[0] & 3;
    bool direct_tls = (data[0] & 4) || state >= 2, tls_fails = data[0] & 8;
    size_t chunk = data[0] >> 4;
    struct peer p;
    peer_open(&p, direct_tls, tls_fails);
    peer_to_state(&p, state);
    const char *in = (const char *)data + 1;
    size_t left = size - 1;
    while (left > 0 && !p.f.closed) {
        size_t n = chunk == 0 || chunk > left ? left : chunk;
        peer_feed(&p, in, n);
        in += n;
        left -= n;
    }
    stream_transport_gone(&p.in->st, "fuzz input done");
    fuzz_turn(srv);
    if (!settled()) {
        fprintf(stderr, "streams, routes or bidi entries outlived their input\n");
        abort();
    }
    if (srv->nsessions != 0) {
        fprintf(stderr, "sessions outlived their stream: %zu\n", srv->nsessions);
        abort();
    }
    return 0;
}
