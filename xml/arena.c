/* xml/arena.c — the bump allocator behind every stanza tree (include/myna/xml.h).
 *
 * An arena is a list of chunks; allocations are carved from the newest chunk and never
 * freed one by one. The arena header lives inside its first chunk, so an arena costs one
 * malloc until it outgrows 4 KiB. Invariants: cur <= end; every pointer handed out is
 * aligned to ARENA_ALIGN; allocation failure aborts (callers never see NULL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "xml/arena.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST 4096          /* bytes of the first malloc (header + first chunk) */
#define ARENA_CHUNK_MAX (64 * 1024)

struct arena_chunk {
    struct arena_chunk *prev; /* older chunk, NULL for the first one */
};

struct myna_arena {
    struct arena_chunk *chunks; /* newest extra chunk (heap), NULL while only the first */
    char *cur;                  /* next free byte in the current chunk */
    char *end;                  /* end of the current chunk */
    char *last;                 /* start of the most recent allocation (for realloc) */
    size_t used;                /* bytes handed out */
    size_t next_size;           /* size of the next chunk to allocate */
    void (*release)(void *, size_t); /* frees the first block; NULL: free() */
    size_t size;                /* bytes of the first block */
};

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "myna: out of memory allocating %zu bytes for an arena\n", n);
        abort();
    }
    return p;
}

struct myna_arena *myna_arena_new(void)
{
    return xml_arena_new_in(xmalloc(ARENA_FIRST), ARENA_FIRST, NULL);
}

size_t xml_arena_block_size(size_t used)
{
    size_t n = align_up(used);
    return n < used ? ARENA_FIRST : align_up(sizeof(struct myna_arena)) + n;
}

struct myna_arena *xml_arena_new_in(void *block, size_t size, void (*release)(void *, size_t))
{
    struct myna_arena *a = (struct myna_arena *)block;
    a->chunks = NULL;
    a->cur = (char *)block + align_up(sizeof(*a));
    a->end = (char *)block + size;
    a->last = NULL;
    a->used = 0;
    a->next_size = 8192;
    a->release = release;
    a->size = size;
    return a;
}

void myna_arena_free(struct myna_arena *a)
{
    if (!a)
        return;
    struct arena_chunk *c = a->chunks;
    while (c) {
        struct arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    if (a->release)
        a->release(a, a->size);
    else
        free(a);
}

/* Slow path: opens a new chunk big enough for `size` bytes. */
static void arena_grow(struct myna_arena *a, size_t size)
{
    size_t header = align_up(sizeof(struct arena_chunk));
    size_t want = a->next_size;
    if (size + header > want / 2) {
        /* A big allocation gets a chunk of its own size; the current chunk stays usable
         * only if we keep it as `cur`, which we don't: simplicity over the last bytes. */
        want = size + header;
    } else if (a->next_size < ARENA_CHUNK_MAX) {
        a->next_size *= 2;
    }
    if (want < size) { /* overflow */
        fprintf(stderr, "myna: arena allocation of %zu bytes is too large\n", size);
        abort();
    }
    struct arena_chunk *c = xmalloc(want);
    c->prev = a->chunks;
    a->chunks = c;
    a->cur = (char *)c + header;
    a->end = (char *)c + want;
}

/* Uninitialized memory; the workhorse of the parser (strings need no zeroing). */
static void *arena_raw(struct myna_arena *a, size_t size)
{
    size_t n = align_up(size ? size : 1);
    if (n < size || (size_t)(a->end - a->cur) < n)
        arena_grow(a, n < size ? SIZE_MAX : n);
    char *p = a->cur;
    a->cur += n;
    a->last = p;
    a->used += n;
    return p;
}

void *myna_arena_alloc(struct myna_arena *a, size_t size)
{
    void *p = arena_raw(a, size);
    memset(p, 0, size);
    return p;
}

void *myna_arena_realloc(struct myna_arena *a, void *ptr, size_t old_size, size_t new_size)
{
    if (!ptr)
        return arena_raw(a, new_size);
    if (new_size <= old_size)
        return ptr;
    /* Grow in place when ptr is the newest allocation and the chunk has room. */
    if (ptr == a->last) {
        size_t have = align_up(old_size ? old_size : 1);
        size_t need = align_up(new_size);
        if (need >= new_size && (char *)ptr + have == a->cur &&
            (size_t)(a->end - (char *)ptr) >= need) {
            a->cur = (char *)ptr + need;
            a->used += need - have;
            return ptr;
        }
    }
    void *p = arena_raw(a, new_size);
    memcpy(p, ptr, old_size);
    return p;
}

char *myna_arena_strndup(struct myna_arena *a, const char *s, size_t n)
{
    char *p = arena_raw(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *myna_arena_strdup(struct myna_arena *a, const char *s)
{
    return myna_arena_strndup(a, s, strlen(s));
}

char *myna_arena_vprintf(struct myna_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        fprintf(stderr, "myna: bad format string \"%s\"\n", fmt);
        abort();
    }
    char *p = arena_raw(a, (size_t)n + 1);
    if ((size_t)n < sizeof(small))
        memcpy(p, small, (size_t)n + 1);
    else
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *myna_arena_printf(struct myna_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = myna_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

size_t myna_arena_used(const struct myna_arena *a)
{
    return a->used;
}
