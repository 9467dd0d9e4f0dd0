/* modules/pubsub/avatar.c — avatars kept in step between PEP and vcard-temp (XEP-0398):
 * a publish to urn:xmpp:avatar:metadata (XEP-0084 §4.2) copies the image of the matching
 * urn:xmpp:avatar:data item into the vCard's PHOTO (§3.1; only when the data node is open,
 * §7, and the SHA-1 of the image is the item id), a vCard stored with a PHOTO publishes data
 * and metadata items (§3.2), and every available presence of the account carries the
 * XEP-0153 hash (<x xmlns='vcard-temp:x:update'><photo/></x>, XEP-0398 §4, XEP-0153 §4.1).
 * The hash of each online account is kept in a user slot. The vCard lives in the private
 * module, reached through its service (private.h).
 */
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

#define NS_AVATAR_DATA "urn:xmpp:avatar:data"
#define NS_AVATAR_META "urn:xmpp:avatar:metadata"
#define NS_VCARD "vcard-temp"
#define NS_VCARD_UPDATE "vcard-temp:x:update"
#define NS_CONVERSION "urn:xmpp:pep-vcard-conversion:0"

static const struct private_service *private_svc(struct ps_ctx *c)
{
    const struct private_service *p = myna_service_get(c->m, PRIVATE_SERVICE);
    return p && p->version >= PRIVATE_SERVICE_VERSION ? p : NULL;
}

/* The id of the first <info/> without url (XEP-0398 §3.1), "" for an avatar switched off
 * (XEP-0084 §3.5), NULL when the payload is not metadata. */
static const struct myna_xml *meta_info(const struct myna_xml *meta)
{
    for (const struct myna_xml *i = myna_xml_find(meta, NS_AVATAR_META, "info"); i;
         i = myna_xml_find_next(i, NS_AVATAR_META, "info"))
        if (!myna_xml_attr(i, "url") && myna_xml_attr(i, "id"))
            return i;
    return NULL;
}

/* The account's current avatar hash: from the PEP metadata, else from the vCard.
 * NULL when nothing can be said (no private module). In arena a. */
static const char *hash_compute(struct ps_ctx *c, struct myna_arena *a, const char *bare)
{
    struct ps_service svc = {bare, true};
    struct ps_item *items;
    size_t n = 0;
    if (store_items_latest(c, a, &svc, NS_AVATAR_META, 1, &items, &n) == 0 && n == 1 &&
        items[0].payload && myna_xml_is(items[0].payload, NS_AVATAR_META, "metadata")) {
        const struct myna_xml *info = meta_info(items[0].payload);
        return info ? myna_xml_attr(info, "id") : "";
    }
    const struct private_service *p = private_svc(c);
    if (!p)
        return NULL;
    struct myna_xml *vcard = p->vcard_get(p, bare, a);
    const struct myna_xml *photo = vcard ? myna_xml_find(vcard, NS_VCARD, "PHOTO") : NULL;
    const char *binval = photo ? myna_xml_child_text(photo, NS_VCARD, "BINVAL") : NULL;
    size_t len;
    unsigned char *img = binval ? ps_base64_decode(a, binval, &len) : NULL;
    return img && len ? ps_sha1_hex(a, img, len) : "";
}

static void hash_free(void *hash)
{
    myna_keep_strfree(hash);
}

static void hash_set(struct ps_ctx *c, const char *bare, const char *hash)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j;
    if (hash && myna_jid_parse(a, bare, &j) == 0) {
        /* Kept while the user is online: from the pool, not the heap (myna_keep_alloc). */
        char *copy = myna_keep_strdup(hash);
        if (myna_user_set(c->m, &j, c->avatar_slot, copy) < 0)
            myna_keep_strfree(copy); /* offline: computed again at the next presence */
    }
    myna_arena_free(a);
}

/* XEP-0398 §4: the hash goes into every available presence, broadcast or directed, unless
 * the client sent an empty <photo/> (not ready to advertise, XEP-0153 §4.1). */
static enum myna_verdict avatar_presence_out(struct myna_module *m, struct myna_stanza *st,
                                             void *data)
{
    struct ps_ctx *c = data;
    if (!st->origin || strcmp(st->type, "available") != 0)
        return MYNA_PASS;
    struct myna_jid bare;
    myna_jid_to_bare(&st->from, &bare);
    const char *hash = myna_user_get(m, &bare, c->avatar_slot);
    if (!hash) {
        hash = hash_compute(c, st->arena, bare.bare);
        if (!hash)
            return MYNA_PASS;
        hash_set(c, bare.bare, hash);
    }
    struct myna_xml *x = myna_xml_find(st->xml, NS_VCARD_UPDATE, "x");
    struct myna_xml *photo = x ? myna_xml_find(x, NS_VCARD_UPDATE, "photo") : NULL;
    if (photo && !*myna_xml_text(photo))
        return MYNA_PASS;
    if (photo && !*hash)
        return MYNA_PASS; /* the server knows no photo; keep the client's claim */
    if (photo)
        myna_xml_remove(photo);
    if (!x)
        x = myna_xml_add_child(st->xml, NS_VCARD_UPDATE, "x");
    photo = myna_xml_add_child(x, NS_VCARD_UPDATE, "photo");
    if (*hash)
        myna_xml_add_text(photo, hash, strlen(hash));
    return MYNA_PASS;
}

/* ---- PEP to vCard (XEP-0398 §3.1) ---- */

static struct myna_xml *vcard_without_photo(struct myna_arena *a, const struct myna_xml *old)
{
    struct myna_xml *v = old ? myna_xml_copy(a, old) : myna_xml_new(a, NS_VCARD, "vCard");
    for (struct myna_xml *p; (p = myna_xml_find(v, NS_VCARD, "PHOTO"));)
        myna_xml_remove(p);
    return v;
}

static void text_child(struct myna_xml *parent, const char *name, const char *text)
{
    struct myna_xml *el = myna_xml_add_child(parent, NULL, name);
    myna_xml_add_text(el, text, strlen(text));
}

static void pep_to_vcard(struct ps_ctx *c, struct myna_arena *a, const char *bare,
                         const struct myna_xml *meta)
{
    const struct private_service *p = private_svc(c);
    if (!p)
        return;
    struct ps_service svc = {bare, true};
    const struct myna_xml *info = meta_info(meta);
    struct myna_xml *vcard = vcard_without_photo(a, p->vcard_get(p, bare, a));
    const char *hash = "";
    if (info) {
        const char *id = myna_xml_attr(info, "id");
        struct ps_node dn;
        struct ps_item it;
        if (store_node_get(c, a, &svc, NS_AVATAR_DATA, &dn) < 0 ||
            dn.cfg.access != PS_ACCESS_OPEN ||
            store_item_get(c, a, &svc, NS_AVATAR_DATA, id, &it) < 0 || !it.payload)
            return; /* §7: only world-readable avatars go to the world-readable vCard */
        const char *b64 = myna_xml_text(it.payload);
        size_t len;
        unsigned char *img = ps_base64_decode(a, b64, &len);
        const char *sum = img ? ps_sha1_hex(a, img, len) : NULL;
        if (!sum || strcmp(sum, id) != 0) {
            myna_log(c->m, MYNA_LOG_INFO, "%s: avatar %s does not match its data", bare, id);
            return;
        }
        struct myna_xml *photo = myna_xml_add_child(vcard, NS_VCARD, "PHOTO");
        const char *type = myna_xml_attr(info, "type");
        text_child(photo, "TYPE", type ? type : "image/png");
        text_child(photo, "BINVAL", b64);
        hash = id;
    }
    if (p->vcard_put(p, bare, vcard) == 0)
        hash_set(c, bare, hash);
}

void avatar_published(struct ps_ctx *c, const struct ps_service *svc, const char *node,
                      const struct ps_item *it)
{
    if (strcmp(node, NS_AVATAR_META) != 0 || !it->payload ||
        !myna_xml_is(it->payload, NS_AVATAR_META, "metadata"))
        return;
    struct myna_arena *a = myna_arena_new();
    pep_to_vcard(c, a, svc->jid, it->payload);
    myna_arena_free(a);
}

/* ---- vCard to PEP (XEP-0398 §3.2) ---- */

static void avatar_config(struct ps_ctx *c, const struct ps_service *svc, struct ps_config *cfg)
{
    config_default(c, svc, cfg);
    cfg->access = PS_ACCESS_OPEN; /* the vCard it comes from is readable by anyone */
}

/* The BINVAL text without whitespace (XEP-0084 §4.1 data is plain base64). */
static const char *b64_compact(struct myna_arena *a, const char *text)
{
    char *out = myna_arena_alloc(a, strlen(text) + 1);
    size_t o = 0;
    for (const char *p = text; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            out[o++] = *p;
    out[o] = '\0';
    return out;
}

void avatar_vcard_changed(struct ps_ctx *c, const struct myna_jid *user,
                          const struct myna_xml *vcard)
{
    struct myna_arena *a = myna_arena_new();
    struct ps_service svc = {user->bare, true};
    const struct myna_xml *photo = myna_xml_find(vcard, NS_VCARD, "PHOTO");
    const char *binval = photo ? myna_xml_child_text(photo, NS_VCARD, "BINVAL") : NULL;
    size_t len = 0;
    unsigned char *img = binval ? ps_base64_decode(a, binval, &len) : NULL;
    const char *hash = img && len ? ps_sha1_hex(a, img, len) : "";
    struct ps_item *items;
    size_t n = 0;
    bool had_meta = store_items_latest(c, a, &svc, NS_AVATAR_META, 1, &items, &n) == 0 && n;
    const char *meta_id = "";
    if (had_meta && items[0].payload && meta_info(items[0].payload))
        meta_id = myna_xml_attr(meta_info(items[0].payload), "id");
    if (strcmp(meta_id, hash) != 0 && (*hash || had_meta)) {
        struct ps_config cfg;
        avatar_config(c, &svc, &cfg);
        struct myna_xml *meta = myna_xml_new(a, NS_AVATAR_META, "metadata");
        c->converting = true;
        int rc = 0;
        if (*hash) {
            struct myna_xml *data = myna_xml_new(a, NS_AVATAR_DATA, "data");
            const char *b64 = b64_compact(a, binval);
            myna_xml_add_text(data, b64, strlen(b64));
            rc = ops_publish_internal(c, &svc, NS_AVATAR_DATA, hash, data, &cfg);
            struct myna_xml *info = myna_xml_add_child(meta, NS_AVATAR_META, "info");
            const char *type = myna_xml_child_text(photo, NS_VCARD, "TYPE");
            myna_xml_set_attr(info, "id", hash);
            myna_xml_set_attrf(info, "bytes", "%zu", len);
            myna_xml_set_attr(info, "type", type && *type ? type : "image/png");
        }
        if (rc == 0)
            rc = ops_publish_internal(c, &svc, NS_AVATAR_META, *hash ? hash : "none", meta,
                                      &cfg);
        c->converting = false;
        if (rc < 0)
            myna_log(c->m, MYNA_LOG_WARN, "%s: vCard avatar not copied to PEP (quota)",
                     user->bare);
    }
    hash_set(c, user->bare, hash);
    myna_arena_free(a);
}

int avatar_register(struct ps_ctx *c)
{
    c->avatar_slot = myna_user_slot(c->m, hash_free);
    if (c->avatar_slot < 0 ||
        myna_hook_add(c->m, MYNA_HOOK_PRESENCE_OUT, 20, avatar_presence_out, c) < 0)
        return -1;
    return myna_disco_user_feature(c->m, NS_CONVERSION);
}
