/* server/stream/sm.c — see sm.h. */
#include "server/stream/sm.h"

#include <stdlib.h>

#include "server/base/log.h"
#include "server/net/wbuf.h"

struct sm *sm_new(void)
{
    return xcalloc(1, sizeof(struct sm));
}

void sm_free(struct sm *s)
{
    if (!s)
        return;
    for (struct sm_item *it = s->head, *n; it; it = n) {
        n = it->next;
        wbuf_unref(it->buf);
        free(it);
    }
    free(s);
}

void sm_sent(struct sm *s, struct wbuf *b)
{
    struct sm_item *it = xmalloc(sizeof *it);
    it->buf = wbuf_ref(b);
    it->next = NULL;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->len++;
    s->out++;
}

bool sm_ack(struct sm *s, uint32_t h)
{
    uint32_t n = h - s->acked; /* wraps at 2^32 as the counters do */
    if (n > s->len)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        struct sm_item *it = s->head;
        s->head = it->next;
        wbuf_unref(it->buf);
        free(it);
    }
    if (!s->head)
        s->tail = NULL;
    s->len -= n;
    s->acked = h;
    return true;
}

struct sm_item *sm_take(struct sm *s)
{
    struct sm_item *all = s->head;
    s->head = s->tail = NULL;
    s->len = 0;
    return all;
}
