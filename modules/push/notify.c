/* modules/push/notify.c — notifications to app servers (XEP-0357 §7): an iq set from the
 * host to the push service with a pubsub publish of <notification/> holding the
 * urn:xmpp:push:summary form (message-count, last-message-sender, last-message-body only
 * when the operator allows it, §10), and the publish options given at enable. An error
 * answer disables that device (§7.1); a timeout keeps it. One publish per device is in
 * flight at a time: what arrives meanwhile is sent as one more publish, with the count
 * then, after the answer, so a burst of messages costs the app server a few requests.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/dataform.h"
#include "push.h"

#define PUBLISH_TIMEOUT_MS 30000
#define MAX_FLIGHTS 100000 /* publishes in flight on one host; past it, notifications wait */

static char *dup_or_null(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

static struct push_flight *flight_find(struct push *p, const char *bare, const char *jid,
                                       const char *node)
{
    for (struct push_flight *f = p->flights; f; f = f->next)
        if (strcmp(f->bare, bare) == 0 && strcmp(f->jid, jid) == 0 &&
            strcmp(f->node, node) == 0)
            return f;
    return NULL;
}

static void flight_free(struct push *p, struct push_flight *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        p->flights = f->next;
    if (f->next)
        f->next->prev = f->prev;
    p->nflights--;
    free(f->bare);
    free(f->jid);
    free(f->node);
    free(f->sender);
    free(f->body);
    free(f);
}

static void flight_set_summary(struct push_flight *f, const struct push_summary *sum)
{
    free(f->sender);
    free(f->body);
    f->sender = dup_or_null(sum->sender);
    f->body = dup_or_null(sum->body);
}

static struct myna_xml *publish_iq(struct push *p, struct myna_arena *a, const char *jid,
                                   const char *node, const struct myna_xml *options,
                                   const struct push_summary *sum)
{
    struct myna_xml *iq = myna_xml_new(a, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(iq, "type", "set");
    myna_xml_set_attr(iq, "from", myna_module_host(p->m));
    myna_xml_set_attr(iq, "to", jid);
    struct myna_xml *ps = myna_xml_add_child(iq, NS_PUBSUB, "pubsub");
    struct myna_xml *pub = myna_xml_add_child(ps, NS_PUBSUB, "publish");
    if (*node)
        myna_xml_set_attr(pub, "node", node);
    struct myna_xml *item = myna_xml_add_child(pub, NS_PUBSUB, "item");
    struct myna_xml *n = myna_xml_add_child(item, NS_PUSH, "notification");
    struct myna_xml *x = df_new(n, "submit", FORM_SUMMARY, NULL);
    df_add_field(x, "message-count", NULL, NULL, myna_arena_printf(a, "%u", sum->count));
    if (sum->sender)
        df_add_field(x, "last-message-sender", NULL, NULL, sum->sender);
    if (sum->body)
        df_add_field(x, "last-message-body", NULL, NULL, sum->body);
    if (options) /* §7: the data given at enable, as publish options */
        myna_xml_add_copy(myna_xml_add_child(ps, NS_PUBSUB, "publish-options"), options);
    return iq;
}

static void publish(struct push *p, struct push_flight *f, const struct myna_xml *options,
                    const struct push_summary *sum);

/* The options stored for a device now (it may have been re-enabled meanwhile). */
static struct myna_xml *device_options(struct push *p, struct myna_arena *a,
                                       const struct push_flight *f, bool *found)
{
    size_t n;
    *found = false;
    for (struct push_device *d = push_devices(p, f->bare, a, &n); d; d = d->next) {
        if (strcmp(d->jid, f->jid) == 0 && strcmp(d->node, f->node) == 0) {
            *found = true;
            return d->options;
        }
    }
    return NULL;
}

static void answered(struct myna_module *m, struct myna_stanza *response, void *data)
{
    struct push *p = myna_module_data(m);
    struct push_flight *f = data;
    if (!response) {
        myna_log(m, MYNA_LOG_WARN, "push to %s (node %s) for %s: no answer", f->jid, f->node,
                 f->bare);
        myna_metric_add(m, "timeouts", 1);
    } else if (strcmp(response->type, "error") == 0) {
        /* §7.1: the app server refuses: this device is disabled. */
        myna_log(m, MYNA_LOG_INFO, "push to %s (node %s) for %s refused: disabled", f->jid,
                 f->node, f->bare);
        myna_metric_add(m, "refused", 1);
        push_device_del(p, f->bare, f->jid, f->node);
        flight_free(p, f);
        return;
    } else {
        myna_metric_add(m, "delivered", 1);
    }
    if (!f->again) {
        flight_free(p, f);
        return;
    }
    /* Messages arrived while this one was out: one more publish with the count now. */
    struct myna_arena *a = myna_arena_new();
    bool found;
    struct myna_xml *options = device_options(p, a, f, &found);
    if (!found) {
        flight_free(p, f); /* disabled meanwhile */
    } else {
        f->again = false;
        struct push_summary sum = {
            .sender = f->sender, .body = f->body, .count = push_count(p, f->bare)};
        publish(p, f, options, &sum);
    }
    myna_arena_free(a);
}

static void publish(struct push *p, struct push_flight *f, const struct myna_xml *options,
                    const struct push_summary *sum)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *iq = publish_iq(p, a, f->jid, f->node, options, sum);
    if (myna_iq_request(p->m, iq, PUBLISH_TIMEOUT_MS, answered, f) < 0) {
        myna_log(p->m, MYNA_LOG_WARN, "push to %s for %s: cannot send", f->jid, f->bare);
        flight_free(p, f);
    } else {
        myna_metric_add(p->m, "published", 1);
    }
    myna_arena_free(a);
}

void push_notify(struct push *p, const char *bare, const struct push_device *devs,
                 const struct push_summary *sum)
{
    for (const struct push_device *d = devs; d; d = d->next) {
        struct push_flight *f = flight_find(p, bare, d->jid, d->node);
        if (f) {
            f->again = true; /* sent when the app server has answered the one out */
            flight_set_summary(f, sum);
            continue;
        }
        if (p->nflights >= MAX_FLIGHTS) {
            myna_log(p->m, MYNA_LOG_WARN, "too many pushes in flight: %s not notified", bare);
            continue;
        }
        f = calloc(1, sizeof *f);
        if (!f)
            abort();
        f->bare = dup_or_null(bare);
        f->jid = dup_or_null(d->jid);
        f->node = dup_or_null(d->node);
        f->next = p->flights;
        if (f->next)
            f->next->prev = f;
        p->flights = f;
        p->nflights++;
        publish(p, f, d->options, sum);
    }
}

void push_flights_free(struct push *p)
{
    while (p->flights)
        flight_free(p, p->flights);
}
