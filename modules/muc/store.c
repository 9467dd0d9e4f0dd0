/* modules/muc/store.c — persistent rooms (XEP-0045 §10.2 muc#roomconfig_persistentroom):
 * configuration, affiliations with registered nicknames, and subject survive restarts in
 * the table "muc_rooms", one record per room under "SERVICE\0NODE", the value a small XML
 * document (parsed back with the same restricted parser as streams). Temporary rooms are
 * never written. Also the service's secret for XEP-0421 occupant ids ("muc_meta"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "muc.h"

#define NS_STORE "urn:myna:muc:room:1"

static size_t room_key(const struct room *r, char *key, size_t cap)
{
    size_t d = strlen(r->svc->domain), n = strlen(r->node);
    if (d + 1 + n > cap)
        return 0;
    memcpy(key, r->svc->domain, d);
    key[d] = '\0';
    memcpy(key + d + 1, r->node, n);
    return d + 1 + n;
}

static void set_bool(struct myna_xml *el, const char *name, bool v)
{
    myna_xml_set_attr(el, name, v ? "1" : "0");
}

struct aff_ctx {
    struct myna_xml *root;
};

static void put_aff(const char *bare, void *val, void *d)
{
    struct aff_ctx *c = d;
    struct muc_aff_row *row = val;
    struct myna_xml *a = myna_xml_add_child(c->root, NULL, "aff");
    myna_xml_set_attr(a, "jid", bare);
    myna_xml_set_attr(a, "a", muc_aff_name(row->aff));
    if (row->nick)
        myna_xml_set_attr(a, "nick", row->nick);
    if (row->reason)
        myna_xml_set_attr(a, "reason", row->reason);
}

void store_save(struct room *r)
{
    if (!r->cfg.persistent || r->locked || !r->svc->t_rooms)
        return;
    char key[512];
    size_t klen = room_key(r, key, sizeof key);
    if (!klen)
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *root = myna_xml_new(a, NS_STORE, "room");
    const struct muc_config *c = &r->cfg;
    myna_xml_set_attr(root, "name", c->name);
    myna_xml_set_attr(root, "desc", c->desc);
    myna_xml_set_attr(root, "password", c->password);
    set_bool(root, "public", c->public_room);
    set_bool(root, "membersonly", c->members_only);
    set_bool(root, "moderated", c->moderated);
    set_bool(root, "passwordprotected", c->password_protected);
    set_bool(root, "nonanonymous", c->nonanonymous);
    set_bool(root, "changesubject", c->change_subject);
    set_bool(root, "allowinvites", c->allow_invites);
    set_bool(root, "logging", c->logging);
    myna_xml_set_attrf(root, "allowpm", "%d", (int)c->allow_pm);
    myna_xml_set_attrf(root, "maxusers", "%u", c->max_users);
    myna_xml_set_attrf(root, "history", "%u", c->history_len);
    if (r->subject) {
        struct myna_xml *s = myna_xml_add_child(root, NULL, "subject");
        if (r->subject_by)
            myna_xml_set_attr(s, "by", r->subject_by);
        myna_xml_add_text(s, r->subject, strlen(r->subject));
    }
    struct aff_ctx ctx = {root};
    muc_map_each_sorted(&r->affs, put_aff, &ctx);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(root, "", &b);
    int rc = myna_store_put(r->svc->t_rooms, key, klen, b.data, b.len);
    if (rc < 0)
        myna_log(r->svc->m, MYNA_LOG_ERROR, "saving room %s: %s", r->jid,
                 myna_store_strerror(rc));
    myna_buf_free(&b);
    myna_arena_free(a);
}

void store_delete(struct room *r)
{
    char key[512];
    size_t klen = room_key(r, key, sizeof key);
    if (klen && r->svc->t_rooms)
        myna_store_del(r->svc->t_rooms, key, klen);
}

static bool get_bool(const struct myna_xml *el, const char *name)
{
    const char *v = myna_xml_attr(el, name);
    return v && strcmp(v, "1") == 0;
}

static unsigned get_uint(const struct myna_xml *el, const char *name)
{
    const char *v = myna_xml_attr(el, name);
    return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

static char *dup_attr(const struct myna_xml *el, const char *name)
{
    const char *v = myna_xml_attr(el, name);
    char *d = strdup(v ? v : "");
    if (!d)
        abort();
    return d;
}

struct load_ctx {
    struct muc *svc;
    size_t plen;
    size_t loaded;
};

/* A room from its record `root` (the store's document, or an imported one). */
static struct room *room_from_record(struct muc *svc, const char *node,
                                     const struct myna_xml *root)
{
    struct room *r = room_create(svc, node);
    struct muc_config *c = &r->cfg;
    room_config_free(c);
    c->name = dup_attr(root, "name");
    c->desc = dup_attr(root, "desc");
    c->password = dup_attr(root, "password");
    c->persistent = true;
    c->public_room = get_bool(root, "public");
    c->members_only = get_bool(root, "membersonly");
    c->moderated = get_bool(root, "moderated");
    c->password_protected = get_bool(root, "passwordprotected");
    c->nonanonymous = get_bool(root, "nonanonymous");
    c->change_subject = get_bool(root, "changesubject");
    c->allow_invites = get_bool(root, "allowinvites");
    c->logging = get_bool(root, "logging");
    unsigned pm = get_uint(root, "allowpm");
    c->allow_pm = pm <= PM_NONE ? (enum muc_pm)pm : PM_ANYONE;
    c->max_users = get_uint(root, "maxusers");
    c->history_len = get_uint(root, "history");
    if (c->history_len > svc->history_max)
        c->history_len = svc->history_max;
    struct myna_xml *s = myna_xml_find(root, NS_STORE, "subject");
    if (s) {
        r->subject = strdup(myna_xml_text(s));
        const char *by = myna_xml_attr(s, "by");
        r->subject_by = by ? strdup(by) : NULL;
    }
    for (struct myna_xml *e = myna_xml_find(root, NS_STORE, "aff"); e;
         e = myna_xml_find_next(e, NS_STORE, "aff")) {
        const char *jid = myna_xml_attr(e, "jid");
        int aff = muc_aff_parse(myna_xml_attr(e, "a"));
        if (!jid || aff < 0)
            continue;
        struct muc_aff_row *row = calloc(1, sizeof *row);
        if (!row)
            abort();
        row->aff = (enum muc_aff)aff;
        const char *nick = myna_xml_attr(e, "nick"), *reason = myna_xml_attr(e, "reason");
        row->nick = nick ? strdup(nick) : NULL;
        row->reason = reason ? strdup(reason) : NULL;
        muc_map_put(&r->affs, jid, row);
    }
    return r;
}

static int load_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct load_ctx *lc = data;
    struct muc *svc = lc->svc;
    char node[512];
    size_t nlen = klen - lc->plen;
    if (nlen == 0 || nlen >= sizeof node)
        return 0;
    memcpy(node, (const char *)key + lc->plen, nlen);
    node[nlen] = '\0';
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *root = myna_xml_parse(a, val, len, "");
    if (!root || !myna_xml_is(root, NS_STORE, "room")) {
        myna_log(svc->m, MYNA_LOG_WARN, "room record for %s@%s unreadable; skipped", node,
                 svc->domain);
        myna_arena_free(a);
        return 0;
    }
    room_from_record(svc, node, root);
    myna_arena_free(a);
    lc->loaded++;
    return 0;
}

int store_load_all(struct muc *svc)
{
    size_t plen = strlen(svc->domain) + 1;
    struct load_ctx lc = {.svc = svc, .plen = plen};
    int rc = myna_store_iter(svc->t_rooms, svc->domain, plen, NULL, 0, false, 0, load_one, &lc);
    if (rc < 0)
        return rc;
    myna_log(svc->m, MYNA_LOG_INFO, "%zu persistent rooms loaded on %s", lc.loaded,
             svc->domain);
    return 0;
}

int store_secret(struct muc *svc)
{
    char key[300];
    int n = snprintf(key, sizeof key, "%s%csecret", svc->domain, 0);
    struct myna_arena *a = myna_arena_new();
    void *val = NULL;
    size_t len = 0;
    int rc = myna_store_get(svc->t_meta, key, (size_t)n, a, &val, &len);
    if (rc == 0 && len == sizeof svc->secret) {
        memcpy(svc->secret, val, len);
        myna_arena_free(a);
        return 0;
    }
    myna_arena_free(a);
    if (getrandom(svc->secret, sizeof svc->secret, 0) != (ssize_t)sizeof svc->secret)
        return -1;
    return myna_store_put(svc->t_meta, key, (size_t)n, svc->secret, sizeof svc->secret);
}

/* ---- XEP-0227: persistent rooms as host data ----
 * No common extension of XEP-0227 describes rooms (Prosody 0.12 and ejabberd 23.01 export
 * none), so Myna writes its own record, <room xmlns='urn:myna:muc:room:1' jid='ROOM'/>:
 * configuration, subject and affiliations, enough for a Myna-to-Myna move or backup. */

struct export_ctx {
    struct muc *svc;
    struct myna_export *out;
    size_t plen;
    int rc;
};

static int export_one(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct export_ctx *x = data;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *root = myna_xml_parse(a, val, len, "");
    if (root && myna_xml_is(root, NS_STORE, "room")) {
        myna_xml_set_attrf(root, "jid", "%.*s@%s", (int)(klen - x->plen),
                           (const char *)key + x->plen, x->svc->domain);
        x->rc = myna_export_write(x->out, root);
    }
    myna_arena_free(a);
    return x->rc;
}

static int export_rooms(struct myna_module *m, const struct myna_jid *user,
                        struct myna_export *out, void *data)
{
    struct muc *svc = data;
    struct export_ctx x = {svc, out, strlen(svc->domain) + 1, 0};
    myna_store_iter(svc->t_rooms, svc->domain, x.plen, NULL, 0, false, 0, export_one, &x);
    return x.rc;
}

static int import_room(struct myna_module *m, const struct myna_jid *user,
                       const struct myna_xml *list, const struct myna_xml *el, void *data)
{
    struct muc *svc = data;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j;
    const char *jid = myna_xml_attr(el, "jid");
    int rc = -1;
    /* The node is kept; the room moves to this service whatever its old domain was. */
    if (!jid || myna_jid_parse(a, jid, &j) != 0 || !j.node || j.resource) {
        myna_log(m, MYNA_LOG_WARN, "import: room '%s' refused: not a room JID",
                 jid ? jid : "(none)");
    } else if (room_find(svc, j.node)) {
        myna_log(m, MYNA_LOG_WARN, "import: room %s@%s exists already: skipped", j.node,
                 svc->domain);
    } else if (myna_migration_dry_run(m)) {
        rc = 0; /* checked; the live rooms stay as they are */
    } else {
        struct room *r = room_from_record(svc, j.node, el);
        store_save(r);
        rc = 0;
    }
    myna_arena_free(a);
    return rc;
}

int store_migration_register(struct muc *svc)
{
    return myna_migration_register(svc->m, NS_STORE, "room", MYNA_MIGRATION_HOST, export_rooms,
                                   import_room, svc);
}
