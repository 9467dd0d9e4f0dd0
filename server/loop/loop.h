/* server/loop/loop.h — the event loop: epoll readiness callbacks, monotonic timers (binary
 * heap), deferred calls run at the end of an iteration, and a before-sleep hook (used to
 * commit the storage batch once per iteration). One loop per thread; the loop owns no
 * protocol state. Watchers and timers are identified by ids, never raw pointers kept
 * across iterations. */
#ifndef MYNA_LOOP_H
#define MYNA_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_READ 0x1u
#define LOOP_WRITE 0x2u

struct loop;

typedef void (*loop_io_fn)(void *data, unsigned events);
typedef void (*loop_fn)(void *data);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Runs until loop_stop(). Returns 0. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Watches fd for `events` (LOOP_READ|LOOP_WRITE); replaces any previous watch of fd. */
int loop_watch(struct loop *l, int fd, unsigned events, loop_io_fn fn, void *data);
/* Changes the event mask of a watched fd. */
int loop_modify(struct loop *l, int fd, unsigned events);
void loop_unwatch(struct loop *l, int fd);

/* Monotonic milliseconds, cached per iteration. */
uint64_t loop_now(const struct loop *l);
/* Fresh reading of the monotonic clock in ms. */
uint64_t loop_clock_ms(void);
/* Calls fn(data) after ms; returns an id > 0. */
uint64_t loop_timer_add(struct loop *l, uint64_t ms, loop_fn fn, void *data);
/* Cancels a pending timer; unknown or fired ids are ignored. */
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Runs fn(data) at the end of this iteration (after all I/O callbacks), FIFO order.
 * Used for deferred frees: no callback frees what its caller still uses. */
void loop_defer(struct loop *l, loop_fn fn, void *data);
/* Called before blocking in epoll_wait, after the deferred calls; again if it deferred
 * more (storage group commit, then the held output of the connections). */
void loop_set_before_sleep(struct loop *l, loop_fn fn, void *data);

/* Thread-safe wake-up: posts fn(data) to run on the loop thread (job completions). */
void loop_post(struct loop *l, loop_fn fn, void *data);

#endif
