/* server/loop/jobs.h — a small pool of worker threads for CPU-heavy or blocking work
 * (PBKDF2 for PLAIN logins and password changes). A job's `work` runs on a worker and must
 * touch no protocol state; `done` runs afterwards on the loop thread. */
#ifndef MYNA_JOBS_H
#define MYNA_JOBS_H

struct loop;
struct jobs;

typedef void (*job_fn)(void *data);

struct jobs *jobs_new(struct loop *l, unsigned nthreads);
/* Waits for running jobs to finish; pending `done` callbacks are not called. */
void jobs_free(struct jobs *j);
void jobs_submit(struct jobs *j, job_fn work, job_fn done, void *data);
/* Jobs submitted whose `done` has not run yet (loop thread). */
unsigned jobs_pending(const struct jobs *j);

#endif
