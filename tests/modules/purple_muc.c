/* tests/modules/purple_muc.c — Multi-User Chat (XEP-0045) as Pidgin's engine sees it:
 * alice (libstrophe) creates and configures a room; carol joins it with libpurple's
 * prpl-jabber (serv_join_chat, the "Join a Chat" dialog's components), which must open the
 * chat, list alice among the users, deliver carol's message to alice with carol's room
 * JID, and show alice's message in the chat with alice's nick. Run through
 * tests/modules/modharness.py with the muc module enabled. */
#include <stdio.h>
#include <string.h>

#include "e2e_purple.h"
#include "e2e_strophe.h"

#define UI_ID "myna-e2e"

static PurpleAccount *account;
static struct e2e_client alice;
static char room[300];
static bool joined, alice_got, purple_got;

static int alice_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    (void)ud;
    char *body = xmpp_message_get_body(st);
    const char *from = xmpp_stanza_get_from(st);
    char want[400];
    snprintf(want, sizeof want, "%s/carol", room);
    if (body && strcmp(body, "hello from pidgin") == 0) {
        if (!from || strcmp(from, want) != 0) {
            e2e_purple_fail("alice got pidgin's message from '%s', expected %s",
                            from ? from : "", want);
        } else if (!alice_got) {
            alice_got = true;
            printf("PASS: libpurple -> room -> libstrophe: body and room JID intact\n");
            xmpp_send_raw_string(conn, "<message to='%s' type='groupchat'><body>hi pidgin"
                                 "</body></message>", room);
        }
    }
    if (body)
        xmpp_free(e2e_ctx, body);
    return 1;
}

static void signed_on(PurpleConnection *gc, gpointer unused)
{
    (void)gc, (void)unused;
    e2e_purple_join(account, room, "carol");
}

static void chat_joined(PurpleConversation *conv, gpointer unused)
{
    (void)unused;
    PurpleConvChat *chat = PURPLE_CONV_CHAT(conv);
    joined = true;
    printf("PASS: libpurple joined %s\n", purple_conversation_get_name(conv));
    purple_conv_chat_send(chat, "hello from pidgin");
}

static void received_chat(PurpleAccount *a, char *who, char *message, PurpleConversation *conv,
                          PurpleMessageFlags flags, gpointer unused)
{
    (void)a, (void)flags, (void)unused;
    char *plain = purple_markup_strip_html(message);
    if (strcmp(plain, "hi pidgin") == 0) {
        if (strcmp(who, "alice") != 0) {
            e2e_purple_fail("pidgin shows alice's message from '%s'", who);
        } else if (!purple_conv_chat_find_user(PURPLE_CONV_CHAT(conv), "alice")) {
            e2e_purple_fail("alice is not in pidgin's list of occupants");
        } else {
            purple_got = true;
            printf("PASS: libstrophe -> room -> libpurple: body and nick intact; alice listed\n");
            g_main_loop_quit(e2e_purple_loop);
        }
    }
    g_free(plain);
}

static gboolean overall_timeout(gpointer unused)
{
    (void)unused;
    e2e_purple_fail("timed out (joined %d, alice got %d, pidgin got %d)", joined, alice_got,
                    purple_got);
    return FALSE;
}

int main(void)
{
    e2e_init();
    e2e_purple_init(UI_ID);
    snprintf(room, sizeof room, "pidgin@conference.%s", e2e.domain);

    e2e_client_connect(&alice, "alice", 0, "strophe", NULL, E2E_STARTTLS);
    xmpp_handler_add(alice.conn, alice_message, NULL, "message", NULL, NULL);
    e2e_wait(&alice.connected, 15, "alice (libstrophe) login");
    xmpp_send_raw_string(alice.conn, "<presence to='%s/alice'><x xmlns='"
                         "http://jabber.org/protocol/muc'/></presence>", room);
    xmpp_stanza_t *r = e2e_iq(&alice, "set", room,
                              "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                              "<x xmlns='jabber:x:data' type='submit'/></query>");
    if (strcmp(xmpp_stanza_get_type(r), "result") != 0)
        e2e_fail("alice could not configure the room (%s)", e2e_error_condition(r));
    xmpp_stanza_release(r);

    account = e2e_purple_account(2, "pidgin");
    e2e_purple_on(purple_conversations_get_handle(), "chat-joined", G_CALLBACK(chat_joined));
    e2e_purple_on(purple_conversations_get_handle(), "received-chat-msg",
                  G_CALLBACK(received_chat));
    e2e_purple_sign_on(account, UI_ID, G_CALLBACK(signed_on));

    e2e_purple_poll_strophe();
    g_timeout_add_seconds(40, overall_timeout, NULL);
    g_main_loop_run(e2e_purple_loop);

    purple_account_set_enabled(account, UI_ID, FALSE);
    e2e_client_close(&alice);
    e2e_shutdown();
    return e2e_purple_failed || !joined || !alice_got || !purple_got ? 1 : 0;
}
