/* tests/e2e/strophe_login.c — libstrophe logs in over STARTTLS or direct TLS (XEP-0368),
 * verifying the certificate, with libstrophe's preferred SASL mechanism (it knows SCRAM-SHA-1,
 * -256, -512 and PLAIN, not -PLUS: the raw test_protocol.py covers each mechanism). Asserts the
 * stream is secured and the bound JID is ours (RFC 6120 §5, §6, §7); with "wrong", asserts the
 * login fails with <not-authorized/> (RFC 6120 §6.5.10) and no session is established.
 * Usage: strophe_login starttls|direct [wrong] */
#include <stdio.h>
#include <string.h>

#include "e2e_strophe.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        e2e_fail("usage: %s starttls|direct [wrong]", argv[0]);
    enum e2e_tls tls = strcmp(argv[1], "direct") == 0 ? E2E_DIRECT : E2E_STARTTLS;
    bool wrong = argc > 2 && strcmp(argv[2], "wrong") == 0;
    e2e_init();

    struct e2e_client c;
    char badpw[80];
    snprintf(badpw, sizeof badpw, "%s-wrong", e2e.pass[0]);
    e2e_client_connect(&c, "alice", 0, "login", wrong ? badpw : NULL, tls);
    if (wrong) {
        e2e_wait(&c.disconnected, 15, "the server to refuse the wrong password");
        if (c.connected)
            e2e_fail("logged in with a wrong password");
        if (!c.saw_not_authorized)
            e2e_fail("no SASL <failure><not-authorized/></failure> received");
        e2e_pass("wrong password refused with not-authorized over %s", argv[1]);
    } else {
        e2e_wait(&c.connected, 15, "login");
        if (!xmpp_conn_is_secured(c.conn))
            e2e_fail("connection is not secured by TLS");
        char want[200];
        snprintf(want, sizeof want, "%s/login", e2e_bare(0));
        const char *bound = xmpp_conn_get_bound_jid(c.conn);
        if (!bound || strcmp(bound, want) != 0)
            e2e_fail("bound JID is %s, expected %s", bound ? bound : "(none)", want);
        xmpp_stanza_t *r = e2e_iq(&c, "get", e2e.domain, "<ping xmlns='urn:xmpp:ping'/>");
        if (strcmp(xmpp_stanza_get_type(r), "result") != 0)
            e2e_fail("ping after login did not get a result");
        xmpp_stanza_release(r);
        e2e_pass("login over %s as %s", argv[1], bound);
    }
    e2e_client_close(&c);
    e2e_shutdown();
    return 0;
}
