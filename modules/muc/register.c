/* modules/muc/register.c — registering with a room (XEP-0045 §7.10, FORM_TYPE
 * muc#register): a user reserves a nickname and becomes a member; nobody else may enter
 * or change to that nickname (conflict, §7.2.9). Asking again shows <registered/> with the
 * reserved nickname (§7.10); an empty <remove/> cancels the registration (XEP-0077). */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

static void reg_get(struct room *r, struct myna_stanza *st)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_REGISTER, "query");
    struct muc_aff_row *row = room_aff_row(r, st->from.bare);
    if (row && row->nick) {
        myna_xml_add_child(q, NULL, "registered");
        myna_xml_add_text(myna_xml_add_child(q, NULL, "username"), row->nick,
                          strlen(row->nick));
    }
    const char *ins = "Choose the nickname to reserve in this room";
    myna_xml_add_text(myna_xml_add_child(q, NULL, "instructions"), ins, strlen(ins));
    struct myna_xml *x = df_new(q, "form", NS_MUC_REGISTER, "Room registration");
    struct myna_xml *f = df_add_field(x, "muc#register_roomnick", "text-single", "Nickname",
                                      row && row->nick ? row->nick : NULL);
    myna_xml_add_child(f, NULL, "required");
    myna_iq_send_result(st, res);
}

static void reg_set(struct room *r, struct myna_stanza *st, struct myna_xml *q)
{
    enum muc_aff aff = room_aff(r, st->from.bare);
    if (aff == AFF_OUTCAST) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "You are banned from this room");
        return;
    }
    if (myna_xml_find(q, NS_REGISTER, "remove")) {
        struct muc_aff_row *row = room_aff_row(r, st->from.bare);
        if (!row || !row->nick) {
            muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "Not registered");
            return;
        }
        free(row->nick);
        row->nick = NULL;
        room_set_aff(r, st->from.bare, row->aff, row->reason);
        myna_iq_result(st, NULL);
        return;
    }
    struct dataform f;
    struct myna_xml *x = df_find(q);
    if (!x || df_parse(x, &f, 16, 1) < 0 || strcmp(f.type, "submit") != 0 ||
        (f.form_type && strcmp(f.form_type, NS_MUC_REGISTER) != 0)) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Expected a submitted muc#register form");
        return;
    }
    if (r->cfg.members_only && aff < AFF_MEMBER) {
        muc_error(st, MYNA_ERR_REGISTRATION_REQUIRED, "This room is members-only");
        return;
    }
    const char *raw = df_value(&f, "muc#register_roomnick");
    const char *nick = raw ? myna_jid_resourceprep(st->arena, raw) : NULL;
    if (!nick || !*nick || strlen(nick) > r->svc->max_nick) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "That nickname is not acceptable");
        return;
    }
    const char *owner = room_nick_owner(r, nick);
    struct occupant *o = muc_map_get(&r->by_nick, nick);
    if ((owner && strcmp(owner, st->from.bare) != 0) ||
        (o && strcmp(o->bare, st->from.bare) != 0)) {
        muc_error(st, MYNA_ERR_CONFLICT, "That nickname is taken");
        return;
    }
    room_set_aff(r, st->from.bare, aff < AFF_MEMBER ? AFF_MEMBER : aff, NULL);
    struct muc_aff_row *row = room_aff_row(r, st->from.bare);
    free(row->nick);
    row->nick = strdup(nick);
    if (!row->nick)
        abort();
    store_save(r);
    myna_iq_result(st, NULL);
    /* A present occupant who became a member gets its new affiliation announced. */
    for (struct occupant *p = r->head; p; p = p->next)
        if (strcmp(p->bare, st->from.bare) == 0 && aff < AFF_MEMBER) {
            if (p->role == ROLE_VISITOR)
                p->role = ROLE_PARTICIPANT;
            occ_broadcast(p, NULL);
        }
}

void register_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    (void)svc;
    if (strcmp(st->type, "get") == 0)
        reg_get(r, st);
    else
        reg_set(r, st, myna_xml_first_element(st->xml));
}
