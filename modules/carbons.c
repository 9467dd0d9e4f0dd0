/* modules/carbons.c — Message Carbons (XEP-0280, urn:xmpp:carbons:2): a user's resources
 * that enabled carbons get a copy of the messages the user's other resources send
 * (<sent/>) and of those addressed to the user that another resource receives
 * (<received/>), each wrapped in a XEP-0297 <forwarded/> and sent from the bare JID.
 * Eligible messages follow myna/im.h, the rule the archive shares (XEP-0280 §6-7,
 * XEP-0334). The hooks run at priority 50, after the archive (55), so a copy carries the
 * archive's <stanza-id/> (XEP-0313 §3.5). Per-session state is one slot: enabled or not.
 */
#include <stdlib.h>
#include <string.h>

#include "myna/im.h"
#include "myna/module.h"

#define NS_CARBONS MYNA_NS_CARBONS
#define NS_FORWARD "urn:xmpp:forward:0"

struct carbons {
    int slot; /* per-session: non-NULL when carbons are enabled */
};

static struct carbons *ctx(struct myna_module *m)
{
    return myna_module_data(m);
}

static bool enabled(struct myna_module *m, const struct myna_session *s)
{
    return myna_session_get(s, ctx(m)->slot) != NULL;
}

static int carbons_toggle(struct myna_module *m, struct myna_stanza *st, void *data)
{
    bool enable = data != NULL;
    /* Only for oneself: the iq comes from a local session to its own account. */
    if (!st->origin || (st->has_to && strcmp(st->to.bare, st->from.bare) != 0)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    myna_session_set(st->origin, ctx(m)->slot, enable ? (void *)1 : NULL);
    myna_iq_result(st, NULL);
    return 0;
}

static bool eligible(const struct myna_stanza *st)
{
    return myna_im_carbon_eligible(st->type, st->xml);
}

/* Sends `st` wrapped as a <sent/> or <received/> carbon to session s. */
static void send_carbon(struct myna_stanza *st, const char *what, struct myna_session *s)
{
    const struct myna_jid *to = myna_session_jid(s);
    struct myna_xml *c = myna_xml_new(st->arena, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(c, "from", to->bare);
    myna_xml_set_attr(c, "to", to->full);
    myna_xml_set_attr(c, "type", "chat");
    struct myna_xml *w = myna_xml_add_child(c, NS_CARBONS, what);
    struct myna_xml *f = myna_xml_add_child(w, NS_FORWARD, "forwarded");
    struct myna_xml *orig = myna_xml_add_copy(f, st->xml);
    myna_xml_set_attr(orig, "from", st->from.full);
    if (st->has_to)
        myna_xml_set_attr(orig, "to", st->to.full);
    myna_session_send(s, c);
}

struct fanout {
    struct myna_module *m;
    struct myna_stanza *st;
    const char *what;
    const char *skip_full; /* the resource that sent / gets the original */
    int best;              /* bare-JID delivery: priority that gets the original, or -1 */
};

static void carbon_each(struct myna_session *s, void *data)
{
    struct fanout *f = data;
    if (!enabled(f->m, s))
        return;
    if (f->skip_full && strcmp(myna_session_jid(s)->full, f->skip_full) == 0)
        return;
    /* RFC 6121 §8.5.2.1.1: these resources get the message itself. */
    if (f->best >= 0 && myna_session_available(s) && myna_session_priority(s) == f->best)
        return;
    send_carbon(f->st, f->what, s);
}

static void best_priority(struct myna_session *s, void *data)
{
    int *best = data;
    if (myna_session_available(s) && myna_session_priority(s) >= 0 &&
        myna_session_priority(s) > *best)
        *best = myna_session_priority(s);
}

static enum myna_verdict on_message_out(struct myna_module *m, struct myna_stanza *st,
                                        void *data)
{
    if (!st->origin || !eligible(st))
        return MYNA_PASS;
    struct myna_jid bare;
    myna_jid_to_bare(&st->from, &bare);
    struct fanout f = {m, st, "sent", st->from.full, -1};
    myna_user_sessions(m, &bare, carbon_each, &f);
    return MYNA_PASS;
}

static enum myna_verdict on_message_in(struct myna_module *m, struct myna_stanza *st,
                                       void *data)
{
    if (!eligible(st))
        return MYNA_PASS;
    struct myna_jid bare;
    myna_jid_to_bare(&st->to, &bare);
    struct fanout f = {m, st, "received", NULL, -1};
    if (st->to.resource && myna_session_find(m, &st->to))
        f.skip_full = st->to.full;
    else
        myna_user_sessions(m, &bare, best_priority, &f.best);
    if (!f.skip_full && f.best < 0)
        return MYNA_PASS; /* nobody online gets it: nothing to copy */
    myna_user_sessions(m, &bare, carbon_each, &f);
    return MYNA_PASS;
}

static void carbons_unload(struct myna_module *m)
{
    free(ctx(m));
}

static int carbons_load(struct myna_module *m)
{
    struct carbons *cp = calloc(1, sizeof *cp);
    if (!cp)
        return -1;
    myna_module_set_data(m, cp); /* freed by unload, also after a failed load */
    cp->slot = myna_session_slot(m, NULL);
    if (cp->slot < 0)
        return -1;
    if (myna_iq_register(m, MYNA_IQ_SET, NS_CARBONS, "enable", MYNA_IQ_TO_USER, carbons_toggle,
                         (void *)1) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_CARBONS, "disable", MYNA_IQ_TO_USER,
                         carbons_toggle, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_OUT, 50, on_message_out, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_IN, 50, on_message_in, NULL) < 0)
        return -1;
    return myna_disco_feature(m, NS_CARBONS);
}

MYNA_MODULE_DEFINE(.name = "carbons", .description = "Message Carbons (XEP-0280)",
                   .load = carbons_load, .unload = carbons_unload);
