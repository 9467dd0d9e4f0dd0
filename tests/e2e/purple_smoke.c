/* tests/e2e/purple_smoke.c — Pidgin's libpurple (prpl-jabber) against the server.
 * libpurple runs on a GLib main loop with a throwaway user dir; the test CA is stored in
 * purple's x509 CA pool so the server certificate verifies without any prompt (a prompt
 * would fail the test: the request UI ops refuse everything). The account requires TLS,
 * connects to the IP with connect_server/port, logs in over STARTTLS, sends a chat message
 * to a libstrophe peer (bob) and receives bob's reply. Asserts body and sender both ways. */
#include <glib.h>
#include <purple.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_strophe.h"

#define UI_ID "myna-e2e"

static GMainLoop *loop;
static PurpleAccount *account;
static struct e2e_client bob;
static bool bob_got, purple_got, failed;
static char alice_jid[256];

static void fail_soon(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_soon(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    failed = true;
    g_main_loop_quit(loop);
}

/* --- the GLib event loop for libpurple ------------------------------------------------ */
struct io_closure {
    PurpleInputFunction fn;
    gpointer data;
};

static gboolean io_ready(GIOChannel *ch, GIOCondition cond, gpointer user)
{
    struct io_closure *c = user;
    PurpleInputCondition pc = 0;
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_PRI))
        pc |= PURPLE_INPUT_READ;
    if (cond & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
        pc |= PURPLE_INPUT_WRITE;
    c->fn(c->data, g_io_channel_unix_get_fd(ch), pc);
    return TRUE;
}

static guint io_add(gint fd, PurpleInputCondition cond, PurpleInputFunction fn, gpointer data)
{
    struct io_closure *c = g_new0(struct io_closure, 1);
    c->fn = fn;
    c->data = data;
    GIOCondition gc = 0;
    if (cond & PURPLE_INPUT_READ)
        gc |= G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_PRI;
    if (cond & PURPLE_INPUT_WRITE)
        gc |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
    GIOChannel *ch = g_io_channel_unix_new(fd);
    guint id = g_io_add_watch_full(ch, G_PRIORITY_DEFAULT, gc, io_ready, c, g_free);
    g_io_channel_unref(ch);
    return id;
}

static PurpleEventLoopUiOps loop_ops = {
    .timeout_add = g_timeout_add,
    .timeout_remove = g_source_remove,
    .input_add = io_add,
    .input_remove = g_source_remove,
    .timeout_add_seconds = g_timeout_add_seconds,
};

/* Any question libpurple would ask a user (e.g. "accept this certificate?") is a failure. */
static void *request_action(const char *title, const char *primary, const char *secondary,
                            int default_action, PurpleAccount *a, const char *who,
                            PurpleConversation *conv, void *user_data, size_t action_count,
                            va_list actions)
{
    fail_soon("libpurple asked the user: %s / %s / %s", title ? title : "",
              primary ? primary : "", secondary ? secondary : "");
    return NULL;
}

static PurpleRequestUiOps request_ops = {.request_action = request_action};

/* --- the libstrophe peer, polled from the GLib loop ----------------------------------- */
static gboolean strophe_tick(gpointer unused)
{
    xmpp_run_once(e2e_ctx, 1);
    return TRUE;
}

static int bob_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    const char *type = xmpp_stanza_get_type(st);
    if (type && strcmp(type, "error") == 0)
        return 1; /* a bounce of bob's own message once pidgin has gone is not a delivery */
    char *body = xmpp_message_get_body(st);
    if (!body)
        return 1;
    const char *from = xmpp_stanza_get_from(st);
    if (strcmp(body, "hello from pidgin") != 0)
        fail_soon("bob got body '%s'", body);
    else if (!from || strcmp(from, alice_jid) != 0)
        fail_soon("bob got from '%s', expected '%s'", from ? from : "", alice_jid);
    else {
        printf("PASS: libpurple -> libstrophe: body and from intact\n");
        bob_got = true;
        xmpp_stanza_t *m = xmpp_message_new(e2e_ctx, "chat", from, NULL);
        xmpp_message_set_body(m, "hi pidgin");
        xmpp_send(conn, m);
        xmpp_stanza_release(m);
    }
    xmpp_free(e2e_ctx, body);
    return 1;
}

/* --- libpurple signals ----------------------------------------------------------------- */
static void signed_on(PurpleConnection *gc, gpointer unused)
{
    printf("# libpurple signed on as %s\n", purple_account_get_username(account));
    PurpleConversation *conv = purple_conversation_new(PURPLE_CONV_TYPE_IM, account,
                                                       xmpp_conn_get_bound_jid(bob.conn));
    purple_conv_im_send(PURPLE_CONV_IM(conv), "hello from pidgin");
}

static void connection_error(PurpleConnection *gc, PurpleConnectionError err,
                             const gchar *desc, gpointer unused)
{
    fail_soon("libpurple connection error %d: %s", (int)err, desc ? desc : "");
}

static gboolean received_im(PurpleAccount *a, char **sender, char **message,
                            PurpleConversation *conv, PurpleMessageFlags *flags, gpointer u)
{
    char *plain = purple_markup_strip_html(*message);
    const char *want_from = xmpp_conn_get_bound_jid(bob.conn);
    if (strcmp(plain, "hi pidgin") != 0)
        fail_soon("libpurple got '%s'", plain);
    else if (strncmp(*sender, e2e_bare(1), strlen(e2e_bare(1))) != 0 &&
             strcmp(*sender, want_from) != 0)
        fail_soon("libpurple got a message from '%s', expected %s", *sender, want_from);
    else {
        printf("PASS: libstrophe -> libpurple: body and sender intact\n");
        purple_got = true;
        g_main_loop_quit(loop);
    }
    g_free(plain);
    return FALSE;
}

static gboolean overall_timeout(gpointer unused)
{
    fail_soon("timed out (bob got: %d, purple got: %d)", bob_got, purple_got);
    return FALSE;
}

static void trust_test_ca(void)
{
    PurpleCertificateScheme *x509 = purple_certificate_find_scheme("x509");
    PurpleCertificatePool *ca = purple_certificate_find_pool("x509", "ca");
    if (!x509 || !ca)
        e2e_fail("libpurple has no x509 scheme or CA pool (SSL plugin missing?)");
    PurpleCertificate *crt = purple_certificate_import(x509, e2e.cafile);
    if (!crt)
        e2e_fail("libpurple could not import %s", e2e.cafile);
    if (!purple_certificate_pool_store(ca, "myna-test-ca", crt))
        e2e_fail("libpurple refused to store the test CA");
    purple_certificate_destroy(crt);
}

int main(void)
{
    e2e_init();
    char userdir[512];
    snprintf(userdir, sizeof userdir, "%s/purple", getenv("E2E_TMPDIR") ? getenv("E2E_TMPDIR")
                                                                         : "/tmp");
    g_mkdir_with_parents(userdir, 0700);
    loop = g_main_loop_new(NULL, FALSE);

    purple_util_set_user_dir(userdir);
    purple_debug_set_enabled(getenv("E2E_TRACE") != NULL);
    purple_eventloop_set_ui_ops(&loop_ops);
    purple_request_set_ui_ops(&request_ops);
    if (!purple_core_init(UI_ID))
        e2e_fail("purple_core_init failed");
    purple_set_blist(purple_blist_new());
    trust_test_ca();

    e2e_client_connect(&bob, "bob", 1, "purple-peer", NULL, E2E_STARTTLS);
    xmpp_handler_add(bob.conn, bob_message, NULL, "message", NULL, NULL);
    e2e_wait(&bob.connected, 15, "bob (libstrophe) login");
    xmpp_stanza_t *p = xmpp_presence_new(e2e_ctx);
    xmpp_send(bob.conn, p);
    xmpp_stanza_release(p);

    snprintf(alice_jid, sizeof alice_jid, "%s/pidgin", e2e_bare(0));
    account = purple_account_new(alice_jid, "prpl-jabber");
    purple_account_set_password(account, e2e.pass[0]);
    purple_account_set_string(account, "connection_security", "require_tls");
    purple_account_set_string(account, "connect_server", e2e.ip);
    purple_account_set_int(account, "port", e2e.starttls_port);
    purple_accounts_add(account);

    static int handle;
    purple_signal_connect(purple_connections_get_handle(), "signed-on", &handle,
                          PURPLE_CALLBACK(signed_on), NULL);
    purple_signal_connect(purple_connections_get_handle(), "connection-error", &handle,
                          PURPLE_CALLBACK(connection_error), NULL);
    purple_signal_connect(purple_conversations_get_handle(), "receiving-im-msg", &handle,
                          PURPLE_CALLBACK(received_im), NULL);
    purple_account_set_enabled(account, UI_ID, TRUE);
    PurpleSavedStatus *st = purple_savedstatus_new(NULL, PURPLE_STATUS_AVAILABLE);
    purple_savedstatus_activate(st);

    g_timeout_add(5, strophe_tick, NULL);
    g_timeout_add_seconds(40, overall_timeout, NULL);
    g_main_loop_run(loop);

    purple_account_set_enabled(account, UI_ID, FALSE);
    e2e_client_close(&bob);
    e2e_shutdown();
    return failed || !bob_got || !purple_got ? 1 : 0;
}
