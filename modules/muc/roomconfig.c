/* modules/muc/roomconfig.c — the owner's namespace muc#owner: the room configuration form
 * (XEP-0045 §10.2, FORM_TYPE muc#roomconfig, registered in §16.5.3), instant rooms
 * (§10.1.2: an empty submitted form), reserved rooms (§10.1.3: get the form, submit it;
 * cancelling the first configuration destroys the room), the notices of §10.2.1 (status
 * 104, 170/171, 172/173) and members-only removals (322), and destruction with reason and
 * alternate venue (§10.9). A submitted form is checked whole before anything changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muc.h"

#define MAX_TEXT 1024

static const char *const pm_names[] = {"anyone", "participants", "moderators", "none"};

static void bool_field(struct myna_xml *x, const char *var, const char *label, bool v)
{
    df_add_field(x, var, "boolean", label, v ? "1" : "0");
}

static struct myna_xml *config_form(struct room *r, struct myna_xml *parent)
{
    const struct muc_config *c = &r->cfg;
    struct myna_xml *x = df_new(parent, "form", NS_MUC_ROOMCONFIG, "Room configuration");
    df_add_field(x, "muc#roomconfig_roomname", "text-single", "Name", c->name);
    df_add_field(x, "muc#roomconfig_roomdesc", "text-single", "Description", c->desc);
    bool_field(x, "muc#roomconfig_persistentroom", "Persistent (kept when empty)",
               c->persistent);
    bool_field(x, "muc#roomconfig_publicroom", "Listed in the directory", c->public_room);
    bool_field(x, "muc#roomconfig_membersonly", "Members only", c->members_only);
    bool_field(x, "muc#roomconfig_moderatedroom", "Moderated (visitors need voice)",
               c->moderated);
    bool_field(x, "muc#roomconfig_passwordprotectedroom", "Password protected",
               c->password_protected);
    df_add_field(x, "muc#roomconfig_roomsecret", "text-private", "Password", c->password);
    char buf[32];
    snprintf(buf, sizeof buf, "%u", room_max_users(r));
    struct myna_xml *f = df_add_field(x, "muc#roomconfig_maxusers", "list-single",
                                      "Maximum occupants", buf);
    static const char *const sizes[] = {"10", "20", "30", "50", "100", "200", "500", "1000"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if ((unsigned)atoi(sizes[i]) <= r->svc->max_occupants)
            df_add_option(f, NULL, sizes[i]);
    f = df_add_field(x, "muc#roomconfig_whois", "list-single", "Who may see real JIDs",
                     c->nonanonymous ? "anyone" : "moderators");
    df_add_option(f, "Moderators only", "moderators");
    df_add_option(f, "Anyone", "anyone");
    snprintf(buf, sizeof buf, "%u", c->history_len);
    df_add_field(x, "muc#maxhistoryfetch", "text-single", "Messages of history sent on join",
                 buf);
    f = df_add_field(x, "muc#roomconfig_allowpm", "list-single",
                     "Who may send private messages", pm_names[c->allow_pm]);
    for (size_t i = 0; i < 4; i++)
        df_add_option(f, NULL, pm_names[i]);
    bool_field(x, "muc#roomconfig_changesubject", "Participants may change the subject",
               c->change_subject);
    bool_field(x, "muc#roomconfig_allowinvites", "Participants may invite", c->allow_invites);
    bool_field(x, "muc#roomconfig_enablelogging",
               "Log the room: an archive (XEP-0313) for anyone who may enter", c->logging);
    return x;
}

static int get_bool(const struct dataform *f, const char *var, bool *out, const char **bad)
{
    int rc = df_bool(f, var, out);
    if (rc < 0)
        *bad = var;
    return rc;
}

static int get_text(const struct dataform *f, const char *var, char **out, const char **bad)
{
    const struct df_field *d = df_get(f, var);
    if (!d)
        return 0;
    const char *v = d->nvalues ? d->values[0] : "";
    if (d->nvalues > 1 || strlen(v) > MAX_TEXT) {
        *bad = var;
        return -1;
    }
    free(*out);
    *out = strdup(v);
    if (!*out)
        abort();
    return 1;
}

static int get_uint(const struct dataform *f, const char *var, unsigned *out, bool none_ok,
                    const char **bad)
{
    const char *v = df_value(f, var);
    if (!df_get(f, var))
        return 0;
    if (v && none_ok && strcmp(v, "none") == 0) {
        *out = 0;
        return 1;
    }
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || !*v || *end || n < 0 || n > 1000000) {
        *bad = var;
        return -1;
    }
    *out = (unsigned)n;
    return 1;
}

/* Reads the submitted form into c (a copy of the current configuration). */
static int read_form(struct room *r, const struct dataform *f, struct muc_config *c,
                     const char **bad)
{
    const char *whois = df_value(f, "muc#roomconfig_whois");
    const char *pm = df_value(f, "muc#roomconfig_allowpm");
    if (get_text(f, "muc#roomconfig_roomname", &c->name, bad) < 0 ||
        get_text(f, "muc#roomconfig_roomdesc", &c->desc, bad) < 0 ||
        get_text(f, "muc#roomconfig_roomsecret", &c->password, bad) < 0 ||
        get_bool(f, "muc#roomconfig_persistentroom", &c->persistent, bad) < 0 ||
        get_bool(f, "muc#roomconfig_publicroom", &c->public_room, bad) < 0 ||
        get_bool(f, "muc#roomconfig_membersonly", &c->members_only, bad) < 0 ||
        get_bool(f, "muc#roomconfig_moderatedroom", &c->moderated, bad) < 0 ||
        get_bool(f, "muc#roomconfig_passwordprotectedroom", &c->password_protected, bad) < 0 ||
        get_bool(f, "muc#roomconfig_changesubject", &c->change_subject, bad) < 0 ||
        get_bool(f, "muc#roomconfig_allowinvites", &c->allow_invites, bad) < 0 ||
        get_bool(f, "muc#roomconfig_enablelogging", &c->logging, bad) < 0 ||
        get_uint(f, "muc#roomconfig_maxusers", &c->max_users, true, bad) < 0 ||
        get_uint(f, "muc#maxhistoryfetch", &c->history_len, false, bad) < 0 ||
        get_uint(f, "muc#roomconfig_historylength", &c->history_len, false, bad) < 0)
        return -1;
    if (whois) {
        if (strcmp(whois, "anyone") == 0)
            c->nonanonymous = true;
        else if (strcmp(whois, "moderators") == 0)
            c->nonanonymous = false;
        else
            return *bad = "muc#roomconfig_whois", -1;
    }
    if (pm) {
        size_t i = 0;
        while (i < 4 && strcmp(pm, pm_names[i]) != 0)
            i++;
        if (i == 4)
            return *bad = "muc#roomconfig_allowpm", -1;
        c->allow_pm = (enum muc_pm)i;
    }
    if (c->max_users > r->svc->max_occupants)
        c->max_users = r->svc->max_occupants;
    if (c->history_len > r->svc->history_max)
        c->history_len = r->svc->history_max;
    if (c->password_protected && !*c->password)
        return *bad = "muc#roomconfig_roomsecret", -1;
    return 0;
}

static void copy_config(struct muc_config *dst, const struct muc_config *src)
{
    *dst = *src;
    dst->name = strdup(src->name);
    dst->desc = strdup(src->desc);
    dst->password = strdup(src->password);
    if (!dst->name || !dst->desc || !dst->password)
        abort();
}

/* After a change: notices (§10.2.1) and removals of non-members (§9.4, code 322). */
static void after_change(struct room *r, const struct muc_config *old, bool was_locked)
{
    int codes[4];
    size_t n = 0;
    if (!was_locked) {
        codes[n++] = 104;
        if (old->logging != r->cfg.logging)
            codes[n++] = r->cfg.logging ? 170 : 171;
        if (old->nonanonymous != r->cfg.nonanonymous)
            codes[n++] = r->cfg.nonanonymous ? 172 : 173;
        msg_room_notice(r, codes, n);
    }
    if (r->cfg.members_only && !old->members_only) {
        struct occ_why why = {.codes = {322}, .ncodes = 1};
        for (struct occupant *o = r->head, *next; o; o = next) {
            next = o->next;
            if (room_aff(r, o->bare) < AFF_MEMBER)
                occ_remove(o, &why);
        }
    }
    if (old->moderated != r->cfg.moderated) {
        for (struct occupant *o = r->head; o; o = o->next) {
            enum muc_role def = occ_default_role(r, room_aff(r, o->bare));
            if (o->role != ROLE_MODERATOR && o->role != def) {
                o->role = def;
                occ_broadcast(o, NULL);
            }
        }
    }
}

static void submit(struct room *r, struct myna_stanza *st, struct myna_xml *x)
{
    struct dataform f;
    if (!x || df_parse(x, &f, 64, 64) < 0) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Malformed data form");
        return;
    }
    if (strcmp(f.type, "cancel") == 0) {
        myna_iq_result(st, NULL);
        if (r->locked) /* §10.1.3: cancelling the initial configuration destroys the room */
            room_destroy(r, NULL);
        return;
    }
    if (strcmp(f.type, "submit") != 0 ||
        (f.form_type && strcmp(f.form_type, NS_MUC_ROOMCONFIG) != 0)) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Expected a submitted muc#roomconfig form");
        return;
    }
    struct muc_config c;
    copy_config(&c, &r->cfg);
    const char *bad = NULL;
    if (read_form(r, &f, &c, &bad) < 0) {
        room_config_free(&c);
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE,
                  myna_arena_printf(st->arena, "Invalid value for %s", bad));
        return;
    }
    struct muc_config old = r->cfg;
    bool was_locked = r->locked;
    bool was_persistent = old.persistent;
    r->cfg = c;
    r->locked = false;
    free(r->creator);
    r->creator = NULL;
    if (r->cfg.persistent)
        store_save(r);
    else if (was_persistent)
        store_delete(r);
    myna_iq_result(st, NULL);
    after_change(r, &old, was_locked);
    room_config_free(&old);
    room_maybe_vanish(r);
}

static void destroy(struct room *r, struct myna_stanza *st, struct myna_xml *d)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *out = myna_xml_new(a, NS_MUC_USER, "destroy");
    const char *alt = myna_xml_attr(d, "jid");
    struct myna_jid j;
    if (alt) {
        if (myna_jid_parse(st->arena, alt, &j) < 0) {
            myna_arena_free(a);
            muc_error(st, MYNA_ERR_JID_MALFORMED, "Bad alternate venue");
            return;
        }
        myna_xml_set_attr(out, "jid", j.full);
    }
    const char *reason = myna_xml_child_text(d, NS_MUC_OWNER, "reason");
    if (reason)
        myna_xml_add_text(myna_xml_add_child(out, NULL, "reason"), reason, strlen(reason));
    const char *pw = myna_xml_child_text(d, NS_MUC_OWNER, "password");
    if (pw)
        myna_xml_add_text(myna_xml_add_child(out, NULL, "password"), pw, strlen(pw));
    myna_log(r->svc->m, MYNA_LOG_INFO, "room %s destroyed by %s", r->jid, st->from.full);
    myna_iq_result(st, NULL);
    room_destroy(r, out);
    myna_arena_free(a);
}

void config_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    (void)svc;
    if (room_aff(r, st->from.bare) != AFF_OWNER) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Only owners may configure the room");
        return;
    }
    struct myna_xml *q = myna_xml_first_element(st->xml);
    if (strcmp(st->type, "get") == 0) {
        struct myna_xml *res = myna_iq_result_new(st);
        config_form(r, myna_xml_add_child(res, NS_MUC_OWNER, "query"));
        myna_iq_send_result(st, res);
        return;
    }
    struct myna_xml *d = myna_xml_find(q, NS_MUC_OWNER, "destroy");
    if (d) {
        destroy(r, st, d);
        return;
    }
    submit(r, st, df_find(q));
}
