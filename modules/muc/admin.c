/* modules/muc/admin.c — roles and affiliations (XEP-0045 §5 privileges; §8 moderator use
 * cases: kick 8.2, voice 8.3-8.5; §9 admin use cases: ban 9.1, membership 9.3-9.5,
 * moderator 9.6-9.8; §10 owner use cases: ownership 10.3-10.5, admin 10.6-10.8) over the
 * muc#admin namespace. A request is checked whole before anything changes, so a list
 * with one forbidden item changes nothing; the errors are those the XEP gives: forbidden
 * for a privilege the actor lacks, not-allowed for acting on someone at or above one's
 * own level, conflict for removing the last owner. */
#include <string.h>

#include "muc.h"

struct change {
    struct myna_xml *item;
    const char *nick;           /* role change: target nick */
    const char *bare;           /* affiliation change: target bare JID */
    int role, aff;              /* -1 = not changed */
    const char *reason;
};

static enum myna_error check_role(struct room *r, enum muc_aff actor_aff,
                                  const struct occupant *actor, const struct occupant *t,
                                  enum muc_role role)
{
    if (!actor || actor->role != ROLE_MODERATOR)
        return MYNA_ERR_FORBIDDEN;
    enum muc_aff taff = room_aff(r, t->bare);
    if (role < ROLE_MODERATOR && taff >= AFF_ADMIN)
        return MYNA_ERR_NOT_ALLOWED; /* §8.2, §8.4, §9.7: admins and owners stay moderators */
    if (role == ROLE_MODERATOR || (t->role == ROLE_MODERATOR && role != ROLE_MODERATOR)) {
        if (actor_aff < AFF_ADMIN)
            return MYNA_ERR_FORBIDDEN; /* §9.6-9.7 are admin use cases */
    }
    return (enum myna_error)-1;
}

struct owners {
    size_t n;
};

static void count_owner(const char *key, void *val, void *d)
{
    (void)key;
    const struct muc_aff_row *row = val;
    if (row->aff == AFF_OWNER)
        ((struct owners *)d)->n++;
}

static enum myna_error check_aff(struct room *r, enum muc_aff actor_aff, const char *target,
                                 enum muc_aff aff, size_t *owners_left)
{
    if (actor_aff < AFF_ADMIN)
        return MYNA_ERR_FORBIDDEN;
    enum muc_aff cur = room_aff(r, target);
    if (muc_is_admin(r->svc, target) && aff != AFF_OWNER)
        return MYNA_ERR_NOT_ALLOWED; /* service admins own every room */
    if (actor_aff < AFF_OWNER) {
        if (aff >= AFF_ADMIN)
            return MYNA_ERR_FORBIDDEN; /* §10.3, §10.6: owners only */
        if (cur >= AFF_ADMIN)
            return MYNA_ERR_NOT_ALLOWED; /* §9.1: an admin cannot ban/demote an admin */
    }
    if (cur == AFF_OWNER && aff != AFF_OWNER) {
        if (*owners_left <= 1)
            return MYNA_ERR_CONFLICT; /* §10.5: a room keeps at least one owner */
        (*owners_left)--;
    }
    return (enum myna_error)-1;
}

static void apply_aff(struct room *r, const struct change *c, const struct occupant *actor)
{
    room_set_aff(r, c->bare, (enum muc_aff)c->aff, c->reason);
    struct occupant *o = r->head;
    while (o) {
        struct occupant *next = o->next;
        if (strcmp(o->bare, c->bare) == 0) {
            struct occ_why why = {.actor = actor ? actor->nick : NULL, .reason = c->reason};
            if (c->aff == AFF_OUTCAST) {
                why.codes[why.ncodes++] = 301;
                occ_remove(o, &why);
            } else if (c->aff < AFF_MEMBER && r->cfg.members_only) {
                why.codes[why.ncodes++] = 321;
                occ_remove(o, &why);
            } else {
                o->role = occ_default_role(r, (enum muc_aff)c->aff);
                occ_broadcast(o, &why);
            }
        }
        o = next;
    }
}

int admin_set_role(struct room *r, struct occupant *actor, struct occupant *target,
                   enum muc_role role, const char *reason, enum myna_error *err)
{
    enum muc_aff actor_aff = room_aff(r, actor->bare);
    int e = (int)check_role(r, actor_aff, actor, target, role);
    if (e >= 0) {
        *err = (enum myna_error)e;
        return -1;
    }
    struct occ_why why = {.actor = actor->nick, .reason = reason};
    if (role == ROLE_NONE) {
        why.codes[why.ncodes++] = 307;
        occ_remove(target, &why);
    } else {
        target->role = role;
        occ_broadcast(target, &why);
    }
    return 0;
}

static int parse_changes(struct room *r, struct myna_stanza *st, struct myna_xml *q,
                         struct change *ch, size_t max, size_t *n)
{
    *n = 0;
    for (struct myna_xml *it = myna_xml_find(q, NS_MUC_ADMIN, "item"); it;
         it = myna_xml_find_next(it, NS_MUC_ADMIN, "item")) {
        if (*n == max) {
            muc_error(st, MYNA_ERR_POLICY_VIOLATION, "Too many items in one request");
            return -1;
        }
        struct change *c = &ch[(*n)++];
        memset(c, 0, sizeof *c);
        c->item = it;
        const char *role = myna_xml_attr(it, "role"), *aff = myna_xml_attr(it, "affiliation");
        c->role = role ? muc_role_parse(role) : -1;
        c->aff = aff ? muc_aff_parse(aff) : -1;
        c->reason = myna_xml_child_text(it, NS_MUC_ADMIN, "reason");
        if ((role && c->role < 0) || (aff && c->aff < 0) || (!role && !aff) ||
            (role && aff)) {
            muc_error(st, MYNA_ERR_BAD_REQUEST, "An item changes one role or one affiliation");
            return -1;
        }
        c->nick = myna_xml_attr(it, "nick");
        const char *jid = myna_xml_attr(it, "jid");
        if (aff) {
            struct myna_jid j;
            if (jid) {
                if (myna_jid_parse(st->arena, jid, &j) < 0) {
                    muc_error(st, MYNA_ERR_JID_MALFORMED, NULL);
                    return -1;
                }
                c->bare = j.bare;
            } else if (c->nick) {
                struct occupant *o = muc_map_get(&r->by_nick, c->nick);
                if (!o) {
                    muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such occupant");
                    return -1;
                }
                c->bare = o->bare;
            } else {
                muc_error(st, MYNA_ERR_BAD_REQUEST, "An affiliation item needs a jid");
                return -1;
            }
        } else if (!c->nick) {
            muc_error(st, MYNA_ERR_BAD_REQUEST, "A role item needs a nick");
            return -1;
        }
    }
    if (!*n) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "No item");
        return -1;
    }
    return 0;
}

static void admin_set(struct room *r, struct myna_stanza *st, struct myna_xml *q)
{
    struct change ch[64];
    size_t n;
    if (parse_changes(r, st, q, ch, 64, &n) < 0)
        return;
    struct occupant *actor = occ_by_real(r, st->from.full);
    enum muc_aff actor_aff = room_aff(r, st->from.bare);
    struct owners own = {0};
    muc_map_each(&r->affs, count_owner, &own);
    for (size_t i = 0; i < n; i++) {
        int e;
        if (ch[i].aff >= 0) {
            e = (int)check_aff(r, actor_aff, ch[i].bare, (enum muc_aff)ch[i].aff, &own.n);
        } else {
            struct occupant *t = muc_map_get(&r->by_nick, ch[i].nick);
            if (!t) {
                muc_error(st, MYNA_ERR_ITEM_NOT_FOUND, "No such occupant");
                return;
            }
            e = (int)check_role(r, actor_aff, actor, t, (enum muc_role)ch[i].role);
        }
        if (e >= 0) {
            muc_error(st, (enum myna_error)e, NULL);
            return;
        }
    }
    myna_iq_result(st, NULL);
    for (size_t i = 0; i < n; i++) {
        if (ch[i].aff >= 0) {
            apply_aff(r, &ch[i], actor);
            continue;
        }
        struct occupant *t = muc_map_get(&r->by_nick, ch[i].nick);
        enum myna_error err;
        if (t && actor)
            admin_set_role(r, actor, t, (enum muc_role)ch[i].role, ch[i].reason, &err);
    }
    room_maybe_vanish(r);
}

struct list_ctx {
    struct myna_xml *q;
    enum muc_aff aff;
};

static void list_aff(const char *bare, void *val, void *d)
{
    struct list_ctx *c = d;
    const struct muc_aff_row *row = val;
    if (row->aff != c->aff)
        return;
    struct myna_xml *it = myna_xml_add_child(c->q, NULL, "item");
    myna_xml_set_attr(it, "affiliation", muc_aff_name(row->aff));
    myna_xml_set_attr(it, "jid", bare);
    if (row->nick)
        myna_xml_set_attr(it, "nick", row->nick);
    if (row->reason)
        myna_xml_add_text(myna_xml_add_child(it, NULL, "reason"), row->reason,
                          strlen(row->reason));
}

static void admin_get(struct room *r, struct myna_stanza *st, struct myna_xml *q)
{
    struct myna_xml *it = myna_xml_find(q, NS_MUC_ADMIN, "item");
    const char *role = it ? myna_xml_attr(it, "role") : NULL;
    const char *aff = it ? myna_xml_attr(it, "affiliation") : NULL;
    int rv = muc_role_parse(role), av = muc_aff_parse(aff);
    if ((!role && !aff) || (role && rv < 0) || (aff && av < 0)) {
        muc_error(st, MYNA_ERR_BAD_REQUEST, "Ask for one role or affiliation list");
        return;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *out = myna_xml_add_child(res, NS_MUC_ADMIN, "query");
    if (role) {
        struct occupant *actor = occ_by_real(r, st->from.full);
        if (!actor || actor->role != ROLE_MODERATOR) {
            muc_error(st, MYNA_ERR_FORBIDDEN, NULL);
            return;
        }
        for (struct occupant *o = r->head; o; o = o->next) {
            if ((int)o->role != rv)
                continue;
            struct myna_xml *i = myna_xml_add_child(out, NULL, "item");
            myna_xml_set_attr(i, "role", muc_role_name(o->role));
            myna_xml_set_attr(i, "affiliation", muc_aff_name(room_aff(r, o->bare)));
            myna_xml_set_attr(i, "nick", o->nick);
            myna_xml_set_attr(i, "jid", o->conns->jid.full); /* moderators see JIDs */
        }
    } else {
        enum muc_aff actor_aff = room_aff(r, st->from.bare);
        if (actor_aff < AFF_ADMIN || (av >= AFF_ADMIN && actor_aff < AFF_OWNER)) {
            muc_error(st, MYNA_ERR_FORBIDDEN, NULL);
            return;
        }
        struct list_ctx c = {out, (enum muc_aff)av};
        muc_map_each_sorted(&r->affs, list_aff, &c);
    }
    myna_iq_send_result(st, res);
}

void admin_iq(struct muc *svc, struct room *r, struct myna_stanza *st)
{
    (void)svc;
    struct myna_xml *q = myna_xml_first_element(st->xml);
    if (strcmp(st->type, "set") == 0)
        admin_set(r, st, q);
    else
        admin_get(r, st, q);
}
