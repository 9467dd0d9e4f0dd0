/* server/loop/pool.c — see pool.h. Classes are multiples of 16 bytes; each class carves its
 * objects from 64 KiB slabs taken with mmap and keeps freed objects on a free list.
 * Slabs are never returned (session objects come back for the next session). */
#include "server/loop/pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "server/base/asan.h"
#include "server/base/log.h"

#if defined(MYNA_ASAN)
/* Under AddressSanitizer every object is its own malloc, so use-after-free is caught. */
void *pool_alloc(size_t n)
{
    return xcalloc(1, n ? n : 1);
}

void pool_free(void *p, size_t n)
{
    free(p);
}
size_t pool_bytes(void)
{
    return 0;
}
#else
#define CLASS_STEP 16
#define NCLASSES (POOL_MAX / CLASS_STEP)
#define SLAB_BYTES (64 * 1024)

struct free_obj {
    struct free_obj *next;
};

struct size_class {
    struct free_obj *free;
    char *cur, *end; /* unused tail of the newest slab */
};

/* Process-wide like malloc itself; only the loop thread allocates from it. */
static struct size_class classes[NCLASSES];
static size_t slab_total;

static size_t class_of(size_t n)
{
    return (n + CLASS_STEP - 1) / CLASS_STEP - 1;
}

void *pool_alloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > POOL_MAX)
        return xcalloc(1, n);
    struct size_class *c = &classes[class_of(n)];
    size_t sz = (class_of(n) + 1) * CLASS_STEP;
    void *p;
    if (c->free) {
        p = c->free;
        c->free = c->free->next;
    } else {
        if (!c->cur || (size_t)(c->end - c->cur) < sz) {
            void *slab = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (slab == MAP_FAILED) {
                log_error("pool", "out of memory");
                abort();
            }
            slab_total += SLAB_BYTES;
            c->cur = slab;
            c->end = c->cur + SLAB_BYTES;
        }
        p = c->cur;
        c->cur += sz;
    }
    memset(p, 0, sz);
    return p;
}

void pool_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n == 0)
        n = 1;
    if (n > POOL_MAX) {
        free(p);
        return;
    }
    struct size_class *c = &classes[class_of(n)];
    struct free_obj *f = p;
    f->next = c->free;
    c->free = f;
}

size_t pool_bytes(void)
{
    return slab_total;
}
#endif

char *pool_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pool_alloc(n);
    memcpy(d, s, n);
    return d;
}

void pool_strfree(char *s)
{
    if (s)
        pool_free(s, strlen(s) + 1);
}
