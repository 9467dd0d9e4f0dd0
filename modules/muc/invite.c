/* modules/muc/invite.c — mediated invitations (XEP-0045 §7.8.2) and declines (§7.8.2.x):
 * an occupant asks the room to invite someone; the room sends the invitation from itself
 * (with the password of a protected room), and in a members-only room an invitation by an
 * admin, or by anyone when invitations are allowed, makes the invitee a member (§9.3).
 * Direct invitations (XEP-0249) go from client to client and need nothing here. */
#include <string.h>

#include "muc.h"

static void send_invite(struct muc *svc, struct room *r, const struct myna_stanza *st,
                        const struct myna_xml *inv, const char *to)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "to", to);
    if (st->id)
        myna_xml_set_attr(m, "id", st->id);
    struct myna_xml *x = myna_xml_add_child(m, NS_MUC_USER, "x");
    struct myna_xml *i = myna_xml_add_child(x, NULL, "invite");
    myna_xml_set_attr(i, "from", st->from.full);
    const char *reason = myna_xml_child_text(inv, NS_MUC_USER, "reason");
    if (reason)
        myna_xml_add_text(myna_xml_add_child(i, NULL, "reason"), reason, strlen(reason));
    if (r->cfg.password_protected)
        myna_xml_add_text(myna_xml_add_child(x, NULL, "password"), r->cfg.password,
                          strlen(r->cfg.password));
    /* XEP-0249 alongside, for clients that only understand direct invitations. */
    struct myna_xml *c = myna_xml_add_child(m, NS_CONFERENCE, "x");
    myna_xml_set_attr(c, "jid", r->jid);
    if (reason)
        myna_xml_set_attr(c, "reason", reason);
    if (r->cfg.password_protected)
        myna_xml_set_attr(c, "password", r->cfg.password);
    myna_send(svc->m, m);
    myna_arena_free(a);
}

static void decline(struct muc *svc, struct room *r, const struct myna_stanza *st,
                    const struct myna_xml *d)
{
    const char *to = myna_xml_attr(d, "to");
    struct myna_jid jid;
    if (!to || myna_jid_parse(st->arena, to, &jid) < 0)
        return;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "to", jid.full);
    struct myna_xml *x = myna_xml_add_child(m, NS_MUC_USER, "x");
    struct myna_xml *out = myna_xml_add_child(x, NULL, "decline");
    myna_xml_set_attr(out, "from", st->from.bare);
    const char *reason = myna_xml_child_text(d, NS_MUC_USER, "reason");
    if (reason)
        myna_xml_add_text(myna_xml_add_child(out, NULL, "reason"), reason, strlen(reason));
    myna_send(svc->m, m);
    myna_arena_free(a);
}

bool invite_handle(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    struct myna_xml *x = myna_xml_find(st->xml, NS_MUC_USER, "x");
    if (!x)
        return false;
    struct myna_xml *d = myna_xml_find(x, NS_MUC_USER, "decline");
    if (d) {
        decline(svc, r, st, d);
        return true;
    }
    struct myna_xml *inv = myna_xml_find(x, NS_MUC_USER, "invite");
    if (!inv)
        return false;
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o) {
        muc_error(st, MYNA_ERR_NOT_ACCEPTABLE, "Only occupants may invite");
        return true;
    }
    enum muc_aff aff = room_aff(r, o->bare);
    if (r->cfg.members_only && !r->cfg.allow_invites && aff < AFF_ADMIN) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Only admins may invite to this room");
        return true;
    }
    size_t count = 0;
    for (struct myna_xml *i = inv; i; i = myna_xml_find_next(i, NS_MUC_USER, "invite"))
        if (++count > 20) {
            muc_error(st, MYNA_ERR_POLICY_VIOLATION, "Too many invitations at once");
            return true;
        }
    for (struct myna_xml *i = inv; i; i = myna_xml_find_next(i, NS_MUC_USER, "invite")) {
        const char *to = myna_xml_attr(i, "to");
        struct myna_jid jid;
        if (!to || myna_jid_parse(st->arena, to, &jid) < 0) {
            muc_error(st, MYNA_ERR_JID_MALFORMED, "Invitation without a valid 'to'");
            return true;
        }
        if (r->cfg.members_only && room_aff(r, jid.bare) == AFF_NONE)
            room_set_aff(r, jid.bare, AFF_MEMBER, NULL);
        send_invite(svc, r, st, i, jid.full);
    }
    return true;
}
