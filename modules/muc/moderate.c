/* modules/muc/moderate.c — XEP-0425 message moderation: a moderator retracts a room
 * message by its stanza-id (urn:xmpp:message-moderate:1 with XEP-0424 retract:1, and the
 * older :0 form inside XEP-0422 apply-to that clients still send). The kept message is
 * replaced by a tombstone (XEP-0425 §6, XEP-0424 §5: the author's occupant JID and
 * occupant-id stay, the content goes), so neither history on entering nor the room's MAM
 * archive serves it again; the room tells every occupant in the form the request used, and
 * that retraction is recorded too (XEP-0424: archived), so a client syncing the archive
 * later learns of it.
 */
#include <string.h>

#include "muc.h"

struct moderation {
    const char *id;          /* stanza-id of the moderated message */
    const char *by;          /* the moderator's occupant JID */
    const char *by_oid;      /* the moderator's XEP-0421 occupant id */
    const char *reason;
    bool legacy;             /* :0 in apply-to */
};

static void add_occupant_id(struct myna_xml *parent, const char *id)
{
    if (id)
        myna_xml_set_attr(myna_xml_add_child(parent, NS_OCCUPANT_ID, "occupant-id"), "id", id);
}

static void add_reason(struct myna_xml *parent, const char *reason)
{
    if (reason)
        myna_xml_add_text(myna_xml_add_child(parent, NULL, "reason"), reason, strlen(reason));
}

/* The retraction the room broadcasts (XEP-0425 §4). */
static struct myna_xml *retraction(struct myna_arena *a, struct room *r,
                                   const struct moderation *t)
{
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "from", r->jid);
    myna_xml_set_attr(m, "type", "groupchat");
    myna_xml_set_attr(m, "id", muc_new_stanza_id(r->svc, a));
    struct myna_xml *mod;
    if (t->legacy) {
        struct myna_xml *ap = myna_xml_add_child(m, NS_FASTEN, "apply-to");
        myna_xml_set_attr(ap, "id", t->id);
        mod = myna_xml_add_child(ap, NS_MODERATE0, "moderated");
        myna_xml_add_child(mod, NS_RETRACT0, "retract");
        myna_xml_set_attr(mod, "by", t->by);
        add_occupant_id(mod, t->by_oid);
        add_reason(mod, t->reason);
    } else {
        struct myna_xml *re = myna_xml_add_child(m, NS_RETRACT1, "retract");
        myna_xml_set_attr(re, "id", t->id);
        mod = myna_xml_add_child(re, NS_MODERATE1, "moderated");
        myna_xml_set_attr(mod, "by", t->by);
        add_occupant_id(mod, t->by_oid);
        add_reason(re, t->reason);
    }
    return m;
}

/* The tombstone kept in place of `orig`: its sender, id and occupant-id, and who
 * retracted it when, in the request's form. */
static struct myna_xml *tombstone(struct myna_arena *a, const struct myna_xml *orig,
                                  const struct moderation *t)
{
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    static const char *const keep[] = {"from", "id", "type"};
    for (size_t i = 0; i < 3; i++)
        myna_xml_set_attr(m, keep[i], myna_xml_attr(orig, keep[i]));
    struct myna_xml *oid = myna_xml_find(orig, NS_OCCUPANT_ID, "occupant-id");
    add_occupant_id(m, oid ? myna_xml_attr(oid, "id") : NULL);
    char stamp[32];
    muc_stamp(muc_now(), stamp);
    if (t->legacy) {
        struct myna_xml *mod = myna_xml_add_child(m, NS_MODERATE0, "moderated");
        myna_xml_set_attr(mod, "by", t->by);
        add_occupant_id(mod, t->by_oid);
        myna_xml_set_attr(myna_xml_add_child(mod, NS_RETRACT0, "retracted"), "stamp", stamp);
        add_reason(mod, t->reason);
    } else {
        struct myna_xml *re = myna_xml_add_child(m, NS_RETRACT1, "retracted");
        myna_xml_set_attr(re, "stamp", stamp);
        struct myna_xml *mod = myna_xml_add_child(re, NS_MODERATE1, "moderated");
        myna_xml_set_attr(mod, "by", t->by);
        add_occupant_id(mod, t->by_oid);
        add_reason(re, t->reason);
    }
    return m;
}

/* Reads the request; false (answered bad-request) when it is not one. */
static bool parse(struct myna_stanza *st, struct moderation *t)
{
    struct myna_xml *q = myna_xml_first_element(st->xml);
    if (myna_xml_is(q, NS_MODERATE1, "moderate")) {
        t->id = myna_xml_attr(q, "id");
        t->reason = myna_xml_child_text(q, NS_MODERATE1, "reason");
        if (!myna_xml_find(q, NS_RETRACT1, "retract"))
            t->id = NULL;
    } else {
        struct myna_xml *mod = myna_xml_find(q, NS_MODERATE0, "moderate");
        t->legacy = true;
        t->id = myna_xml_attr(q, "id");
        t->reason = mod ? myna_xml_child_text(mod, NS_MODERATE0, "reason") : NULL;
        if (!mod || !myna_xml_find(mod, NS_RETRACT0, "retract"))
            t->id = NULL;
    }
    if (strcmp(st->type, "set") != 0 || !t->id) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Expected a moderation request with a retraction");
        return false;
    }
    return true;
}

void moderate_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    struct moderation t = {0};
    if (!parse(st, &t))
        return;
    struct occupant *o = occ_by_real(r, st->from.full);
    if (!o || o->role != ROLE_MODERATOR) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Only moderators may retract messages");
        return;
    }
    t.by = o->ojid;
    t.by_oid = o->occupant_id;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *orig = NULL;
    if (history_get(r, t.id, a, &orig) < 0 || !myna_xml_attr(orig, "from") ||
        strchr(myna_xml_attr(orig, "from"), '/') == NULL) {
        /* Unknown, or not an occupant's message (a notice, a retraction). */
        myna_arena_free(a);
        muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such message");
        return;
    }
    if (history_replace(r, t.id, tombstone(a, orig, &t)) < 0) {
        myna_arena_free(a);
        muc_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, "The message could not be replaced");
        return;
    }
    myna_iq_result(st, NULL);
    struct myna_xml *m = retraction(a, r, &t);
    history_record(r, m, NULL, HIST_EVENT);
    size_t n = 0;
    const struct myna_jid *to = room_recipients(r, &n);
    if (n)
        myna_send_fanout(svc->m, m, to, n);
    myna_arena_free(a);
}
