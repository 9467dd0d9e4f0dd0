/* tests/s2s/purple_fed.c — the closing scenario of federation with Pidgin's libpurple: a
 * Pidgin user on Myna (the e2e server facts in E2E_*, set by tests/s2s/peers.py) and a
 * user on another server (FED_PEER, driven by the Python side) add each other, see each
 * other's presence, chat both ways, and meet in a room on the peer (FED_PEER_ROOM) and in
 * a room on Myna (FED_MYNA_ROOM). Prints PASS/FAIL lines; exit 0 only if every step
 * passed. Uses tests/e2e/e2e_purple.c (any prompt fails, except the authorization request
 * this test answers). */
#include <glib.h>
#include <purple.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_purple.h"
#include "e2e_strophe.h"

#define UI_ID "myna-fed"

static PurpleAccount *account;
static const char *peer, *peer_room, *myna_room;
static int steps_passed;
#define STEPS 7

static void pass(const char *what)
{
    printf("PASS: pidgin: %s\n", what);
    fflush(stdout);
    if (++steps_passed == STEPS)
        g_main_loop_quit(e2e_purple_loop);
}

static bool is_peer(const char *who)
{
    size_t n = strlen(peer);
    return who && strncmp(who, peer, n) == 0 && (who[n] == 0 || who[n] == '/');
}

/* ---- authorization: the peer asks to see our presence ---- */
static void *request_authorize(PurpleAccount *a, const char *remote_user, const char *id,
                               const char *alias, const char *message, gboolean on_list,
                               PurpleAccountRequestAuthorizationCb auth_cb,
                               PurpleAccountRequestAuthorizationCb deny_cb, void *user_data)
{
    if (!is_peer(remote_user)) {
        e2e_purple_fail("authorization request from %s", remote_user);
        deny_cb(user_data);
        return NULL;
    }
    pass("the peer's subscription request arrives");
    auth_cb(user_data);
    return NULL;
}

static PurpleAccountUiOps account_ops = {.request_authorize = request_authorize};

/* ---- a new room on Myna: "accept the default settings" (an instant room, XEP-0045
 * §10.1.2), the default action libpurple proposes; other prompts still fail the test ---- */
static PurpleRequestUiOps request_ops, *base_request_ops;

static void *request_action(const char *title, const char *primary, const char *secondary,
                            int default_action, PurpleAccount *a, const char *who,
                            PurpleConversation *conv, void *user_data, size_t count,
                            va_list actions)
{
    if (title && strcmp(title, "Create New Room") == 0 && default_action >= 0 &&
        (size_t)default_action < count) {
        PurpleRequestActionCb cb = NULL;
        for (int i = 0; i <= default_action; i++) {
            (void)va_arg(actions, const char *);
            cb = va_arg(actions, PurpleRequestActionCb);
        }
        if (cb)
            cb(user_data, default_action);
        return NULL;
    }
    return base_request_ops->request_action(title, primary, secondary, default_action, a, who,
                                            conv, user_data, count, actions);
}

/* ---- the steps ---- */
static void signed_on(PurpleConnection *gc, gpointer unused)
{
    printf("# libpurple signed on as %s\n", purple_account_get_username(account));
    PurpleBuddy *b = purple_buddy_new(account, peer, NULL);
    purple_blist_add_buddy(b, NULL, NULL, NULL);
    purple_account_add_buddy(account, b);
}

static void buddy_signed_on(PurpleBuddy *b, gpointer unused)
{
    if (!is_peer(purple_buddy_get_name(b)))
        return;
    pass("the peer's presence is seen (subscription approved)");
    PurpleConversation *conv = purple_conversation_new(PURPLE_CONV_TYPE_IM, account, peer);
    purple_conv_im_send(PURPLE_CONV_IM(conv), "hello from pidgin");
}

static gboolean received_im(PurpleAccount *a, char **sender, char **message,
                            PurpleConversation *conv, PurpleMessageFlags *flags, gpointer u)
{
    char *plain = purple_markup_strip_html(*message);
    if (is_peer(*sender) && strcmp(plain, "hi pidgin") == 0) {
        pass("a chat message from the peer arrives (and ours reached it)");
        e2e_purple_join(account, peer_room, "Pidgin");
    }
    g_free(plain);
    return FALSE;
}

static bool room_is(PurpleConversation *conv, const char *room_jid)
{
    return g_ascii_strcasecmp(purple_conversation_get_name(conv), room_jid) == 0;
}

static void chat_joined(PurpleConversation *conv, gpointer unused)
{
    if (room_is(conv, peer_room)) {
        pass("joined the room on the peer");
        purple_conv_chat_send(PURPLE_CONV_CHAT(conv), "pidgin in the peer's room");
    } else if (room_is(conv, myna_room)) {
        pass("joined the room on Myna");
    }
}

static void chat_buddy_joined(PurpleConversation *conv, const char *name,
                              PurpleConvChatBuddyFlags flags, gboolean new_arrival, gpointer u)
{
    if (room_is(conv, myna_room) && strcmp(name, "Juliet") == 0)
        purple_conv_chat_send(PURPLE_CONV_CHAT(conv), "pidgin in the Myna room");
}

static gboolean received_chat(PurpleAccount *a, char **sender, char **message,
                              PurpleConversation *conv, PurpleMessageFlags *flags, gpointer u)
{
    char *plain = purple_markup_strip_html(*message);
    if (room_is(conv, peer_room) && strcmp(plain, "juliet in the peer's room") == 0) {
        pass("messages both ways in the room on the peer");
        e2e_purple_join(account, myna_room, "Pidgin");
    } else if (room_is(conv, myna_room) && strcmp(plain, "juliet in the Myna room") == 0) {
        pass("messages both ways in the room on Myna");
    }
    g_free(plain);
    return FALSE;
}

static gboolean overall_timeout(gpointer unused)
{
    e2e_purple_fail("timed out after %d of %d steps", steps_passed, STEPS);
    return FALSE;
}

int main(void)
{
    e2e_init();
    peer = getenv("FED_PEER");
    peer_room = getenv("FED_PEER_ROOM");
    myna_room = getenv("FED_MYNA_ROOM");
    if (!peer || !peer_room || !myna_room) {
        fprintf(stderr, "FED_PEER, FED_PEER_ROOM and FED_MYNA_ROOM are needed\n");
        return 99;
    }
    e2e_purple_init(UI_ID);
    purple_accounts_set_ui_ops(&account_ops);
    base_request_ops = purple_request_get_ui_ops();
    request_ops = *base_request_ops;
    request_ops.request_action = request_action;
    purple_request_set_ui_ops(&request_ops);
    account = e2e_purple_account(0, "pidgin");
    e2e_purple_on(purple_blist_get_handle(), "buddy-signed-on", G_CALLBACK(buddy_signed_on));
    e2e_purple_on(purple_conversations_get_handle(), "receiving-im-msg", G_CALLBACK(received_im));
    e2e_purple_on(purple_conversations_get_handle(), "chat-joined", G_CALLBACK(chat_joined));
    e2e_purple_on(purple_conversations_get_handle(), "chat-buddy-joined",
                  G_CALLBACK(chat_buddy_joined));
    e2e_purple_on(purple_conversations_get_handle(), "receiving-chat-msg",
                  G_CALLBACK(received_chat));
    e2e_purple_sign_on(account, UI_ID, G_CALLBACK(signed_on));
    g_timeout_add_seconds(90, overall_timeout, NULL);
    g_main_loop_run(e2e_purple_loop);
    purple_account_set_enabled(account, UI_ID, FALSE);
    e2e_shutdown();
    return e2e_purple_failed || steps_passed < STEPS ? 1 : 0;
}
