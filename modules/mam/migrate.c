/* modules/mam/migrate.c — users' archives in XEP-0227 exports and imports
 * (myna_migration_register), in the form Prosody 0.12's XEP-0227 driver writes them:
 * <archive xmlns='urn:xmpp:pie:0#mam'> holding, oldest first, <result xmlns='urn:xmpp:mam:2'
 * id> with a XEP-0297 <forwarded/> of the XEP-0203 <delay stamp/> and the archived
 * <message/>. An import keeps each message's stamp (raised to the archive's newest when
 * older: stamps never go backwards) and direction (outgoing when it is from the account),
 * gives it a new id of this archive (ids are never carried over: they are opaque keys of
 * the old server), drops stanza ids claiming to be by the account, and applies the
 * retention limit. Archives of other owners (MUC rooms through the archive service) are
 * not migrated.
 */
#include <string.h>

#include "mam.h"

#define NS_PIE_MAM "urn:xmpp:pie:0#mam"

struct export_ctx {
    struct mam *c;
    const char *owner;
    struct myna_export *out;
    bool opened;
    int rc;
};

static int export_one(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct export_ctx *x = data;
    struct record r;
    if (record_decode(k, kl, v, vl, &r) != 0 || r.tombstone)
        return 0;
    struct myna_arena *a = myna_arena_new(); /* one message at a time, whatever the archive */
    struct myna_xml *msg = myna_xml_parse(a, r.xml, r.xml_len, MYNA_NS_CLIENT);
    if (msg) {
        if (!x->opened) {
            x->rc = myna_export_begin(x->out, myna_xml_new(a, NS_PIE_MAM, "archive"));
            x->opened = true;
        }
        char id[ID_LEN + 1], stamp[32];
        record_id(x->c, x->owner, &r, id);
        datetime_format(r.stamp_ms, stamp);
        struct myna_xml *res = myna_xml_new(a, NS_MAM, "result");
        myna_xml_set_attr(res, "id", id);
        struct myna_xml *fwd = myna_xml_add_child(res, NS_FORWARD, "forwarded");
        myna_xml_set_attr(myna_xml_add_child(fwd, NS_DELAY, "delay"), "stamp", stamp);
        myna_xml_add_copy(fwd, msg);
        if (x->rc == 0)
            x->rc = myna_export_write(x->out, res);
    }
    myna_arena_free(a);
    return x->rc;
}

static int export_archive(struct myna_module *m, const struct myna_jid *user,
                          struct myna_export *out, void *data)
{
    struct mam *c = data;
    archive_flush(c); /* what waits in memory belongs in the export too */
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, user->bare, &prefix);
    struct export_ctx x = {c, user->bare, out, false, 0};
    myna_store_iter(c->msgs, prefix, plen, NULL, 0, false, 0, export_one, &x);
    if (x.opened && x.rc == 0)
        x.rc = myna_export_end(out);
    myna_arena_free(a);
    return x.rc;
}

static int import_result(struct myna_module *m, const struct myna_jid *user,
                         const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    struct mam *c = data;
    const struct myna_xml *fwd = myna_xml_is(el, NS_MAM, "result")
                                     ? myna_xml_find(el, NS_FORWARD, "forwarded") : NULL;
    const struct myna_xml *orig = fwd ? myna_xml_find(fwd, MYNA_NS_CLIENT, "message") : NULL;
    const struct myna_xml *delay = fwd ? myna_xml_find(fwd, NS_DELAY, "delay") : NULL;
    if (!orig)
        return -1;
    uint64_t stamp = 0;
    const char *st = delay ? myna_xml_attr(delay, "stamp") : NULL;
    if (!st || datetime_parse(st, &stamp) != 0)
        stamp = mam_now_ms(c);
    struct myna_arena *a = myna_arena_new();
    struct myna_jid from, to;
    const char *fs = myna_xml_attr(orig, "from"), *ts = myna_xml_attr(orig, "to");
    bool have_from = fs && myna_jid_parse(a, fs, &from) == 0;
    bool have_to = ts && myna_jid_parse(a, ts, &to) == 0;
    bool outgoing = have_from && strcmp(from.bare, user->bare) == 0;
    const struct myna_jid *peer = outgoing ? (have_to ? &to : NULL) : (have_from ? &from : NULL);
    int rc = -1;
    if (peer) {
        struct myna_xml *msg = myna_xml_copy(a, orig);
        strip_stanza_ids(msg, user->bare);
        rc = archive_import(c, user->bare, peer->full, outgoing, msg, stamp);
    }
    if (rc != 0)
        myna_log(m, MYNA_LOG_WARN, "import: an archived message of %s refused%s", user->bare,
                 peer ? "" : " (no usable from/to)");
    myna_arena_free(a);
    return rc != 0 ? -1 : 0;
}

int migrate_register(struct mam *c)
{
    return myna_migration_register(c->m, NS_PIE_MAM, "archive", MYNA_MIGRATION_ITEMS,
                                   export_archive, import_result, c);
}
