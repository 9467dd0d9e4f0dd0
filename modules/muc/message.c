/* modules/muc/message.c — messages in a room: groupchat broadcast (XEP-0045 §7.4; one
 * serialization shared by every recipient through myna_send_fanout), recorded first
 * (history.c: the room's archive or history, and its XEP-0359 stanza-id; ids claiming to
 * be by the room are stripped), XEP-0421 occupant-id, subject changes (§8.1) and the
 * subject on entering (§7.2.15), private messages between occupants (§7.5; never
 * recorded, XEP-0313 §5.1.2), voice requests (§7.13, approved in §8.6), room notices with
 * status codes (§10.2.1), and removal of occupants whose server bounces (code 333). */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

/* Removes elements a sender must not forge: stanza-ids by this room, occupant ids. */
static void strip_forged(struct room *r, struct myna_xml *m)
{
    for (struct myna_xml *c = m->children, *n; c; c = n) {
        n = c->next;
        if ((myna_xml_is(c, NS_SID, "stanza-id") && myna_xml_attr(c, "by") &&
             strcmp(myna_xml_attr(c, "by"), r->jid) == 0) ||
            myna_xml_is(c, NS_OCCUPANT_ID, "occupant-id") ||
            myna_xml_is(c, NS_MUC_USER, "x"))
            myna_xml_remove(c);
    }
}

void msg_send_subject(struct room *r, const struct myna_jid *to)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    if (r->subject_by)
        myna_xml_set_attrf(m, "from", "%s/%s", r->jid, r->subject_by);
    else
        myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "to", to->full);
    myna_xml_set_attr(m, "type", "groupchat");
    myna_xml_set_attr(m, "id", muc_new_stanza_id(r->svc, a));
    struct myna_xml *s = myna_xml_add_child(m, NULL, "subject");
    if (r->subject)
        myna_xml_add_text(s, r->subject, strlen(r->subject));
    myna_send(r->svc->m, m);
    myna_arena_free(a);
}

void msg_room_notice(struct room *r, const int *codes, size_t n)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "type", "groupchat");
    myna_xml_set_attr(m, "id", muc_new_stanza_id(r->svc, a));
    struct myna_xml *x = myna_xml_add_child(m, NS_MUC_USER, "x");
    for (size_t i = 0; i < n; i++)
        myna_xml_set_attrf(myna_xml_add_child(x, NULL, "status"), "code", "%d", codes[i]);
    history_record(r, m, NULL, HIST_EVENT);
    size_t nr = 0;
    const struct myna_jid *to = room_recipients(r, &nr);
    if (nr)
        myna_send_fanout(r->svc->m, m, to, nr);
    myna_arena_free(a);
}

static bool is_bounce(const struct myna_stanza *st)
{
    static const char *const gone[] = {"gone", "item-not-found", "recipient-unavailable",
                                       "redirect", "remote-server-not-found",
                                       "remote-server-timeout", "service-unavailable", NULL};
    struct myna_xml *e = myna_xml_find(st->xml, MYNA_NS_CLIENT, "error");
    struct myna_xml *cond = e ? myna_xml_find(e, MYNA_NS_STANZAS, NULL) : NULL;
    for (size_t i = 0; cond && gone[i]; i++)
        if (strcmp(cond->name, gone[i]) == 0)
            return true;
    return false;
}

static bool subject_change(struct room *r, struct occupant *o, struct myna_stanza *st,
                           const char *subject)
{
    if (o->role < ROLE_MODERATOR && !(r->cfg.change_subject && o->role >= ROLE_PARTICIPANT)) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "You may not change the subject");
        return false;
    }
    if (strlen(subject) > r->svc->max_subject) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "The subject is too long");
        return false;
    }
    free(r->subject);
    free(r->subject_by);
    r->subject = strdup(subject);
    r->subject_by = strdup(o->nick);
    if (!r->subject || !r->subject_by)
        abort();
    store_save(r);
    return true;
}

static void groupchat(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "You are not in the room");
        return;
    }
    if (o->role < ROLE_PARTICIPANT) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Visitors may not speak in a moderated room");
        return;
    }
    const char *subject = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "subject");
    if (subject && !subject_change(r, o, st, subject))
        return;
    struct myna_xml *m = myna_xml_copy(st->arena, st->xml);
    strip_forged(r, m);
    myna_xml_set_attr(m, "to", NULL);
    myna_xml_set_attr(m, "from", o->ojid);
    myna_xml_set_attr(myna_xml_add_child(m, NS_OCCUPANT_ID, "occupant-id"), "id",
                      o->occupant_id);
    /* Recorded before it is broadcast: the stanza-id occupants see is the archive's. */
    history_record(r, m, st->from.full, history_kind(m));
    size_t n = 0;
    const struct myna_jid *to = room_recipients(r, &n);
    myna_send_fanout(svc->m, m, to, n);
    myna_metric_add(svc->m, "groupchat", 1);
}

static bool pm_allowed(const struct room *r, const struct occupant *o)
{
    switch (r->cfg.allow_pm) {
    case PM_ANYONE:
        return true;
    case PM_PARTICIPANTS:
        return o->role >= ROLE_PARTICIPANT;
    case PM_MODERATORS:
        return o->role == ROLE_MODERATOR;
    case PM_NONE:
        return false;
    }
    return false;
}

static void private_message(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "You are not in the room");
        return;
    }
    if (strcmp(st->type, "groupchat") == 0) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Groupchat messages go to the room");
        return;
    }
    struct occupant *to = muc_map_get(&r->by_nick, st->to.resource);
    if (!to) {
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such occupant");
        return;
    }
    if (!pm_allowed(r, o)) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Private messages are not allowed in this room");
        return;
    }
    struct myna_xml *m = myna_xml_copy(st->arena, st->xml);
    strip_forged(r, m);
    myna_xml_set_attr(m, "from", o->ojid);
    /* §7.5: marks the message as a MUC private message (carbons and archives use it). */
    myna_xml_add_child(m, NS_MUC_USER, "x");
    myna_xml_set_attr(myna_xml_add_child(m, NS_OCCUPANT_ID, "occupant-id"), "id",
                      o->occupant_id);
    occ_send_to(svc, to, m);
}

/* §7.13: a visitor asks for voice; moderators get an approval form. */
static void voice_request(struct muc *svc, struct room *r, struct myna_stanza *st,
                          const struct dataform *f)
{
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "You are not in the room");
        return;
    }
    const char *allow = df_value(f, "muc#request_allow");
    const char *nick = df_value(f, "muc#roomnick");
    if (allow && o->role == ROLE_MODERATOR) {
        /* §8.6: a moderator's answer to a request. */
        bool yes = false;
        if (df_bool(f, "muc#request_allow", &yes) < 0) {
            muc_error(st, MYNA_ERR_BAD_REQUEST, "muc#request_allow must be a boolean");
            return;
        }
        struct occupant *t = nick ? muc_map_get(&r->by_nick, nick) : NULL;
        if (!t) {
            muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such occupant");
            return;
        }
        enum myna_error err;
        if (yes && t->role == ROLE_VISITOR &&
            admin_set_role(r, o, t, ROLE_PARTICIPANT, NULL, &err) < 0)
            muc_error(st, err, NULL);
        return;
    }
    const char *role = df_value(f, "muc#role");
    if (!role || strcmp(role, "participant") != 0) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Only voice (muc#role=participant) can be asked for");
        return;
    }
    if (o->role != ROLE_VISITOR)
        return; /* already has voice */
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "id", muc_new_stanza_id(svc, a));
    struct myna_xml *x = df_new(m, "form", NS_MUC_REQUEST, "Voice request");
    df_add_field(x, "muc#role", "list-single", "Requested role", "participant");
    df_add_field(x, "muc#jid", "jid-single", "User ID", o->conns->jid.full);
    df_add_field(x, "muc#roomnick", "text-single", "Room Nickname", o->nick);
    df_add_field(x, "muc#request_allow", "boolean", "Grant voice to this person?", "false");
    for (struct occupant *v = r->head; v; v = v->next)
        if (v->role == ROLE_MODERATOR)
            occ_send_to(svc, v, m);
    myna_arena_free(a);
}

void msg_handle(struct muc *svc, struct myna_stanza *st)
{
    struct room *r = st->to.node ? room_find(svc, st->to.node) : NULL;
    if (strcmp(st->type, "error") == 0) {
        if (r && occ_by_real(r, st->from.full) && is_bounce(st))
            occ_bounced(svc, st->from.full);
        return;
    }
    if (!st->to.node) {
        muc_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    if (!r || r->locked) {
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such room");
        return;
    }
    if (st->to.resource) {
        private_message(svc, r, st);
        return;
    }
    if (strcmp(st->type, "groupchat") == 0) {
        groupchat(svc, r, st);
        return;
    }
    if (invite_handle(svc, r, st))
        return;
    struct myna_xml *x = df_find(st->xml);
    struct dataform f;
    if (x && df_parse(x, &f, 32, 4) == 0 && f.form_type &&
        strcmp(f.form_type, NS_MUC_REQUEST) == 0) {
        voice_request(svc, r, st, &f);
        return;
    }
    muc_error(st, MYNA_ERR_BAD_REQUEST, "Messages to a room are groupchat messages");
}
