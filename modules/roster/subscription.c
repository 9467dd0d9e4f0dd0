/* modules/roster/subscription.c — the presence subscription state machine (RFC 6121 §3 and
 * appendix A): outbound subscribe/subscribed/unsubscribe/unsubscribed from a local user
 * (table A.2), inbound ones to a local user (table A.3), pre-approval (§3.4), pending
 * inbound requests kept in the record until answered (re-delivered by presence.c at the
 * next initial presence), and cancellation of both directions on item removal (§2.5.2).
 * Subscription stanzas always travel between bare JIDs (§3.1.2).
 */
#include <string.h>

#include "roster.h"

bool presence_is_subscription(const char *type)
{
    return type != NULL &&
           (strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0 ||
            strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0);
}

/* Saves a changed record: with a roster push when it is a visible item. Returns 0 or the
 * store error; on an error nothing more may be sent for the stanza: its unit of work
 * failed (the server answers the sender with the error). */
static int sub_save(struct myna_module *m, const struct myna_jid *user,
                    const struct contact *ct)
{
    if (ct->in_roster)
        return roster_commit(m, user, ct, false);
    return roster_save_quiet(m, user->bare, ct);
}

/* Routes a subscription stanza between bare JIDs; `orig` (may be NULL) gives children
 * such as <status/> or <nick/> to keep. */
static void sub_route(struct myna_module *m, const char *type, const char *from,
                      const char *to, const struct myna_xml *orig)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p;
    if (orig != NULL) {
        p = myna_xml_copy(a, orig);
    } else {
        p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    }
    myna_xml_set_attr(p, "type", type);
    myna_xml_set_attr(p, "from", from);
    myna_xml_set_attr(p, "to", to);
    myna_send(m, p);
    myna_arena_free(a);
}

/* Table A.2: the user's server processing an outbound subscription stanza. */
/* A subscription that would add an item to a full roster is refused like a roster set
 * would be (RFC 6121 §2.3.3: not-allowed), and nothing is sent to the contact. */
static bool roster_full(struct myna_module *m, struct myna_stanza *st,
                        const struct myna_jid *user, const struct contact *ct)
{
    struct roster_ctx *c = roster_ctx(m);
    if (ct->in_roster || (long long)roster_count(c, st->arena, user->bare) < c->max_items)
        return false;
    myna_reply_error(st, MYNA_ERR_NOT_ALLOWED, "roster size limit reached");
    return true;
}

enum myna_verdict subscription_outbound(struct myna_module *m, struct myna_stanza *st)
{
    if (!st->has_to) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "subscription stanzas need a 'to'");
        return MYNA_HANDLED;
    }
    struct myna_jid user, cj;
    myna_jid_to_bare(&st->from, &user);
    myna_jid_to_bare(&st->to, &cj);
    if (myna_jid_bare_equal(&user, &cj))
        return MYNA_HANDLED; /* a subscription to oneself means nothing */
    if (strlen(user.bare) + 1 + strlen(cj.bare) > 511) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "JID too long");
        return MYNA_HANDLED;
    }
    struct contact ct;
    contact_get(roster_ctx(m), st->arena, user.bare, cj.bare, &ct);
    const char *type = st->type;

    if ((strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0) &&
        roster_full(m, st, &user, &ct))
        return MYNA_HANDLED;
    if (strcmp(type, "subscribe") == 0) {
        bool changed = false;
        if (!ct.in_roster) { /* §3.1.2: the contact joins the roster with ask */
            ct.in_roster = true;
            changed = true;
        }
        if (!(ct.sub & SUB_TO) && !ct.ask) {
            ct.ask = true;
            changed = true;
        }
        if (changed && roster_commit(m, &user, &ct, false) != 0)
            return MYNA_HANDLED;
        sub_route(m, type, user.bare, cj.bare, st->xml);
    } else if (strcmp(type, "unsubscribe") == 0) {
        if (ct.ask || (ct.sub & SUB_TO)) {
            ct.ask = false;
            ct.sub &= ~SUB_TO;
            if (sub_save(m, &user, &ct) != 0)
                return MYNA_HANDLED;
        }
        sub_route(m, type, user.bare, cj.bare, st->xml);
    } else if (strcmp(type, "subscribed") == 0) {
        if (ct.pending_in) { /* §3.1.5: approve the pending request */
            ct.pending_in = false;
            ct.approved = false;
            ct.sub |= SUB_FROM;
            ct.in_roster = true;
            if (roster_commit(m, &user, &ct, false) != 0)
                return MYNA_HANDLED;
            sub_route(m, type, user.bare, cj.bare, st->xml);
            presence_send_current(m, &user, cj.bare, false);
        } else if (!(ct.sub & SUB_FROM) && !ct.approved) {
            /* §3.4: pre-approval; nothing is sent to the contact. */
            ct.approved = true;
            ct.in_roster = true;
            roster_commit(m, &user, &ct, false);
        }
    } else { /* unsubscribed */
        bool route = false;
        if (ct.pending_in) { /* §3.2: deny the pending request */
            ct.pending_in = false;
            route = true;
        }
        bool lost_from = (ct.sub & SUB_FROM) != 0;
        if (lost_from) { /* cancel the contact's subscription */
            ct.sub &= ~SUB_FROM;
            route = true;
        }
        if (ct.approved) { /* withdraws a pre-approval (§3.4) */
            ct.approved = false;
        }
        if (sub_save(m, &user, &ct) != 0)
            return MYNA_HANDLED;
        if (route)
            sub_route(m, type, user.bare, cj.bare, st->xml);
        if (lost_from)
            presence_send_current(m, &user, cj.bare, true);
    }
    return MYNA_HANDLED;
}

/* Gives a subscription stanza to the user's available resources, from the contact's bare
 * JID (§3.1.3). */
static void sub_deliver(struct myna_module *m, struct myna_stanza *st,
                        const struct myna_jid *user, const struct myna_jid *cj)
{
    struct myna_xml *p = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(p, "from", cj->bare);
    myna_xml_set_attr(p, "to", user->bare);
    presence_deliver_available(m, user, p);
}

/* §3.1.3: the request is kept as received, extended content (XEP-0172 nick, XEP-0379
 * pre-auth token, a status) included, for re-delivery at the next login. */
static bool request_save(struct myna_module *m, struct myna_stanza *st,
                         const struct myna_jid *user, const struct myna_jid *cj)
{
    struct myna_xml *p = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(p, "from", cj->bare);
    myna_xml_set_attr(p, "to", user->bare);
    return request_put(roster_ctx(m), user->bare, cj->bare, p) == 0;
}

/* Table A.3: the contact's server (here: the local user's) processing an inbound one. */
enum myna_verdict subscription_inbound(struct myna_module *m, struct myna_stanza *st)
{
    struct myna_jid user, cj;
    myna_jid_to_bare(&st->to, &user);
    myna_jid_to_bare(&st->from, &cj);
    const char *type = st->type;
    if (user.node == NULL || !myna_user_exists(m, user.node)) {
        /* RFC 6121 §3.1.3: no such user: the request is declined. */
        if (strcmp(type, "subscribe") == 0 && user.node != NULL)
            sub_route(m, "unsubscribed", user.bare, cj.bare, NULL);
        return MYNA_HANDLED;
    }
    if (myna_jid_bare_equal(&user, &cj) ||
        strlen(user.bare) + 1 + strlen(cj.bare) > 511)
        return MYNA_HANDLED;
    struct contact ct;
    contact_get(roster_ctx(m), st->arena, user.bare, cj.bare, &ct);

    if (strcmp(type, "subscribe") == 0) {
        if (ct.sub & SUB_FROM) { /* already subscribed: answer for the user (§3.1.3) */
            sub_route(m, "subscribed", user.bare, cj.bare, NULL);
        } else if (ct.approved) { /* pre-approved (§3.4) */
            ct.approved = false;
            ct.sub |= SUB_FROM;
            if (sub_save(m, &user, &ct) != 0)
                return MYNA_HANDLED;
            sub_route(m, "subscribed", user.bare, cj.bare, NULL);
            presence_send_current(m, &user, cj.bare, false);
        } else if (!ct.pending_in && !ct.in_roster &&
                   (long long)roster_count_all(roster_ctx(m), st->arena, user.bare) >=
                       2 * roster_ctx(m)->max_items) {
            /* Requests from strangers are stored until answered; a flood of them must not
             * grow the user's records without bound: past twice max_items, drop them. */
            myna_log(m, MYNA_LOG_INFO, "dropping subscription request from %s to %s: too many "
                     "stored records", cj.bare, user.bare);
        } else if (!ct.pending_in) {
            ct.pending_in = true; /* kept until answered, re-delivered at login */
            if (roster_save_quiet(m, user.bare, &ct) == 0 && request_save(m, st, &user, &cj))
                sub_deliver(m, st, &user, &cj);
        }
    } else if (strcmp(type, "subscribed") == 0) {
        if (ct.ask) {
            ct.ask = false;
            ct.sub |= SUB_TO;
            if (sub_save(m, &user, &ct) == 0)
                sub_deliver(m, st, &user, &cj);
        }
    } else if (strcmp(type, "unsubscribed") == 0) {
        if (ct.ask || (ct.sub & SUB_TO)) {
            ct.ask = false;
            ct.sub &= ~SUB_TO;
            if (sub_save(m, &user, &ct) == 0)
                sub_deliver(m, st, &user, &cj);
        }
    } else { /* unsubscribe */
        bool changed = false, lost_from = false;
        if (ct.pending_in) {
            ct.pending_in = false;
            changed = true;
        }
        if (ct.sub & SUB_FROM) {
            ct.sub &= ~SUB_FROM;
            changed = lost_from = true;
        }
        if (changed && sub_save(m, &user, &ct) != 0)
            return MYNA_HANDLED;
        if (changed)
            sub_deliver(m, st, &user, &cj);
        if (lost_from) /* §3.3.3: the contact no longer sees the user */
            presence_send_current(m, &user, cj.bare, true);
    }
    return MYNA_HANDLED;
}

void subscription_cancel_all(struct myna_module *m, const struct myna_jid *user,
                             const struct contact *ct)
{
    struct myna_jid bare;
    myna_jid_to_bare(user, &bare);
    if ((ct->sub & SUB_FROM) || ct->pending_in) {
        sub_route(m, "unsubscribed", bare.bare, ct->jid, NULL);
        if (ct->sub & SUB_FROM)
            presence_send_current(m, &bare, ct->jid, true);
    }
    if ((ct->sub & SUB_TO) || ct->ask)
        sub_route(m, "unsubscribe", bare.bare, ct->jid, NULL);
}
