/* modules/ping.c — XMPP Ping (XEP-0199): answers urn:xmpp:ping gets addressed to the host
 * or to a local user's bare JID with an empty result (XEP-0199 §4.2, §4.3: the server
 * answers for the account). Pings to full JIDs are routed to the client by the core.
 */
#include "myna/module.h"

#define NS_PING "urn:xmpp:ping"

static int ping_answer(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)m;
    (void)data;
    myna_iq_result(st, NULL);
    return 0;
}

static int ping_load(struct myna_module *m)
{
    if (myna_iq_register(m, MYNA_IQ_GET, NS_PING, "ping", MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER,
                         ping_answer, NULL) < 0)
        return -1;
    return myna_disco_user_feature(m, NS_PING);
}

MYNA_MODULE_DEFINE(.name = "ping", .description = "XMPP Ping (XEP-0199)", .load = ping_load);
