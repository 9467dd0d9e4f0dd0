/* modules/disco.c — service discovery (XEP-0030) for the host and users' bare JIDs.
 *
 * Answers disco#info and disco#items gets from what every module registered (the core
 * keeps the lists; myna_disco_info_build/items_build assemble them). The host announces
 * the identity server/im. A query without 'to' is about the sender's own account (RFC 6120
 * §10.3.3), like one to its bare JID. Nodes on accounts (PEP, XEP-0163 §6.2) are asked of
 * the "disco.user" service (disco.h) when a module provides it; nodes of the host are
 * answered by the module serving them (myna_disco_node, e.g. the XEP-0050 command list).
 * Any other node gives item-not-found on disco#info (XEP-0030 §3.2, §7) and an empty
 * disco#items. Nothing is stored.
 */
#include <string.h>

#include "disco.h"
#include "myna/module.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* The JID the query is about: NULL for the host, else the local user's bare JID. */
static int disco_target(struct myna_module *m, struct myna_stanza *st, struct myna_jid *user)
{
    if (!st->has_to) {
        /* RFC 6120 §10.3.3: no 'to' = the sender's account (stanza.c set st->to so). */
        if (st->to.node == NULL || !myna_user_exists(m, st->to.node))
            return 0;
        myna_jid_to_bare(&st->to, user);
        return 1;
    }
    if (st->to.node == NULL && st->to.resource == NULL)
        return 0;
    if (st->to.node == NULL || st->to.resource != NULL)
        return -1;
    if (!myna_user_exists(m, st->to.node))
        return -1;
    myna_jid_to_bare(&st->to, user);
    return 1;
}

/* A node of the host, served by the module that registered it: answered here. */
static void host_node(struct myna_module *m, struct myna_stanza *st, const char *node,
                      bool items)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q =
        myna_xml_add_child(res, items ? NS_DISCO_ITEMS : NS_DISCO_INFO, "query");
    myna_xml_set_attr(q, "node", node);
    enum myna_error err;
    if (myna_disco_node_build(m, &st->from, node, items, q, &err) == 0 ||
        (items && err == MYNA_ERR_ITEM_NOT_FOUND)) {
        /* XEP-0030 §4.2: items of an unknown node are an empty list. */
        myna_iq_send_result(st, res);
        return;
    }
    myna_reply_error(st, err, NULL);
}

/* What both disco queries start with: whom they ask (disco_target) and which node.
 * Answers the query itself (and returns -1) when the target is unknown or the node is
 * the host's; else returns disco_target's 0 or 1. */
static int disco_request(struct myna_module *m, struct myna_stanza *st, bool items,
                         struct myna_jid *user, const char **node)
{
    int t = disco_target(m, st, user);
    if (t < 0) {
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        return -1;
    }
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    *node = q ? myna_xml_attr(q, "node") : NULL;
    if (*node != NULL && t == 0) {
        host_node(m, st, *node, items);
        return -1;
    }
    return t;
}

static int disco_info(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct myna_jid user;
    const char *node;
    int t = disco_request(m, st, false, &user, &node);
    if (t < 0)
        return 0;
    if (node != NULL) {
        /* Nodes of an account belong to the disco.user provider. */
        const struct disco_user_service *svc = t ? myna_service_get(m, DISCO_USER_SERVICE)
                                                 : NULL;
        struct myna_xml *res = myna_iq_result_new(st);
        struct myna_xml *info = myna_xml_add_child(res, NS_DISCO_INFO, "query");
        myna_xml_set_attr(info, "node", node);
        if (svc == NULL || svc->version < DISCO_USER_VERSION ||
            svc->info(svc, &user, &st->from, node, info) < 0) {
            myna_reply_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL);
            return 0;
        }
        myna_iq_send_result(st, res);
        return 0;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *info = myna_disco_info_build(m, t ? &user : NULL, st->arena);
    if (info != NULL)
        myna_xml_add_copy(res, info);
    else
        myna_xml_add_child(res, NS_DISCO_INFO, "query");
    myna_iq_send_result(st, res);
    return 0;
}

static int disco_items(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct myna_jid user;
    const char *node;
    int t = disco_request(m, st, true, &user, &node);
    if (t < 0)
        return 0;
    struct myna_xml *res = myna_iq_result_new(st);
    if (node != NULL) {
        /* Unknown node: an empty list, echoing the node (XEP-0030 §4.2). */
        struct myna_xml *empty = myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
        myna_xml_set_attr(empty, "node", node);
    } else {
        struct myna_xml *items = myna_disco_items_build(m, t ? &user : NULL, st->arena);
        struct myna_xml *list = items != NULL
                                    ? myna_xml_add_copy(res, items)
                                    : myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
        const struct disco_user_service *svc = t ? myna_service_get(m, DISCO_USER_SERVICE)
                                                 : NULL;
        if (svc != NULL && svc->version >= DISCO_USER_VERSION)
            svc->items(svc, &user, &st->from, list);
    }
    myna_iq_send_result(st, res);
    return 0;
}

static int disco_load(struct myna_module *m)
{
    unsigned where = MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_DISCO_INFO, "query", where, disco_info, NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_DISCO_ITEMS, "query", where, disco_items, NULL) < 0)
        return -1;
    myna_disco_user_feature(m, NS_DISCO_INFO);
    myna_disco_user_feature(m, NS_DISCO_ITEMS);
    /* XEP-0077 password change and account removal are the core's, on every host
     * (server/stream/register.c); clients look for the feature before offering them. */
    myna_disco_feature(m, "jabber:iq:register");
    return myna_disco_identity(m, "server", "im", "Myna");
}

MYNA_MODULE_DEFINE(.name = "disco", .description = "Service discovery (XEP-0030)",
                   .load = disco_load);
