/* server/loop/loop.c — epoll-based event loop (see loop.h).
 * Invariants: callbacks run only on the loop thread; the timer heap is ordered by
 * (deadline, id); a cancelled timer is removed from the heap immediately. loop_post() is
 * the only thread-safe entry (mutex-protected queue + eventfd). */
#include "server/loop/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "server/base/log.h"

struct watch {
    loop_io_fn fn;
    void *data;
    unsigned events;
    bool active;
};

struct timer {
    uint64_t deadline;
    uint64_t id;
    loop_fn fn;
    void *data;
};

struct task {
    loop_fn fn;
    void *data;
    struct task *next;
};

struct loop {
    int epfd;
    int wakefd;
    bool stop;
    uint64_t now;
    struct watch *watches; /* indexed by fd */
    int nwatches;
    struct timer *heap;
    size_t nheap, capheap;
    uint64_t next_timer_id;
    struct task *defer_head, *defer_tail;
    loop_fn before_sleep;
    void *before_sleep_data;
    pthread_mutex_t post_lock;
    struct task *post_head, *post_tail;
};

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wake_read(void *data, unsigned events);

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof *l);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0) {
        log_error("loop", "epoll/eventfd: %s", strerror(errno));
        abort();
    }
    pthread_mutex_init(&l->post_lock, NULL);
    l->now = loop_clock_ms();
    l->next_timer_id = 1;
    loop_watch(l, l->wakefd, LOOP_READ, wake_read, l);
    return l;
}

static void run_tasks(struct task *t)
{
    while (t) {
        struct task *next = t->next;
        t->fn(t->data);
        free(t);
        t = next;
    }
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    /* Deferred frees must still happen so nothing leaks. */
    while (l->defer_head) {
        struct task *t = l->defer_head;
        l->defer_head = l->defer_tail = NULL;
        run_tasks(t);
    }
    struct task *t = l->post_head;
    while (t) {
        struct task *n = t->next;
        free(t);
        t = n;
    }
    close(l->epfd);
    close(l->wakefd);
    pthread_mutex_destroy(&l->post_lock);
    free(l->watches);
    free(l->heap);
    free(l);
}

void loop_stop(struct loop *l)
{
    l->stop = true;
}

uint64_t loop_now(const struct loop *l)
{
    return l->now;
}

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & LOOP_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & LOOP_WRITE)
        e |= EPOLLOUT;
    return e;
}

int loop_watch(struct loop *l, int fd, unsigned events, loop_io_fn fn, void *data)
{
    if (fd >= l->nwatches) {
        int n = l->nwatches ? l->nwatches : 64;
        while (n <= fd)
            n *= 2;
        l->watches = xrealloc(l->watches, (size_t)n * sizeof *l->watches);
        memset(l->watches + l->nwatches, 0, (size_t)(n - l->nwatches) * sizeof *l->watches);
        l->nwatches = n;
    }
    struct watch *w = &l->watches[fd];
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    int op = w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
        return -errno;
    w->fn = fn;
    w->data = data;
    w->events = events;
    w->active = true;
    return 0;
}

int loop_modify(struct loop *l, int fd, unsigned events)
{
    if (fd >= l->nwatches || !l->watches[fd].active)
        return -EBADF;
    struct watch *w = &l->watches[fd];
    if (w->events == events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    w->events = events;
    return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
    if (fd < 0 || fd >= l->nwatches || !l->watches[fd].active)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&l->watches[fd], 0, sizeof l->watches[fd]);
}

/* ---- timers: binary min-heap ---- */

static bool timer_less(const struct timer *a, const struct timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->id < b->id);
}

static void heap_swap(struct timer *h, size_t a, size_t b)
{
    struct timer t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static void heap_up(struct loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(&l->heap[i], &l->heap[p]))
            break;
        heap_swap(l->heap, i, p);
        i = p;
    }
}

static void heap_down(struct loop *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && timer_less(&l->heap[a], &l->heap[m]))
            m = a;
        if (b < l->nheap && timer_less(&l->heap[b], &l->heap[m]))
            m = b;
        if (m == i)
            return;
        heap_swap(l->heap, i, m);
        i = m;
    }
}

static void heap_remove(struct loop *l, size_t i)
{
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    heap_down(l, i);
    heap_up(l, i);
}

uint64_t loop_timer_add(struct loop *l, uint64_t ms, loop_fn fn, void *data)
{
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = xrealloc(l->heap, l->capheap * sizeof *l->heap);
    }
    struct timer *t = &l->heap[l->nheap];
    uint64_t id = l->next_timer_id++;
    t->deadline = loop_clock_ms() + ms;
    t->id = id;
    t->fn = fn;
    t->data = data;
    l->nheap++;
    /* t may now hold another timer: heap_up moves entries around. */
    heap_up(l, l->nheap - 1);
    return id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
    /* Linear scan: cancellations are rare compared to I/O and the heap is small. */
    for (size_t i = 0; i < l->nheap; i++) {
        if (l->heap[i].id == id) {
            heap_remove(l, i);
            return;
        }
    }
}

static void run_timers(struct loop *l)
{
    while (l->nheap > 0 && l->heap[0].deadline <= l->now) {
        struct timer t = l->heap[0];
        heap_remove(l, 0);
        t.fn(t.data);
    }
}

/* ---- deferred and posted tasks ---- */

static void task_push(struct task **head, struct task **tail, loop_fn fn, void *data)
{
    struct task *t = xmalloc(sizeof *t);
    t->fn = fn;
    t->data = data;
    t->next = NULL;
    if (*tail)
        (*tail)->next = t;
    else
        *head = t;
    *tail = t;
}

void loop_defer(struct loop *l, loop_fn fn, void *data)
{
    task_push(&l->defer_head, &l->defer_tail, fn, data);
}

void loop_set_before_sleep(struct loop *l, loop_fn fn, void *data)
{
    l->before_sleep = fn;
    l->before_sleep_data = data;
}

void loop_post(struct loop *l, loop_fn fn, void *data)
{
    pthread_mutex_lock(&l->post_lock);
    task_push(&l->post_head, &l->post_tail, fn, data);
    pthread_mutex_unlock(&l->post_lock);
    uint64_t one = 1;
    ssize_t r = write(l->wakefd, &one, sizeof one);
    (void)r;
}

static void wake_read(void *data, unsigned events)
{
    struct loop *l = data;
    uint64_t v;
    ssize_t r = read(l->wakefd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&l->post_lock);
    struct task *t = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    run_tasks(t);
}

static void run_deferred(struct loop *l)
{
    /* Deferred tasks may defer more; run until empty. */
    while (l->defer_head) {
        struct task *t = l->defer_head;
        l->defer_head = l->defer_tail = NULL;
        run_tasks(t);
    }
}

int loop_run(struct loop *l)
{
    struct epoll_event evs[256];
    l->stop = false;
    while (!l->stop) {
        /* Deferred work may leave something for before_sleep (a close that queues output
         * or writes to the store) and before_sleep may defer more: run both until quiet. */
        do {
            run_deferred(l);
            if (l->before_sleep)
                l->before_sleep(l->before_sleep_data);
        } while (l->defer_head);
        if (l->stop)
            break;
        int timeout = -1;
        if (l->nheap > 0) {
            uint64_t now = loop_clock_ms();
            timeout = l->heap[0].deadline <= now ? 0 : (int)(l->heap[0].deadline - now);
        }
        int n = epoll_wait(l->epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("loop", "epoll_wait: %s", strerror(errno));
            return -errno;
        }
        l->now = loop_clock_ms();
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd >= l->nwatches || !l->watches[fd].active)
                continue;
            struct watch *w = &l->watches[fd];
            unsigned e = 0;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                e |= LOOP_READ;
            if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                e |= LOOP_WRITE;
            w->fn(w->data, e);
        }
        run_timers(l);
    }
    run_deferred(l);
    return 0;
}
