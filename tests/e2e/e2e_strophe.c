/* tests/e2e/e2e_strophe.c — helpers shared by the libstrophe e2e programs (see header).
 * One process-wide context; connections verify the certificate (CA file + JID domain);
 * every wait is bounded so a silent server fails the test instead of hanging it. */
#include "e2e_strophe.h"

#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct e2e_env e2e;
xmpp_ctx_t *e2e_ctx;
static bool trace;
static bool sasl_not_authorized; /* set by the logger when a SASL failure arrives */

void e2e_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    exit(1);
}

void e2e_pass(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("PASS: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        e2e_fail("environment variable %s not set (run me through tests/e2e/harness.py)", name);
    return v;
}

static void logger(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
    (void)ud;
    /* libstrophe logs every received chunk as "RECV: ..." at debug level. */
    if (strncmp(msg, "RECV: ", 6) == 0 && strstr(msg, "<failure") &&
        strstr(msg, "not-authorized"))
        sasl_not_authorized = true;
    if (trace || level >= XMPP_LEVEL_ERROR)
        fprintf(stdout, "# strophe %s: %s\n", area, msg);
}

static xmpp_log_t log_hook = {logger, NULL};

void e2e_init(void)
{
    /* A write to a socket the server already closed must be an error, not a kill. */
    signal(SIGPIPE, SIG_IGN);
    e2e.ip = need_env("E2E_IP");
    e2e.domain = need_env("E2E_DOMAIN");
    e2e.cafile = need_env("E2E_CAFILE");
    e2e.starttls_port = (unsigned short)atoi(need_env("E2E_STARTTLS_PORT"));
    const char *d = getenv("E2E_DIRECT_PORT");
    e2e.direct_port = d && *d ? (unsigned short)atoi(d) : 0;
    char users[512];
    snprintf(users, sizeof users, "%s", need_env("E2E_USERS"));
    char *save = NULL;
    int i = 0;
    for (char *tok = strtok_r(users, " ", &save); tok && i < 3;
         tok = strtok_r(NULL, " ", &save), i++) {
        char *colon = strchr(tok, ':');
        if (!colon)
            e2e_fail("bad E2E_USERS entry %s", tok);
        *colon = '\0';
        snprintf(e2e.user[i], sizeof e2e.user[i], "%s", tok);
        snprintf(e2e.pass[i], sizeof e2e.pass[i], "%s", colon + 1);
    }
    if (i < 3)
        e2e_fail("E2E_USERS needs three accounts");
    trace = getenv("E2E_TRACE") != NULL;
    xmpp_initialize();
    e2e_ctx = xmpp_ctx_new(NULL, &log_hook);
    if (!e2e_ctx)
        e2e_fail("xmpp_ctx_new failed");
}

void e2e_shutdown(void)
{
    xmpp_ctx_free(e2e_ctx);
    xmpp_shutdown();
}

const char *e2e_bare(int u)
{
    static char buf[3][160];
    snprintf(buf[u], sizeof buf[u], "%s@%s", e2e.user[u], e2e.domain);
    return buf[u];
}

static int certfail(const xmpp_tlscert_t *cert, const char *errormsg)
{
    (void)cert;
    printf("# certificate rejected: %s\n", errormsg);
    return 0; /* never accept an unverified certificate */
}

static void conn_handler(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                         xmpp_stream_error_t *se, void *ud)
{
    struct e2e_client *c = ud;
    (void)conn;
    if (event == XMPP_CONN_CONNECT) {
        c->connected = true;
        return;
    }
    if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL) {
        c->disconnected = true;
        c->error = error;
        if (se) {
            c->had_stream_error = true;
            c->stream_error = se->type;
        }
        c->saw_not_authorized = sasl_not_authorized;
    }
}

void e2e_client_connect(struct e2e_client *c, const char *name, int u, const char *resource,
                        const char *password, enum e2e_tls tls)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->conn = xmpp_conn_new(e2e_ctx);
    char jid[256];
    snprintf(jid, sizeof jid, "%s@%s/%s", e2e.user[u], e2e.domain, resource);
    xmpp_conn_set_jid(c->conn, jid);
    xmpp_conn_set_pass(c->conn, password ? password : e2e.pass[u]);
    xmpp_conn_set_cafile(c->conn, e2e.cafile);
    xmpp_conn_set_certfail_handler(c->conn, certfail);
    long flags = tls == E2E_DIRECT ? XMPP_CONN_FLAG_LEGACY_SSL : XMPP_CONN_FLAG_MANDATORY_TLS;
    if (xmpp_conn_set_flags(c->conn, flags) != 0)
        e2e_fail("%s: xmpp_conn_set_flags", name);
    unsigned short port = tls == E2E_DIRECT ? e2e.direct_port : e2e.starttls_port;
    if (port == 0)
        e2e_fail("%s: the server has no %s listener", name,
                 tls == E2E_DIRECT ? "direct TLS" : "STARTTLS");
    sasl_not_authorized = false;
    /* Connect to the IP, but verify the certificate and address the stream to the domain. */
    if (xmpp_connect_client(c->conn, e2e.ip, port, conn_handler, c) != XMPP_EOK)
        e2e_fail("%s: xmpp_connect_client failed", name);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void e2e_wait(const bool *flag, double seconds, const char *what)
{
    double end = now() + seconds;
    while (!*flag) {
        if (now() > end)
            e2e_fail("timed out after %.0f s waiting for %s", seconds, what);
        xmpp_run_once(e2e_ctx, 20);
    }
}

void e2e_spin(double seconds)
{
    double end = now() + seconds;
    while (now() < end)
        xmpp_run_once(e2e_ctx, 20);
}

void e2e_client_close(struct e2e_client *c)
{
    if (!c->conn)
        return;
    if (!c->disconnected) {
        xmpp_disconnect(c->conn);
        e2e_wait(&c->disconnected, 10, "disconnect");
    }
    xmpp_conn_release(c->conn);
    c->conn = NULL;
}

struct iq_wait {
    bool done;
    xmpp_stanza_t *reply;
};

static int iq_reply(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct iq_wait *w = ud;
    (void)conn;
    const char *type = xmpp_stanza_get_type(st);
    if (!type || (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
        return 1; /* keep waiting: not a reply */
    w->reply = xmpp_stanza_copy(st);
    w->done = true;
    return 0;
}

xmpp_stanza_t *e2e_iq(struct e2e_client *c, const char *type, const char *to,
                      const char *payload)
{
    static unsigned n;
    char id[64];
    snprintf(id, sizeof id, "%s-iq-%u", c->name, ++n);
    xmpp_stanza_t *iq = xmpp_iq_new(e2e_ctx, type, id);
    if (to)
        xmpp_stanza_set_to(iq, to);
    if (payload) {
        xmpp_stanza_t *child = xmpp_stanza_new_from_string(e2e_ctx, payload);
        if (!child)
            e2e_fail("bad payload XML in test: %s", payload);
        xmpp_stanza_add_child(iq, child);
        xmpp_stanza_release(child);
    }
    struct iq_wait w = {false, NULL};
    xmpp_id_handler_add(c->conn, iq_reply, id, &w);
    xmpp_send(c->conn, iq);
    xmpp_stanza_release(iq);
    char what[128];
    snprintf(what, sizeof what, "reply to iq %s (%s)", id, payload ? payload : "");
    e2e_wait(&w.done, 10, what);
    return w.reply;
}

const char *e2e_error_condition(xmpp_stanza_t *st)
{
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    if (!err)
        return NULL;
    for (xmpp_stanza_t *ch = xmpp_stanza_get_children(err); ch; ch = xmpp_stanza_get_next(ch)) {
        const char *ns = xmpp_stanza_get_ns(ch);
        if (xmpp_stanza_is_tag(ch) && ns &&
            strcmp(ns, "urn:ietf:params:xml:ns:xmpp-stanzas") == 0 &&
            strcmp(xmpp_stanza_get_name(ch), "text") != 0)
            return xmpp_stanza_get_name(ch);
    }
    return NULL;
}
