/* loadgen.h: shared declarations of myna-bench, the XMPP load generator.
 * One process, one epoll loop, many client connections (struct lg_conn) kept in one array
 * indexed by connection number; the scenario (loadgen.c) drives them through callbacks.
 * Login follows RFC 6120 §5 (STARTTLS), §6 (SASL: RFC 4616 PLAIN, RFC 5802 SCRAM-SHA-1),
 * §7 (resource binding), optionally XEP-0198 with resumption (§5: a reopened connection
 * resumes its session instead of binding). Benchmarks only: nothing here runs in `make check`.
 */
#ifndef MYNA_BENCH_LOADGEN_H
#define MYNA_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

enum lg_tls_mode { LG_TLS_NONE, LG_TLS_STARTTLS, LG_TLS_DIRECT };
enum lg_sasl_mode { LG_SASL_PLAIN, LG_SASL_SCRAM, LG_SASL_AUTO };

/* Login progress of one connection; each state waits for one server element. */
enum lg_state {
    LG_S_FREE = 0,    /* slot unused */
    LG_S_CONNECTING,  /* TCP connect in progress */
    LG_S_TLS_DIRECT,  /* XEP-0368 handshake before any stream */
    LG_S_FEATURES1,   /* first <stream:features/> (expect <starttls/>) */
    LG_S_PROCEED,     /* sent <starttls/>, waiting <proceed/> */
    LG_S_TLS,         /* STARTTLS handshake in progress */
    LG_S_FEATURES2,   /* features with SASL mechanisms */
    LG_S_AUTH,        /* waiting <challenge/> or <success/> */
    LG_S_FEATURES3,   /* features after SASL (bind) */
    LG_S_BIND,        /* waiting bind result */
    LG_S_ROSTER,      /* waiting roster result (optional) */
    LG_S_ENABLE,      /* sent XEP-0198 <enable resume='true'/>, waiting <enabled/> */
    LG_S_RESUME,      /* sent <resume/> instead of binding, waiting <resumed/> */
    LG_S_READY,       /* bound (and presence sent if asked) */
    LG_S_CLOSED,      /* failed or closed; slot may be reused */
};

struct lg_scram;

/* One client connection. Buffers are NULL while empty to keep idle sessions cheap. */
struct lg_conn {
    int fd;                 /* socket, -1 when closed */
    uint32_t user;          /* account number: localpart is prefix + user */
    uint8_t state;          /* enum lg_state */
    uint8_t depth;          /* scanner depth at the start of in[] (0 or 1) */
    uint8_t want_write;     /* SSL_write/handshake wants the socket writable */
    uint8_t tls_read_on_write; /* a write wants a read first (rare with TLS 1.3) */
    SSL *ssl;               /* TLS session once STARTTLS/direct TLS began */
    char *in;               /* unparsed bytes (partial element); NULL if none */
    uint32_t in_len, in_cap;
    char *out;              /* bytes not yet accepted by the socket/TLS; NULL if none */
    uint32_t out_len, out_cap;
    struct lg_scram *scram; /* SCRAM exchange state during auth only */
    int64_t t_start;        /* ns when connect() was issued */
    int64_t t_ready;        /* ns when login finished */
    uint32_t peer;          /* scenario data: partner connection, room flag, ... */
    uint32_t recv;          /* scenario data: messages received */
    char *smid;             /* XEP-0198 resumption id; kept across lg_close/lg_open */
    uint32_t sm_in;         /* stanzas received since <enable/> (our h) */
    uint8_t resumed;        /* the last login was a resume */
};

struct lg_config {
    const char *host;       /* server IPv4 address (loopback only) */
    int port;
    const char *domain;
    const char *prefix;     /* account localpart prefix, e.g. "u" for u1, u2, ... */
    const char *password;
    const char *resource;
    const char *src_base;   /* first source address, e.g. 127.0.0.2 */
    int src_count;          /* source addresses src_base .. src_base+src_count-1 */
    enum lg_tls_mode tls;
    enum lg_sasl_mode sasl;
    const char *cafile;     /* verify the server certificate against this CA; NULL = no check */
    bool roster;            /* fetch the roster after bind */
    bool presence;          /* send initial presence after bind (and roster) */
    bool sm;                /* enable XEP-0198 with resumption after bind (and roster); a
                             * reopened connection with a resumption id resumes */
    bool resume;            /* keep each connection's TLS session and offer it next time */
    double login_timeout;   /* seconds */
    int max_pending;        /* logins in progress at once */
    const char *scram_cache;/* file of salted passwords kept between runs */
    int server_pid;         /* sample this process's CPU and RSS; 0 = none */
    /* Federation (chat across two servers): connections from index `peer_from` on log in
     * to peer_host/peer_domain instead; peer_pid is sampled with server_pid. */
    const char *peer_host, *peer_domain;
    uint32_t peer_from;
    int peer_pid;
};


/* Callbacks the scenario gives the connection layer. elem points to one complete
 * top-level element (not NUL-terminated), valid only during the call. */
struct lg_callbacks {
    void (*ready)(struct lg_conn *c);
    void (*stanza)(struct lg_conn *c, const char *elem, size_t len);
    void (*closed)(struct lg_conn *c, const char *why);
};

/* Process-wide generator state; one instance, passed explicitly. */
struct lg {
    struct lg_config cfg;
    struct lg_callbacks cb;
    int epfd;
    struct lg_conn *conns;  /* cfg-independent capacity `cap` */
    uint32_t cap;
    SSL_CTX *ssl_ctx;
    uint32_t next_src;      /* round-robin over source addresses */
    uint32_t src_addr;      /* src_base in host order */
    /* counters */
    uint64_t opened, ready, failed, closed_later;
    uint32_t pending;       /* logins in progress */
    char first_error[160];  /* first failure reason, for the report */
    SSL_SESSION **sessions; /* per connection slot, with cfg.resume: last ticket received */
    uint64_t resumed;       /* handshakes that resumed a session */
};

/* The server address and domain of connection idx. */
const char *lg_host(const struct lg *g, uint32_t idx);
const char *lg_domain(const struct lg *g, uint32_t idx);

/* lg_conn.c */
int64_t lg_now_ns(void);
int lg_init(struct lg *g, uint32_t cap);
void lg_free(struct lg *g);
/* Opens connection slot idx for account `user`; false if the socket could not be made. */
bool lg_open(struct lg *g, uint32_t idx, uint32_t user);
/* Queues bytes (already serialized XML) on a ready connection. */
void lg_send(struct lg *g, struct lg_conn *c, const char *data, size_t len);
void lg_close(struct lg *g, struct lg_conn *c, const char *why);
/* Runs the event loop for at most timeout_ms (0 = poll once). */
void lg_poll(struct lg *g, int timeout_ms);
/* Fails logins older than the login timeout. */
void lg_check_timeouts(struct lg *g);
void lg_scram_cache_save(const char *path);
void lg_scram_cache_load(const char *path);

/* Helpers over one element's text. */
bool lg_attr(const char *elem, size_t len, const char *name, const char **val, size_t *vlen);
const char *lg_find(const char *hay, size_t len, const char *needle);
bool lg_is(const char *elem, size_t len, const char *tagname);

/* lg_soak.c: the soak scenario (rates are per second for the whole process). */
struct lg_soak_opts {
    uint32_t connections, first;
    double rate;            /* logins per second during the ramp */
    double duration;        /* seconds of mixed traffic */
    double msg_rate, offline_rate, presence_rate, roster_rate;
    double reconnect_rate;  /* clean: stream close, full login */
    double fin_rate, rst_rate; /* abrupt (FIN / RST), then a full login */
    double resume_rate;     /* abrupt (FIN or RST), then an XEP-0198 resume */
    double ack_pct;         /* percent of chat messages followed by <r/> */
    double down_min, down_max; /* seconds offline after a disconnect */
    double settle;          /* at most this long for the last deliveries */
    double hold_end;        /* seconds sessions stay up after the verdict */
    const char *stats_file;
    uint64_t seed;
};
int lg_soak_run(struct lg *g, const struct lg_soak_opts *o);

/* lg_hist.c: log-linear latency histogram in microseconds (≈1.5% resolution). */
#define LG_HIST_BUCKETS 2432
struct lg_hist {
    uint64_t n, sum_us, max_us, min_us;
    uint64_t b[LG_HIST_BUCKETS];
};
void lg_hist_reset(struct lg_hist *h);
void lg_hist_add(struct lg_hist *h, uint64_t us);
uint64_t lg_hist_pct(const struct lg_hist *h, double pct);

#endif
