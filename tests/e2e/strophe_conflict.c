/* tests/e2e/strophe_conflict.c — resource conflict (RFC 6120 §7.7.2.2): a second session
 * binding the same full JID. Myna's policy (like Prosody's default) is to end the old
 * session with the <conflict/> stream error and give the new one the resource. Asserts the
 * first client got exactly that error and the second is bound to the same JID and works. */
#include <stdio.h>
#include <string.h>

#include "e2e_strophe.h"

int main(void)
{
    e2e_init();
    struct e2e_client first, second;
    e2e_client_connect(&first, "first", 0, "dup", NULL, E2E_STARTTLS);
    e2e_wait(&first.connected, 15, "first login");
    e2e_client_connect(&second, "second", 0, "dup", NULL, E2E_STARTTLS);
    e2e_wait(&second.connected, 15, "second login with the same resource");
    e2e_wait(&first.disconnected, 10, "the first session to be closed");
    if (!first.had_stream_error)
        e2e_fail("first session closed without a stream error");
    if (first.stream_error != XMPP_SE_CONFLICT)
        e2e_fail("first session got stream error type %d, expected conflict (%d)",
                 (int)first.stream_error, (int)XMPP_SE_CONFLICT);
    e2e_pass("first session ended with <conflict/>");
    char want[200];
    snprintf(want, sizeof want, "%s/dup", e2e_bare(0));
    const char *bound = xmpp_conn_get_bound_jid(second.conn);
    if (!bound || strcmp(bound, want) != 0)
        e2e_fail("second session bound %s, expected %s", bound ? bound : "(none)", want);
    xmpp_stanza_t *r = e2e_iq(&second, "get", e2e.domain, "<ping xmlns='urn:xmpp:ping'/>");
    if (strcmp(xmpp_stanza_get_type(r), "result") != 0)
        e2e_fail("second session's ping failed");
    xmpp_stanza_release(r);
    e2e_pass("second session holds %s and works", bound);
    e2e_client_close(&first);
    e2e_client_close(&second);
    e2e_shutdown();
    return 0;
}
