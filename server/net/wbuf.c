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
    memcpy(b->data, data, len);
    return b;
}

struct wbuf *wbuf_serialize(const struct myna_xml *el, const char *default_ns)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, default_ns, &b);
    struct wbuf *w = wbuf_new(b.data, b.len);
    myna_buf_free(&b);
    return w;
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
