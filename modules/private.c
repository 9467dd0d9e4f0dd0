/* modules/private.c — Private XML Storage (XEP-0049, jabber:iq:private) and vcard-temp
 * (XEP-0054): per-account XML that only the account itself may write.
 *   private: <query xmlns='jabber:iq:private'><x xmlns='NS'/></query> stores or returns one
 *            element per namespace (keys "user@host\0NS"); getting an unknown one returns
 *            it empty; the jabber:* namespaces are refused (XEP-0049 §3.3).
 *   vcard:   <vCard xmlns='vcard-temp'/> set by the owner, readable by anyone who can reach
 *            the account (key "user@host\0").
 * Elements are stored serialized and parsed back with myna_xml_parse; option max_bytes
 * bounds one element. One module, "private", serves both protocols. It publishes the
 * "private" service and defers to a "private.extension" for the namespaces that one owns
 * and on vCard changes (private.h: XEP-0411 bookmarks, XEP-0398 avatars). Both travel in
 * XEP-0227 exports as the <query xmlns='jabber:iq:private'/> and <vCard/> of the user.
 */
#include <stdlib.h>
#include <string.h>

#include "myna/module.h"
#include "private.h"

#define NS_PRIVATE "jabber:iq:private"
#define NS_VCARD "vcard-temp"

static const struct myna_option private_options[] = {
    {"max_bytes", MYNA_OPT_INT, "65536", 256, 16777216, "largest element stored, in bytes"},
    {.type = MYNA_OPT_END},
};

/* Only the account itself (RFC 6120 §10.3.3: no 'to', or its own bare JID). */
static bool own_account(const struct myna_stanza *st)
{
    return st->origin && strcmp(st->to.bare, st->from.bare) == 0;
}

static size_t build_key(struct myna_arena *a, const char *bare, const char *ns, char **out)
{
    size_t bl = strlen(bare) + 1, nl = ns ? strlen(ns) : 0;
    *out = myna_arena_alloc(a, bl + nl);
    memcpy(*out, bare, bl);
    if (nl)
        memcpy(*out + bl, ns, nl);
    return bl + nl;
}

static int store_put(struct myna_module *m, struct myna_stanza *st, struct myna_store *s,
                     const char *key, size_t klen, const struct myna_xml *el)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, MYNA_NS_CLIENT, &b);
    int rc = -1;
    if (b.len > (size_t)myna_opt_int(m, "max_bytes"))
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "too large");
    else if ((rc = myna_store_put(s, key, klen, b.data, b.len)) != 0)
        myna_reply_error(st, myna_error_from_store(rc), NULL);
    myna_buf_free(&b);
    return rc;
}

static struct myna_xml *store_get(struct myna_store *s, struct myna_arena *a, const char *key,
                                  size_t klen)
{
    void *v;
    size_t vl;
    if (myna_store_get(s, key, klen, a, &v, &vl) != 0)
        return NULL;
    return myna_xml_parse(a, v, vl, MYNA_NS_CLIENT);
}

static const struct private_extension *extension_for(struct myna_module *m, const char *ns)
{
    const struct private_extension *x = myna_service_get(m, PRIVATE_EXTENSION_SERVICE);
    if (x == NULL || x->version < PRIVATE_EXTENSION_VERSION)
        return NULL;
    return ns == NULL || x->owns(x, ns) ? x : NULL;
}

/* A namespace served by the extension (XEP-0411: bookmarks kept in PEP). */
static void private_delegate(const struct private_extension *ext, struct myna_stanza *st,
                             struct myna_xml *x, bool set)
{
    struct myna_jid user;
    myna_jid_to_bare(&st->from, &user);
    if (set) {
        int rc = ext->set(ext, &user, x);
        if (rc < 0)
            myna_reply_error(st, PRIVATE_EXT_CONDITION(rc), NULL);
        else
            myna_iq_result(st, NULL);
        return;
    }
    struct myna_xml *got = NULL;
    int rc = ext->get(ext, &user, x->ns, st->arena, &got);
    if (rc < 0) {
        myna_reply_error(st, PRIVATE_EXT_CONDITION(rc), NULL);
        return;
    }
    struct myna_xml *r = myna_iq_result_new(st);
    struct myna_xml *rq = myna_xml_add_child(r, NS_PRIVATE, "query");
    myna_xml_add_copy(rq, got ? got : x);
    myna_iq_send_result(st, r);
}

static int private_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct myna_store *s = myna_module_store(m, "private");
    struct myna_xml *q = myna_xml_first_element(st->xml);
    struct myna_xml *x = myna_xml_first_element(q);
    bool set = strcmp(st->type, "set") == 0;
    if (!own_account(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    /* XEP-0049 §3.3: exactly one child, in a namespace of its own. */
    if (!x || myna_xml_find_next(x, NULL, NULL) || !*x->ns || strncmp(x->ns, "jabber:", 7) == 0) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, NULL);
        return 0;
    }
    const struct private_extension *ext = extension_for(m, x->ns);
    if (ext != NULL) {
        private_delegate(ext, st, x, set);
        return 0;
    }
    char *key;
    size_t klen = build_key(st->arena, st->from.bare, x->ns, &key);
    if (set) {
        if (store_put(m, st, s, key, klen, x) == 0)
            myna_iq_result(st, NULL);
        return 0;
    }
    struct myna_xml *r = myna_iq_result_new(st);
    struct myna_xml *rq = myna_xml_add_child(r, NS_PRIVATE, "query");
    struct myna_xml *stored = store_get(s, st->arena, key, klen);
    if (stored)
        myna_xml_add_copy(rq, stored);
    else
        myna_xml_add_copy(rq, x); /* XEP-0049 §3.2: nothing stored: the empty element back */
    myna_iq_send_result(st, r);
    return 0;
}

static int vcard_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct myna_store *s = myna_module_store(m, "vcard");
    char *key;
    size_t klen = build_key(st->arena, st->to.bare, NULL, &key);
    if (strcmp(st->type, "set") == 0) {
        if (!own_account(st)) {
            myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
            return 0;
        }
        struct myna_xml *vcard = myna_xml_first_element(st->xml);
        if (store_put(m, st, s, key, klen, vcard) != 0)
            return 0;
        myna_iq_result(st, NULL);
        const struct private_extension *ext = extension_for(m, NULL);
        if (ext != NULL) {
            struct myna_jid user;
            myna_jid_to_bare(&st->to, &user);
            ext->vcard_changed(ext, &user, vcard);
        }
        return 0;
    }
    struct myna_xml *stored = store_get(s, st->arena, key, klen);
    if (stored) {
        myna_iq_result(st, stored);
    } else {
        /* XEP-0054 §3.1: no vCard yet: an empty one (what deployed servers answer). */
        struct myna_xml *empty = myna_xml_new(st->arena, NS_VCARD, "vCard");
        myna_iq_result(st, empty);
    }
    return 0;
}

/* ---- XEP-0227 ---- */

struct export_ctx {
    struct myna_export *out;
    struct myna_arena *a;
    int rc;
    bool opened;
};

static int export_one(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct export_ctx *x = data;
    struct myna_xml *el = myna_xml_parse(x->a, v, vl, MYNA_NS_CLIENT);
    if (!el)
        return 0;
    if (!x->opened) {
        x->rc = myna_export_begin(x->out, myna_xml_new(x->a, NS_PRIVATE, "query"));
        x->opened = true;
    }
    if (x->rc == 0)
        x->rc = myna_export_write(x->out, el);
    return x->rc;
}

static int export_private(struct myna_module *m, const struct myna_jid *user,
                          struct myna_export *out, void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, user->bare, NULL, &key);
    struct export_ctx x = {out, a, 0, false};
    myna_store_iter(myna_module_store(m, "private"), key, klen, NULL, 0, false, 0, export_one,
                    &x);
    if (x.opened && x.rc == 0)
        x.rc = myna_export_end(out);
    struct myna_xml *vcard = x.rc == 0 ? store_get(myna_module_store(m, "vcard"), a, key, klen)
                                       : NULL;
    if (vcard)
        x.rc = myna_export_write(out, vcard);
    myna_arena_free(a);
    return x.rc;
}

/* Stores an imported element under `key` within max_bytes. */
static int import_put(struct myna_module *m, struct myna_store *s, const struct myna_jid *user,
                      const char *key, size_t klen, const struct myna_xml *el)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, MYNA_NS_CLIENT, &b);
    int rc = -1;
    if (b.len > (size_t)myna_opt_int(m, "max_bytes"))
        myna_log(m, MYNA_LOG_WARN, "import: <%s xmlns='%s'> of %s is over max_bytes: refused",
                 el->name, el->ns, user->bare);
    else
        rc = myna_store_put(s, key, klen, b.data, b.len);
    myna_buf_free(&b);
    return rc < 0 ? -1 : 0;
}

static int import_private(struct myna_module *m, const struct myna_jid *user,
                          const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    /* The rule of XEP-0049 §3.3 holds for imported data too. */
    if (!*el->ns || strncmp(el->ns, "jabber:", 7) == 0)
        return -1;
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, user->bare, el->ns, &key);
    int rc = klen <= 511 ? import_put(m, myna_module_store(m, "private"), user, key, klen, el)
                         : -1;
    myna_arena_free(a);
    return rc;
}

static int import_vcard(struct myna_module *m, const struct myna_jid *user,
                        const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, user->bare, NULL, &key);
    int rc = import_put(m, myna_module_store(m, "vcard"), user, key, klen, el);
    myna_arena_free(a);
    return rc;
}

static void on_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, ev->user->bare, NULL, &key);
    myna_store_del_prefix(myna_module_store(m, "private"), key, klen, NULL);
    myna_store_del(myna_module_store(m, "vcard"), key, klen);
    myna_arena_free(a);
}

/* ---- the "private" service (private.h) ---- */

static struct myna_xml *svc_vcard_get(const struct private_service *svc, const char *bare,
                                      struct myna_arena *a)
{
    char *key;
    size_t klen = build_key(a, bare, NULL, &key);
    return store_get(myna_module_store(svc->provider, "vcard"), a, key, klen);
}

static int svc_put(struct myna_module *m, const char *table, const char *bare, const char *ns,
                   const struct myna_xml *el)
{
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, bare, ns, &key);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, MYNA_NS_CLIENT, &b);
    int rc = myna_store_put(myna_module_store(m, table), key, klen, b.data, b.len);
    myna_buf_free(&b);
    myna_arena_free(a);
    return rc;
}

static int svc_vcard_put(const struct private_service *svc, const char *bare,
                         const struct myna_xml *vcard)
{
    return svc_put(svc->provider, "vcard", bare, NULL, vcard);
}

static struct myna_xml *svc_stored_get(const struct private_service *svc, const char *bare,
                                       const char *ns, struct myna_arena *a)
{
    char *key;
    size_t klen = build_key(a, bare, ns, &key);
    return store_get(myna_module_store(svc->provider, "private"), a, key, klen);
}

static int svc_stored_del(const struct private_service *svc, const char *bare, const char *ns)
{
    struct myna_arena *a = myna_arena_new();
    char *key;
    size_t klen = build_key(a, bare, ns, &key);
    int rc = myna_store_del(myna_module_store(svc->provider, "private"), key, klen);
    myna_arena_free(a);
    return rc;
}

static void private_unload(struct myna_module *m)
{
    free(myna_module_data(m));
    myna_module_set_data(m, NULL);
}

static int private_load(struct myna_module *m)
{
    struct private_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return -1;
    *svc = (struct private_service){.version = PRIVATE_SERVICE_VERSION, .provider = m,
                                    .vcard_get = svc_vcard_get, .vcard_put = svc_vcard_put,
                                    .stored_get = svc_stored_get,
                                    .stored_del = svc_stored_del};
    myna_module_set_data(m, svc);
    if (!myna_module_store(m, "private") || !myna_module_store(m, "vcard"))
        return -1;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_PRIVATE, "query", MYNA_IQ_TO_USER, private_iq,
                         NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_PRIVATE, "query", MYNA_IQ_TO_USER, private_iq,
                         NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_VCARD, "vCard", MYNA_IQ_TO_USER, vcard_iq, NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_VCARD, "vCard", MYNA_IQ_TO_USER, vcard_iq, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_user_deleted, NULL) < 0 ||
        myna_migration_register(m, NS_PRIVATE, "query", MYNA_MIGRATION_ITEMS, export_private,
                                import_private, NULL) < 0 ||
        myna_migration_register(m, NS_VCARD, "vCard", 0, NULL, import_vcard, NULL) < 0)
        return -1;
    myna_disco_feature(m, NS_PRIVATE);
    myna_disco_feature(m, NS_VCARD);
    return myna_service_publish(m, PRIVATE_SERVICE, svc);
}

MYNA_MODULE_DEFINE(.name = "private",
                   .description = "Private XML storage (XEP-0049) and vcard-temp (XEP-0054)",
                   .options = private_options, .load = private_load,
                   .unload = private_unload);
