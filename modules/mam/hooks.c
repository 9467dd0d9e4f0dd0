/* modules/mam/hooks.c — what gets archived, and the stanza-id on it (XEP-0313 §3.5,
 * §5.1.1; XEP-0359; XEP-0334 hints via myna/im.h, the rule carbons share).
 * MESSAGE_OUT (55, before carbons at 50): a message a local user sends goes into the
 * sender's archive, unless it is to the user's own JID (MESSAGE_IN archives that once);
 * the sent carbons copy it with <stanza-id by=sender/>, which a last hook (-1000) removes
 * again before routing: the recipient has no access to the sender's archive.
 * MESSAGE_IN (55): a message to a local user, also one who is offline, goes into the
 * recipient's archive and is delivered (and copied, and stored offline) with
 * <stanza-id by=recipient/>.
 * Before either, a <stanza-id/> claiming to be by the archive concerned or by its server
 * is removed: only this server may set those (XEP-0359 §3 rules 3-4).
 */
#include <string.h>

#include "mam.h"
#include "myna/im.h"

#define PRIO_ARCHIVE 55
#define PRIO_UNSTAMP (-1000)

void strip_stanza_ids(struct myna_xml *msg, const char *by)
{
    struct myna_xml *c = msg->children;
    while (c) {
        struct myna_xml *next = c->next;
        if (c->type == MYNA_XML_ELEMENT && strcmp(c->name, "stanza-id") == 0 &&
            strcmp(c->ns, NS_SID) == 0) {
            const char *b = myna_xml_attr(c, "by");
            if (!b || strcmp(b, by) == 0)
                myna_xml_remove(c); /* ours, or invalid without 'by' (§3 rule 5) */
        }
        c = next;
    }
}

void add_stanza_id(struct myna_xml *msg, const char *by, const char *id)
{
    struct myna_xml *sid = myna_xml_add_child(msg, NS_SID, "stanza-id");
    myna_xml_set_attr(sid, "by", by);
    myna_xml_set_attr(sid, "id", id);
}

/* Archives st for `owner` (a local bare JID) and marks it with the new id. The stored copy
 * carries the stamped from and the to it was routed by (RFC 6120 §8.1.2.1). */
static void archive_stanza(struct mam *c, struct myna_stanza *st, const char *owner,
                           const struct myna_jid *peer, bool outgoing)
{
    struct myna_xml *x = st->xml;
    bool had_to = myna_xml_attr(x, "to") != NULL;
    myna_xml_set_attr(x, "from", st->from.full);
    if (!had_to)
        myna_xml_set_attr(x, "to", st->to.full);
    uint64_t seq;
    int rc = archive_append(c, owner, peer->full, outgoing, x, 0, &seq, NULL);
    if (!had_to)
        myna_xml_set_attr(x, "to", NULL);
    if (rc != 0) {
        /* The message still goes out; it is only missing from the archive. */
        myna_log(c->m, MYNA_LOG_ERROR, "cannot archive a message for %s: %s", owner,
                 myna_store_strerror(rc));
        myna_metric_add(c->m, "errors", 1);
        return;
    }
    char id[ID_LEN + 1];
    id_encode(c, owner, seq, c->gen, id);
    add_stanza_id(x, owner, id);
    myna_metric_add(c->m, "archived", 1);
}

static enum myna_verdict on_out(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct mam *c = data;
    if (!st->origin || !st->from.node)
        return MYNA_PASS;
    strip_stanza_ids(st->xml, st->from.bare);
    strip_stanza_ids(st->xml, st->from.domain);
    if (!myna_im_archivable(st->type, st->xml) || strcmp(st->to.bare, st->from.bare) == 0)
        return MYNA_PASS;
    struct myna_arena *a = st->arena;
    if (prefs_archives(c, a, st->from.bare, &st->to))
        archive_stanza(c, st, st->from.bare, &st->to, true);
    return MYNA_PASS;
}

/* After carbons: the sender's archive id is for the sender's own resources only. */
static enum myna_verdict on_out_unstamp(struct myna_module *m, struct myna_stanza *st,
                                        void *data)
{
    if (st->origin && st->from.node)
        strip_stanza_ids(st->xml, st->from.bare);
    return MYNA_PASS;
}

static enum myna_verdict on_in(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct mam *c = data;
    if (!st->to.node)
        return MYNA_PASS;
    strip_stanza_ids(st->xml, st->to.bare);
    strip_stanza_ids(st->xml, st->to.domain);
    if (!myna_im_archivable(st->type, st->xml))
        return MYNA_PASS;
    if (prefs_archives(c, st->arena, st->to.bare, &st->from))
        archive_stanza(c, st, st->to.bare, &st->from, false);
    return MYNA_PASS;
}

int hooks_register(struct mam *c)
{
    struct myna_module *m = c->m;
    if (myna_hook_add(m, MYNA_HOOK_MESSAGE_OUT, PRIO_ARCHIVE, on_out, c) < 0 ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_OUT, PRIO_UNSTAMP, on_out_unstamp, c) < 0 ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_IN, PRIO_ARCHIVE, on_in, c) < 0)
        return -1;
    return 0;
}
