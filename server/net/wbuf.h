/* server/net/wbuf.h — a refcounted, immutable byte buffer: what every write queue holds. A
 * stanza is serialized once into one wbuf and every recipient's queue (and a XEP-0198
 * queue, a held XEP-0352 presence) takes a reference to the same bytes. Loop thread only. */
#ifndef MYNA_WBUF_H
#define MYNA_WBUF_H

#include <stddef.h>

struct myna_xml;

struct wbuf {
    unsigned refs;
    size_t len;
    char data[];
};

/* A new buffer (one reference) holding a copy of data. */
struct wbuf *wbuf_new(const void *data, size_t len);
/* A new buffer holding el serialized with `default_ns` as the stream's default namespace. */
struct wbuf *wbuf_serialize(const struct myna_xml *el, const char *default_ns);
struct wbuf *wbuf_ref(struct wbuf *b);
/* Frees the thread's serialization scratch (exit path). */
void wbuf_thread_cleanup(void);
/* Drops a reference (NULL is allowed); the last one frees. */
void wbuf_unref(struct wbuf *b);
/* A new buffer holding shared[0, split) + piece + shared[split, len). */
struct wbuf *wbuf_splice(const struct wbuf *shared, size_t split, const char *piece,
                         size_t plen);

#endif
