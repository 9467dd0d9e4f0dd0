/* tests/e2e/e2e_strophe.h — shared helpers for the libstrophe end-to-end test programs.
 * Reads the server facts the harness exports (E2E_*), makes client connections that verify
 * the server certificate against the test CA and the test domain while connecting to the IP,
 * and runs the event loop until a condition holds or a deadline passes. A failed check
 * prints "FAIL: ..." and exits 1; nothing here outlives the process. */
#ifndef MYNA_E2E_STROPHE_H
#define MYNA_E2E_STROPHE_H

#include <stdbool.h>
#include <strophe.h>

enum e2e_tls { E2E_STARTTLS, E2E_DIRECT };

struct e2e_env {
    const char *ip;
    const char *domain;
    const char *cafile;
    unsigned short starttls_port;
    unsigned short direct_port; /* 0 when the server has no direct TLS listener */
    char user[3][64];
    char pass[3][64];
};

/* One client connection and what happened to it. */
struct e2e_client {
    const char *name;           /* for messages, e.g. "alice" */
    xmpp_conn_t *conn;
    bool connected;             /* XMPP_CONN_CONNECT seen (TLS + SASL + bind done) */
    bool disconnected;          /* XMPP_CONN_DISCONNECT or XMPP_CONN_FAIL seen */
    int error;                  /* error passed with the disconnect */
    bool had_stream_error;
    xmpp_error_type_t stream_error; /* valid when had_stream_error */
    bool saw_not_authorized;    /* a received SASL <failure> held <not-authorized/> */
};

extern struct e2e_env e2e;
extern xmpp_ctx_t *e2e_ctx;

/* Reads E2E_* and creates e2e_ctx with a logger that records received SASL failures.
 * Verbose libstrophe logs when E2E_TRACE is set. */
void e2e_init(void);
void e2e_shutdown(void);

_Noreturn void e2e_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void e2e_pass(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Starts connecting user index `u` (0..2) with `resource` and the given password (NULL =
 * the right one). Certificate checks are mandatory; TLS is mandatory. */
void e2e_client_connect(struct e2e_client *c, const char *name, int u, const char *resource,
                        const char *password, enum e2e_tls tls);
/* Runs the loop until *flag is true; fails with `what` after `seconds`. */
void e2e_wait(const bool *flag, double seconds, const char *what);
/* Runs the loop for about `seconds` (to let stray stanzas arrive). */
void e2e_spin(double seconds);
/* Disconnects and waits for the disconnect event; releases the connection. */
void e2e_client_close(struct e2e_client *c);

/* Sends an iq and waits for its result/error; the returned stanza is a copy the caller
 * releases with xmpp_stanza_release(). `payload` is XML text (may be NULL). */
xmpp_stanza_t *e2e_iq(struct e2e_client *c, const char *type, const char *to,
                      const char *payload);
/* The first child element's name of <error/> in an error stanza, or NULL. */
const char *e2e_error_condition(xmpp_stanza_t *st);
/* user@domain for user index u (static buffer per index). */
const char *e2e_bare(int u);

#endif
