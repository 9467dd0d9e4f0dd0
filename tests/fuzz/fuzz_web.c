/* tests/fuzz/fuzz_web.c — libFuzzer target for XMPP over HTTP against the real server: BOSH
 * (server/net/bosh.c, XEP-0124/0206) and WebSocket (RFC 7395) sessions carrying client
 * streams, through http.c on real sockets (socketpairs) into the stream layer, c2s.c, the
 * router, sessions and store (tests/fuzz/fuzz_server.c: the config defaults, one host
 * example.org with accounts alice and bob, no modules). fuzz_http.c covers the HTTP and
 * WebSocket framing alone; here the bytes reach what is behind them.
 *
 * Input: a first byte (bit 0: run the sweeps that expire held requests and idle sessions
 * after each segment; bits 1-2: the HTTP connection the first segment goes to; bit 3:
 * requests count as arrived over TLS, as behind https:// and wss://, so that PLAIN is
 * offered and alice (password "secret") can log in and reach a bound session), then
 * segments separated by the two bytes 0xff 0xfe. Each segment is written to one of three
 * client connections of the HTTP listener (segment k to connection (first + k) mod 3,
 * reopened when the server closed it), after "@SID@" in it is replaced by the last BOSH
 * session id the server sent, so that requests after a session creation reach the
 * session. After each segment the loop runs and every answer is read. At the end the
 * connections close, every BOSH session ends (as at shutdown) and the harness checks that
 * no stream, session or HTTP connection outlives its input.
 * Build and run: see tests/fuzz/README.md; `make check` runs it briefly (web-fuzz.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/base/config.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/net/bosh.h"
#include "server/net/http.h"
#include "server/server.h"
#include "server/stream/c2s.h"
#include "tests/fuzz/fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONN 3

static struct server *srv;
static struct config_listen listener = {
    .type = LISTEN_HTTP, .tls = TLS_NONE, .web = true, .insecure = true};
static int fds[NCONN] = {-1, -1, -1};
static char sid[64];
static bool as_tls;

/* The routes as mynad has them, but with req->secure set when the input says TLS. */
static void bosh_route(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct http_request r = *req;
    r.secure = r.secure || as_tls;
    c2s_bosh(hc, &r, ud);
}

static void websocket_route(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct http_request r = *req;
    r.secure = r.secure || as_tls;
    c2s_websocket(hc, &r, ud);
}

static void server_setup(void)
{
    /* No XEP-0198 resumption: a held session would outlive the input that made it. */
    srv = fuzz_server_new("web", "http = { bosh_inactivity = 1; bosh_max_wait = 1; };\n"
                                 "limits = { sm_resume_timeout = 0; };");
    srv->bosh_sids = hashmap_new();
    http_route_add(srv, "/http-bind", bosh_route, srv, 0);
    http_route_add(srv, "/xmpp-websocket", websocket_route, srv, 0);
}

/* The client end of connection i, opened (accepted by the listener) if needed. */
static int conn_fd(int i)
{
    if (fds[i] >= 0)
        return fds[i];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    http_accept(srv, &listener, sv[0], "192.0.2.7:40000");
    fds[i] = sv[1];
    return fds[i];
}

/* Reads what the server sent on every connection; remembers a BOSH sid; closes the ones
 * the server closed. Returns the bytes read. */
static size_t drain(void)
{
    char buf[65536];
    size_t total = 0;
    for (int i = 0; i < NCONN; i++) {
        while (fds[i] >= 0) {
            ssize_t n = read(fds[i], buf, sizeof buf - 1);
            if (n < 0)
                break;
            if (n == 0) {
                close(fds[i]);
                fds[i] = -1;
                break;
            }
            buf[n] = '\0';
            total += (size_t)n;
            const char *s = strstr(buf, " sid='");
            if (!s)
                s = strstr(buf, " sid=\"");
            if (s) {
                s += 6;
                size_t k = 0;
                while (k + 1 < sizeof sid && s[k] && s[k] != '\'' && s[k] != '"')
                    k++;
                memcpy(sid, s, k);
                sid[k] = '\0';
            }
        }
    }
    return total;
}

static void stop_loop(void *data)
{
    loop_stop(data);
}

/* One pass of the loop that reads the sockets too (fuzz_turn alone does not wait for
 * input), waiting up to wait_ms for something to happen, then what the server sent. */
static size_t io_turn_wait(unsigned wait_ms)
{
    loop_timer_add(srv->loop, wait_ms, stop_loop, srv->loop);
    loop_run(srv->loop);
    fuzz_turn(srv);
    return drain();
}

static void io_turn(void)
{
    io_turn_wait(0);
}

static void turns(int n, bool sweep)
{
    for (int i = 0; i < n; i++)
        io_turn();
    if (sweep) {
        http_sweep(srv);
        bosh_sweep(srv);
        io_turn();
    }
}

/* Writes one segment with "@SID@" replaced. */
static void send_segment(int i, const uint8_t *p, size_t n)
{
    char out[16384];
    size_t o = 0;
    for (size_t k = 0; k < n && o + sizeof sid < sizeof out;) {
        if (n - k >= 5 && memcmp(p + k, "@SID@", 5) == 0) {
            size_t sl = strlen(sid);
            memcpy(out + o, sid, sl);
            o += sl;
            k += 5;
        } else {
            out[o++] = (char)p[k++];
        }
    }
    int fd = conn_fd(i);
    size_t off = 0;
    for (int tries = 0; off < o && tries < 100; tries++) {
        ssize_t w = write(fd, out + off, o - off);
        if (w > 0)
            off += (size_t)w;
        turns(1, false);
        if (fds[i] < 0)
            return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        server_setup();
    if (size < 1)
        return 0;
    bool sweep = data[0] & 1;
    int next = (data[0] >> 1) & 3;
    as_tls = data[0] & 8;
    sid[0] = '\0';
    const uint8_t *p = data + 1, *end = data + size;
    while (p < end) {
        const uint8_t *q = p;
        while (q + 1 < end && !(q[0] == 0xff && q[1] == 0xfe))
            q++;
        if (q + 1 >= end)
            q = end;
        send_segment(next++ % NCONN, p, (size_t)(q - p));
        turns(3, sweep);
        /* PLAIN is checked on a worker thread (PBKDF2): let its answer come before the
         * next segment, as a client would wait for it. */
        if (jobs_pending(srv->jobs)) {
            fuzz_wait_jobs(srv);
            drain();
        }
        p = q < end ? q + 2 : end;
    }
    for (int i = 0; i < NCONN; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    turns(3, false);
    bosh_free_all(srv);
    /* A stream waiting for a password check on the worker is freed once it is answered:
     * wait for that too (no job may be running when the process exits). */
    for (int i = 0; i < 3000 && (srv->streams || srv->http_conns || srv->nsessions ||
                                 jobs_pending(srv->jobs));
         i++)
        io_turn_wait(1);
    if (srv->streams || srv->http_conns || srv->nsessions || jobs_pending(srv->jobs) ||
        hashmap_count(srv->bosh_sids) != 0) {
        fprintf(stderr, "outlived the input: streams %s, HTTP connections %s, sessions %zu, "
                "BOSH sids %zu\n", srv->streams ? "yes" : "no", srv->http_conns ? "yes" : "no",
                srv->nsessions, hashmap_count(srv->bosh_sids));
        abort();
    }
    return 0;
}
