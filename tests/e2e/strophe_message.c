/* tests/e2e/strophe_message.c — two accounts exchange chat messages with libstrophe:
 * to the bare JID and to the full JID (RFC 6121 §8.5.2, §8.5.3). The receiver asserts the
 * body (with characters that need escaping and non-ASCII text), the type and that `from` is
 * the sender's full JID as stamped by the server (RFC 6120 §8.1.2.1). */
#include <stdio.h>
#include <string.h>

#include "e2e_strophe.h"

struct inbox {
    bool got;
    char from[256];
    char body[512];
    char type[32];
};

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct inbox *in = ud;
    (void)conn;
    char *body = xmpp_message_get_body(st);
    if (!body)
        return 1; /* not a chat message (e.g. a chat state): keep listening */
    const char *from = xmpp_stanza_get_from(st);
    const char *type = xmpp_stanza_get_type(st);
    snprintf(in->from, sizeof in->from, "%s", from ? from : "");
    snprintf(in->type, sizeof in->type, "%s", type ? type : "");
    snprintf(in->body, sizeof in->body, "%s", body);
    xmpp_free(e2e_ctx, body);
    in->got = true;
    return 1;
}

static void send_chat(struct e2e_client *from, const char *to, const char *body)
{
    xmpp_stanza_t *m = xmpp_message_new(e2e_ctx, "chat", to, NULL);
    xmpp_message_set_body(m, body);
    xmpp_send(from->conn, m);
    xmpp_stanza_release(m);
}

static void check(struct e2e_client *sender, struct e2e_client *receiver, struct inbox *in,
                  const char *to, const char *body)
{
    memset(in, 0, sizeof *in);
    send_chat(sender, to, body);
    char what[300];
    snprintf(what, sizeof what, "%s to receive a message sent to %s", receiver->name, to);
    e2e_wait(&in->got, 10, what);
    const char *want_from = xmpp_conn_get_bound_jid(sender->conn);
    if (strcmp(in->from, want_from) != 0)
        e2e_fail("message to %s: from is '%s', expected the sender's full JID '%s'", to,
                 in->from, want_from);
    if (strcmp(in->body, body) != 0)
        e2e_fail("message to %s: body is '%s', expected '%s'", to, in->body, body);
    if (strcmp(in->type, "chat") != 0)
        e2e_fail("message to %s: type is '%s', expected 'chat'", to, in->type);
    e2e_pass("%s -> %s: body, type and from intact", want_from, to);
}

int main(void)
{
    e2e_init();
    struct e2e_client a, b;
    struct inbox ina, inb;
    e2e_client_connect(&a, "alice", 0, "desk", NULL, E2E_STARTTLS);
    e2e_client_connect(&b, "bob", 1, "phone", NULL, E2E_STARTTLS);
    e2e_wait(&a.connected, 15, "alice login");
    e2e_wait(&b.connected, 15, "bob login");
    xmpp_handler_add(a.conn, on_message, NULL, "message", NULL, &ina);
    xmpp_handler_add(b.conn, on_message, NULL, "message", NULL, &inb);
    /* Available resources receive messages to the bare JID (RFC 6121 §8.5.2.1.1). */
    xmpp_stanza_t *p = xmpp_presence_new(e2e_ctx);
    xmpp_send(a.conn, p);
    xmpp_send(b.conn, p);
    xmpp_stanza_release(p);
    e2e_spin(0.5);

    check(&a, &b, &inb, e2e_bare(1), "to bare: <tag> & 'quotes' \"dq\" \xc3\xbc" "n\xc3\xaf" "code \xf0\x9f\x90\xa6");
    check(&a, &b, &inb, xmpp_conn_get_bound_jid(b.conn), "to full JID");
    check(&b, &a, &ina, xmpp_conn_get_bound_jid(a.conn), "reply from bob");
    check(&b, &a, &ina, e2e_bare(0), "bob to alice's bare JID");

    e2e_client_close(&a);
    e2e_client_close(&b);
    e2e_shutdown();
    return 0;
}
