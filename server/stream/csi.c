/* server/stream/csi.c — see csi.h. Held entries own a copy of the sender's JID and a
 * reference to the serialized presence. */
#include "server/stream/csi.h"

#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/net/wbuf.h"

#define NS_CSI "urn:xmpp:csi:0"
#define CSI_MAX_HELD 256

struct csi_held {
    char *from;       /* the sender's full JID */
    struct wbuf *buf; /* its latest presence, serialized */
    struct csi_held *next;
};

void csi_flush(struct csi *x, csi_write_fn write, void *ud)
{
    struct csi_held *h = x->held;
    x->held = NULL;
    while (h) {
        struct csi_held *n = h->next;
        if (write)
            write(ud, h->buf);
        wbuf_unref(h->buf);
        free(h->from);
        free(h);
        h = n;
    }
}

void csi_clear(struct csi *x)
{
    csi_flush(x, NULL, NULL);
}

bool csi_hold(struct csi *x, struct wbuf *b)
{
    if (b->len < 9 || memcmp(b->data, "<presence", 9) != 0)
        return false;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_parse(a, b->data, b->len, MYNA_NS_CLIENT);
    const char *type = p ? myna_xml_attr(p, "type") : NULL;
    const char *from = p ? myna_xml_attr(p, "from") : NULL;
    bool hold = p && from && (!type || strcmp(type, "unavailable") == 0);
    size_t n = 0;
    struct csi_held **pp = &x->held;
    for (; hold && *pp; pp = &(*pp)->next, n++) {
        if (strcmp((*pp)->from, from) == 0) { /* newer presence replaces the held one */
            wbuf_unref((*pp)->buf);
            (*pp)->buf = wbuf_ref(b);
            myna_arena_free(a);
            return true;
        }
    }
    if (hold && n < CSI_MAX_HELD) {
        struct csi_held *h = xcalloc(1, sizeof *h);
        h->from = xstrdup(from);
        h->buf = wbuf_ref(b);
        *pp = h;
    } else {
        hold = false;
    }
    myna_arena_free(a);
    return hold;
}

bool csi_element(struct csi *x, const struct myna_xml *el, csi_write_fn write, void *ud)
{
    if (strcmp(el->ns, NS_CSI) != 0)
        return false;
    if (strcmp(el->name, "inactive") == 0) {
        x->inactive = true;
    } else if (strcmp(el->name, "active") == 0) {
        x->inactive = false;
        csi_flush(x, write, ud);
    } else {
        return false;
    }
    return true;
}
