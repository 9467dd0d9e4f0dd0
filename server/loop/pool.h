/* server/loop/pool.h — a size-class allocator for small objects that live as long as a session
 * (stream, connection, session, TLS keys, table entries). Keeping them together, away from
 * the malloc heap where handshakes and parsers churn, lets freed handshake memory come back
 * to the system in whole pages: idle memory per session stays near what is really held.
 * Loop thread only. Sizes up to POOL_MAX; larger requests fall back to malloc. */
#ifndef MYNA_POOL_H
#define MYNA_POOL_H

#include <stddef.h>

#define POOL_MAX 1024

/* Zeroed memory of n bytes; aborts on failure. */
void *pool_alloc(size_t n);
/* Frees p, which was allocated with the same n. NULL is allowed. */
void pool_free(void *p, size_t n);
char *pool_strdup(const char *s);
void pool_strfree(char *s);
/* Bytes in slabs (for statistics). */
size_t pool_bytes(void);

#endif
