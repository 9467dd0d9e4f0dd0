/* modules/muc/moderate.c — XEP-0425 message moderation: a moderator retracts a room
 * message by its stanza-id (urn:xmpp:message-moderate:1 with XEP-0424 retract:1, and the
 * older :0 form inside XEP-0422 apply-to that clients still send). The room tells every
 * occupant in the form the request used, and the stored message is replaced by a
 * tombstone so history on join no longer serves it. */
#include <string.h>

#include "muc.h"

struct tomb {
    const char *id, *by, *reason, *occupant_id;
    bool legacy;
};

/* The retraction, as broadcast (and stored as the tombstone). */
static struct myna_xml *make_tomb(struct myna_arena *a, void *d)
{
    const struct tomb *t = d;
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "type", "groupchat");
    struct myna_xml *mod;
    if (t->legacy) {
        struct myna_xml *ap = myna_xml_add_child(m, NS_FASTEN, "apply-to");
        myna_xml_set_attr(ap, "id", t->id);
        mod = myna_xml_add_child(ap, NS_MODERATE0, "moderated");
        myna_xml_add_child(mod, NS_RETRACT0, "retract");
    } else {
        struct myna_xml *re = myna_xml_add_child(m, NS_RETRACT1, "retract");
        myna_xml_set_attr(re, "id", t->id);
        mod = myna_xml_add_child(re, NS_MODERATE1, "moderated");
    }
    myna_xml_set_attr(mod, "by", t->by);
    if (t->occupant_id)
        myna_xml_set_attr(myna_xml_add_child(mod, NS_OCCUPANT_ID, "occupant-id"), "id",
                          t->occupant_id);
    if (t->reason)
        myna_xml_add_text(myna_xml_add_child(t->legacy ? mod : mod->parent, NULL, "reason"),
                          t->reason, strlen(t->reason));
    return m;
}

void moderate_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    struct myna_xml *q = myna_xml_first_element(st->xml);
    struct tomb t = {0};
    if (myna_xml_is(q, NS_MODERATE1, "moderate")) {
        t.id = myna_xml_attr(q, "id");
        t.reason = myna_xml_child_text(q, NS_MODERATE1, "reason");
        if (!myna_xml_find(q, NS_RETRACT1, "retract"))
            t.id = NULL;
    } else {
        struct myna_xml *mod = myna_xml_find(q, NS_MODERATE0, "moderate");
        t.legacy = true;
        t.id = myna_xml_attr(q, "id");
        t.reason = mod ? myna_xml_child_text(mod, NS_MODERATE0, "reason") : NULL;
        if (!mod || !myna_xml_find(mod, NS_RETRACT0, "retract"))
            t.id = NULL;
    }
    if (strcmp(st->type, "set") != 0 || !t.id) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Expected a moderation request with a retraction");
        return;
    }
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o || o->role != ROLE_MODERATOR) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Only moderators may retract messages");
        return;
    }
    t.by = o->ojid;
    const char *from = NULL, *oid = NULL;
    struct myna_arena *a = myna_arena_new();
    if (history_replace(r, t.id, a, &from, &oid, make_tomb, &t) < 0) {
        myna_arena_free(a);
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such message");
        return;
    }
    myna_iq_result(st, NULL);
    t.occupant_id = oid;
    struct myna_xml *m = make_tomb(a, &t);
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "id", muc_new_stanza_id(svc, a));
    struct myna_xml *sid = myna_xml_add_child(m, NS_SID, "stanza-id");
    myna_xml_set_attr(sid, "id", myna_xml_attr(m, "id"));
    myna_xml_set_attr(sid, "by", r->jid);
    size_t n = 0;
    const struct myna_jid *to = room_recipients(r, &n);
    if (n)
        myna_send_fanout(svc->m, m, to, n);
    myna_arena_free(a);
}
