/* modules/muc/history.c — what a room keeps of its messages, behind one interface: which
 * messages count (XEP-0313 §5.1.2: a body, a subject change; XEP-0334 §4 hints), XEP-0359
 * stanza ids, history on entering (XEP-0045 §7.2.15: maxstanzas, maxchars, seconds, since)
 * and the lookups moderation needs. Two backends: a room that logs
 * (muc#roomconfig_enablelogging) while the mam module is loaded on the host keeps
 * everything in its XEP-0313 archive (history_archive.c, owner = the room's JID); any
 * other room keeps its last messages in the bounded local store (history_local.c). A room
 * that becomes archived has its local history moved into the archive on first use, so
 * nothing said before is lost from history on entering.
 */
#include <stdlib.h>
#include <string.h>

#include <myna/im.h>

#include "muc.h"

enum hist_kind history_kind(const struct myna_xml *msg)
{
    unsigned hints = myna_im_hints(msg);
    if (hints & (MYNA_HINT_NO_STORE | MYNA_HINT_NO_PERMANENT_STORE))
        return HIST_NONE;
    bool body = myna_xml_find(msg, MYNA_NS_CLIENT, "body") != NULL;
    bool subject = myna_xml_find(msg, MYNA_NS_CLIENT, "subject") != NULL;
    if (body && !subject)
        return HIST_DISCUSSION;
    if (body || subject || (hints & MYNA_HINT_STORE))
        return HIST_EVENT;
    return HIST_NONE;
}

/* The archive service of the host, version 2 or later (get, import), or NULL. */
static const struct myna_archive_service *archive_service(const struct muc *svc)
{
    const struct myna_archive_service *s = myna_service_get(svc->m, MYNA_ARCHIVE_SERVICE);
    return s && s->version >= 2 ? s : NULL;
}

bool history_can_archive(const struct muc *svc)
{
    return archive_service(svc) != NULL;
}

const struct myna_archive_service *history_archive(struct room *r)
{
    const struct myna_archive_service *s = r->cfg.logging ? archive_service(r->svc) : NULL;
    if (!s) {
        r->hist_merged = false; /* look again when the room is archived again */
        return NULL;
    }
    if (!r->hist_merged) {
        r->hist_merged = true;
        harch_merge_local(s, r);
    }
    return s;
}

static void add_stanza_id(struct room *r, struct myna_xml *msg, const char *id)
{
    struct myna_xml *s = myna_xml_add_child(msg, NS_SID, "stanza-id");
    myna_xml_set_attr(s, "id", id);
    myna_xml_set_attr(s, "by", r->jid);
}

void history_record(struct room *r, struct myna_xml *msg, const char *with,
                    enum hist_kind kind)
{
    const struct myna_archive_service *s = history_archive(r);
    if (s) {
        if (kind == HIST_NONE || harch_append(s, r, msg, with))
            return;
        /* Not archived (logged by the backend): the room still gives it an id. */
    }
    const char *id = muc_new_stanza_id(r->svc, msg->arena);
    add_stanza_id(r, msg, id);
    if (!s && kind == HIST_DISCUSSION)
        hlocal_append(r, msg, id);
}

/* Removes the stanza ids by the room (the stored copy may have one) before the right one
 * is added. */
static void strip_room_ids(struct room *r, struct myna_xml *msg)
{
    for (struct myna_xml *c = msg->children, *n; c; c = n) {
        n = c->next;
        const char *by = myna_xml_is(c, NS_SID, "stanza-id") ? myna_xml_attr(c, "by") : NULL;
        if (by && strcmp(by, r->jid) == 0)
            myna_xml_remove(c);
    }
}

/* The history stanza for one item, as it is sent: to, stanza-id, XEP-0203 delay. */
static struct myna_xml *history_stanza(struct room *r, const struct hist_item *it,
                                       const struct myna_jid *to)
{
    struct myna_xml *m = it->msg;
    myna_xml_set_attr(m, "to", to->full);
    strip_room_ids(r, m);
    add_stanza_id(r, m, it->id);
    char stamp[32];
    muc_stamp((long long)(it->stamp_ms / 1000), stamp);
    struct myna_xml *d = myna_xml_add_child(m, NS_DELAY, "delay");
    myna_xml_set_attr(d, "from", r->jid);
    myna_xml_set_attr(d, "stamp", stamp);
    return m;
}

/* §7.2.15: maxchars counts the characters of the complete stanzas sent. */
static size_t stanza_chars(const struct myna_xml *m)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(m, MYNA_NS_CLIENT, &b);
    size_t n = b.len;
    myna_buf_free(&b);
    return n;
}

void history_send(struct room *r, const struct history_req *q, const struct myna_jid *to)
{
    long max = r->cfg.history_len;
    if (q->maxstanzas >= 0 && q->maxstanzas < max)
        max = q->maxstanzas;
    if (max <= 0 || q->maxchars == 0)
        return;
    long long cutoff = -1;
    if (q->seconds >= 0)
        cutoff = muc_now() - q->seconds;
    if (q->since >= 0 && q->since > cutoff)
        cutoff = q->since;
    uint64_t since_ms = cutoff > 0 ? (uint64_t)cutoff * 1000 : 0;
    struct myna_arena *a = myna_arena_new();
    struct hist_item *items = NULL;
    const struct myna_archive_service *s = history_archive(r);
    size_t n = s ? harch_recent(s, r, (size_t)max, since_ms, a, &items)
                 : hlocal_recent(r, (size_t)max, since_ms, a, &items);
    size_t first = 0, chars = 0;
    for (size_t i = n; i-- > 0;) {
        history_stanza(r, &items[i], to);
        if (q->maxchars < 0)
            continue;
        chars += stanza_chars(items[i].msg);
        if (chars > (size_t)q->maxchars) {
            first = i + 1;
            break;
        }
    }
    for (size_t i = first; i < n; i++)
        myna_send(r->svc->m, items[i].msg);
    myna_arena_free(a);
}

int history_get(struct room *r, const char *id, struct myna_arena *a, struct myna_xml **msg)
{
    const struct myna_archive_service *s = history_archive(r);
    return s ? harch_get(s, r, id, a, msg) : hlocal_get(r, id, a, msg);
}

int history_replace(struct room *r, const char *id, const struct myna_xml *tomb)
{
    const struct myna_archive_service *s = history_archive(r);
    return s ? harch_replace(s, r, id, tomb) : hlocal_replace(r, id, tomb);
}

void history_clear(struct room *r)
{
    hlocal_clear(r);
    /* Whatever the room's setting now: it may have logged before. */
    const struct myna_archive_service *s = archive_service(r->svc);
    if (s && s->remove(s, r->jid) < 0)
        myna_log(r->svc->m, MYNA_LOG_ERROR, "the archive of %s could not be removed", r->jid);
}
