/* server/route/session.c — the session table (see session.h). A new session with the full JID
 * of an existing one replaces it: the old stream gets <conflict/> (RFC 6120 §7.7.2.2,
 * the policy most servers use). Module slot values are freed with their session/user. */
#include "server/route/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/pool.h"
#include "server/modhost/host.h"
#include "server/net/wbuf.h"
#include "server/server.h"
#include "server/stream/c2s.h"
#include "server/stream/sm.h"

static void id_key(uint64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "%llu", (unsigned long long)id);
}

/* Copies a JID into one exact-size heap block (an arena's first chunk would cost 4 KiB
 * per idle session). Returns the block; dst's strings point into it. */
static char *jid_block_copy(const struct myna_jid *src, struct myna_jid *dst, size_t *blen)
{
    const char *parts[5] = {src->node, src->domain, src->resource, src->bare, src->full};
    size_t len = 0;
    for (int i = 0; i < 5; i++)
        len += parts[i] ? strlen(parts[i]) + 1 : 0;
    char *block = pool_alloc(len), *p = block;
    const char *out[5] = {NULL};
    for (int i = 0; i < 5; i++) {
        if (!parts[i])
            continue;
        size_t n = strlen(parts[i]) + 1;
        memcpy(p, parts[i], n);
        out[i] = p;
        p += n;
    }
    dst->node = out[0];
    dst->domain = out[1];
    dst->resource = out[2];
    dst->bare = out[3];
    dst->full = out[4];
    *blen = len;
    return block;
}

struct myna_session *session_find(struct server *srv, const char *full)
{
    return hashmap_get(srv->sessions, full);
}

struct user *user_find(struct server *srv, const char *bare)
{
    return hashmap_get(srv->users, bare);
}

struct myna_session *session_new(struct server *srv, struct host *host, struct c2s *c2s,
                                 const struct myna_jid *full)
{
    struct myna_session *old = session_find(srv, full->full);
    if (old && old->c2s)
        c2s_close(old->c2s, "conflict", "Replaced by new connection");
    else if (old)
        sm_held_close(old); /* a session held for XEP-0198 resumption ends here */
    old = session_find(srv, full->full);
    if (old)
        session_free(old); /* c2s_close normally did this already */

    struct myna_session *s = pool_alloc(sizeof *s);
    s->id = ++srv->next_session_id;
    s->srv = srv;
    s->host = host;
    s->c2s = c2s;
    s->jid_block = jid_block_copy(full, &s->jid, &s->jid_block_len);
    struct user *u = user_find(srv, s->jid.bare);
    if (!u) {
        u = pool_alloc(sizeof *u);
        u->bare = pool_strdup(s->jid.bare);
        hashmap_put(srv->users, u->bare, u);
    }
    s->user = u;
    s->next_of_user = u->sessions;
    u->sessions = s;
    hashmap_put(srv->sessions, s->jid.full, s);
    char key[24];
    id_key(s->id, key, sizeof key);
    hashmap_put(srv->session_ids, key, s);
    srv->nsessions++;
    struct myna_event ev = {.type = MYNA_EVENT_SESSION_BOUND, .user = &s->jid, .session = s};
    events_emit(host, &ev);
    return s;
}

static void free_slots(struct server *srv, void **slots, size_t n, const struct slot_def *defs)
{
    for (size_t i = 0; i < n; i++)
        if (slots[i] && defs[i].destroy)
            defs[i].destroy(slots[i]);
    pool_free(slots, n * sizeof *slots);
}

void session_free(struct myna_session *s)
{
    struct server *srv = s->srv;
    /* Unavailable first, so routing no longer picks this session during the event. */
    s->available = false;
    struct myna_event ev = {.type = MYNA_EVENT_SESSION_CLOSED, .user = &s->jid, .session = s};
    events_emit(s->host, &ev);

    hashmap_del(srv->sessions, s->jid.full);
    char key[24];
    id_key(s->id, key, sizeof key);
    hashmap_del(srv->session_ids, key);
    struct user *u = s->user;
    for (struct myna_session **p = &u->sessions; *p; p = &(*p)->next_of_user) {
        if (*p == s) {
            *p = s->next_of_user;
            break;
        }
    }
    if (!u->sessions) {
        hashmap_del(srv->users, u->bare);
        free_slots(srv, u->slots, u->nslots, srv->user_slots);
        pool_strfree(u->bare);
        pool_free(u, sizeof *u);
    }
    free_slots(srv, s->slots, s->nslots, srv->session_slots);
    if (s->presence)
        myna_arena_free(s->presence->arena);
    pool_free(s->jid_block, s->jid_block_len);
    srv->nsessions--;
    pool_free(s, sizeof *s);
}

void session_write(struct myna_session *s, struct wbuf *b)
{
    if (s->c2s)
        c2s_write(s->c2s, b);
    else
        sm_held_write(s, b);
}

void session_write_splice(struct myna_session *s, struct wbuf *shared, size_t split,
                          const char *piece, size_t plen)
{
    if (s->c2s) {
        c2s_write_splice(s->c2s, shared, split, piece, plen);
        return;
    }
    struct wbuf *w = wbuf_splice(shared, split, piece, plen);
    sm_held_write(s, w);
    wbuf_unref(w);
}
