/* tests/unit/test_loop.c — the event loop's timers: ids returned by loop_timer_add name the
 * timer they were given for (a cancelled timer never fires, every other one fires once, in
 * deadline order), deferred calls run in order, loop_post from another thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "server/loop/loop.h"

#define N 200

struct rec {
    struct loop *l;
    int fired[N];
    int order[N];
    int nfired;
    int pending;
};

struct arg {
    struct rec *r;
    int i;
};

static void fire(void *data)
{
    struct arg *a = data;
    a->r->fired[a->i]++;
    a->r->order[a->r->nfired++] = a->i;
    if (--a->r->pending == 0)
        loop_stop(a->r->l);
}

/* Many timers with scattered deadlines (so the heap reorders them as they are added),
 * every third one cancelled by the id it was given. */
static void test_timer_ids_and_cancel(void **state)
{
    (void)state;
    static struct rec r;
    static struct arg args[N];
    uint64_t ids[N];
    memset(&r, 0, sizeof r);
    r.l = loop_new();
    uint64_t t0 = loop_clock_ms();
    for (int i = 0; i < N; i++) {
        args[i] = (struct arg){&r, i};
        ids[i] = loop_timer_add(r.l, (uint64_t)((i * 37) % 50), fire, &args[i]);
    }
    /* Deadlines are absolute: adding took `slack` ms, so later timers may be that late. */
    int slack = (int)(loop_clock_ms() - t0);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_true(ids[i] != ids[j]);
    r.pending = 0;
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            loop_timer_cancel(r.l, ids[i]);
        else
            r.pending++;
    }
    loop_run(r.l);
    for (int i = 0; i < N; i++)
        assert_int_equal(r.fired[i], i % 3 == 0 ? 0 : 1);
    /* Deadline order: (i * 37) % 50 never decreases along the firing order (up to the
     * time the adding itself took). */
    for (int k = 1; k < r.nfired; k++)
        assert_true((r.order[k - 1] * 37) % 50 <= (r.order[k] * 37) % 50 + slack);
    loop_free(r.l);
}

static int seq[8], nseq;

static void deferred(void *data)
{
    seq[nseq++] = (int)(intptr_t)data;
}

static void stop_cb(void *data)
{
    loop_stop(data);
}

static void test_defer_order(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    nseq = 0;
    for (int i = 0; i < 5; i++)
        loop_defer(l, deferred, (void *)(intptr_t)i);
    loop_timer_add(l, 1, stop_cb, l);
    loop_run(l);
    assert_int_equal(nseq, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seq[i], i);
    loop_free(l);
}

static void posted(void *data)
{
    loop_stop(data);
}

static void *poster(void *data)
{
    loop_post(data, posted, data);
    return NULL;
}

static void test_post_from_thread(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    pthread_t t;
    pthread_create(&t, NULL, poster, l);
    loop_run(l); /* returns only when the posted call ran */
    pthread_join(t, NULL);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_ids_and_cancel),
        cmocka_unit_test(test_defer_order),
        cmocka_unit_test(test_post_from_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
