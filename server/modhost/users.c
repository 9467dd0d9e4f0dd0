/* server/modhost/users.c — accounts on the running server (users.h), with the account code mynactl
 * uses (accounts.c): a password becomes SCRAM keys on the job pool (PBKDF2 never runs on
 * the loop), and the write, the USER_CREATED event and the caller's callback follow on the
 * loop in one unit of work. Deletion is mynactl deluser's: sessions end, modules delete
 * their data on USER_DELETED, then the account and every "user@host\0" key go.
 * Invariant: every job is on srv->user_jobs from submission until its completion runs (or
 * exit frees it), so an unloading module can be detached from the jobs it started. */
#include "server/modhost/users.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/jobs.h"
#include "server/modhost/host.h"
#include "server/route/session.h"
#include "server/server.h"
#include "server/store/accounts.h"

struct user_job {
    struct server *srv;
    char *domain;            /* the host */
    char *node;
    char *password;          /* wiped and freed by the worker */
    bool create;
    unsigned iterations;     /* PBKDF2 rounds (the config's, read on the loop) */
    struct myna_module *m;   /* NULL once the module has unloaded */
    myna_user_done_fn done;
    users_done_fn core_done; /* instead of m/done, for the core (in-band registration) */
    void *data;
    struct account acc;      /* the worker's result */
    int rc;                  /* the worker's result: 0 or MYNA_USER_BADPASSWORD */
    struct user_job *prev, *next;
};

unsigned users_end_sessions(struct server *srv, const char *bare,
                            const struct myna_session *except, const char *condition,
                            const char *text)
{
    unsigned n = 0;
    struct user *u = user_find(srv, bare);
    for (struct myna_session *s = u ? u->sessions : NULL, *next; s; s = next) {
        next = s->next_of_user;
        if (s != except) {
            myna_session_close(s, condition, text);
            n++;
        }
    }
    return n;
}

int users_delete(struct server *srv, struct host *h, const struct myna_jid *bare)
{
    if (!account_exists(srv->accounts, bare->node, h->domain))
        return MYNA_USER_NOTFOUND;
    users_end_sessions(srv, bare->bare, NULL, "not-authorized", "Account deleted");
    struct myna_event ev = {.type = MYNA_EVENT_USER_DELETED, .user = bare};
    events_emit(h, &ev);
    int rc = account_purge(srv->store, srv->accounts, bare->node, h->domain);
    if (rc == 0)
        rc = myna_store_env_unit_error(srv->store);
    if (rc == 0)
        log_info("users", "deleted user %s", bare->bare);
    else
        log_warn("users", "cannot delete %s: %s", bare->bare, myna_store_strerror(rc));
    return rc;
}

static void job_unlink(struct server *srv, struct user_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        srv->user_jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
}

static void job_free(struct user_job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, strlen(j->password));
        free(j->password);
    }
    OPENSSL_cleanse(&j->acc, sizeof j->acc);
    free(j->domain);
    free(j->node);
    free(j);
}

/* On a worker: the slow part, touching nothing but the job. */
static void job_work(void *data)
{
    struct user_job *j = data;
    j->rc = account_derive(j->password, j->iterations, &j->acc) == 0 ? 0 : MYNA_USER_BADPASSWORD;
    OPENSSL_cleanse(j->password, strlen(j->password));
    free(j->password);
    j->password = NULL;
}

/* Back on the loop: store, tell the modules, answer the caller. */
static int job_store(struct user_job *j)
{
    struct server *srv = j->srv;
    if (j->rc != 0)
        return j->rc;
    /* The derivation took a while: the account may have appeared or gone meanwhile. */
    bool exists = account_exists(srv->accounts, j->node, j->domain);
    if (j->create && exists)
        return MYNA_USER_EXISTS;
    if (!j->create && !exists)
        return MYNA_USER_NOTFOUND;
    int rc = account_put(srv->accounts, j->node, j->domain, &j->acc, !j->create);
    if (rc == ACCOUNT_EXISTS)
        return MYNA_USER_EXISTS;
    if (rc == 0)
        rc = myna_store_env_unit_error(srv->store);
    if (rc != 0)
        return rc;
    log_info("users", "%s %s@%s", j->create ? "created" : "new password for", j->node,
             j->domain);
    struct host *h = server_host(srv, j->domain);
    if (j->create && h) {
        struct myna_arena *a = myna_arena_new();
        struct myna_jid bare;
        if (myna_jid_make(a, j->node, j->domain, NULL, &bare) == 0) {
            struct myna_event ev = {.type = MYNA_EVENT_USER_CREATED, .user = &bare};
            events_emit(h, &ev);
        }
        myna_arena_free(a);
    }
    return myna_store_env_unit_error(srv->store);
}

static void job_done(void *data)
{
    struct user_job *j = data;
    struct server *srv = j->srv;
    job_unlink(srv, j);
    myna_store_env_unit_begin(srv->store);
    int rc = job_store(j);
    if (rc != 0 && rc != MYNA_USER_EXISTS && rc != MYNA_USER_NOTFOUND &&
        rc != MYNA_USER_BADPASSWORD)
        log_warn("users", "cannot store the account %s@%s: %s", j->node, j->domain,
                 myna_store_strerror(rc));
    if (j->m)
        j->done(j->m, rc, j->data);
    else if (j->core_done)
        j->core_done(rc, j->data);
    int err = myna_store_env_unit_commit(srv->store);
    if (err != 0)
        log_warn("users", "account %s@%s: writes after the change failed: %s", j->node,
                 j->domain, myna_store_strerror(err));
    job_free(j);
}

/* Checks node and password, then derives on the job pool (job_work, job_done). */
static int submit(struct server *srv, const char *domain, const char *node,
                  const char *password, bool create, struct user_job *proto)
{
    struct myna_arena *a = myna_arena_new();
    const char *prepped = node ? myna_jid_nodeprep(a, node) : NULL;
    bool valid = prepped && *prepped && strcmp(prepped, node) == 0;
    myna_arena_free(a);
    if (!valid)
        return MYNA_USER_BADNAME;
    if (!password || !*password)
        return MYNA_USER_BADPASSWORD;
    bool exists = account_exists(srv->accounts, node, domain);
    if (create && exists)
        return MYNA_USER_EXISTS;
    if (!create && !exists)
        return MYNA_USER_NOTFOUND;
    struct user_job *j = xcalloc(1, sizeof *j);
    *j = *proto;
    j->srv = srv;
    j->domain = xstrdup(domain);
    j->node = xstrdup(node);
    j->password = xstrdup(password);
    j->create = create;
    j->iterations = srv->cfg.scram_iterations;
    j->next = srv->user_jobs;
    if (j->next)
        j->next->prev = j;
    srv->user_jobs = j;
    jobs_submit(srv->jobs, job_work, job_done, j);
    return 0;
}

int users_set_password(struct myna_module *m, const char *node, const char *password,
                       bool create, myna_user_done_fn done, void *data)
{
    if (!done)
        return MYNA_USER_BADNAME;
    struct user_job proto = {.m = m, .done = done, .data = data};
    return submit(m->srv, m->host->domain, node, password, create, &proto);
}

int users_change(struct server *srv, const char *domain, const char *node,
                 const char *password, bool create, users_done_fn done, void *data)
{
    struct user_job proto = {.core_done = done, .data = data};
    return submit(srv, domain, node, password, create, &proto);
}

void users_forget_module(struct server *srv, struct myna_module *m)
{
    for (struct user_job *j = srv->user_jobs; j; j = j->next)
        if (j->m == m)
            j->m = NULL;
}

void users_free(struct server *srv)
{
    while (srv->user_jobs) {
        struct user_job *j = srv->user_jobs;
        job_unlink(srv, j);
        job_free(j);
    }
}
