/* modules/mam/service.c — the archive service of myna/archive.h: the same archive store
 * and query code the users' archives use, for other modules' archives (MUC rooms: one
 * archive per room JID, XEP-0313 §3.3.2, §5.1.2). The table is the first member of the
 * host's struct mam, so a table pointer leads back to its instance.
 */
#include <stdlib.h>
#include <string.h>

#include "mam.h"

static struct mam *of(const struct myna_archive_service *svc)
{
    return (struct mam *)svc;
}

/* The oldest stamp queries still show (max_age), 0 = all. */
static uint64_t age_cutoff(struct mam *c)
{
    return c->max_age_s > 0 ? mam_now_ms(c) - (uint64_t)c->max_age_s * 1000 : 0;
}

/* append and import: `at` is the import's stamp, 0 for now. */
static int add(const struct myna_archive_service *svc, const char *owner, const char *with,
               struct myna_xml *message, uint64_t at, char id[MYNA_ARCHIVE_ID_SIZE])
{
    struct mam *c = of(svc);
    id[0] = '\0';
    if (!owner || !*owner || !message)
        return MYNA_STORE_ERROR;
    strip_stanza_ids(message, owner);
    uint64_t seq;
    int rc = archive_append(c, owner, with, false, message, at, &seq, NULL);
    if (rc != 0) {
        myna_log(c->m, MYNA_LOG_ERROR, "cannot archive a message of %s: %s", owner,
                 myna_store_strerror(rc));
        return rc;
    }
    id_encode(c, owner, seq, c->gen, id);
    add_stanza_id(message, owner, id);
    myna_metric_add(c->m, "archived", 1);
    return 0;
}

static int svc_append(const struct myna_archive_service *svc, const char *owner,
                      const char *with, struct myna_xml *message,
                      char id[MYNA_ARCHIVE_ID_SIZE])
{
    return add(svc, owner, with, message, 0, id);
}

static int svc_import(const struct myna_archive_service *svc, const char *owner,
                      const char *with, struct myna_xml *message, uint64_t stamp_ms,
                      char id[MYNA_ARCHIVE_ID_SIZE])
{
    return add(svc, owner, with, message, stamp_ms ? stamp_ms : 1, id);
}

/* One history item, copied out of the store (inside its iteration) for the caller. */
struct history_item {
    struct mam *c;
    const char *owner;
    struct myna_arena *a;
    struct myna_archive_item item; /* item.message NULL: unreadable */
};

static int history_copy(const struct record *r, void *data)
{
    struct history_item *h = data;
    h->item.message = myna_xml_parse(h->a, r->xml, r->xml_len, MYNA_NS_CLIENT);
    char *id = myna_arena_alloc(h->a, ID_LEN + 1);
    record_id(h->c, h->owner, r, id);
    h->item.id = id;
    h->item.stamp_ms = r->stamp_ms;
    h->item.with = myna_arena_strndup(h->a, r->with, r->with_len);
    return 0;
}

static int svc_history(const struct myna_archive_service *svc, const char *owner, size_t max,
                       uint64_t since_ms, myna_archive_item_fn fn, void *data)
{
    struct mam *c = of(svc);
    uint64_t lo, hi;
    archive_flush(c);
    archive_extent(c, owner, &lo, &hi);
    if (c->max_age_s > 0)
        lo = archive_seq_after(c, owner, lo, hi, age_cutoff(c));
    if (since_ms)
        lo = archive_seq_after(c, owner, lo, hi, since_ms);
    if (max == 0 || max > (size_t)c->max_page)
        max = (size_t)c->max_page;
    if (lo > hi)
        return 0;
    if (hi - lo + 1 > max)
        lo = hi - max + 1;
    int rc = 0;
    for (uint64_t s = lo; s <= hi && rc == 0; s++) {
        struct history_item h = {c, owner, myna_arena_new(), {0}};
        archive_read(c, owner, s, history_copy, &h);
        if (h.item.message)
            rc = fn(&h.item, data); /* outside the store's iteration: fn may do anything */
        myna_arena_free(h.a);
    }
    return rc;
}

static int svc_get(const struct myna_archive_service *svc, const char *owner, const char *id,
                   myna_archive_item_fn fn, void *data)
{
    struct mam *c = of(svc);
    uint64_t seq;
    archive_flush(c);
    if (!owner || !id || !fn || !id_known(c, owner, id, &seq))
        return MYNA_STORE_NOTFOUND;
    struct history_item h = {c, owner, myna_arena_new(), {0}};
    archive_read(c, owner, seq, history_copy, &h);
    int rc = MYNA_STORE_NOTFOUND;
    if (h.item.message && h.item.stamp_ms >= age_cutoff(c))
        rc = fn(&h.item, data); /* outside the store's iteration, as for history */
    myna_arena_free(h.a);
    return rc;
}

static void svc_query(const struct myna_archive_service *svc, struct myna_stanza *iq,
                      const char *owner, myna_archive_result_fn each, void *data)
{
    query_answer(of(svc), iq, owner, each, data);
}

static int svc_remove(const struct myna_archive_service *svc, const char *owner)
{
    archive_flush(of(svc));
    return archive_remove(of(svc), owner);
}

static int svc_replace(const struct myna_archive_service *svc, const char *owner,
                       const char *id, const struct myna_xml *message)
{
    struct mam *c = of(svc);
    uint64_t seq;
    archive_flush(c);
    if (!owner || !id || !message || !id_known(c, owner, id, &seq))
        return MYNA_STORE_NOTFOUND;
    return archive_replace(c, owner, seq, message);
}

void service_init(struct mam *c)
{
    c->svc.version = MYNA_ARCHIVE_SERVICE_VERSION;
    c->svc.append = svc_append;
    c->svc.history = svc_history;
    c->svc.query = svc_query;
    c->svc.remove = svc_remove;
    c->svc.replace = svc_replace;
    c->svc.get = svc_get;
    c->svc.import = svc_import;
}
