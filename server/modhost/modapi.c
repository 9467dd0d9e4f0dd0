/* server/modhost/modapi.c — the stanza, session, user and storage parts of the module API
 * (myna/module.h): sending, iq answers (with the one-answer bookkeeping of stanza_ctx),
 * deferred answers, session queries and presence state, storage tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/pool.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/modhost/users.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/store/store_tools.h"
#include "server/stream/c2s.h"
#include "server/web/upload.h"
#include "server/stream/sm.h"
#include "xml/arena.h"

int myna_send(struct myna_module *m, struct myna_xml *stanza)
{
    stanza_send(m->srv, stanza);
    return 0;
}

void myna_session_send(struct myna_session *s, struct myna_xml *stanza)
{
    struct wbuf *w = wbuf_serialize(stanza, MYNA_NS_CLIENT);
    session_write(s, w);
    wbuf_unref(w);
}

struct myna_xml *myna_iq_result_new(struct myna_stanza *st)
{
    struct myna_xml *r = myna_xml_new(st->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(r, "type", "result");
    if (st->id)
        myna_xml_set_attr(r, "id", st->id);
    myna_xml_set_attr(r, "from", st->has_to ? st->to.full : st->to.bare);
    myna_xml_set_attr(r, "to", st->from.full);
    return r;
}

void myna_iq_send_result(struct myna_stanza *st, struct myna_xml *result)
{
    struct stanza_ctx *ctx = STANZA_CTX(st);
    if (ctx->answered) {
        log_warn("router", "second answer to iq id=%s dropped", st->id ? st->id : "");
        return;
    }
    /* A result must not claim a write that failed: the request's unit of work failed, so
     * the requester gets the error instead (myna/store.h). Near a full store its writes are
     * committed first, so that a commit that fails is answered too. */
    int err = store_settle(ctx->srv->store);
    if (err != 0) {
        log_msg(err == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_WARN, "router",
                "iq id=%s from %s: result replaced by an error: %s", st->id ? st->id : "",
                st->from.full, myna_store_strerror(err));
        myna_reply_error(st, myna_error_from_store(err), NULL);
        return;
    }
    ctx->answered = true;
    stanza_send(ctx->srv, result);
}

void myna_iq_result(struct myna_stanza *st, const struct myna_xml *payload)
{
    struct myna_xml *r = myna_iq_result_new(st);
    if (payload)
        myna_xml_add_copy(r, payload);
    myna_iq_send_result(st, r);
}

struct myna_pending_iq {
    struct server *srv;
    struct myna_arena *arena;
    struct myna_xml *iq;      /* copy of the request */
    struct myna_jid from, to;
    bool has_to;
};

struct myna_pending_iq *myna_iq_defer(struct myna_stanza *st)
{
    struct stanza_ctx *ctx = STANZA_CTX(st);
    ctx->answered = true;
    struct myna_pending_iq *p = xcalloc(1, sizeof *p);
    p->srv = ctx->srv;
    p->arena = myna_arena_new();
    p->iq = myna_xml_copy(p->arena, st->xml);
    myna_jid_copy(p->arena, &st->from, &p->from);
    myna_jid_copy(p->arena, &st->to, &p->to);
    p->has_to = st->has_to;
    return p;
}

/* Rebuilds a stanza context over the pending copy so the normal builders work. */
static void pending_ctx(struct myna_pending_iq *p, struct stanza_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->srv = p->srv;
    ctx->pub.xml = p->iq;
    ctx->pub.kind = MYNA_IQ;
    ctx->pub.type = myna_xml_attr(p->iq, "type");
    ctx->pub.id = myna_xml_attr(p->iq, "id");
    ctx->pub.from = p->from;
    ctx->pub.to = p->to;
    ctx->pub.has_to = p->has_to;
    ctx->pub.arena = p->arena;
}

void myna_pending_result(struct myna_pending_iq *p, const struct myna_xml *payload)
{
    struct stanza_ctx ctx;
    pending_ctx(p, &ctx);
    myna_iq_result(&ctx.pub, payload);
    myna_arena_free(p->arena);
    free(p);
}

void myna_pending_error(struct myna_pending_iq *p, enum myna_error e, const char *text)
{
    struct stanza_ctx ctx;
    pending_ctx(p, &ctx);
    myna_reply_error(&ctx.pub, e, text);
    myna_arena_free(p->arena);
    free(p);
}

int myna_iq_request(struct myna_module *m, struct myna_xml *iq, unsigned timeout_ms,
                    myna_iq_response_fn fn, void *data)
{
    return router_iq_request(m->srv, m, iq, timeout_ms, fn, data);
}

struct myna_session *myna_hook_target(const struct myna_stanza *st)
{
    return STANZA_CTX(st)->target;
}

int64_t myna_stanza_rerouted(const struct myna_stanza *st)
{
    return STANZA_CTX(st)->rerouted_ms;
}

/* ---- sessions ---- */

const struct myna_jid *myna_session_jid(const struct myna_session *s)
{
    return &s->jid;
}

bool myna_session_available(const struct myna_session *s)
{
    return s->available;
}

int myna_session_priority(const struct myna_session *s)
{
    return s->priority;
}

const struct myna_xml *myna_session_presence(const struct myna_session *s)
{
    return s->presence;
}

void *myna_keep_alloc(size_t size)
{
    return pool_alloc(size);
}

void myna_keep_free(void *p, size_t size)
{
    pool_free(p, size);
}

char *myna_keep_strdup(const char *s)
{
    return pool_strdup(s);
}

void myna_keep_strfree(char *s)
{
    pool_strfree(s);
}

void myna_session_set_presence(struct myna_session *s, const struct myna_xml *presence)
{
    if (s->presence && s->presence == presence)
        return;
    if (s->presence) {
        myna_arena_free(s->presence->arena);
        s->presence = NULL;
    }
    if (!presence) {
        s->available = false;
        s->priority = 0;
        return;
    }
    /* Kept for the session's life: copied a second time into a pool block of its exact
     * size, so an idle session holds a few hundred bytes for a plain <presence/> instead of
     * a 4 KiB arena pinning a page of the heap. */
    struct myna_arena *tmp = myna_arena_new();
    struct myna_xml *draft = myna_xml_copy(tmp, presence);
    myna_xml_set_attr(draft, "to", NULL);
    size_t size = xml_arena_block_size(myna_arena_used(tmp));
    struct myna_arena *a = xml_arena_new_in(pool_alloc(size), size, pool_free);
    s->presence = myna_xml_copy(a, draft);
    myna_arena_free(tmp);
    s->available = true;
    /* RFC 6121 §4.7.2.3: -128..127, default 0. */
    const char *p = myna_xml_child_text(presence, MYNA_NS_CLIENT, "priority");
    long v = p ? strtol(p, NULL, 10) : 0;
    s->priority = v < -128 ? -128 : v > 127 ? 127 : (int)v;
}

size_t myna_session_queued_bytes(const struct myna_session *s)
{
    return s->c2s ? c2s_queued_bytes(s->c2s) : sm_held_bytes(s);
}

bool myna_session_detached(const struct myna_session *s)
{
    return s->c2s == NULL;
}

void myna_session_close(struct myna_session *s, const char *condition, const char *text)
{
    if (s->c2s)
        c2s_close(s->c2s, condition, text);
    else
        sm_held_close(s);
}

uint64_t myna_session_id(const struct myna_session *s)
{
    return s->id;
}

struct myna_session *myna_session_by_id(struct myna_module *m, uint64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    return hashmap_get(m->srv->session_ids, key);
}

size_t myna_user_sessions(struct myna_module *m, const struct myna_jid *bare,
                          myna_session_fn fn, void *data)
{
    struct user *u = user_find(m->srv, bare->bare);
    size_t n = 0;
    for (struct myna_session *s = u ? u->sessions : NULL; s;) {
        struct myna_session *next = s->next_of_user;
        if (fn)
            fn(s, data);
        n++;
        s = next;
    }
    return n;
}

struct host_sessions {
    struct host *host;
    uint64_t *ids;
    size_t n, cap;
};

static void collect_session(const char *key, void *value, void *data)
{
    struct myna_session *s = value;
    struct host_sessions *hs = data;
    if (s->host != hs->host)
        return;
    if (hs->n == hs->cap) {
        hs->cap = hs->cap ? 2 * hs->cap : 64;
        hs->ids = xrealloc(hs->ids, hs->cap * sizeof *hs->ids);
    }
    hs->ids[hs->n++] = s->id;
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t myna_host_sessions(struct myna_module *m, myna_session_fn fn, void *data)
{
    /* Ids first: fn may end sessions, which changes the table being walked. In id order
     * (oldest session first): the table's own order is its keyed hash's, new each run. */
    struct host_sessions hs = {.host = m->host};
    hashmap_each(m->srv->sessions, collect_session, &hs);
    if (hs.n)
        qsort(hs.ids, hs.n, sizeof *hs.ids, cmp_id);
    size_t called = 0;
    for (size_t i = 0; i < hs.n; i++) {
        struct myna_session *s = myna_session_by_id(m, hs.ids[i]);
        if (s && fn) {
            fn(s, data);
            called++;
        }
    }
    free(hs.ids);
    return called;
}

struct myna_session *myna_session_find(struct myna_module *m, const struct myna_jid *full)
{
    return full->resource ? session_find(m->srv, full->full) : NULL;
}

bool myna_user_exists(struct myna_module *m, const char *node)
{
    return node && account_exists(m->srv->accounts, node, m->host->domain);
}

int myna_user_create(struct myna_module *m, const char *node, const char *password,
                     myna_user_done_fn done, void *data)
{
    return users_set_password(m, node, password, true, done, data);
}

int myna_user_set_password(struct myna_module *m, const char *node, const char *password,
                           myna_user_done_fn done, void *data)
{
    return users_set_password(m, node, password, false, done, data);
}

int myna_user_delete(struct myna_module *m, const char *node)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_jid bare;
    int rc = MYNA_USER_BADNAME;
    if (node && myna_jid_make(a, node, m->host->domain, NULL, &bare) == 0 &&
        strcmp(bare.node, node) == 0)
        rc = users_delete(m->srv, m->host, &bare);
    myna_arena_free(a);
    return rc;
}

uint64_t myna_server_uptime_ms(const struct myna_module *m)
{
    return loop_clock_ms() - m->srv->started_ms;
}

bool myna_is_local_host(struct myna_module *m, const char *host)
{
    return host && (server_host(m->srv, host) || hashmap_get(m->srv->subdomains, host));
}

int myna_upload_slot(struct myna_module *m, const char *owner, const char *filename,
                     uint64_t size, const char *content_type, unsigned ttl, char **put_url,
                     char **get_url)
{
    return upload_slot(m->srv, m->host->domain, owner, filename, size,
                       content_type ? content_type : "", ttl, put_url, get_url);
}

uint64_t myna_upload_usage(struct myna_module *m, const char *owner)
{
    return upload_usage(m->srv, owner);
}

uint64_t myna_upload_max_size(struct myna_module *m)
{
    return m->srv->cfg.http.upload_max_size;
}

struct myna_store *myna_module_store(struct myna_module *m, const char *name)
{
    struct myna_store *s = NULL;
    if (myna_store_table(m->srv->store, name, &s) != 0) {
        log_error(m->def->name, "cannot open store table '%s'", name);
        return NULL;
    }
    return s;
}

/* ---- fan-out ---- */

/* One recipient that is not a bound local session: routed as a normal stanza. */
static void fanout_route(struct server *srv, const struct myna_xml *stanza,
                         const struct myna_jid *to)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *copy = myna_xml_copy(a, stanza);
    myna_xml_set_attr(copy, "to", to->full);
    stanza_send(srv, copy);
    myna_arena_free(a);
}

size_t myna_send_fanout(struct myna_module *m, struct myna_xml *stanza,
                        const struct myna_jid *to, size_t n)
{
    struct server *srv = m->srv;
    myna_xml_set_attr(stanza, "to", NULL);
    struct stanza_ctx ctx;
    enum myna_error err;
    if (n == 0 || !myna_xml_attr(stanza, "from") ||
        stanza_init(&ctx, srv, stanza, NULL, NULL, &err) < 0) {
        log_warn("router", "fan-out of a stanza without a valid from dropped");
        return 0;
    }
    struct myna_stanza *pub = &ctx.pub;
    enum myna_hook in = pub->kind == MYNA_MESSAGE    ? MYNA_HOOK_MESSAGE_IN
                        : pub->kind == MYNA_PRESENCE ? MYNA_HOOK_PRESENCE_IN
                                                     : MYNA_HOOK_IQ_IN;
    /* Serialized once; each recipient's to='...' goes right after the element name. */
    struct wbuf *shared = wbuf_serialize(stanza, MYNA_NS_CLIENT);
    size_t split = 1 + strlen(stanza->name);
    struct myna_buf piece;
    myna_buf_init(&piece);
    size_t direct = 0;
    pub->has_to = true;
    for (size_t i = 0; i < n; i++) {
        struct myna_session *s =
            to[i].resource && server_host(srv, to[i].domain) ? session_find(srv, to[i].full)
                                                             : NULL;
        if (!s || pub->kind == MYNA_IQ) {
            fanout_route(srv, stanza, &to[i]);
            continue;
        }
        /* The recipient's IN and DELIVER hooks run as for a routed stanza (blocking),
         * on the same element: what they change is not delivered. */
        pub->to = to[i];
        if (s->host && hooks_run(s->host, in, pub) == MYNA_HANDLED)
            continue;
        ctx.target = s;
        bool taken = s->host && hooks_run(s->host, MYNA_HOOK_DELIVER, pub) == MYNA_HANDLED;
        ctx.target = NULL;
        if (taken)
            continue;
        piece.len = 0;
        myna_buf_appends(&piece, " to='");
        myna_buf_append_escaped(&piece, to[i].full, strlen(to[i].full));
        myna_buf_appends(&piece, "'");
        session_write_splice(s, shared, split, piece.data, piece.len);
        direct++;
    }
    myna_buf_free(&piece);
    wbuf_unref(shared);
    return direct;
}
