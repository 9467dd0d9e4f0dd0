/* xml/arena.h — arenas whose first block the caller provides (inside the core only).
 *
 * A tree kept for long (a session's last presence) is copied into an arena of exactly its
 * size, allocated where long-lived objects live (server/loop/pool.c), so that it does not pin
 * a page of the malloc heap where handshakes and parsers churn. The public API is
 * include/myna/xml.h; myna_arena_free works on these arenas too.
 */
#ifndef MYNA_XML_ARENA_H
#define MYNA_XML_ARENA_H

#include <stddef.h>

struct myna_arena;

/* Bytes of a first block that holds `used` bytes of allocations (myna_arena_used of an
 * arena that made the same allocations) and the arena header. */
size_t xml_arena_block_size(size_t used);
/* An arena in `block` (size bytes, at least xml_arena_block_size(0), aligned for any type);
 * myna_arena_free hands the block back with release(block, size), NULL meaning free(). */
struct myna_arena *xml_arena_new_in(void *block, size_t size, void (*release)(void *, size_t));

#endif
