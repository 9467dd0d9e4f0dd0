/* tests/e2e/purple_smoke.c — Pidgin's libpurple (prpl-jabber) against the server.
 * libpurple is set up by e2e_purple.c (GLib loop, test CA trusted, any prompt fails). The
 * account requires TLS, connects to the IP with connect_server/port, logs in over STARTTLS,
 * sends a chat message to a libstrophe peer (bob) and receives bob's reply. Asserts body and
 * sender both ways.
 * With PURPLE_PEER=bare-jid the peer is another program's user (e.g. Converse.js in
 * tests/web/converse.mjs): Pidgin logs in as user PURPLE_USER (an index, default 0), sends
 * "hello from pidgin" to the peer and passes once "hi pidgin" arrives from it. */
#include <glib.h>
#include <purple.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_purple.h"
#include "e2e_strophe.h"

#define UI_ID "myna-e2e"

static PurpleAccount *account;
static struct e2e_client bob;
static bool bob_got, purple_got;
static char alice_jid[256];
static const char *ext_peer; /* PURPLE_PEER, or NULL: bob is our own libstrophe client */

/* --- the libstrophe peer, polled from the GLib loop ----------------------------------- */
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
        e2e_purple_fail("bob got body '%s'", body);
    else if (!from || strcmp(from, alice_jid) != 0)
        e2e_purple_fail("bob got from '%s', expected '%s'", from ? from : "", alice_jid);
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
    fflush(stdout);
    const char *to = ext_peer ? ext_peer : xmpp_conn_get_bound_jid(bob.conn);
    PurpleConversation *conv = purple_conversation_new(PURPLE_CONV_TYPE_IM, account, to);
    purple_conv_im_send(PURPLE_CONV_IM(conv), "hello from pidgin");
}

static gboolean received_im(PurpleAccount *a, char **sender, char **message,
                            PurpleConversation *conv, PurpleMessageFlags *flags, gpointer u)
{
    char *plain = purple_markup_strip_html(*message);
    const char *want_bare = ext_peer ? ext_peer : e2e_bare(1);
    const char *want_from = ext_peer ? ext_peer : xmpp_conn_get_bound_jid(bob.conn);
    size_t n = strlen(want_bare);
    if (strcmp(plain, "hi pidgin") != 0)
        e2e_purple_fail("libpurple got '%s'", plain);
    else if (!(strncmp(*sender, want_bare, n) == 0 && ((*sender)[n] == 0 || (*sender)[n] == '/')))
        e2e_purple_fail("libpurple got a message from '%s', expected %s", *sender, want_from);
    else {
        printf("PASS: %s -> libpurple: body and sender intact\n",
               ext_peer ? ext_peer : "libstrophe");
        fflush(stdout);
        purple_got = true;
        g_main_loop_quit(e2e_purple_loop);
    }
    g_free(plain);
    return FALSE;
}

static gboolean overall_timeout(gpointer unused)
{
    e2e_purple_fail("timed out (bob got: %d, purple got: %d)", bob_got, purple_got);
    return FALSE;
}

int main(void)
{
    e2e_init();
    e2e_purple_init(UI_ID);
    ext_peer = getenv("PURPLE_PEER");
    int user = getenv("PURPLE_USER") ? atoi(getenv("PURPLE_USER")) : 0;
    if (user < 0 || user > 2)
        e2e_fail("PURPLE_USER must be 0, 1 or 2");

    if (!ext_peer) {
        e2e_client_connect(&bob, "bob", 1, "purple-peer", NULL, E2E_STARTTLS);
        xmpp_handler_add(bob.conn, bob_message, NULL, "message", NULL, NULL);
        e2e_wait(&bob.connected, 15, "bob (libstrophe) login");
        xmpp_stanza_t *p = xmpp_presence_new(e2e_ctx);
        xmpp_send(bob.conn, p);
        xmpp_stanza_release(p);
    }

    snprintf(alice_jid, sizeof alice_jid, "%s/pidgin", e2e_bare(user));
    account = e2e_purple_account(user, "pidgin");

    e2e_purple_on(purple_conversations_get_handle(), "receiving-im-msg", G_CALLBACK(received_im));
    e2e_purple_sign_on(account, UI_ID, G_CALLBACK(signed_on));

    if (!ext_peer)
        e2e_purple_poll_strophe();
    g_timeout_add_seconds(ext_peer ? 60 : 40, overall_timeout, NULL);
    g_main_loop_run(e2e_purple_loop);

    purple_account_set_enabled(account, UI_ID, FALSE);
    if (!ext_peer)
        e2e_client_close(&bob);
    e2e_shutdown();
    return e2e_purple_failed || (!ext_peer && !bob_got) || !purple_got ? 1 : 0;
}
