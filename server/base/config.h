/* server/base/config.h — the server configuration, read with libconfig (see contrib/myna.conf).
 * config_load() validates everything up front and reports the first problem as
 * "FILE:LINE: message"; the running server never sees an invalid config. The struct owns
 * all its strings; config_free() releases them. Relative paths are made absolute against
 * the config file's directory. */
#ifndef MYNA_CONFIG_H
#define MYNA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"

enum listen_type { LISTEN_C2S, LISTEN_S2S, LISTEN_COMPONENT, LISTEN_HTTP };
enum listen_tls { TLS_STARTTLS, TLS_DIRECT, TLS_NONE };
/* Who protects TLS 1.3 records after the handshake: server/net/tlsrec.c, or OpenSSL itself
 * (keeps its ~12 KiB SSL object per connection; the reference implementation). */
enum tls_record_layer { TLS_RECORDS_COMPACT, TLS_RECORDS_OPENSSL };

struct config_listen {
    enum listen_type type;
    enum listen_tls tls;
    char *address; /* "0.0.0.0", "::", "127.0.0.1" ... */
    int port;
    enum tls_record_layer record_layer; /* its own setting, or the top-level one */
    bool insecure; /* tls = "none" on a c2s listener: allowed on loopback only with it */
    bool web;      /* http: serves WebSocket, BOSH, host-meta, upload (default true) */
    bool metrics;  /* http: serves /metrics and /health (default false) */
    char *sm_location;  /* XEP-0198 §5 'location' given to clients of this listener, or NULL */
};

struct config_host {
    char *domain;      /* nameprep'd */
    char *certificate; /* absolute path */
    char *key;         /* absolute path */
    char **modules;    /* NULL-terminated; the host's own list or a copy of the global one */
    char *sm_location; /* XEP-0198 §5 'location' when the listener names none, or NULL */
};

/* An external component (XEP-0114): its domain and shared secret. */
struct config_component {
    char *domain; /* nameprep'd */
    char *secret;
};

/* An address range (registration_allow): `bits` leading bits of `addr` must match. */
struct config_range {
    int family; /* 4 or 6 */
    unsigned char addr[16];
    unsigned bits;
};

/* The "http" group: BOSH (XEP-0124/0206) and CORS on the HTTP listeners. */
struct config_http {
    bool bosh;               /* /http-bind served (default true) */
    unsigned bosh_max_wait;  /* seconds a request may be held (the client may ask less) */
    unsigned bosh_max_hold;  /* requests held at once (the client may ask fewer) */
    unsigned bosh_inactivity; /* seconds without a request before a session ends */
    unsigned bosh_polling;   /* shortest seconds between empty polls (hold = 0) */
    unsigned bosh_max_pause; /* longest pause a client may ask for (XEP-0124 §12); 0 = none */
    char *cors_origin;       /* Access-Control-Allow-Origin, or NULL: no CORS headers */
    uint64_t upload_max_size; /* bytes of one HTTP upload (XEP-0363) */
    uint64_t upload_expire;   /* seconds an uploaded file is kept; 0 = for ever */
    char *external_url;      /* "https://chat.example.org[/prefix]" as clients reach the
                              * HTTP listener (behind a reverse proxy), no trailing '/';
                              * NULL: from each request's Host */
    /* Limits of every HTTP connection (net/http.c). */
    unsigned max_header_size;   /* bytes of request line and headers (431 past it) */
    uint64_t max_body_size;     /* bytes of a body outside /upload/ (413 past it) */
    unsigned request_timeout;   /* s to send a whole request (408; slowloris) */
    unsigned idle_timeout;      /* s a keep-alive connection may idle */
    unsigned rate_per_connection; /* requests/s per connection over 10 s (429); 0 = any */
    unsigned rate_per_address;  /* requests/s per address over 10 s (429); 0 = any */
    unsigned connections_per_address; /* open HTTP connections per address (503); 0 = any */
    char **websocket_origins;   /* browser origins allowed to open a WebSocket besides the
                                 * server's own ("*": any), NULL-terminated, or NULL */
    /* Reverse proxies whose X-Forwarded-For names the client (net/peeraddr.c); default
     * 127.0.0.0/8 and ::1. */
    struct config_range *trusted_proxies;
    size_t ntrusted_proxies;
};

/* Server-to-server (RFC 6120 s2s): how a remote domain is authenticated. */
enum s2s_policy {
    S2S_VERIFY,   /* a certificate that verifies for the domain (SASL EXTERNAL), required */
    S2S_DIALBACK, /* verified certificates preferred, Server Dialback (XEP-0220) allowed */
    S2S_DENY,     /* no federation with that domain, either way */
};

/* One remote domain's own settings: policy, and where it is (no DNS lookup then). */
struct config_s2s_domain {
    char *domain;      /* nameprep'd */
    enum s2s_policy policy;
    char *host;        /* address or name to connect to, or NULL (DNS SRV) */
    int port;          /* with host */
    bool direct_tls;   /* with host: XEP-0368 direct TLS instead of STARTTLS */
};

struct config_s2s {
    bool enabled;               /* false: remote domains get remote-server-not-found */
    bool bidi;                  /* XEP-0288 bidirectional streams, both ways */
    char *ca_file, *ca_path;    /* trust store; both NULL = the system's default */
    enum s2s_policy policy;     /* for domains not listed */
    struct config_s2s_domain *domains;
    size_t ndomains;
    unsigned connect_timeout;   /* s: one TCP connect */
    unsigned auth_timeout;      /* s: connection to authenticated stream, either way */
    unsigned idle_timeout;      /* s: an unused connection is closed */
    unsigned keepalive;         /* s: whitespace keepalive interval */
    unsigned retries;           /* further attempts after a failed one, before bouncing */
    unsigned retry_delay;       /* s: first delay between attempts (doubles each time) */
    unsigned max_incoming;      /* incoming s2s connections at once */
    unsigned max_incoming_per_ip;
    size_t stanza_size;         /* largest stanza a peer may send */
    uint64_t rate;              /* bytes/s a peer connection may send */
    char *dns_servers;          /* "ip:port,..." for c-ares; NULL = /etc/resolv.conf's */
    unsigned flood_grace;       /* s a peer may stay over `rate` before policy-violation
                                 * (0 = only paused, never closed) */
};

struct config {
    char *path;          /* absolute path of the file read */
    char *data_dir;      /* absolute */
    char *user;          /* account to run as when started as root, or NULL */
    size_t store_map_mb;
    enum myna_log_level log_level;
    bool log_syslog;
    struct config_host *hosts;
    size_t nhosts;
    struct config_listen *listens;
    size_t nlistens;
    struct config_component *components;
    size_t ncomponents;
    char *module_path;   /* directory of module .so files */
    size_t c2s_stanza_size;
    unsigned c2s_max_depth;
    unsigned c2s_max_attrs;
    unsigned auth_timeout;
    unsigned max_sessions;
    uint64_t c2s_rate;   /* bytes/s a client may send (token bucket) */
    uint64_t c2s_burst;  /* bucket size in bytes */
    /* Login throttling (server/stream/authfail.c): password failures from one address or
     * for one account before further attempts wait auth_lockout seconds; table bound. */
    unsigned auth_failures_address;
    unsigned auth_failures_account;
    unsigned auth_lockout;
    size_t auth_table_size;
    size_t preauth_stanza_size;      /* largest element before authentication */
    unsigned preauth_per_address;    /* unauthenticated connections from one address */
    unsigned preauth_total;          /* unauthenticated connections in all */
    unsigned sessions_per_account;   /* bound resources of one account */
    uint64_t component_rate;         /* bytes/s a component may send (and its bucket) */
    unsigned scram_iterations;       /* PBKDF2 rounds for new and changed passwords */
    unsigned sm_resume_timeout;   /* XEP-0198 resumption: seconds a broken session is held
                                   * (the most a client's 'max' gets); 0 = no resumption */
    unsigned sm_max_unacked;      /* stanzas a client may leave unacknowledged */
    size_t sm_max_unacked_bytes;  /* and their bytes */
    bool allow_registration;
    /* registration_allow: when there are ranges, only addresses in them may register;
     * when there are hosts, only on those hosts. Both empty: anyone, on every host. */
    struct config_range *reg_ranges;
    size_t nreg_ranges;
    char **reg_hosts;
    size_t nreg_hosts;
    unsigned registration_interval; /* seconds between registrations from one address */
    enum tls_record_layer tls_record_layer; /* default for listeners */
    struct config_http http;
    struct config_s2s s2s;
    void *cfg;           /* the libconfig tree, kept for module sections (config_t *) */
    void *strings;       /* texts made by config_module_get() for ints (private) */
};

/* Reads and validates `path`. On error returns -1 and writes "FILE:LINE: problem" into
 * err (errlen bytes). */
int config_load(const char *path, struct config *out, char *err, size_t errlen);
void config_free(struct config *c);
const struct config_host *config_find_host(const struct config *c, const char *domain);
/* The s2s settings of remote `domain`, or NULL when it has none of its own. */
const struct config_s2s_domain *config_s2s_domain(const struct config *c, const char *domain);
/* The policy for remote `domain`. */
enum s2s_policy config_s2s_policy(const struct config *c, const char *domain);

/* Module option access: validates the section named `module` against `opts` (unknown
 * keys, wrong types, out-of-range values are errors "FILE:LINE: ..."), returning 0/-1.
 * The section may be absent (all defaults). */
int config_module_check(const struct config *c, const char *module,
                        const struct myna_option *opts, char *err, size_t errlen);
/* Value of an option, as validated text for strings/ints/bools, or the default; NULL when
 * unset without default. Ints are returned via *ival, bools as 0/1 via *ival. */
int config_module_get(const struct config *c, const char *module,
                      const struct myna_option *opt, long long *ival, const char **sval);

#endif
