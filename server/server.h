/* server/server.h — the server context: everything mynad's event loop owns, reached
 * through one explicit pointer (no globals). One `struct server` per process for now; the
 * per-core design (one loop per core, users and rooms homed on a loop by hash; see
 * docs/architecture.md) will give each loop its own. */
#ifndef MYNA_SERVER_H
#define MYNA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"
#include "server/base/config.h"

struct loop;
struct jobs;
struct tls;
struct hashmap;
struct host;
struct listener;
struct user_job;
struct http_route;
struct http_conn;
struct bosh;

/* Counters for /metrics (web/metrics.c), kept by the layers that see the events. */
enum stat_kind { STAT_MESSAGE, STAT_PRESENCE, STAT_IQ, STAT__KINDS };
#define STAT_COMMIT_BUCKETS 8 /* commit latency: <= 0.5, 1, 2, 5, 10, 25, 100 ms, more */
struct server_stats {
    uint64_t logins, login_failures;           /* SASL, every kind of stream */
    uint64_t stanzas_in[STAT__KINDS];          /* from clients */
    uint64_t stanzas_out[STAT__KINDS];         /* to clients */
    uint64_t commit_count;                     /* storage commits timed */
    double commit_seconds;                     /* their total time */
    uint64_t commit_le[STAT_COMMIT_BUCKETS];   /* per bucket (not cumulative) */
};
struct sm_tables;
struct resolver;

struct server {
    struct config cfg;
    char *config_path;
    struct loop *loop;
    struct jobs *jobs;
    struct tls *tls;
    struct myna_store_env *store;
    struct myna_store *accounts;   /* the "accounts" table */
    struct host **hosts;           /* one per configured virtual host */
    size_t nhosts;
    struct hashmap *host_map;      /* domain -> struct host */
    struct hashmap *subdomains;    /* claimed sub-domain -> struct subdomain */
    struct hashmap *users;         /* bare JID -> struct user (users with sessions) */
    struct hashmap *sessions;      /* full JID -> struct myna_session */
    struct hashmap *session_ids;   /* decimal id -> struct myna_session */
    struct hashmap *pending_iqs;   /* id -> struct iq_request (server-originated iqs) */
    struct hashmap *authfail;      /* "ip:..." / "user:..." -> struct authfail */
    struct hashmap *preauth;       /* "ip:..." -> unauthenticated c2s count (preauth.c) */
    size_t npreauth;               /* unauthenticated c2s connections */
    struct hashmap *registrations; /* "ip:..." -> loop ms of its last registration */
    struct hashmap *module_defs;   /* name -> struct module_def (loaded shared objects) */
    struct listener *listeners;
    size_t nlisteners;
    uint64_t next_conn_id;
    uint64_t next_session_id;
    uint64_t next_iq_id;
    uint64_t next_timer_id;        /* module timer ids */
    size_t nconns;                 /* open connections */
    size_t nsessions;              /* bound c2s sessions */
    size_t sweep_shrunk;           /* parsers shrunk since the heap was last trimmed */
    bool stopping;
    unsigned shutdown_waited;      /* ms waited for connections to drain */
    int signal_fd;
    int control_fd;                /* mynactl's unix socket, or -1 */
    struct retired *retired;       /* old configs a removed host still uses (control.c) */
    struct pie_conn *pie_conns;    /* control connections importing or exporting */
    bool batch;                    /* mynad --batch: no listeners, one control connection */
    bool batch_ok;                 /* its import/export succeeded (the exit status) */
    bool migration_dry_run;        /* a dry-run import slice is running */
    /* Session data slots (myna_session_slot): destructor and owner per slot index. */
    struct slot_def *session_slots;
    size_t nsession_slots;
    struct slot_def *user_slots;
    size_t nuser_slots;
    struct stream *streams;        /* every stream with a transport (stream.c) */
    struct conn *flush_list;       /* connections with output held for the next flush */
    struct hashmap *metrics;       /* "module.counter" -> long long (myna_metric_add) */
    struct hashmap *components;    /* component domain -> authenticated struct component */
    uint64_t started_ms;           /* loop clock when the server started (uptime) */
    struct user_job *user_jobs;    /* account derivations on the job pool (users.c) */
    struct http_route *http_routes;  /* path prefix -> handler (net/http.c) */
    struct http_conn *http_conns;    /* HTTP connections not taken over (net/http.c) */
    struct hashmap *http_addrs;      /* "ip:..." -> struct http_addr (net/http.c) */
    struct bosh *bosh_sessions;      /* BOSH sessions (net/bosh.c) */
    struct hashmap *bosh_sids;       /* sid -> struct bosh */
    unsigned char upload_secret[32]; /* signs upload slots (web/upload.c, kept on disk) */
    bool upload_secret_ok;
    uint64_t upload_swept;           /* loop ms of the last expiry sweep */
    struct hashmap *upload_holds;    /* owner -> slots granted, not yet stored (web/upload.c) */
    struct jobs *upload_jobs;        /* a worker for uploads' fsync and rename (web/upload.c) */
    struct upload_put *upload_syncing; /* PUTs whose file that worker is making durable */
    struct server_stats stats;
    struct sm_tables *sm;          /* XEP-0198 resumption: ids, held sessions (sm.c) */
    struct hashmap *s2s_routes;    /* "local remote" -> struct s2s_route (s2s.c) */
    struct resolver *resolver;     /* DNS for s2s (net/resolve.c) */
    struct hashmap *s2s_bidi;      /* "local remote" -> incoming struct stream (XEP-0288) */
    unsigned char dialback_secret[32]; /* XEP-0220 keys (s2s.c), kept in the data dir */
    char readbuf[65536];           /* shared by all connections (loop thread only) */
};

/* Finds a host by domain (prepared), or NULL. */
struct host *server_host(struct server *srv, const char *domain);

#endif
