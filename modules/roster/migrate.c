/* modules/roster/migrate.c — rosters in XEP-0227 exports and imports (myna/module.h,
 * myna_migration_register). A user's roster is written as <query xmlns='jabber:iq:roster'>
 * with RFC 6121 items (subscription, ask='subscribe' for pending out, approved='true',
 * groups), and each pending inbound request as <presence type='subscribe' from=CONTACT/>
 * next to it, as ejabberd and Prosody write them (Prosody leaves it in the XEP's own
 * namespace); a pre-approval of a contact not in the roster is <presence
 * type='subscribed' to=CONTACT/>. Imports merge into the records (a request and an item
 * for the same contact make one record) and keep the module's limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

#define NS_PIE "urn:xmpp:pie:0"

static const char *sub_name(unsigned sub)
{
    static const char *const names[] = {"none", "to", "from", "both"};
    return names[sub & 3u];
}

static int export_roster(struct myna_module *m, const struct myna_jid *user,
                         struct myna_export *out, void *data)
{
    struct roster_ctx *c = roster_ctx(m);
    struct myna_arena *a = myna_arena_new();
    struct contact *items;
    size_t n = 0;
    int rc = contact_list(c, a, user->bare, &items, &n);
    size_t visible = 0;
    for (size_t i = 0; i < n; i++)
        visible += items[i].in_roster;
    if (rc == 0 && visible) {
        struct myna_xml *q = myna_xml_new(a, NS_ROSTER, "query");
        /* Prosody's attribute name; the counter goes up on import anyway. */
        myna_xml_set_attrf(q, "version", "%llu",
                           (unsigned long long)roster_version(c, a, user->bare));
        for (size_t i = 0; i < n; i++)
            if (items[i].in_roster)
                roster_item_xml(q, &items[i], false);
        rc = myna_export_write(out, q);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct contact *ct = &items[i];
        if (!ct->pending_in && !(ct->approved && !ct->in_roster))
            continue;
        struct myna_xml *p = NULL;
        if (ct->pending_in) /* the request as received, extended content included */
            p = request_get(c, a, user->bare, ct->jid);
        if (p == NULL)
            p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
        if (ct->pending_in) {
            myna_xml_set_attr(p, "type", "subscribe");
            myna_xml_set_attr(p, "from", ct->jid);
            myna_xml_set_attr(p, "to", user->bare);
        } else {
            myna_xml_set_attr(p, "type", "subscribed");
            myna_xml_set_attr(p, "from", user->bare);
            myna_xml_set_attr(p, "to", ct->jid);
        }
        rc = myna_export_write(out, p);
    }
    myna_arena_free(a);
    return rc;
}

/* The contact's bare JID from an attribute, prepared; NULL if unusable. */
static const char *contact_jid(struct myna_module *m, struct myna_arena *a,
                               const struct myna_jid *user, const char *s)
{
    struct myna_jid j, bare;
    if (!s || myna_jid_parse(a, s, &j) != 0)
        return NULL;
    myna_jid_to_bare(&j, &bare);
    if (myna_jid_bare_equal(&bare, user) || strlen(user->bare) + 1 + strlen(bare.bare) > 511)
        return NULL;
    return bare.bare;
}

/* Versions other servers handed out must not come back (RFC 6121 §2.6.3: a client with a
 * cached roster of version V must not be told it is current): ours continue above the
 * imported one. */
static int version_above(struct roster_ctx *c, struct myna_arena *a, const char *user,
                         const struct myna_xml *query)
{
    const char *v = query ? myna_xml_attr(query, "version") : NULL;
    if (!v)
        v = query ? myna_xml_attr(query, "ver") : NULL;
    unsigned long long imported = v ? strtoull(v, NULL, 10) : 0;
    if (roster_version(c, a, user) <= imported)
        return roster_version_set(c, user, imported + 1);
    uint64_t ver;
    return roster_version_bump(c, a, user, &ver);
}

static int import_item(struct myna_module *m, const struct myna_jid *user,
                       const struct myna_xml *query, const struct myna_xml *item, void *data)
{
    struct roster_ctx *c = roster_ctx(m);
    if (!myna_xml_is(item, NS_ROSTER, "item"))
        return -1;
    struct myna_arena *a = myna_arena_new();
    const char *why = NULL;
    const char *jid = contact_jid(m, a, user, myna_xml_attr(item, "jid"));
    struct contact ct;
    int rc = -1;
    if (!jid) {
        why = "bad or own jid";
        goto done;
    }
    if (contact_get(c, a, user->bare, jid, &ct) < 0) {
        memset(&ct, 0, sizeof ct);
        ct.jid = jid;
    }
    if (!ct.in_roster && (long long)roster_count(c, a, user->bare) >= c->max_items) {
        why = "roster size limit (max_items) reached";
        goto done;
    }
    const char *sub = myna_xml_attr(item, "subscription");
    static const char *const subs[] = {"none", "to", "from", "both"};
    ct.sub = 0;
    for (unsigned i = 0; sub && i < 4; i++)
        if (strcmp(sub, subs[i]) == 0)
            ct.sub = i;
    if (sub && strcmp(sub, sub_name(ct.sub)) != 0) {
        why = "unknown subscription state";
        goto done;
    }
    const char *ask = myna_xml_attr(item, "ask");
    ct.ask = ask && strcmp(ask, "subscribe") == 0 && !(ct.sub & SUB_TO);
    const char *appr = myna_xml_attr(item, "approved");
    ct.approved = ct.approved || (appr && (strcmp(appr, "true") == 0 || strcmp(appr, "1") == 0));
    const char *name = myna_xml_attr(item, "name");
    ct.name = name && *name && (long long)strlen(name) <= c->max_name ? name : NULL;
    size_t n = 0;
    for (struct myna_xml *g = myna_xml_find(item, NULL, "group"); g;
         g = myna_xml_find_next(g, NULL, "group"))
        n++;
    ct.groups = myna_arena_alloc(a, (n ? n : 1) * sizeof(char *));
    ct.ngroups = 0;
    for (struct myna_xml *g = myna_xml_find(item, NULL, "group"); g;
         g = myna_xml_find_next(g, NULL, "group")) {
        const char *gn = myna_xml_text(g);
        bool dup = false;
        for (size_t i = 0; i < ct.ngroups; i++)
            dup = dup || strcmp(ct.groups[i], gn) == 0;
        if (*gn && !dup && (long long)strlen(gn) <= c->max_group &&
            (long long)ct.ngroups < c->max_groups)
            ct.groups[ct.ngroups++] = gn;
    }
    ct.in_roster = true;
    rc = contact_put(c, user->bare, &ct);
    if (rc == 0)
        rc = version_above(c, a, user->bare, query);
    if (rc != 0)
        why = myna_store_strerror(rc);
done:
    if (why)
        myna_log(m, MYNA_LOG_WARN, "import: roster item %s of %s refused: %s",
                 myna_xml_attr(item, "jid") ? myna_xml_attr(item, "jid") : "?", user->bare, why);
    myna_arena_free(a);
    return rc < 0 ? -1 : 0;
}

/* A pending inbound request (type subscribe, from the contact) or a pre-approval (type
 * subscribed, to the contact). */
static int import_presence(struct myna_module *m, const struct myna_jid *user,
                           const struct myna_xml *list, const struct myna_xml *p, void *data)
{
    struct roster_ctx *c = roster_ctx(m);
    const char *type = myna_xml_attr(p, "type");
    bool request = type && strcmp(type, "subscribe") == 0;
    bool approval = type && strcmp(type, "subscribed") == 0;
    if (!request && !approval)
        return -1;
    struct myna_arena *a = myna_arena_new();
    const char *jid = contact_jid(m, a, user, myna_xml_attr(p, request ? "from" : "to"));
    struct contact ct;
    int rc = -1;
    if (jid) {
        if (contact_get(c, a, user->bare, jid, &ct) < 0) {
            memset(&ct, 0, sizeof ct);
            ct.jid = jid;
        }
        if (request && !(ct.sub & SUB_FROM))
            ct.pending_in = true;
        if (approval && !(ct.sub & SUB_FROM))
            ct.approved = true;
        /* The bound live requests from strangers have (subscription.c). */
        bool known = ct.in_roster || ct.pending_in || ct.approved;
        rc = !known && (long long)roster_count_all(c, a, user->bare) >= 2 * c->max_items
                 ? -1 : contact_put(c, user->bare, &ct);
        if (rc == 0 && ct.pending_in && request) { /* keep its content (RFC 6121 §3.1.3) */
            struct myna_xml *req = myna_xml_copy(a, p);
            myna_xml_set_attr(req, "from", jid);
            myna_xml_set_attr(req, "to", user->bare);
            rc = request_put(c, user->bare, jid, req);
        }
    }
    if (rc < 0)
        myna_log(m, MYNA_LOG_WARN, "import: subscription %s of %s refused", type, user->bare);
    myna_arena_free(a);
    return rc < 0 ? -1 : 0;
}

int roster_migration_register(struct myna_module *m)
{
    if (myna_migration_register(m, NS_ROSTER, "query", MYNA_MIGRATION_ITEMS, export_roster,
                                import_item, NULL) < 0 ||
        myna_migration_register(m, MYNA_NS_CLIENT, "presence", 0, NULL, import_presence,
                                NULL) < 0 ||
        myna_migration_register(m, NS_PIE, "presence", 0, NULL, import_presence, NULL) < 0)
        return -1;
    return 0;
}
