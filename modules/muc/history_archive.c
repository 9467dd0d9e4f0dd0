/* modules/muc/history_archive.c — the archive backend (history.c): a logged room keeps its
 * messages in its XEP-0313 archive through the mam module's archive service
 * (myna/archive.h, owner = the room's bare JID, 'with' = the sender's real full JID), so the
 * stanza-id the room broadcasts is the archive id (XEP-0359 §3, XEP-0313 §3.5), history on
 * entering is read from the archive, and the archive's retention applies. A room that
 * starts logging (or whose host gains the mam module) brings its local history along,
 * with the times it was said.
 */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

bool harch_append(const struct myna_archive_service *s, struct room *r, struct myna_xml *msg,
                  const char *with)
{
    char id[MYNA_ARCHIVE_ID_SIZE];
    int rc = s->append(s, r->jid, with, msg, id);
    if (rc == 0)
        return true; /* msg now carries <stanza-id by=room id=ID/> */
    myna_log(r->svc->m, MYNA_LOG_ERROR, "a message of %s was not archived: %s", r->jid,
             myna_store_strerror(rc));
    return false;
}

struct recent {
    struct myna_arena *a;
    struct hist_item *v;
    size_t n, cap;
    size_t got;   /* items the archive gave, discussion or not */
};

static int take(const struct myna_archive_item *item, void *data)
{
    struct recent *c = data;
    c->got++;
    const struct myna_xml *m = item->message;
    /* History on entering is discussion (§7.2.15): a body, no subject. Moderation
     * tombstones, subject changes and notices stay in the archive for MAM only. */
    if (!myna_xml_find(m, MYNA_NS_CLIENT, "body") || myna_xml_find(m, MYNA_NS_CLIENT, "subject"))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        c->v = myna_arena_realloc(c->a, c->v, c->cap * sizeof *c->v, cap * sizeof *c->v);
        c->cap = cap;
    }
    struct hist_item *it = &c->v[c->n++];
    it->stamp_ms = item->stamp_ms;
    it->id = myna_arena_strdup(c->a, item->id);
    it->msg = myna_xml_copy(c->a, item->message);
    return 0;
}

size_t harch_recent(const struct myna_archive_service *s, struct room *r, size_t max,
                    uint64_t since_ms, struct myna_arena *a, struct hist_item **out)
{
    *out = NULL;
    /* The archive gives its newest `ask` messages; events among them are skipped, so ask
     * again for more until `max` discussion items are found or the archive (or its
     * largest page) has nothing older. Events are rare: one round, nearly always. */
    for (size_t ask = max;; ask *= 2) {
        struct recent c = {a, NULL, 0, 0, 0};
        if (s->history(s, r->jid, ask, since_ms, take, &c) < 0)
            return 0;
        if (c.n >= max || c.got < ask || ask > max * 64) {
            size_t skip = c.n > max ? c.n - max : 0;
            *out = c.v + skip;
            return c.n - skip;
        }
    }
}

struct one {
    struct myna_arena *a;
    struct myna_xml *msg;
};

static int copy_one(const struct myna_archive_item *item, void *data)
{
    struct one *o = data;
    o->msg = myna_xml_copy(o->a, item->message);
    return 0;
}

int harch_get(const struct myna_archive_service *s, struct room *r, const char *id,
              struct myna_arena *a, struct myna_xml **msg)
{
    struct one o = {a, NULL};
    if (s->get(s, r->jid, id, copy_one, &o) != 0 || !o.msg)
        return -1;
    *msg = o.msg;
    return 0;
}

int harch_replace(const struct myna_archive_service *s, struct room *r, const char *id,
                  const struct myna_xml *tomb)
{
    return s->replace(s, r->jid, id, tomb) == 0 ? 0 : -1;
}

void harch_merge_local(const struct myna_archive_service *s, struct room *r)
{
    struct myna_arena *a = myna_arena_new();
    struct hist_item *items;
    size_t n = hlocal_all(r, a, &items), moved = 0;
    for (size_t i = 0; i < n; i++) {
        char id[MYNA_ARCHIVE_ID_SIZE];
        /* The stored copy carries the room's old stanza-id: import replaces it. */
        if (s->import(s, r->jid, NULL, items[i].msg, items[i].stamp_ms, id) == 0)
            moved++;
    }
    if (moved == n)
        hlocal_clear(r);
    if (n)
        myna_log(r->svc->m, MYNA_LOG_INFO, "%zu of %zu messages of history of %s moved into its archive",
                 moved, n, r->jid);
    myna_arena_free(a);
}
