/* tests/e2e/strophe_component.c — an external component (XEP-0114) built on libstrophe's
 * component mode: it authenticates with the shared secret, receives a chat message a
 * client sends to its domain and answers it; the client asserts the answer's body and
 * that it comes from the component's domain. Then a component with a wrong secret must
 * be refused (stream error not-authorized, never connected). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_strophe.h"

struct comp {
    xmpp_conn_t *conn;
    bool connected, disconnected, got;
    char from[256], body[256];
};

static void comp_handler(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
                         xmpp_stream_error_t *se, void *ud)
{
    struct comp *c = ud;
    (void)conn, (void)error, (void)se;
    if (ev == XMPP_CONN_CONNECT)
        c->connected = true;
    else
        c->disconnected = true;
}

static int comp_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct comp *c = ud;
    char *body = xmpp_message_get_body(st);
    const char *from = xmpp_stanza_get_from(st);
    if (!body || !from)
        return 1;
    snprintf(c->from, sizeof c->from, "%s", from);
    snprintf(c->body, sizeof c->body, "%s", body);
    c->got = true;
    /* Answer from the component's domain, as any component would. */
    char text[300];
    snprintf(text, sizeof text, "bot heard: %s", body);
    xmpp_stanza_t *r = xmpp_message_new(e2e_ctx, "chat", from, NULL);
    xmpp_stanza_set_from(r, xmpp_conn_get_jid(conn));
    xmpp_message_set_body(r, text);
    xmpp_send(conn, r);
    xmpp_stanza_release(r);
    xmpp_free(e2e_ctx, body);
    return 1;
}

struct inbox {
    bool got;
    char from[256], body[300];
};

static int client_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct inbox *in = ud;
    (void)conn;
    char *body = xmpp_message_get_body(st);
    if (!body)
        return 1;
    const char *from = xmpp_stanza_get_from(st);
    snprintf(in->from, sizeof in->from, "%s", from ? from : "");
    snprintf(in->body, sizeof in->body, "%s", body);
    xmpp_free(e2e_ctx, body);
    in->got = true;
    return 1;
}

static void component_connect(struct comp *c, const char *domain, const char *secret,
                              unsigned short port)
{
    memset(c, 0, sizeof *c);
    c->conn = xmpp_conn_new(e2e_ctx);
    /* libstrophe 0.12.2 (Debian 12) dereferences the stream-management state on every
     * received stanza but creates it only in xmpp_connect_client(); lend the state of a
     * client connection that has come and gone, so component mode does not crash. */
    struct e2e_client donor = {0};
    e2e_client_connect(&donor, "donor", 2, "donor", NULL, E2E_STARTTLS);
    e2e_wait(&donor.connected, 10, "a client login (to borrow libstrophe's SM state)");
    xmpp_disconnect(donor.conn);
    e2e_wait(&donor.disconnected, 10, "the donor client to disconnect");
    xmpp_sm_state_t *sm = xmpp_conn_get_sm_state(donor.conn);
    if (!sm || xmpp_conn_set_sm_state(c->conn, sm) != XMPP_EOK)
        e2e_fail("cannot move libstrophe's SM state to the component connection");
    xmpp_conn_release(donor.conn);
    xmpp_conn_set_jid(c->conn, domain);
    xmpp_conn_set_pass(c->conn, secret);
    xmpp_handler_add(c->conn, comp_message, NULL, "message", NULL, c);
    if (xmpp_connect_component(c->conn, e2e.ip, port, comp_handler, c) != XMPP_EOK)
        e2e_fail("xmpp_connect_component failed to start");
}

int main(void)
{
    e2e_init();
    const char *port_s = getenv("E2E_COMPONENT_PORT");
    const char *domain = getenv("E2E_COMPONENT_DOMAIN");
    const char *secret = getenv("E2E_COMPONENT_SECRET");
    if (!port_s || !*port_s || !domain || !secret) {
        printf("SKIP: this server has no component listener in the test config\n");
        return 77;
    }
    unsigned short port = (unsigned short)atoi(port_s);

    struct comp bot;
    component_connect(&bot, domain, secret, port);
    e2e_wait(&bot.connected, 10, "the component to authenticate");
    e2e_pass("component %s authenticated with its secret", domain);

    struct e2e_client alice = {0};
    struct inbox in = {0};
    e2e_client_connect(&alice, "alice", 0, "comp", NULL, E2E_STARTTLS);
    e2e_wait(&alice.connected, 10, "alice to log in");
    xmpp_handler_add(alice.conn, client_message, NULL, "message", NULL, &in);

    xmpp_stanza_t *m = xmpp_message_new(e2e_ctx, "chat", domain, NULL);
    xmpp_message_set_body(m, "hello <bot> & co");
    xmpp_send(alice.conn, m);
    xmpp_stanza_release(m);
    e2e_wait(&bot.got, 10, "the component to receive alice's message");
    const char *alice_jid = xmpp_conn_get_bound_jid(alice.conn);
    if (strcmp(bot.from, alice_jid) != 0 || strcmp(bot.body, "hello <bot> & co") != 0)
        e2e_fail("component got from='%s' body='%s'", bot.from, bot.body);
    e2e_pass("component received the message with from=%s", bot.from);

    e2e_wait(&in.got, 10, "alice to receive the component's answer");
    if (strcmp(in.from, domain) != 0 || strcmp(in.body, "bot heard: hello <bot> & co") != 0)
        e2e_fail("alice got from='%s' body='%s'", in.from, in.body);
    e2e_pass("alice received the answer from %s", in.from);

    struct comp bad;
    component_connect(&bad, domain, "not-the-secret", port);
    e2e_wait(&bad.disconnected, 10, "the wrong-secret component to be refused");
    if (bad.connected)
        e2e_fail("a component with a wrong secret was accepted");
    e2e_pass("a wrong secret is refused");
    xmpp_conn_release(bad.conn);

    /* The authenticated component kept its domain through the failed attempt. */
    memset(&in, 0, sizeof in);
    bot.got = false;
    m = xmpp_message_new(e2e_ctx, "chat", domain, NULL);
    xmpp_message_set_body(m, "still there?");
    xmpp_send(alice.conn, m);
    xmpp_stanza_release(m);
    e2e_wait(&in.got, 10, "the first component to keep answering");
    e2e_pass("the first component still serves %s", domain);

    e2e_client_close(&alice);
    xmpp_disconnect(bot.conn);
    e2e_wait(&bot.disconnected, 10, "the component to disconnect");
    xmpp_conn_release(bot.conn);
    e2e_shutdown();
    printf("PASS: component\n");
    return 0;
}
