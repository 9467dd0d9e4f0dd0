/* server/net/wbuf.c — see wbuf.h. */
#include "server/net/wbuf.h"

#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "server/base/log.h"

struct wbuf *wbuf_new(const void *data, size_t len)
{
    struct wbuf *b = xmalloc(sizeof *b + len);
    b->refs = 1;
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    return b;
}

/* The serialization scratch of the loop thread: kept between stanzas (no allocation and
 * regrowth per stanza), released when a large stanza made it big. */
static _Thread_local struct myna_buf scratch;
#define SCRATCH_KEEP 65536

struct wbuf *wbuf_serialize(const struct myna_xml *el, const char *default_ns)
{
    scratch.len = 0;
    myna_xml_serialize(el, default_ns, &scratch);
    struct wbuf *w = wbuf_new(scratch.data, scratch.len);
    if (scratch.cap > SCRATCH_KEEP)
        myna_buf_free(&scratch);
    return w;
}

void wbuf_thread_cleanup(void)
{
    myna_buf_free(&scratch);
}

struct wbuf *wbuf_ref(struct wbuf *b)
{
    b->refs++;
    return b;
}

void wbuf_unref(struct wbuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

struct wbuf *wbuf_splice(const struct wbuf *shared, size_t split, const char *piece,
                         size_t plen)
{
    struct wbuf *w = xmalloc(sizeof *w + shared->len + plen);
    w->refs = 1;
    w->len = shared->len + plen;
    memcpy(w->data, shared->data, split);
    memcpy(w->data + split, piece, plen);
    memcpy(w->data + split + plen, shared->data + split, shared->len - split);
    return w;
}
