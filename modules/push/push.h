/* modules/push/push.h — the push module: push notifications (XEP-0357). An account's
 * clients enable app servers (devices: a push service JID and node, with publish options);
 * when a message arrives for an account none of whose sessions exists any more, each
 * device's app server gets a pubsub publish with a summary (XEP-0357 §7).
 *   module.c   options, enable/disable (§5, §6), the triggers, discovery
 *   devices.c  the stored devices and the count of messages since the last session
 *   notify.c   building and sending publishes, their answers, one in flight per device
 */
#ifndef MYNA_MOD_PUSH_H
#define MYNA_MOD_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"

#define NS_PUSH "urn:xmpp:push:0"
#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define FORM_SUMMARY "urn:xmpp:push:summary"
#define FORM_PUBLISH_OPTIONS "http://jabber.org/protocol/pubsub#publish-options"

/* One enabled app server of an account. Strings in the arena of the listing. */
struct push_device {
    const char *jid;            /* the XMPP push service (§5 'jid') */
    const char *node;           /* "" when the client gave none */
    struct myna_xml *options;   /* the publish-options <x/> given at enable, or NULL */
    struct push_device *next;
};

/* What a notification says (§7): who wrote last, how many, and maybe what. */
struct push_summary {
    const char *sender;         /* full JID of the last sender */
    const char *body;           /* NULL unless include_body */
    uint32_t count;             /* messages since the account's last session */
};

/* A publish waiting for the app server's answer (one per device at a time). */
struct push_flight {
    char *bare, *jid, *node;
    bool again;                 /* more arrived meanwhile: publish again after the answer */
    char *sender, *body;        /* the latest summary for that next publish */
    struct push_flight *prev, *next;
};

struct push {
    struct myna_module *m;
    struct myna_store *store;   /* "push" */
    long long max_devices;
    bool include_body;
    long long max_body;
    struct push_flight *flights;
    size_t nflights;
};

/* ---- devices.c ---- */

/* The devices of `bare`, in `a` (NULL when none); *n gets their number. */
struct push_device *push_devices(struct push *p, const char *bare, struct myna_arena *a,
                                 size_t *n);
/* Adds or replaces (jid, node) with `options` (may be NULL). */
int push_device_put(struct push *p, const char *bare, const char *jid, const char *node,
                    const struct myna_xml *options);
/* Removes (jid, node), or every node of jid when node is NULL. */
int push_device_del(struct push *p, const char *bare, const char *jid, const char *node);
bool push_device_exists(struct push *p, const char *bare, const char *jid, const char *node);
/* The longest jid + node a key can hold for `bare`. */
size_t push_key_room(const char *bare);
/* The count of messages notified since the account's last session began. */
uint32_t push_count(struct push *p, const char *bare);
/* Adds one to the count of messages since the last session; returns the new count. */
uint32_t push_count_bump(struct push *p, const char *bare);
/* A session started: the count starts again. */
void push_count_reset(struct push *p, const char *bare);
/* Every key of the account. */
void push_forget_user(struct push *p, const char *bare);

/* ---- notify.c ---- */

/* Publishes `sum` to every device of `bare` (at most one publish in flight per device). */
void push_notify(struct push *p, const char *bare, const struct push_device *devs,
                 const struct push_summary *sum);
/* Frees what is in flight (the module unloads: no answer will come). */
void push_flights_free(struct push *p);

#endif
