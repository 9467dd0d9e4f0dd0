/* modules/pubsub/domain.c — the generic publish-subscribe service on a claimed sub-domain
 * (pubsub.HOST by default): its disco#info (identity pubsub/service and the XEP-0060 §10
 * features, §5.1), disco#items of nodes and of a node's items (§5.2, §5.5), node meta-data
 * (§5.3-5.4), and the pubsub protocol of ops.c/owner.c with explicit subscriptions. Who may
 * create nodes is the `create_nodes` option: "local" accounts of the host, "anyone",
 * "nobody", or a list of bare JIDs. A sub-domain handler answers every iq itself.
 */
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

#define NS_PING "urn:xmpp:ping"

static const char *const service_features[] = {
    "access-open", "access-presence", "access-roster", "access-whitelist", "auto-create",
    "config-node", "config-node-max", "create-and-configure", "create-nodes", "delete-items",
    "delete-nodes", "instant-nodes", "item-ids", "last-published", "manage-subscriptions",
    "member-affiliation", "meta-data", "modify-affiliations", "outcast-affiliation",
    "persistent-items", "publish", "publish-options", "publisher-affiliation", "purge-nodes",
    "retract-items", "retrieve-affiliations", "retrieve-default", "retrieve-items",
    "retrieve-subscriptions", "subscribe", NULL,
};

bool domain_may_create(struct ps_ctx *c, const struct myna_jid *who)
{
    const char *p = c->create_policy;
    if (strcmp(p, "anyone") == 0)
        return true;
    if (strcmp(p, "nobody") == 0)
        return false;
    if (strcmp(p, "local") == 0)
        return who->node && strcmp(who->domain, myna_module_host(c->m)) == 0;
    /* A list of bare JIDs separated by spaces or commas. */
    size_t bl = strlen(who->bare);
    for (const char *s = p; *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t len = strcspn(s, " ,");
        if (len == bl && strncmp(s, who->bare, bl) == 0)
            return true;
        s += len;
    }
    return false;
}

static void disco_info(struct ps_ctx *c, struct myna_stanza *st, const struct myna_xml *q)
{
    const char *node = myna_xml_attr(q, "node");
    struct ps_service svc = {c->domain, false};
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *info = myna_xml_add_child(res, NS_DISCO_INFO, "query");
    struct myna_xml *id = myna_xml_add_child(info, NS_DISCO_INFO, "identity");
    myna_xml_set_attr(id, "category", "pubsub");
    if (node) {
        struct ps_node n;
        struct ps_denial why;
        if (store_node_get(c, st->arena, &svc, node, &n) < 0 ||
            !access_allowed(c, st->arena, &svc, &n, st->from.bare, &why)) {
            ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL);
            return;
        }
        myna_xml_set_attr(info, "node", node);
        myna_xml_set_attr(id, "type", "leaf"); /* §5.3 */
        myna_xml_set_attr(myna_xml_add_child(info, NS_DISCO_INFO, "feature"), "var",
                          NS_PUBSUB);
        config_meta_form(info, &svc, &n);
        myna_iq_send_result(st, res);
        return;
    }
    myna_xml_set_attr(id, "type", "service");
    myna_xml_set_attr(id, "name", "Publish-Subscribe");
    static const char *const base[] = {NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB, NS_PING, NULL};
    for (const char *const *f = base; *f; f++)
        myna_xml_set_attr(myna_xml_add_child(info, NS_DISCO_INFO, "feature"), "var", *f);
    for (const char *const *f = service_features; *f; f++)
        myna_xml_set_attr(myna_xml_add_child(info, NS_DISCO_INFO, "feature"), "var",
                          myna_arena_printf(st->arena, "%s#%s", NS_PUBSUB, *f));
    myna_iq_send_result(st, res);
}

struct items_walk {
    struct ps_ctx *c;
    struct myna_stanza *st;
    const struct ps_service *svc;
    struct myna_xml *query;
};

static int items_node(const char *node, void *data)
{
    struct items_walk *w = data;
    struct ps_node n;
    struct ps_denial why;
    if (store_node_get(w->c, w->st->arena, w->svc, node, &n) == 0 &&
        access_allowed(w->c, w->st->arena, w->svc, &n, w->st->from.bare, &why)) {
        struct myna_xml *it = myna_xml_add_child(w->query, NS_DISCO_ITEMS, "item");
        myna_xml_set_attr(it, "jid", w->svc->jid);
        myna_xml_set_attr(it, "node", node);
        if (n.cfg.title)
            myna_xml_set_attr(it, "name", n.cfg.title);
    }
    return 0;
}

static void disco_items(struct ps_ctx *c, struct myna_stanza *st, const struct myna_xml *q)
{
    const char *node = myna_xml_attr(q, "node");
    struct ps_service svc = {c->domain, false};
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *items = myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
    if (!node) {
        struct items_walk w = {c, st, &svc, items};
        store_nodes(c, &svc, items_node, &w);
        myna_iq_send_result(st, res);
        return;
    }
    /* §5.5: the items of a node, named by their ids. */
    struct ps_node n;
    struct ps_denial why;
    if (store_node_get(c, st->arena, &svc, node, &n) < 0 ||
        !access_allowed(c, st->arena, &svc, &n, st->from.bare, &why)) {
        ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL);
        return;
    }
    myna_xml_set_attr(items, "node", node);
    struct ps_item *list;
    size_t count = 0;
    store_items_latest(c, st->arena, &svc, node, 0, &list, &count);
    for (size_t i = 0; i < count; i++) {
        struct myna_xml *it = myna_xml_add_child(items, NS_DISCO_ITEMS, "item");
        myna_xml_set_attr(it, "jid", svc.jid);
        myna_xml_set_attr(it, "name", list[i].id);
    }
    myna_iq_send_result(st, res);
}

static void domain_iq(struct ps_ctx *c, struct myna_stanza *st)
{
    bool get = strcmp(st->type, "get") == 0;
    if (!get && strcmp(st->type, "set") != 0)
        return; /* results and errors are never answered */
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    if (st->to.node || st->to.resource) {
        ps_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL, NULL); /* nothing lives there */
    } else if (get && myna_xml_is(q, NS_DISCO_INFO, "query")) {
        disco_info(c, st, q);
    } else if (get && myna_xml_is(q, NS_DISCO_ITEMS, "query")) {
        disco_items(c, st, q);
    } else if (get && myna_xml_is(q, NS_PING, "ping")) {
        myna_iq_result(st, NULL);
    } else if (myna_xml_is(q, NS_PUBSUB, "pubsub") || myna_xml_is(q, NS_PUBSUB_OWNER, "pubsub")) {
        struct ps_service svc = {c->domain, false};
        ops_iq(c, &svc, st);
    } else {
        ps_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL, NULL);
    }
}

static void domain_stanza(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct ps_ctx *c = data;
    if (st->kind == MYNA_IQ)
        domain_iq(c, st);
    else if (st->kind == MYNA_MESSAGE && strcmp(st->type, "error") != 0 &&
             strcmp(st->type, "headline") != 0)
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
    /* presence and bounced notifications: ignored */
}

int domain_register(struct ps_ctx *c)
{
    if (!c->domain)
        return 0;
    if (myna_subdomain_claim(c->m, c->domain, domain_stanza, c) < 0) {
        /* Taken (a component, another module): PEP still works without it. */
        myna_log(c->m, MYNA_LOG_WARN, "generic service off: cannot claim %s", c->domain);
        free(c->domain);
        c->domain = NULL;
        return 0;
    }
    return myna_disco_item(c->m, c->domain, "Publish-Subscribe");
}
