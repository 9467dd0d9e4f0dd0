/* tests/unit/test_jobs_tsan.c — the job pool (server/loop/jobs.c) under ThreadSanitizer: jobs
 * run on workers, completions run on the loop thread, and jobs_free() racing with workers
 * that are finishing jobs is free of data races (the workers once read `stop` without the
 * lock). Built and run by tests/unit/jobs-tsan.sh with -fsanitize=thread; any report fails. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "server/loop/jobs.h"
#include "server/loop/loop.h"

#define ROUNDS 200
#define JOBS 64

static atomic_int worked;
static int done; /* loop thread only */

static void work(void *data)
{
    struct timespec ts = {0, (long)((size_t)data % 3) * 1000};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&worked, 1);
}

static void complete(void *data)
{
    (void)data;
    done++;
}

static void stop_soon(void *data)
{
    loop_stop(data);
}

int main(void)
{
    for (int r = 0; r < ROUNDS; r++) {
        struct loop *l = loop_new();
        struct jobs *j = jobs_new(l, 2);
        for (size_t i = 0; i < JOBS; i++)
            jobs_submit(j, work, complete, (void *)i);
        if (r % 2 == 0) { /* let some completions reach the loop first */
            loop_timer_add(l, 1, stop_soon, l);
            loop_run(l);
        }
        jobs_free(j); /* while workers may still be finishing jobs */
        loop_free(l);
    }
    printf("%d jobs ran, %d completions on the loop thread\n", atomic_load(&worked), done);
    return 0;
}
