/* tests/modules/strophe_muc.c — Multi-User Chat (XEP-0045) as libstrophe sees it: alice
 * creates a room (201 and 110 in her own presence, owner/moderator), makes it an instant
 * room (§10.1.2), bob joins and sees alice's presence before his own (110) and then the
 * subject (§7.2.16), both talk (every message reaches both, with the room's stanza-id),
 * alice changes the subject, bob changes his nick (303) and leaves; alice sees each step.
 * Run through tests/modules/modharness.py with the muc module enabled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_strophe.h"

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_USER NS_MUC "#user"
#define MAX_SEEN 64

struct event {
    char kind[16];   /* "presence" or "message" */
    char type[24];
    char from[300];
    char body[256];
    char subject[256];
    char role[24], aff[24], nick[64];
    int codes[8];
    int ncodes;
    bool sid;        /* a stanza-id by the room */
};

struct peer {
    struct e2e_client c;
    struct event ev[MAX_SEEN];
    int n;
};

static char room[300];

static void text_of(xmpp_stanza_t *st, const char *name, char *out, size_t cap)
{
    xmpp_stanza_t *c = xmpp_stanza_get_child_by_name(st, name);
    char *t = c ? xmpp_stanza_get_text(c) : NULL;
    snprintf(out, cap, "%s", t ? t : "");
    if (t)
        xmpp_free(e2e_ctx, t);
}

static int record(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    (void)conn;
    struct peer *p = ud;
    const char *from = xmpp_stanza_get_from(st);
    const char *name = xmpp_stanza_get_name(st);
    if (!from || strncmp(from, room, strlen(room)) != 0 || p->n == MAX_SEEN || !name ||
        (strcmp(name, "presence") != 0 && strcmp(name, "message") != 0))
        return 1;
    struct event *e = &p->ev[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->kind, sizeof e->kind, "%s", name);
    const char *type = xmpp_stanza_get_type(st);
    snprintf(e->type, sizeof e->type, "%s", type ? type : "available");
    snprintf(e->from, sizeof e->from, "%s", from);
    text_of(st, "body", e->body, sizeof e->body);
    text_of(st, "subject", e->subject, sizeof e->subject);
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_ns(st, NS_USER);
    for (xmpp_stanza_t *c = x ? xmpp_stanza_get_children(x) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *cname = xmpp_stanza_get_name(c);
        if (cname && strcmp(cname, "status") == 0 && e->ncodes < 8)
            e->codes[e->ncodes++] = atoi(xmpp_stanza_get_attribute(c, "code") ?: "0");
        if (cname && strcmp(cname, "item") == 0) {
            const char *v;
            if ((v = xmpp_stanza_get_attribute(c, "role")))
                snprintf(e->role, sizeof e->role, "%s", v);
            if ((v = xmpp_stanza_get_attribute(c, "affiliation")))
                snprintf(e->aff, sizeof e->aff, "%s", v);
            if ((v = xmpp_stanza_get_attribute(c, "nick")))
                snprintf(e->nick, sizeof e->nick, "%s", v);
        }
    }
    xmpp_stanza_t *sid = xmpp_stanza_get_child_by_ns(st, "urn:xmpp:sid:0");
    e->sid = sid && xmpp_stanza_get_attribute(sid, "by") &&
             strcmp(xmpp_stanza_get_attribute(sid, "by"), room) == 0;
    return 1;
}

static bool has_code(const struct event *e, int code)
{
    for (int i = 0; i < e->ncodes; i++)
        if (e->codes[i] == code)
            return true;
    return false;
}

/* Waits for an event matching kind/type/from-nick and (when set) a body or subject; returns
 * its index. */
static int wait_event(struct peer *p, const char *kind, const char *type, const char *nick,
                      const char *body, const char *subject, int from_index)
{
    char from[400];
    if (nick)
        snprintf(from, sizeof from, "%s/%s", room, nick);
    else
        snprintf(from, sizeof from, "%s", room);
    for (int tries = 0; tries < 1000; tries++) {
        for (int i = from_index; i < p->n; i++) {
            struct event *e = &p->ev[i];
            if (strcmp(e->kind, kind) == 0 && strcmp(e->type, type) == 0 &&
                strcmp(e->from, from) == 0 && (!body || strcmp(e->body, body) == 0) &&
                (!subject || strcmp(e->subject, subject) == 0))
                return i;
        }
        e2e_spin(0.01);
    }
    e2e_fail("%s: no %s %s from %s (body %s, subject %s); %d events", p->c.name, type, kind,
             from, body ? body : "-", subject ? subject : "-", p->n);
}

static void login(struct peer *p, const char *name, int user)
{
    e2e_client_connect(&p->c, name, user, "strophe", NULL, E2E_STARTTLS);
    /* One handler for all stanzas: libstrophe keeps one registration per function and
     * user data, whatever the name filter. */
    xmpp_handler_add(p->c.conn, record, NULL, NULL, NULL, p);
    e2e_wait(&p->c.connected, 15, "login");
    xmpp_send_raw_string(p->c.conn, "<presence/>");
}

int main(void)
{
    e2e_init();
    snprintf(room, sizeof room, "strophe@conference.%s", e2e.domain);
    static struct peer alice, bob;
    login(&alice, "alice", 0);
    login(&bob, "bob", 1);

    xmpp_send_raw_string(alice.c.conn, "<presence to='%s/alice'><x xmlns='%s'/></presence>",
                         room, NS_MUC);
    int i = wait_event(&alice, "presence", "available", "alice", NULL, NULL, 0);
    struct event *e = &alice.ev[i];
    if (!has_code(e, 201) || !has_code(e, 110) || strcmp(e->aff, "owner") != 0 ||
        strcmp(e->role, "moderator") != 0)
        e2e_fail("creation presence: codes %d, %s/%s", e->ncodes, e->aff, e->role);
    e2e_pass("room created: 201 and 110, owner and moderator");
    xmpp_stanza_t *r = e2e_iq(&alice.c, "set", room,
                              "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                              "<x xmlns='jabber:x:data' type='submit'/></query>");
    if (strcmp(xmpp_stanza_get_type(r), "result") != 0)
        e2e_fail("instant room refused (%s)", e2e_error_condition(r));
    xmpp_stanza_release(r);
    e2e_pass("instant room accepted");

    xmpp_send_raw_string(bob.c.conn, "<presence to='%s/bob'><x xmlns='%s'/></presence>", room,
                         NS_MUC);
    int a_idx = wait_event(&bob, "presence", "available", "alice", NULL, NULL, 0);
    int b_idx = wait_event(&bob, "presence", "available", "bob", NULL, NULL, 0);
    int s_idx = wait_event(&bob, "message", "groupchat", NULL, NULL, "", 0);
    if (!(a_idx < b_idx && b_idx < s_idx) || !has_code(&bob.ev[b_idx], 110))
        e2e_fail("join order: alice %d, self %d, subject %d", a_idx, b_idx, s_idx);
    wait_event(&alice, "presence", "available", "bob", NULL, NULL, 0);
    e2e_pass("bob joined: others, then self (110), then subject");

    xmpp_send_raw_string(alice.c.conn, "<message to='%s' type='groupchat'><body>hi from "
                         "strophe</body></message>", room);
    xmpp_send_raw_string(bob.c.conn, "<message to='%s' type='groupchat'><body>hello "
                         "alice</body></message>", room);
    for (int k = 0; k < 2; k++) {
        struct peer *p = k ? &bob : &alice;
        int m1 = wait_event(p, "message", "groupchat", "alice", "hi from strophe", NULL, 0);
        int m2 = wait_event(p, "message", "groupchat", "bob", "hello alice", NULL, 0);
        if (!p->ev[m1].sid || !p->ev[m2].sid)
            e2e_fail("%s: room messages without the room's stanza-id", p->c.name);
    }
    e2e_pass("both talk; every message reaches both with a stanza-id");

    xmpp_send_raw_string(alice.c.conn, "<message to='%s' type='groupchat'><subject>strophe "
                         "topic</subject></message>", room);
    wait_event(&bob, "message", "groupchat", "alice", NULL, "strophe topic", 0);
    e2e_pass("subject change seen");

    int from = alice.n;
    xmpp_send_raw_string(bob.c.conn, "<presence to='%s/robert'/>", room);
    i = wait_event(&alice, "presence", "unavailable", "bob", NULL, NULL, from);
    if (!has_code(&alice.ev[i], 303) || strcmp(alice.ev[i].nick, "robert") != 0)
        e2e_fail("nick change without 303/new nick");
    wait_event(&alice, "presence", "available", "robert", NULL, NULL, from);
    e2e_pass("nick change (303)");

    xmpp_send_raw_string(bob.c.conn, "<presence to='%s/robert' type='unavailable'/>", room);
    i = wait_event(&alice, "presence", "unavailable", "robert", NULL, NULL, from);
    if (strcmp(alice.ev[i].role, "none") != 0)
        e2e_fail("leave: role %s", alice.ev[i].role);
    e2e_pass("bob left");
    e2e_client_close(&bob.c);
    e2e_client_close(&alice.c);
    e2e_shutdown();
    return 0;
}
