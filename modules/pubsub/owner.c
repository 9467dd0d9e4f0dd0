/* modules/pubsub/owner.c — the owner use cases of XEP-0060 §8 (pubsub#owner namespace):
 * configure get/set (§8.2, cancelling subscriptions the new access model no longer admits,
 * XEP-0163 §7.1), default configuration (§8.3), delete with notification (§8.4), purge
 * (§8.5), and the subscriptions (§8.8) and affiliations (§8.9) the owner manages. Every
 * request needs the owner affiliation (forbidden otherwise).
 */
#include <string.h>

#include "pubsub.h"

static const char *const aff_names[] = {"none", "outcast", "member", "publish-only",
                                        "publisher", "owner"};

static bool aff_parse(const char *s, enum ps_affiliation *out)
{
    for (int i = 0; s && i <= PS_AFF_OWNER; i++)
        if (strcmp(s, aff_names[i]) == 0) {
            *out = (enum ps_affiliation)i;
            return true;
        }
    return false;
}

/* The node of an owner request, loaded, with the requester checked as its owner. */
static bool owned_node(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                       const struct myna_xml *el, struct ps_node *n)
{
    const char *node = myna_xml_attr(el, "node");
    if (!node || !*node) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, "nodeid-required", NULL); /* §8.2.3.3 */
        return false;
    }
    if (svc->pep)
        bookmarks_migrate(c, svc, node);
    int rc = store_node_get(c, st->arena, svc, node, n);
    if (rc == MYNA_STORE_NOTFOUND) {
        ps_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL); /* §8.2.3.5 */
        return false;
    }
    if (rc < 0) {
        ps_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        return false;
    }
    if (access_affiliation(c, st->arena, svc, n, st->from.bare) != PS_AFF_OWNER) {
        ps_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL); /* §8.2.3.2 */
        return false;
    }
    return true;
}

static struct myna_xml *owner_result(struct myna_stanza *st, struct myna_xml **ps)
{
    struct myna_xml *res = myna_iq_result_new(st);
    *ps = myna_xml_add_child(res, NS_PUBSUB_OWNER, "pubsub");
    return res;
}

/* ---- configure (§8.2) ---- */

struct revoke {
    struct ps_ctx *c;
    struct myna_arena *a;
    const struct ps_service *svc;
    const struct ps_node *n;
};

static int revoke_one(const char *jid, const char *subid, void *data)
{
    struct revoke *r = data;
    struct ps_denial why;
    const char *slash = strchr(jid, '/');
    const char *bare = slash ? myna_arena_strndup(r->a, jid, (size_t)(slash - jid)) : jid;
    if (!access_allowed(r->c, r->a, r->svc, r->n, bare, &why))
        store_sub_set(r->c, r->svc, r->n->name, jid, NULL);
    return 0;
}

static void configure_set(struct ps_ctx *c, const struct ps_service *svc,
                          struct myna_stanza *st, const struct myna_xml *el, struct ps_node *n)
{
    const struct myna_xml *x = myna_xml_find(el, DF_NS, "x");
    struct dataform f;
    if (!x || df_parse(x, &f, PS_FORM_FIELDS, PS_FORM_VALUES) < 0 ||
        (f.form_type && strcmp(f.form_type, NS_PUBSUB_CONFIG) != 0)) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, "malformed data form"); /* §8.2.5.2 */
        return;
    }
    if (strcmp(f.type, "cancel") == 0) {
        myna_iq_result(st, NULL); /* §8.2.4: the owner cancelled */
        return;
    }
    if (strcmp(f.type, "submit") != 0) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, "a submit form is expected");
        return;
    }
    const char *bad = NULL;
    if (config_apply(c, st->arena, &f, &n->cfg, &bad) < 0) {
        ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL,
                 myna_arena_printf(st->arena, "unsupported or invalid %s", bad));
        return;
    }
    if (store_node_put(c, svc, n) < 0) {
        ps_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    struct revoke r = {c, st->arena, svc, n};
    store_subs(c, svc, n->name, revoke_one, &r);
    ops_answer_durable(c, st, NULL);
    notify_event(c, svc, n, PS_EV_CONFIG, NULL);
}

static void op_configure(struct ps_ctx *c, const struct ps_service *svc,
                         struct myna_stanza *st, const struct myna_xml *el, bool set)
{
    struct ps_node n;
    if (!owned_node(c, svc, st, el, &n))
        return;
    if (set) {
        configure_set(c, svc, st, el, &n);
        return;
    }
    struct myna_xml *ps, *res = owner_result(st, &ps);
    struct myna_xml *conf = myna_xml_add_child(ps, NS_PUBSUB_OWNER, "configure");
    myna_xml_set_attr(conf, "node", n.name);
    config_form(c, st->arena, conf, &n.cfg, "form");
    myna_iq_send_result(st, res);
}

/* ---- default (§8.3) ---- */

static void op_default(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st)
{
    struct ps_config cfg;
    config_default(c, svc, &cfg);
    struct myna_xml *ps, *res = owner_result(st, &ps);
    config_form(c, st->arena, myna_xml_add_child(ps, NS_PUBSUB_OWNER, "default"), &cfg, "form");
    myna_iq_send_result(st, res);
}

/* ---- delete and purge (§8.4, §8.5) ---- */

static void op_delete(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                      const struct myna_xml *el)
{
    struct ps_node n;
    if (!owned_node(c, svc, st, el, &n))
        return;
    notify_event(c, svc, &n, PS_EV_DELETE, NULL); /* §8.4.2, while subscribers still exist */
    if (store_node_del(c, svc, n.name) < 0) {
        ps_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    ops_answer_durable(c, st, NULL);
}

static void op_purge(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                     const struct myna_xml *el)
{
    struct ps_node n;
    if (!owned_node(c, svc, st, el, &n))
        return;
    if (store_items_purge(c, svc, &n) < 0 || store_node_put(c, svc, &n) < 0) {
        ps_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    ops_answer_durable(c, st, NULL);
    notify_event(c, svc, &n, PS_EV_PURGE, NULL); /* §8.5.2 */
}

/* ---- subscriptions and affiliations managed by the owner (§8.8, §8.9) ---- */

struct listing {
    struct myna_xml *list;
};

static int list_sub(const char *jid, const char *subid, void *data)
{
    struct listing *l = data;
    struct myna_xml *s = myna_xml_add_child(l->list, NS_PUBSUB_OWNER, "subscription");
    myna_xml_set_attr(s, "jid", jid);
    myna_xml_set_attr(s, "subscription", "subscribed");
    myna_xml_set_attr(s, "subid", subid);
    return 0;
}

static int list_aff(const char *jid, enum ps_affiliation aff, void *data)
{
    struct listing *l = data;
    struct myna_xml *s = myna_xml_add_child(l->list, NS_PUBSUB_OWNER, "affiliation");
    myna_xml_set_attr(s, "jid", jid);
    myna_xml_set_attr(s, "affiliation", aff_names[aff]);
    return 0;
}

static void owner_lists_get(struct ps_ctx *c, const struct ps_service *svc,
                            struct myna_stanza *st, const struct ps_node *n, bool affs)
{
    struct myna_xml *ps, *res = owner_result(st, &ps);
    struct listing l = {myna_xml_add_child(ps, NS_PUBSUB_OWNER,
                                           affs ? "affiliations" : "subscriptions")};
    myna_xml_set_attr(l.list, "node", n->name);
    if (affs) {
        if (svc->pep)
            list_aff(svc->jid, PS_AFF_OWNER, &l); /* XEP-0163 §2.2: the account owns it */
        store_affs(c, svc, n->name, list_aff, &l);
    } else {
        store_subs(c, svc, n->name, list_sub, &l);
    }
    myna_iq_send_result(st, res);
}

struct owners_left {
    const char *changing;
    int count;
};

static int count_owner(const char *jid, enum ps_affiliation aff, void *data)
{
    struct owners_left *o = data;
    if (aff == PS_AFF_OWNER && strcmp(jid, o->changing) != 0)
        o->count++;
    return 0;
}

/* Checks one <affiliation/> of a set; returns the error text or NULL. */
static const char *aff_check(struct ps_ctx *c, const struct ps_service *svc,
                             const struct ps_node *n, const struct myna_jid *j,
                             enum ps_affiliation aff)
{
    if (svc->pep) {
        if (strcmp(j->bare, svc->jid) == 0)
            return "the account is always the owner";
        if (aff == PS_AFF_OWNER || aff == PS_AFF_PUBLISHER || aff == PS_AFF_PUBLISH_ONLY)
            return "a personal node has one publisher"; /* XEP-0163 §2.2 */
        return NULL;
    }
    struct owners_left o = {j->bare, 0};
    store_affs(c, svc, n->name, count_owner, &o);
    if (aff != PS_AFF_OWNER && o.count == 0)
        return "the node would have no owner"; /* §8.9.2.4 */
    return NULL;
}

static void affiliations_set(struct ps_ctx *c, const struct ps_service *svc,
                             struct myna_stanza *st, const struct myna_xml *list,
                             const struct ps_node *n)
{
    /* Validate everything first, then apply (§8.9.2: all or nothing). */
    for (const struct myna_xml *e = myna_xml_find(list, NS_PUBSUB_OWNER, "affiliation"); e;
         e = myna_xml_find_next(e, NS_PUBSUB_OWNER, "affiliation")) {
        struct myna_jid j;
        enum ps_affiliation aff;
        const char *js = myna_xml_attr(e, "jid");
        if (!js || myna_jid_parse(st->arena, js, &j) < 0 ||
            !aff_parse(myna_xml_attr(e, "affiliation"), &aff)) {
            ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
            return;
        }
        const char *why = aff_check(c, svc, n, &j, aff);
        if (why) {
            ps_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL, why);
            return;
        }
    }
    for (const struct myna_xml *e = myna_xml_find(list, NS_PUBSUB_OWNER, "affiliation"); e;
         e = myna_xml_find_next(e, NS_PUBSUB_OWNER, "affiliation")) {
        struct myna_jid j;
        enum ps_affiliation aff;
        myna_jid_parse(st->arena, myna_xml_attr(e, "jid"), &j);
        aff_parse(myna_xml_attr(e, "affiliation"), &aff);
        store_aff_set(c, svc, n->name, j.bare, aff);
        if (aff == PS_AFF_OUTCAST) {
            store_sub_set(c, svc, n->name, j.bare, NULL); /* §8.9.2: an outcast is dropped */
            store_sub_set(c, svc, n->name, j.full, NULL);
        }
    }
    struct revoke r = {c, st->arena, svc, n};
    store_subs(c, svc, n->name, revoke_one, &r);
    ops_answer_durable(c, st, NULL);
}

static void subscriptions_set(struct ps_ctx *c, const struct ps_service *svc,
                              struct myna_stanza *st, const struct myna_xml *list,
                              const struct ps_node *n)
{
    for (const struct myna_xml *e = myna_xml_find(list, NS_PUBSUB_OWNER, "subscription"); e;
         e = myna_xml_find_next(e, NS_PUBSUB_OWNER, "subscription")) {
        struct myna_jid j;
        const char *state = myna_xml_attr(e, "subscription");
        const char *js = myna_xml_attr(e, "jid");
        if (!js || myna_jid_parse(st->arena, js, &j) < 0 || !state ||
            (strcmp(state, "none") != 0 && strcmp(state, "subscribed") != 0)) {
            ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL); /* §8.8.2.4 */
            return;
        }
    }
    for (const struct myna_xml *e = myna_xml_find(list, NS_PUBSUB_OWNER, "subscription"); e;
         e = myna_xml_find_next(e, NS_PUBSUB_OWNER, "subscription")) {
        struct myna_jid j;
        myna_jid_parse(st->arena, myna_xml_attr(e, "jid"), &j);
        const char *subid = NULL;
        bool on = strcmp(myna_xml_attr(e, "subscription"), "subscribed") == 0;
        if (on && store_sub_get(c, st->arena, svc, n->name, j.full, &subid) == 0)
            continue;
        store_sub_set(c, svc, n->name, j.full,
                      on ? ps_next_id(c, st->arena, myna_arena_printf(st->arena, "%llx-",
                                                   (unsigned long long)myna_now_ms()))
                         : NULL);
    }
    ops_answer_durable(c, st, NULL);
}

static void op_lists(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
                     const struct myna_xml *el, bool set, bool affs)
{
    struct ps_node n;
    if (!owned_node(c, svc, st, el, &n))
        return;
    if (!set)
        owner_lists_get(c, svc, st, &n, affs);
    else if (affs)
        affiliations_set(c, svc, st, el, &n);
    else
        subscriptions_set(c, svc, st, el, &n);
}

void owner_iq(struct ps_ctx *c, const struct ps_service *svc, struct myna_stanza *st,
              const struct myna_xml *ps)
{
    bool set = strcmp(st->type, "set") == 0;
    const struct myna_xml *el = myna_xml_first_element(ps);
    if (!el || myna_xml_find_next(el, NULL, NULL) || strcmp(el->ns, NS_PUBSUB_OWNER) != 0) {
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
        return;
    }
    if (strcmp(el->name, "configure") == 0)
        op_configure(c, svc, st, el, set);
    else if (!set && strcmp(el->name, "default") == 0)
        op_default(c, svc, st);
    else if (set && strcmp(el->name, "delete") == 0)
        op_delete(c, svc, st, el);
    else if (set && strcmp(el->name, "purge") == 0)
        op_purge(c, svc, st, el);
    else if (strcmp(el->name, "subscriptions") == 0)
        op_lists(c, svc, st, el, set, false);
    else if (strcmp(el->name, "affiliations") == 0)
        op_lists(c, svc, st, el, set, true);
    else
        ps_error(st, MYNA_ERR_BAD_REQUEST, NULL, NULL);
}
