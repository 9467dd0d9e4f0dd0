/* modules/muc/mam.c — XEP-0313 queries on a room's archive, with the rules of MUC archives
 * (XEP-0313 §5.1.2 business rules): only someone who may enter the room at the time of
 * the query reads it (never an outcast; in a members-only room, members, admins and
 * owners; in a password-protected room, its occupants, admins and owners, since XEP-0045
 * §7.2.6 asks everyone else for the password); the sender's real JID is added to each
 * result (muc#user <item jid/>) only for those who may see real JIDs now (a non-anonymous
 * room, a moderator, an admin or owner), and so is the 'with' filter, which names real
 * JIDs. The query itself is answered by the mam module's code (myna/archive.h).
 */
#include <string.h>

#include "muc.h"

/* The real JIDs of a room are visible to this requester (XEP-0045 §7.2.3-7.2.4). */
static bool sees_real_jids(struct room *r, const struct myna_stanza *st, enum muc_aff aff)
{
    if (r->cfg.nonanonymous || aff >= AFF_ADMIN)
        return true;
    for (struct occupant *o = r->head; o; o = o->next)
        if (o->role == ROLE_MODERATOR && strcmp(o->bare, st->from.bare) == 0)
            return true;
    return false;
}

static bool is_occupant(struct room *r, const char *bare)
{
    for (struct occupant *o = r->head; o; o = o->next)
        if (strcmp(o->bare, bare) == 0)
            return true;
    return false;
}

/* Who may read the archive; the refusal's text when not. */
static const char *refusal(struct room *r, const struct myna_stanza *st, enum muc_aff aff)
{
    if (aff == AFF_OUTCAST)
        return "You are banned from this room";
    if (r->cfg.members_only && aff < AFF_MEMBER)
        return "The archive of a members-only room is for its members";
    if (r->cfg.password_protected && aff < AFF_ADMIN && !is_occupant(r, st->from.bare))
        return "The archive of a password-protected room is for its occupants";
    return NULL;
}

/* The query form names a 'with' (a malformed form is left to the query code's error). */
static bool asks_with(const struct myna_stanza *st)
{
    struct myna_xml *x = df_find(myna_xml_first_element(st->xml));
    struct dataform f;
    return x && df_parse(x, &f, 64, 1000) == 0 && df_get(&f, "with");
}

/* §5.1.2: the forwarded message comes without 'to' and from the occupant JID, as stored;
 * the real JID is added for those who may see it. */
static void add_real_jid(struct myna_xml *result, const struct myna_archive_item *item,
                         void *data)
{
    (void)result;
    const bool *sees = data;
    if (!*sees || !item->with || !*item->with)
        return;
    struct myna_xml *x = myna_xml_add_child(item->message, NS_MUC_USER, "x");
    myna_xml_set_attr(myna_xml_add_child(x, NULL, "item"), "jid", item->with);
}

void mam_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    (void)svc;
    const struct myna_archive_service *s = history_archive(r);
    if (!s) {
        muc_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, "This room keeps no archive");
        return;
    }
    enum muc_aff aff = room_aff(r, st->from.bare);
    const char *why = refusal(r, st, aff);
    if (why) {
        muc_error(st, MYNA_ERR_FORBIDDEN, why);
        return;
    }
    bool sees = sees_real_jids(r, st, aff);
    if (!sees && asks_with(st)) {
        muc_error(st, MYNA_ERR_FORBIDDEN, "Filtering by sender needs the right to see real JIDs");
        return;
    }
    s->query(s, st, r->jid, add_real_jid, &sees);
}
