/* server/modhost/users.h — accounts on the running server: creation and password changes with the
 * SCRAM derivation on the job pool, deletion with everything the user owns. The one place
 * where mynad changes accounts, used by the control socket (mynactl) and the module API
 * (myna_user_*, myna/module.h); the storage format itself is accounts.h. */
#ifndef MYNA_USERS_H
#define MYNA_USERS_H

#include <stdbool.h>

#include "myna/module.h"

struct server;
struct host;

/* Ends every session of `bare` (a prepared bare JID) but `except` (NULL: all) with the
 * stream error `condition` and `text`. Returns how many it ended. */
unsigned users_end_sessions(struct server *srv, const char *bare,
                            const struct myna_session *except, const char *condition,
                            const char *text);

/* Ends the sessions of `bare` (a prepared user@host of host h), emits USER_DELETED on h,
 * then deletes the account and every "user@host\0" key. 0, MYNA_USER_NOTFOUND or the error
 * that failed the current unit of work. */
int users_delete(struct server *srv, struct host *h, const struct myna_jid *bare);

/* Derives credentials for `password` on the job pool, then (on the loop, in a unit of
 * work) stores them for node@host, emits USER_CREATED when `create`, and calls done(m)
 * unless m has been unloaded. The contract of myna_user_create()/set_password(). */
int users_set_password(struct myna_module *m, const char *node, const char *password,
                       bool create, myna_user_done_fn done, void *data);

/* The same for the core (in-band registration, server/stream/register.c): done(rc, data)
 * is always called once, on the loop, in a unit of work, when 0 was returned. */
typedef void (*users_done_fn)(int result, void *data);
int users_change(struct server *srv, const char *domain, const char *node,
                 const char *password, bool create, users_done_fn done, void *data);

/* A module unloads: its pending jobs still complete, without calling it. */
void users_forget_module(struct server *srv, struct myna_module *m);
/* At exit, after the job pool has stopped: frees the jobs that never completed. */
void users_free(struct server *srv);

#endif
