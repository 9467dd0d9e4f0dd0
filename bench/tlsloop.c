/* tlsloop.c: myna-bench-tls, the single-core TLS 1.3 handshake limit of this machine.
 * `serve` accepts on one address and runs handshakes and nothing else, on one non-blocking
 * epoll loop (one thread), with the TLS settings of mynad's contexts (server/net/tls.c:
 * TLS >= 1.2, the certificate chain and key given, one stateless ticket per handshake);
 * each connection is closed once its handshake is done. `connect` opens connections at most
 * --concurrency at a time, verifies the certificate like myna-bench (--cafile, host name),
 * completes the handshake, reads the tickets, and closes; with --resume each connection
 * offers the ticket its slot got last time (RFC 8446 §2.2). The server prints its CPU per
 * handshake; pin the two processes to different cores (taskset) to see the server's limit.
 * Benchmarks only: nothing here runs in `make check`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_EVENTS 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static void die(const char *what)
{
    fprintf(stderr, "myna-bench-tls: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        die("bad address");
    return a;
}

/* ---- serve ---- */

struct sconn {
    int fd;
    SSL *ssl;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void sconn_end(struct sconn *c)
{
    SSL_free(c->ssl);
    close(c->fd);
    free(c);
}

static int serve(const char *ip, int port, const char *cert, const char *key, double secs,
                 int tickets_per_handshake)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"myna", 4);
    SSL_CTX_set_num_tickets(ctx, (size_t)tickets_per_handshake);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        die("cannot load the certificate or key");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of(ip, port);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1024) < 0)
        die("cannot listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    uint64_t done = 0, failed = 0, resumed = 0;
    double t0 = 0, c0 = 0, t_end = 0;
    struct epoll_event evs[MAX_EVENTS];
    fprintf(stderr, "myna-bench-tls: serving on %s:%d\n", ip, port);
    while (!stop && (t_end == 0 || now_s() < t_end)) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 200);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (t0 == 0) { /* the window starts with the first connection */
                        t0 = now_s(), c0 = cpu_ms();
                        t_end = secs > 0 ? t0 + secs : 0;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct sconn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->ssl = SSL_new(ctx);
                    SSL_set_fd(c->ssl, fd);
                    SSL_set_accept_state(c->ssl);
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            struct sconn *c = evs[i].data.ptr;
            ERR_clear_error();
            int r = SSL_do_handshake(c->ssl);
            if (r == 1) {
                done++;
                resumed += SSL_session_reused(c->ssl) != 0;
                /* close_notify, so the client keeps its tickets resumable */
                SSL_shutdown(c->ssl);
                sconn_end(c); /* closing removes it from the epoll set */
            } else {
                int e = SSL_get_error(c->ssl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    failed++;
                    sconn_end(c);
                }
            }
        }
    }
    double wall = now_s() - t0, cpu = cpu_ms() - c0;
    printf("{\"handshakes\":%llu,\"resumed\":%llu,\"failed\":%llu,\"seconds\":%.3f,"
           "\"handshakes_per_s\":%.1f,\"server_cpu_ms_per_handshake\":%.4f,"
           "\"server_cpu_pct\":%.1f}\n",
           (unsigned long long)done, (unsigned long long)resumed, (unsigned long long)failed,
           wall, done / (wall > 0 ? wall : 1), done ? cpu / (double)done : 0,
           wall > 0 ? cpu / 10.0 / wall : 0);
    fprintf(stderr,
            "myna-bench-tls: %llu handshakes (%llu resumed, %llu failed) in %.2f s: %.0f/s, "
            "server CPU %.3f ms per handshake (%.0f%% of one core)\n",
            (unsigned long long)done, (unsigned long long)resumed, (unsigned long long)failed,
            wall, done / (wall > 0 ? wall : 1), done ? cpu / (double)done : 0,
            wall > 0 ? cpu / 10.0 / wall : 0);
    SSL_CTX_free(ctx);
    return 0;
}

/* ---- connect ---- */

struct cconn {
    int fd;
    SSL *ssl;
    unsigned slot;
    bool done;   /* handshake complete; reading the tickets until the server closes */
};

static SSL_SESSION **tickets;

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct cconn *c = SSL_get_app_data(ssl);
    if (!c || !tickets)
        return 0;
    if (tickets[c->slot])
        SSL_SESSION_free(tickets[c->slot]);
    tickets[c->slot] = sess;
    return 1;
}

static struct cconn *cconn_open(SSL_CTX *ctx, int ep, const struct sockaddr_in *dst,
                                const char *host, unsigned slot)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)dst, sizeof *dst) < 0 && errno != EINPROGRESS)
        die("connect failed");
    struct cconn *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->slot = slot;
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, fd);
    SSL_set_app_data(c->ssl, c);
    SSL_set_tlsext_host_name(c->ssl, host);
    SSL_set1_host(c->ssl, host);
    if (tickets && tickets[slot])
        SSL_set_session(c->ssl, tickets[slot]);
    SSL_set_connect_state(c->ssl);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return c;
}

static int connect_loop(const char *ip, int port, const char *host, const char *cafile,
                        unsigned total, unsigned conc, bool resume)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
        die("cannot load the CA file");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (resume) {
        tickets = calloc(conc, sizeof *tickets);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    struct sockaddr_in dst = addr_of(ip, port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    unsigned opened = 0, finished = 0, failed = 0, resumed = 0, active = 0;
    double t0 = now_s(), c0 = cpu_ms();
    struct epoll_event evs[MAX_EVENTS];
    for (unsigned s = 0; s < conc && opened < total; s++, opened++, active++)
        cconn_open(ctx, ep, &dst, host, s);
    while (active > 0 && now_s() - t0 < 600 && failed < 100) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
        for (int i = 0; i < n; i++) {
            struct cconn *c = evs[i].data.ptr;
            bool end = false;
            ERR_clear_error();
            if (!c->done) {
                int r = SSL_do_handshake(c->ssl);
                if (r == 1) {
                    c->done = true;
                    resumed += SSL_session_reused(c->ssl) != 0;
                } else {
                    int e = SSL_get_error(c->ssl, r);
                    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                        failed++, end = true;
                }
            }
            if (c->done) {
                /* The server closes after the handshake: read its tickets until then. */
                char buf[256];
                int r = SSL_read(c->ssl, buf, sizeof buf);
                int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_NONE)
                    finished++, end = true;
            }
            if (end) {
                unsigned slot = c->slot;
                if (c->done)
                    SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
                SSL_free(c->ssl);
                close(c->fd);
                free(c);
                active--;
                if (opened < total) {
                    cconn_open(ctx, ep, &dst, host, slot);
                    opened++, active++;
                }
            }
        }
    }
    double wall = now_s() - t0, cpu = cpu_ms() - c0;
    fprintf(stderr,
            "myna-bench-tls: client %u handshakes (%u resumed, %u failed) in %.2f s: %.0f/s, "
            "client CPU %.3f ms per handshake\n",
            finished, resumed, failed, wall, finished / (wall > 0 ? wall : 1),
            finished ? cpu / finished : 0);
    SSL_CTX_free(ctx);
    return failed ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: myna-bench-tls serve IP PORT CERT KEY [SECONDS [TICKETS (1, as mynad)]]\n"
            "       myna-bench-tls connect IP PORT HOST CAFILE COUNT CONCURRENCY [resume]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2], atoi(argv[3]), argv[4], argv[5], argc > 6 ? atof(argv[6]) : 0,
                     argc > 7 ? atoi(argv[7]) : 1);
    if (argc >= 8 && strcmp(argv[1], "connect") == 0)
        return connect_loop(argv[2], atoi(argv[3]), argv[4], argv[5], (unsigned)atoi(argv[6]),
                            (unsigned)atoi(argv[7]),
                            argc > 8 && strcmp(argv[8], "resume") == 0);
    usage();
    return 2;
}
