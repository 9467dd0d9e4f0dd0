/* server/route/session.h — bound client sessions and online users.
 * A session exists from resource binding until its stream closes; a user (bare JID)
 * exists while it has at least one session. Sessions are found by full JID or by id; the
 * id (never reused) is what code keeps across loop iterations. */
#ifndef MYNA_SESSION_H
#define MYNA_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "myna/module.h"

struct server;
struct c2s;
struct host;
struct wbuf;

struct myna_session {
    uint64_t id;
    struct server *srv;
    struct host *host;
    struct c2s *c2s;               /* the stream carrying the session; NULL while XEP-0198
                                    * holds it for resumption (server/stream/sm.c) */
    struct user *user;
    char *jid_block;               /* pool block holding the JID's strings */
    size_t jid_block_len;
    struct myna_jid jid;           /* full JID */
    bool available;                /* sent initial presence, not yet unavailable */
    int priority;
    struct myna_xml *presence;     /* last broadcast presence, own arena, or NULL */
    void **slots;                  /* module data slots */
    size_t nslots;
    struct myna_session *next_of_user;
};

struct user {
    char *bare;
    struct myna_session *sessions; /* linked by next_of_user */
    void **slots;
    size_t nslots;
};

/* Creates and registers a session for `c2s` with full JID `full` (prepared). If a session
 * with the same full JID exists, it is closed with a <conflict/> stream error first. */
struct myna_session *session_new(struct server *srv, struct host *host, struct c2s *c2s,
                                 const struct myna_jid *full);
/* Unregisters and frees (emits SESSION_CLOSED first). */
void session_free(struct myna_session *s);
struct myna_session *session_find(struct server *srv, const char *full);
struct user *user_find(struct server *srv, const char *bare);
/* Writes an already serialized stanza to the session's stream (or queues it for a session
 * held for resumption). */
void session_write(struct myna_session *s, struct wbuf *b);
/* Writes shared[0, split) + piece + shared[split, len) (see c2s_write_splice). */
void session_write_splice(struct myna_session *s, struct wbuf *shared, size_t split,
                          const char *piece, size_t plen);

#endif
