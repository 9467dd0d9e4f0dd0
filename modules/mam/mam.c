/* modules/mam/mam.c — the message archive module (XEP-0313 urn:xmpp:mam:2 and #extended,
 * XEP-0441 preferences, XEP-0359 stanza ids): options, load/unload, the features on the
 * account's bare JID (§7), deletion of a deleted user's archive, and the archive service
 * (myna/archive.h) for other modules such as MUC. The parts: hooks.c decides what is
 * archived, archive.c stores it, query.c answers queries, prefs.c the preferences.
 */
#include <stdlib.h>
#include <string.h>

#include "mam.h"

static const struct myna_option mam_options[] = {
    {"default", MYNA_OPT_STRING, "always", 0, 0,
     "archiving for users who set no preferences: always, never or roster (XEP-0441)"},
    {"max_messages", MYNA_OPT_INT, "50000", 0, 100000000,
     "messages kept per archive; the oldest go first (0 = no limit)"},
    {"max_age", MYNA_OPT_INT, "0", 0, 315360000,
     "seconds a message is kept (0 = forever)"},
    {"max_page", MYNA_OPT_INT, "250", 1, 10000, "most messages one query returns"},
    {"default_page", MYNA_OPT_INT, "50", 1, 10000, "messages a query without <max/> returns"},
    {"write_delay", MYNA_OPT_INT, "0", 0, 10000,
     "milliseconds archived messages may wait to be written together (0 = at once)"},
    {.type = MYNA_OPT_END},
};

bool mam_own_request(const struct myna_stanza *st)
{
    return st->origin && st->from.node && strcmp(st->to.bare, st->from.bare) == 0;
}

static void on_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct mam *c = data;
    archive_flush(c);
    archive_remove(c, ev->user->bare);
    struct myna_arena *a = myna_arena_new();
    char *prefix;
    size_t plen = archive_prefix(a, ev->user->bare, &prefix);
    myna_store_del_prefix(c->prefs, prefix, plen, NULL);
    myna_arena_free(a);
}

static int parse_default(struct mam *c)
{
    const char *d = myna_opt_string(c->m, "default");
    static const char *const names[] = {"always", "never", "roster"};
    for (int i = 0; i < 3; i++)
        if (d && strcmp(d, names[i]) == 0) {
            c->default_pref = (enum mam_default)i;
            return 0;
        }
    myna_log(c->m, MYNA_LOG_ERROR, "default = \"%s\": must be always, never or roster",
             d ? d : "");
    return -1;
}

static void mam_unload(struct myna_module *m)
{
    struct mam *c = myna_module_data(m);
    if (!c)
        return;
    archive_flush(c); /* nothing archived is dropped by an unload or a shutdown */
    free(c->pend);
    ids_close(c);
    free(c->expire_pos);
    free(c);
    myna_module_set_data(m, NULL);
}

static int mam_load(struct myna_module *m)
{
    struct mam *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    myna_module_set_data(m, c);
    c->m = m;
    c->msgs = myna_module_store(m, "mam");
    c->with = myna_module_store(m, "mam_with");
    c->prefs = myna_module_store(m, "mam_prefs");
    c->max_messages = myna_opt_int(m, "max_messages");
    c->max_age_s = myna_opt_int(m, "max_age");
    c->max_page = myna_opt_int(m, "max_page");
    c->default_page = myna_opt_int(m, "default_page");
    c->write_delay_ms = myna_opt_int(m, "write_delay");
    if (c->default_page > c->max_page)
        c->default_page = c->max_page;
    if (!c->msgs || !c->with || !c->prefs || parse_default(c) < 0 || ids_open(c) < 0)
        return -1;
    service_init(c);
    if (hooks_register(c) < 0 || query_register(c) < 0 || prefs_register(c) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_user_deleted, c) < 0 ||
        myna_disco_user_feature(m, NS_MAM) < 0 || myna_disco_user_feature(m, NS_MAM_EXTENDED) < 0 ||
        myna_disco_user_feature(m, NS_SID) < 0 ||
        myna_service_publish(m, MYNA_ARCHIVE_SERVICE, &c->svc) < 0 ||
        migrate_register(c) < 0)
        return -1;
    archive_expire_start(c);
    return 0;
}

MYNA_MODULE_DEFINE(.name = "mam", .description = "Message archive (XEP-0313, XEP-0359)",
                   .options = mam_options, .load = mam_load, .unload = mam_unload);
