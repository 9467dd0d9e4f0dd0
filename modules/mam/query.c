/* modules/mam/query.c — MAM queries on one archive (XEP-0313 §4-6, XEP-0059): the data
 * form filters (with, start, end, before-id, after-id, ids), RSM paging forward and
 * backward (max, after, before, empty before = last page, index) with first/last/index/
 * count in the answer, <flip-page/>, results as XEP-0297 forwards with a XEP-0203 delay
 * and the queryid, <fin complete stable/>; the form itself (§4.1.5) and the metadata
 * query (§5). The same code answers users' archives and, through the service, rooms'.
 * Plan of a query: the form narrows the archive's sequence range [lo, hi] (times by
 * binary search, ids by decoding), 'with' and 'ids' select within it, RSM picks the page.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/dataform.h"
#include "mam.h"

/* Fields and values a query form may have (every field we know fits many times over). */
#define FORM_FIELDS_MAX 64
#define FORM_VALUES_MAX 100000

/* Counting the result set (RSM <count/>, index) of a 'with' query walks the index; past
 * this many entries the count is left out (XEP-0059 §2.6 allows it). */
#define COUNT_SCAN_MAX 50000

struct query {
    struct mam *c;
    const char *owner;
    struct myna_stanza *st;
    const char *queryid;
    /* form */
    bool has_with, with_full;
    struct myna_jid with;
    char *wprefix; /* owner\0 + bare(with)\0, plus room for a sequence number */
    size_t wplen;
    bool has_start, has_end;
    uint64_t start, end;
    uint64_t after_id, before_id; /* 0 = none */
    bool has_ids;
    uint64_t *ids; /* sorted, unique */
    size_t nids;
    /* RSM */
    long long max;
    uint64_t after, before; /* 0 = none */
    bool backward;          /* <before/> given (empty = last page) */
    bool has_index;
    uint64_t index;
    bool flip;
};

/* A refusal: the error to answer and its text. */
struct refusal {
    enum myna_error cond;
    const char *text;
};

static bool refuse(struct refusal *r, enum myna_error cond, const char *text)
{
    r->cond = cond;
    r->text = text;
    return false;
}

static bool parse_uint(const char *s, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > limit / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > limit)
        return false;
    *out = v;
    return true;
}

/* An archive id the client sent: must name a message of this archive (XEP-0313 §4.1.3,
 * §4.3.2: item-not-found otherwise). */
static bool known_id(struct query *q, const char *id, uint64_t *seq, struct refusal *r)
{
    if (!id_known(q->c, q->owner, id, seq))
        return refuse(r, MYNA_ERR_ITEM_NOT_FOUND, "no such message in the archive");
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool parse_ids(struct query *q, const struct df_field *f, struct refusal *r)
{
    if (f->nvalues == 0)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "ids: no value");
    if (f->nvalues > (size_t)q->c->max_page)
        return refuse(r, MYNA_ERR_POLICY_VIOLATION, "ids: more than a page of ids");
    q->ids = myna_arena_alloc(q->st->arena, f->nvalues * sizeof *q->ids);
    for (size_t i = 0; i < f->nvalues; i++)
        if (!known_id(q, f->values[i], &q->ids[q->nids++], r))
            return false;
    qsort(q->ids, q->nids, sizeof *q->ids, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < q->nids; i++)
        if (u == 0 || q->ids[u - 1] != q->ids[i])
            q->ids[u++] = q->ids[i];
    q->nids = u;
    q->has_ids = true;
    return true;
}

/* One submitted field (§4.1). A field without a value counts as absent. */
static bool parse_field(struct query *q, const struct df_field *f, struct refusal *r)
{
    const char *var = f->var;
    if (!var)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "a form field without var");
    if (strcmp(var, "ids") == 0)
        return parse_ids(q, f, r);
    if (f->nvalues > 1)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "a field has several values");
    const char *val = f->nvalues ? f->values[0] : NULL;
    if (!val)
        return true;
    if (strcmp(var, "with") == 0) {
        if (myna_jid_parse(q->st->arena, val, &q->with) < 0)
            return refuse(r, MYNA_ERR_BAD_REQUEST, "with: malformed JID");
        q->has_with = true;
        q->with_full = q->with.resource != NULL;
        return true;
    }
    if (strcmp(var, "start") == 0 || strcmp(var, "end") == 0) {
        bool start = var[0] == 's';
        if (datetime_parse(val, start ? &q->start : &q->end) < 0)
            return refuse(r, MYNA_ERR_BAD_REQUEST,
                          "start/end: not a XEP-0082 DateTime (e.g. 2024-01-31T12:00:00Z)");
        *(start ? &q->has_start : &q->has_end) = true;
        return true;
    }
    if (strcmp(var, "after-id") == 0)
        return known_id(q, val, &q->after_id, r);
    if (strcmp(var, "before-id") == 0)
        return known_id(q, val, &q->before_id, r);
    /* §4.1.5: a field the server does not know. */
    return refuse(r, MYNA_ERR_FEATURE_NOT_IMPLEMENTED, "unknown form field");
}

/* The data form (XEP-0004, parsed by modules/common/dataform.c, which also refuses repeated
 * fields): of type submit, its FORM_TYPE (when given) urn:xmpp:mam:2. */
static bool parse_form(struct query *q, const struct myna_xml *x, struct refusal *r)
{
    struct dataform form;
    /* The limits only bound the work: the stanza size limit bounds the values anyway, and
     * 'ids' past max_page is answered policy-violation below. */
    if (df_parse(x, &form, FORM_FIELDS_MAX, FORM_VALUES_MAX) < 0)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "not a valid data form (XEP-0004)");
    if (strcmp(form.type, "submit") != 0)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "the query form must be of type submit");
    if (form.form_type && strcmp(form.form_type, NS_MAM) != 0)
        return refuse(r, MYNA_ERR_BAD_REQUEST, "FORM_TYPE must be urn:xmpp:mam:2");
    for (const struct df_field *f = form.fields; f; f = f->next)
        if (!parse_field(q, f, r))
            return false;
    return true;
}

static bool parse_rsm(struct query *q, const struct myna_xml *set, struct refusal *r)
{
    const char *s;
    if ((s = myna_xml_child_text(set, NS_RSM, "max"))) {
        uint64_t v;
        if (!parse_uint(s, 1000000000, &v))
            return refuse(r, MYNA_ERR_BAD_REQUEST, "max: not a non-negative integer");
        q->max = (long long)v;
    }
    if ((s = myna_xml_child_text(set, NS_RSM, "after")) && *s &&
        !known_id(q, s, &q->after, r))
        return false;
    if ((s = myna_xml_child_text(set, NS_RSM, "before"))) {
        q->backward = true;
        if (*s && !known_id(q, s, &q->before, r))
            return false;
    }
    if ((s = myna_xml_child_text(set, NS_RSM, "index"))) {
        if (!parse_uint(s, UINT32_MAX, &q->index))
            return refuse(r, MYNA_ERR_BAD_REQUEST, "index: not a non-negative integer");
        q->has_index = true;
    }
    return true;
}

static bool parse_query(struct query *q, const struct myna_xml *qe, struct refusal *r)
{
    q->queryid = myna_xml_attr(qe, "queryid");
    q->max = -1;
    const struct myna_xml *x = df_find(qe);
    if (x && !parse_form(q, x, r))
        return false;
    const struct myna_xml *set = myna_xml_find(qe, NS_RSM, "set");
    if (set && !parse_rsm(q, set, r))
        return false;
    q->flip = myna_xml_find(qe, NS_MAM, "flip-page") != NULL;
    if (q->has_with) {
        q->wplen = with_key(q->st->arena, q->owner, q->with.bare, strlen(q->with.bare), 0,
                            &q->wprefix);
        if (q->wplen == 0 || q->wplen + 8 > KEY_MAX)
            return refuse(r, MYNA_ERR_BAD_REQUEST, "with: JID too long");
        char *k = myna_arena_alloc(q->st->arena, q->wplen + 8);
        memcpy(k, q->wprefix, q->wplen);
        q->wprefix = k;
    }
    return true;
}

/* ---- walking the selected messages in a sequence range ---- */

typedef int (*seq_fn)(struct query *q, uint64_t seq, void *data); /* nonzero stops */

struct with_walk {
    struct query *q;
    uint64_t lo, hi;
    seq_fn fn;
    void *data;
    int rc;
};

static int with_step(const void *k, size_t kl, const void *v, size_t vl, void *data)
{
    struct with_walk *w = data;
    if (kl != w->q->wplen + 8)
        return 0;
    const unsigned char *p = (const unsigned char *)k + w->q->wplen;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = seq << 8 | p[i];
    if (seq < w->lo || seq > w->hi)
        return 1; /* walked out of the range */
    if (w->q->with_full &&
        (vl != strlen(w->q->with.full) || memcmp(v, w->q->with.full, vl) != 0))
        return 0;
    return (w->rc = w->fn(w->q, seq, w->data));
}

static void put_seq(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

/* Calls fn for each selected message in [lo, hi], oldest first (or newest first). */
static void walk(struct query *q, uint64_t lo, uint64_t hi, bool reverse, seq_fn fn, void *data)
{
    if (lo > hi)
        return;
    if (q->has_ids) {
        for (size_t i = 0; i < q->nids; i++) {
            uint64_t s = q->ids[reverse ? q->nids - 1 - i : i];
            if (s < lo || s > hi)
                continue;
            if (q->has_with) { /* ids and with: the id must be in with's index */
                struct with_walk w = {q, s, s, fn, data, 0};
                put_seq((unsigned char *)q->wprefix + q->wplen, s);
                myna_store_iter(q->c->with, q->wprefix, q->wplen, q->wprefix, q->wplen + 8,
                                false, 1, with_step, &w);
                if (w.rc)
                    return;
                continue;
            }
            if (fn(q, s, data))
                return;
        }
        return;
    }
    if (q->has_with) {
        struct with_walk w = {q, lo, hi, fn, data, 0};
        put_seq((unsigned char *)q->wprefix + q->wplen, reverse ? hi : lo);
        myna_store_iter(q->c->with, q->wprefix, q->wplen, q->wprefix, q->wplen + 8, reverse, 0,
                        with_step, &w);
        return;
    }
    /* The whole archive: every sequence number in range is a message (no holes). */
    for (uint64_t i = 0; i <= hi - lo; i++)
        if (fn(q, reverse ? hi - i : lo + i, data))
            return;
}

struct counter {
    uint64_t n;
    uint64_t limit;
};

static int count_one(struct query *q, uint64_t seq, void *data)
{
    struct counter *c = data;
    return ++c->n >= c->limit;
}

/* Selected messages in [lo, hi]; false when there are too many to count cheaply. */
static bool count_range(struct query *q, uint64_t lo, uint64_t hi, uint64_t *n)
{
    if (lo > hi) {
        *n = 0;
        return true;
    }
    if (!q->has_with && !q->has_ids) {
        *n = hi - lo + 1;
        return true;
    }
    struct counter c = {0, COUNT_SCAN_MAX + 1};
    walk(q, lo, hi, false, count_one, &c);
    *n = c.n;
    return c.n <= COUNT_SCAN_MAX;
}

struct page {
    uint64_t *seq;
    size_t n, cap;
    uint64_t skip; /* matches to pass over first (RSM index) */
};

static int page_add(struct query *q, uint64_t seq, void *data)
{
    struct page *p = data;
    if (p->skip) {
        p->skip--;
        return 0;
    }
    if (p->n == p->cap)
        return 1;
    p->seq[p->n++] = seq;
    return 0;
}

/* The form's part of the plan: [*lo, *hi] is the full result set (XEP-0059 counts and
 * indexes it). Messages older than max_age are gone for queries before the expiry timer
 * deletes them. */
static void plan_range(struct query *q, uint64_t *lo, uint64_t *hi)
{
    struct mam *c = q->c;
    archive_extent(c, q->owner, lo, hi);
    if (c->max_age_s > 0)
        *lo = archive_seq_after(c, q->owner, *lo, *hi,
                                mam_now_ms(c) - (uint64_t)c->max_age_s * 1000);
    if (q->has_start)
        *lo = archive_seq_after(c, q->owner, *lo, *hi, q->start);
    if (q->has_end)
        *hi = archive_seq_before(c, q->owner, *lo, *hi, q->end);
    if (q->after_id && q->after_id + 1 > *lo)
        *lo = q->after_id + 1;
    if (q->before_id && q->before_id - 1 < *hi)
        *hi = q->before_id - 1;
}

/* RSM's part: the page within [lo, hi], oldest first; true if nothing follows it in the
 * paging direction (<fin complete='true'/>). */
static bool collect_page(struct query *q, uint64_t lo, uint64_t hi, bool backward,
                         struct page *p)
{
    uint64_t plo = lo, phi = hi;
    if (q->after && q->after + 1 > plo)
        plo = q->after + 1;
    if (q->before && q->before - 1 < phi)
        phi = q->before - 1;
    size_t max = p->cap - 1;
    if (q->has_index && !q->after && !q->before) {
        if (!q->has_with && !q->has_ids)
            plo = q->index > hi - lo ? hi + 1 : lo + q->index;
        else
            p->skip = q->index;
    }
    walk(q, plo, phi, backward, page_add, p);
    bool complete = p->n <= max;
    if (!complete)
        p->n = max;
    if (backward) /* collected newest first: the page goes out oldest first */
        for (size_t i = 0; i < p->n / 2; i++) {
            uint64_t t = p->seq[i];
            p->seq[i] = p->seq[p->n - 1 - i];
            p->seq[p->n - 1 - i] = t;
        }
    return complete;
}

/* One result being built: what the stored record held, copied out of the store. */
struct result {
    struct query *q;
    struct myna_arena *a;  /* holds msg and item */
    struct myna_xml *msg;  /* <message><result queryid id><forwarded>...</forwarded>; NULL
                              when the record could not be read */
    struct myna_archive_item item;
};

/* Builds a result from the record, inside the store's iteration (the record's bytes are
 * valid only there); sending happens after it. */
static int build_one(const struct record *r, void *data)
{
    struct result *res = data;
    struct query *q = res->q;
    struct myna_xml *stored = myna_xml_parse(res->a, r->xml, r->xml_len, MYNA_NS_CLIENT);
    if (!stored) {
        myna_log(q->c->m, MYNA_LOG_WARN, "archive of %s: unreadable record %llu skipped",
                 q->owner, (unsigned long long)r->seq);
        return 0;
    }
    char *id = myna_arena_alloc(res->a, ID_LEN + 1), stamp[32];
    record_id(q->c, q->owner, r, id);
    datetime_format(r->stamp_ms, stamp);
    struct myna_xml *msg = myna_xml_new(res->a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(msg, "to", q->st->from.full);
    myna_xml_set_attr(msg, "from", q->owner);
    myna_xml_set_attr(msg, "id", id);
    struct myna_xml *rx = myna_xml_add_child(msg, NS_MAM, "result");
    if (q->queryid)
        myna_xml_set_attr(rx, "queryid", q->queryid);
    myna_xml_set_attr(rx, "id", id);
    struct myna_xml *fwd = myna_xml_add_child(rx, NS_FORWARD, "forwarded");
    myna_xml_set_attr(myna_xml_add_child(fwd, NS_DELAY, "delay"), "stamp", stamp);
    res->item.id = id;
    res->item.stamp_ms = r->stamp_ms;
    res->item.with = myna_arena_strndup(res->a, r->with, r->with_len);
    res->item.message = myna_xml_add_copy(fwd, stored);
    res->msg = msg;
    return 0;
}

/* Sends the page's results in order; ids[i] gets the id of page position i ("" if its
 * record could not be read). */
static size_t send_page(struct query *q, const struct page *p, char (*ids)[ID_LEN + 1],
                        myna_archive_result_fn each, void *data)
{
    size_t sent = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t pos = q->flip ? p->n - 1 - i : i;
        struct result res = {q, myna_arena_new(), NULL, {0}};
        archive_read(q->c, q->owner, p->seq[pos], build_one, &res);
        ids[pos][0] = '\0';
        if (res.msg) {
            memcpy(ids[pos], res.item.id, ID_LEN + 1);
            if (each)
                each(res.msg, &res.item, data);
            if (q->st->origin)
                myna_session_send(q->st->origin, res.msg);
            else
                myna_send(q->c->m, res.msg);
            sent++;
        }
        myna_arena_free(res.a);
    }
    return sent;
}

static void add_text_child(struct myna_xml *parent, const char *name, const char *text)
{
    myna_xml_add_text(myna_xml_add_child(parent, NULL, name), text, strlen(text));
}

/* The <fin/> answer (§4.3): complete, stable, and the RSM set of the page. */
static void answer_fin(struct query *q, uint64_t lo, uint64_t hi, const struct page *p,
                       char (*ids)[ID_LEN + 1], bool complete, bool backward)
{
    struct myna_xml *res = myna_iq_result_new(q->st);
    struct myna_xml *fin = myna_xml_add_child(res, NS_MAM, "fin");
    if (complete)
        myna_xml_set_attr(fin, "complete", "true");
    myna_xml_set_attr(fin, "stable", "true"); /* one node, committed data (§4.3.2) */
    struct myna_xml *set = myna_xml_add_child(fin, NS_RSM, "set");
    uint64_t count = 0, before_first = 0;
    bool counted = count_range(q, lo, hi, &count);
    if (p->n > 0 && ids[0][0] && ids[p->n - 1][0]) {
        struct myna_xml *f = myna_xml_add_child(set, NULL, "first");
        myna_xml_add_text(f, ids[0], strlen(ids[0]));
        /* The index is left out of pages fetched backward: slixmpp 1.8 (iterate with
         * reverse) takes index + page size == count as "no more pages" whatever the
         * direction, and would stop after the last page. XEP-0059 §2.6 makes it optional. */
        uint64_t first = p->seq[0];
        if (!counted || backward)
            ;
        else if (first <= lo)
            myna_xml_set_attr(f, "index", "0");
        else if (count_range(q, lo, first - 1, &before_first))
            myna_xml_set_attrf(f, "index", "%llu", (unsigned long long)before_first);
        add_text_child(set, "last", ids[p->n - 1]);
    }
    if (counted)
        add_text_child(set, "count",
                       myna_arena_printf(q->st->arena, "%llu", (unsigned long long)count));
    myna_iq_send_result(q->st, res);
}

static void run_query(struct query *q, myna_archive_result_fn each, void *data)
{
    struct mam *c = q->c;
    uint64_t lo, hi;
    plan_range(q, &lo, &hi);
    size_t max = q->max < 0 ? (size_t)c->default_page : (size_t)q->max;
    if (max > (size_t)c->max_page)
        max = (size_t)c->max_page;
    struct page p = {myna_arena_alloc(q->st->arena, (max + 1) * sizeof(uint64_t)), 0, max + 1, 0};
    bool backward = q->backward && !q->has_index;
    bool complete = collect_page(q, lo, hi, backward, &p);
    char(*ids)[ID_LEN + 1] = myna_arena_alloc(q->st->arena, (max + 1) * (ID_LEN + 1));
    size_t sent = send_page(q, &p, ids, each, data);
    answer_fin(q, lo, hi, &p, ids, complete, backward);
    myna_metric_add(c->m, "queries", 1);
    myna_metric_add(c->m, "results", (long long)sent);
}

/* §4.1.5: the fields a query may use (none required); 'ids' is list-multi with an open
 * list (XEP-0122), never the ids themselves. */
static void answer_form(struct myna_stanza *st)
{
    struct myna_xml *qe = myna_xml_new(st->arena, NS_MAM, "query");
    struct myna_xml *x = df_new(qe, "form", NS_MAM, NULL);
    static const char *const fields[][2] = {
        {"with", "jid-single"},       {"start", "text-single"},    {"end", "text-single"},
        {"before-id", "text-single"}, {"after-id", "text-single"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        df_add_field(x, fields[i][0], fields[i][1], NULL, NULL);
    struct myna_xml *ids = df_add_field(x, "ids", "list-multi", NULL, NULL);
    struct myna_xml *v = myna_xml_add_child(ids, NS_XDATA_VALIDATE, "validate");
    myna_xml_set_attr(v, "datatype", "xs:string");
    myna_xml_add_child(v, NULL, "open");
    myna_iq_result(st, qe);
}

struct meta_end {
    struct mam *c;
    const char *owner;
    struct myna_xml *el;
};

static int meta_fill(const struct record *r, void *data)
{
    struct meta_end *e = data;
    char id[ID_LEN + 1], stamp[32];
    record_id(e->c, e->owner, r, id);
    datetime_format(r->stamp_ms, stamp);
    myna_xml_set_attr(e->el, "id", id);
    myna_xml_set_attr(e->el, "timestamp", stamp);
    return 0;
}

/* §5: the first and last message of the archive; an empty archive has an empty element. */
static void answer_metadata(struct mam *c, struct myna_stanza *st, const char *owner)
{
    uint64_t lo, hi;
    archive_extent(c, owner, &lo, &hi);
    if (c->max_age_s > 0)
        lo = archive_seq_after(c, owner, lo, hi, mam_now_ms(c) - (uint64_t)c->max_age_s * 1000);
    struct myna_xml *md = myna_xml_new(st->arena, NS_MAM, "metadata");
    for (int i = 0; i < 2 && lo <= hi; i++) {
        struct meta_end e = {c, owner, myna_xml_add_child(md, NULL, i == 0 ? "start" : "end")};
        archive_read(c, owner, i == 0 ? lo : hi, meta_fill, &e);
    }
    myna_iq_result(st, md);
}

void query_answer(struct mam *c, struct myna_stanza *st, const char *owner,
                  myna_archive_result_fn each, void *data)
{
    const struct myna_xml *qe = myna_xml_first_element(st->xml);
    bool get = strcmp(st->type, "get") == 0;
    archive_flush(c); /* what was archived so far is part of the answer */
    if (!qe || strcmp(qe->ns, NS_MAM) != 0) {
        myna_reply_error(st, MYNA_ERR_FEATURE_NOT_IMPLEMENTED, NULL);
        return;
    }
    if (get && strcmp(qe->name, "metadata") == 0) {
        answer_metadata(c, st, owner);
        return;
    }
    if (strcmp(qe->name, "query") != 0) {
        myna_reply_error(st, MYNA_ERR_FEATURE_NOT_IMPLEMENTED, NULL);
        return;
    }
    if (get) {
        answer_form(st);
        return;
    }
    struct query q = {.c = c, .owner = owner, .st = st};
    struct refusal r;
    if (!parse_query(&q, qe, &r)) {
        myna_reply_error(st, r.cond, r.text);
        return;
    }
    run_query(&q, each, data);
}

/* iq handlers for the users' own archives (the account's bare JID, XEP-0313 §3.3.1). */
static int user_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    if (!mam_own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, "only the account's own archive");
        return 0;
    }
    query_answer(data, st, st->from.bare, NULL, NULL);
    return 0;
}

int query_register(struct mam *c)
{
    struct myna_module *m = c->m;
    if (myna_iq_register(m, MYNA_IQ_SET, NS_MAM, "query", MYNA_IQ_TO_USER, user_iq, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_MAM, "query", MYNA_IQ_TO_USER, user_iq, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_MAM, "metadata", MYNA_IQ_TO_USER, user_iq, c) < 0)
        return -1;
    return 0;
}
