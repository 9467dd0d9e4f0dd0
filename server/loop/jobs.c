/* server/loop/jobs.c — worker pool (see jobs.h). Jobs are taken FIFO by the workers; each
 * completion is posted back to the loop with loop_post(), so `done` always runs on the
 * loop thread. */
#include "server/loop/jobs.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "server/base/log.h"
#include "server/loop/loop.h"

struct job {
    job_fn work, done;
    void *data;
    struct job *next;
    struct jobs *owner;
};

struct jobs {
    struct loop *loop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    bool stop;
    unsigned pending; /* submitted, `done` not run yet: loop thread only */
    unsigned nthreads;
    pthread_t *threads;
};

static void job_done(void *arg)
{
    struct job *jb = arg;
    jb->owner->pending--;
    jb->done(jb->data);
    free(jb);
}

static void *worker(void *arg)
{
    struct jobs *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        while (!j->head && !j->stop)
            pthread_cond_wait(&j->cond, &j->lock);
        if (j->stop && !j->head) {
            pthread_mutex_unlock(&j->lock);
            return NULL;
        }
        struct job *jb = j->head;
        j->head = jb->next;
        if (!j->head)
            j->tail = NULL;
        pthread_mutex_unlock(&j->lock);
        jb->work(jb->data);
        /* `stop` is read and the completion posted under the lock, so jobs_free() either
         * sees the post before it returns or this worker sees stop. */
        pthread_mutex_lock(&j->lock);
        if (j->stop) {
            pthread_mutex_unlock(&j->lock);
            free(jb); /* shutting down: the loop no longer runs completions */
            continue;
        }
        loop_post(j->loop, job_done, jb);
        pthread_mutex_unlock(&j->lock);
    }
}

struct jobs *jobs_new(struct loop *l, unsigned nthreads)
{
    struct jobs *j = xcalloc(1, sizeof *j);
    j->loop = l;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    j->nthreads = nthreads ? nthreads : 1;
    j->threads = xcalloc(j->nthreads, sizeof *j->threads);
    for (unsigned i = 0; i < j->nthreads; i++)
        pthread_create(&j->threads[i], NULL, worker, j);
    return j;
}

void jobs_free(struct jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    /* Drop jobs not yet started. */
    struct job *jb = j->head;
    j->head = j->tail = NULL;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    while (jb) {
        struct job *n = jb->next;
        free(jb);
        jb = n;
    }
    for (unsigned i = 0; i < j->nthreads; i++)
        pthread_join(j->threads[i], NULL);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j->threads);
    free(j);
}

unsigned jobs_pending(const struct jobs *j)
{
    return j ? j->pending : 0;
}

void jobs_submit(struct jobs *j, job_fn work, job_fn done, void *data)
{
    struct job *jb = xcalloc(1, sizeof *jb);
    jb->work = work;
    jb->done = done;
    jb->data = data;
    jb->owner = j;
    j->pending++;
    pthread_mutex_lock(&j->lock);
    if (j->tail)
        j->tail->next = jb;
    else
        j->head = jb;
    j->tail = jb;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
}
