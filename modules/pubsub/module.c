/* modules/pubsub/module.c — the pubsub module: options (the quotas of XEP-0060 services
 * and the generic service's sub-domain and creation policy), load and unload, the
 * "private.extension" service through which the private module hands over XEP-0048
 * bookmarks and vCard changes (private.h), and deletion of an account's data. What each
 * part implements is in its own file (pubsub.h lists them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

static const struct myna_option pubsub_options[] = {
    {"pep", MYNA_OPT_BOOL, "true", 0, 0, "a PEP service on every account (XEP-0163)"},
    {"service", MYNA_OPT_BOOL, "true", 0, 0, "the generic publish-subscribe service"},
    {"subdomain", MYNA_OPT_STRING, "pubsub", 0, 0,
     "label of the generic service's domain: pubsub -> pubsub.example.org"},
    {"create_nodes", MYNA_OPT_STRING, "local", 0, 0,
     "who may create nodes on the generic service: local, anyone, nobody, or bare JIDs"},
    {"max_nodes", MYNA_OPT_INT, "128", 1, 100000, "nodes of one account's PEP service"},
    {"service_max_nodes", MYNA_OPT_INT, "10000", 1, 10000000,
     "nodes of the generic service"},
    {"max_items", MYNA_OPT_INT, "256", 1, 100000,
     "items one node keeps at most (the value of pubsub#max_items 'max')"},
    {"max_account_items", MYNA_OPT_INT, "2048", 1, 10000000,
     "items over all nodes of one account (or of the generic service)"},
    {"max_payload_bytes", MYNA_OPT_INT, "131072", 64, 16777216, "bytes of one item's payload"},
    {"max_subscriptions", MYNA_OPT_INT, "1000", 1, 1000000,
     "explicit subscriptions one account may hold"},
    {"convert_avatars", MYNA_OPT_BOOL, "true", 0, 0,
     "XEP-0398: PEP avatars and vCard photos kept in step, hash in presence"},
    {"convert_bookmarks", MYNA_OPT_BOOL, "true", 0, 0,
     "XEP-0402/XEP-0411: XEP-0048 bookmarks (private XML and PEP) kept in step"},
    {.type = MYNA_OPT_END},
};

static const char *const pubsub_depends[] = {"roster", NULL};

/* ---- the private module's extension (private.h) ---- */

static bool ext_owns(const struct private_extension *x, const char *ns)
{
    struct ps_ctx *c = x->ctx;
    return c->convert_bookmarks && bookmarks_owns_private(ns);
}

static int ext_get(const struct private_extension *x, const struct myna_jid *user,
                   const char *ns, struct myna_arena *a, struct myna_xml **out)
{
    return bookmarks_private_get(x->ctx, user, a, out);
}

static int ext_set(const struct private_extension *x, const struct myna_jid *user,
                   const struct myna_xml *el)
{
    return bookmarks_private_set(x->ctx, user, el);
}

static void ext_vcard_changed(const struct private_extension *x, const struct myna_jid *user,
                              const struct myna_xml *vcard)
{
    struct ps_ctx *c = x->ctx;
    if (c->convert_avatars)
        avatar_vcard_changed(c, user, vcard);
}

/* ---- load / unload ---- */

static char *xstrdup_opt(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static int pubsub_load(struct myna_module *m)
{
    struct ps_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    myna_module_set_data(m, c);
    caps_global_ref();
    c->m = m;
    c->store = myna_module_store(m, "pubsub");
    c->pep = myna_opt_bool(m, "pep");
    c->max_nodes = myna_opt_int(m, "max_nodes");
    c->service_max_nodes = myna_opt_int(m, "service_max_nodes");
    c->max_items = myna_opt_int(m, "max_items");
    c->max_account_items = myna_opt_int(m, "max_account_items");
    c->max_payload = myna_opt_int(m, "max_payload_bytes");
    c->max_subscriptions = myna_opt_int(m, "max_subscriptions");
    c->create_policy = xstrdup_opt(myna_opt_string(m, "create_nodes"));
    c->convert_avatars = c->pep && myna_opt_bool(m, "convert_avatars");
    c->convert_bookmarks = c->pep && myna_opt_bool(m, "convert_bookmarks");
    if (myna_opt_bool(m, "service")) {
        const char *label = myna_opt_string(m, "subdomain");
        size_t n = strlen(label) + 1 + strlen(myna_module_host(m)) + 1;
        c->domain = malloc(n);
        if (!c->domain)
            abort();
        snprintf(c->domain, n, "%s.%s", label, myna_module_host(m));
    }
    if (!c->store || pep_register(c) < 0 || domain_register(c) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, pep_user_deleted, c) < 0 ||
        migrate_register(c) < 0)
        return -1;
    if (c->convert_avatars && avatar_register(c) < 0)
        return -1;
    if (c->convert_bookmarks) {
        /* XEP-0402 §5.3 and XEP-0411 §2: what the account's bookmarks support. */
        myna_disco_user_feature(m, "urn:xmpp:bookmarks:1#compat");
        myna_disco_user_feature(m, "urn:xmpp:bookmarks:1#compat-pep");
        myna_disco_user_feature(m, "urn:xmpp:bookmarks-conversion:0");
    }
    if (c->pep) {
        /* XEP-0292 §7: vCard4 in PEP. */
        myna_disco_user_feature(m, "urn:ietf:params:xml:ns:vcard-4.0");
        c->private_ext = (struct private_extension){
            .version = PRIVATE_EXTENSION_VERSION, .ctx = c, .owns = ext_owns, .get = ext_get,
            .set = ext_set, .vcard_changed = ext_vcard_changed};
        if (myna_service_publish(m, PRIVATE_EXTENSION_SERVICE, &c->private_ext) < 0)
            return -1;
    }
    myna_log(m, MYNA_LOG_INFO, "PEP %s, generic service %s", c->pep ? "on" : "off",
             c->domain ? c->domain : "off");
    return 0;
}

static void pubsub_unload(struct myna_module *m)
{
    struct ps_ctx *c = myna_module_data(m);
    if (!c)
        return;
    pep_unload(c);
    caps_global_unref();
    free(c->domain);
    free(c->create_policy);
    free(c);
    myna_module_set_data(m, NULL);
}

MYNA_MODULE_DEFINE(.name = "pubsub",
                   .description = "Publish-subscribe (XEP-0060) with PEP (XEP-0163), "
                                  "avatars, bookmarks, OMEMO and vCard4 nodes",
                   .depends = pubsub_depends, .options = pubsub_options,
                   .load = pubsub_load, .unload = pubsub_unload);
