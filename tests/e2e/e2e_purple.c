/* tests/e2e/e2e_purple.c — see e2e_purple.h. */
#include "e2e_purple.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_strophe.h"

GMainLoop *e2e_purple_loop;
bool e2e_purple_failed;

void e2e_purple_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    e2e_purple_failed = true;
    g_main_loop_quit(e2e_purple_loop);
}

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

static void *request_action(const char *title, const char *primary, const char *secondary,
                            int default_action, PurpleAccount *a, const char *who,
                            PurpleConversation *conv, void *user_data, size_t action_count,
                            va_list actions)
{
    e2e_purple_fail("libpurple asked the user: %s / %s / %s", title ? title : "",
                    primary ? primary : "", secondary ? secondary : "");
    return NULL;
}

static PurpleRequestUiOps request_ops = {.request_action = request_action};

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

void e2e_purple_init(const char *ui_id)
{
    char userdir[512];
    snprintf(userdir, sizeof userdir, "%s/purple",
             getenv("E2E_TMPDIR") ? getenv("E2E_TMPDIR") : "/tmp");
    g_mkdir_with_parents(userdir, 0700);
    e2e_purple_loop = g_main_loop_new(NULL, FALSE);
    purple_util_set_user_dir(userdir);
    purple_debug_set_enabled(getenv("E2E_TRACE") != NULL);
    purple_eventloop_set_ui_ops(&loop_ops);
    purple_request_set_ui_ops(&request_ops);
    if (!purple_core_init(ui_id))
        e2e_fail("purple_core_init failed");
    purple_set_blist(purple_blist_new());
    trust_test_ca();
}

PurpleAccount *e2e_purple_account(int u, const char *resource)
{
    char jid[300];
    snprintf(jid, sizeof jid, "%s/%s", e2e_bare(u), resource);
    PurpleAccount *a = purple_account_new(jid, "prpl-jabber");
    purple_account_set_password(a, e2e.pass[u]);
    purple_account_set_string(a, "connection_security", "require_tls");
    purple_account_set_string(a, "connect_server", e2e.ip);
    purple_account_set_int(a, "port", e2e.starttls_port);
    purple_accounts_add(a);
    return a;
}

static gboolean strophe_tick(gpointer unused)
{
    (void)unused;
    xmpp_run_once(e2e_ctx, 1);
    return TRUE;
}

void e2e_purple_poll_strophe(void)
{
    g_timeout_add(5, strophe_tick, NULL);
}

void e2e_purple_on(void *instance, const char *signal, GCallback cb)
{
    static int handle;
    purple_signal_connect(instance, signal, &handle, PURPLE_CALLBACK(cb), NULL);
}

static void connection_error(PurpleConnection *gc, PurpleConnectionError err,
                             const gchar *desc, gpointer unused)
{
    (void)gc, (void)unused;
    e2e_purple_fail("libpurple connection error %d: %s", (int)err, desc ? desc : "");
}

void e2e_purple_sign_on(PurpleAccount *a, const char *ui_id, GCallback signed_on)
{
    e2e_purple_on(purple_connections_get_handle(), "signed-on", signed_on);
    e2e_purple_on(purple_connections_get_handle(), "connection-error",
                  G_CALLBACK(connection_error));
    purple_account_set_enabled(a, ui_id, TRUE);
    purple_savedstatus_activate(purple_savedstatus_new(NULL, PURPLE_STATUS_AVAILABLE));
}

void e2e_purple_join(PurpleAccount *a, const char *room_jid, const char *nick)
{
    const char *at = strchr(room_jid, '@');
    if (!at) {
        e2e_purple_fail("bad room %s", room_jid);
        return;
    }
    GHashTable *c = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert(c, g_strdup("room"), g_strndup(room_jid, (gsize)(at - room_jid)));
    g_hash_table_insert(c, g_strdup("server"), g_strdup(at + 1));
    g_hash_table_insert(c, g_strdup("handle"), g_strdup(nick));
    serv_join_chat(purple_account_get_connection(a), c);
    g_hash_table_destroy(c);
}
