/* modules/push/module.c — push notifications (XEP-0357): enable and disable by the account
 * itself (§5, §6; iq set to its bare JID), the account feature urn:xmpp:push:0 (§4.1), and
 * the triggers: a message worth a notification (a body, an encrypted payload, a call) for
 * a local account none of whose sessions is on a stream: seen in the MESSAGE_OFFLINE hook
 * before offline storage takes it when no session is left, and in the DELIVER hook when it
 * goes to a session XEP-0198 holds for resumption (its client sees nothing until it
 * resumes, typically a phone that the notification wakes up).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/dataform.h"
#include "push.h"

#define NS_OMEMO_OLD "eu.siacs.conversations.axolotl"
#define NS_OMEMO "urn:xmpp:omemo:2"
#define NS_JINGLE_MESSAGE "urn:xmpp:jingle-message:0"
#define MAX_OPTION_BYTES 4096 /* a stored publish-options form */

static const struct myna_option push_options[] = {
    {"max_devices", MYNA_OPT_INT, "16", 1, 1000,
     "app servers (push service JID and node) one account may enable"},
    {"include_body", MYNA_OPT_BOOL, "false", 0, 0,
     "send the message body to app servers (last-message-body); off: sender and count only"},
    {"max_body", MYNA_OPT_INT, "256", 1, 4096, "bytes of a body sent when include_body"},
    {.type = MYNA_OPT_END},
};

static struct push *ctx(struct myna_module *m)
{
    return myna_module_data(m);
}

/* ---- enable / disable (§5, §6) ---- */

/* Only the account itself configures its push (RFC 6120 §10.3.3: no 'to' or its JID). */
static bool own_account(const struct myna_stanza *st)
{
    return st->origin && strcmp(st->to.bare, st->from.bare) == 0;
}

/* The 'jid' attribute: a JID that is not the account itself. Answers and returns NULL
 * when it is missing or unusable. */
static const char *service_jid(struct myna_stanza *st, const struct myna_xml *el)
{
    const char *s = myna_xml_attr(el, "jid");
    struct myna_jid j;
    if (!s) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "the 'jid' attribute is required");
        return NULL;
    }
    if (myna_jid_parse(st->arena, s, &j) < 0) {
        myna_reply_error(st, MYNA_ERR_JID_MALFORMED, NULL);
        return NULL;
    }
    if (strcmp(j.bare, st->from.bare) == 0) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "not the account itself");
        return NULL;
    }
    return j.full;
}

/* The publish-options form of an enable (§5), checked; NULL when there is none. Sets
 * *bad (after answering) when there is one that cannot be used. */
static const struct myna_xml *enable_options(struct myna_stanza *st, const struct myna_xml *el,
                                             bool *bad)
{
    *bad = false;
    struct myna_xml *x = df_find(el);
    if (!x)
        return NULL;
    struct dataform f;
    if (df_parse(x, &f, 32, 16) < 0 || strcmp(f.type, "submit") != 0 || !f.form_type ||
        strcmp(f.form_type, FORM_PUBLISH_OPTIONS) != 0) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST,
                         "publish options are a submitted " FORM_PUBLISH_OPTIONS " form");
        *bad = true;
        return NULL;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(x, MYNA_NS_CLIENT, &b);
    size_t len = b.len;
    myna_buf_free(&b);
    if (len > MAX_OPTION_BYTES) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "publish options too large");
        *bad = true;
        return NULL;
    }
    return x;
}

static int enable_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct push *p = ctx(m);
    const struct myna_xml *el = myna_xml_first_element(st->xml);
    if (!own_account(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    const char *jid = service_jid(st, el);
    if (!jid)
        return 0;
    const char *node = myna_xml_attr(el, "node");
    if (!node)
        node = "";
    if (strlen(jid) + strlen(node) > push_key_room(st->from.bare)) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "jid and node too long");
        return 0;
    }
    bool bad;
    const struct myna_xml *options = enable_options(st, el, &bad);
    if (bad)
        return 0;
    /* §5: enabling the same JID and node again replaces its options. */
    if (!push_device_exists(p, st->from.bare, jid, node)) {
        size_t n;
        push_devices(p, st->from.bare, st->arena, &n);
        if ((long long)n >= p->max_devices) {
            myna_reply_error(st, MYNA_ERR_RESOURCE_CONSTRAINT, "too many push services");
            return 0;
        }
    }
    int rc = push_device_put(p, st->from.bare, jid, node, options);
    if (rc != 0) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return 0;
    }
    myna_log(m, MYNA_LOG_INFO, "%s enabled push to %s (node %s)", st->from.full, jid, node);
    myna_iq_result(st, NULL);
    return 0;
}

static int disable_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    const struct myna_xml *el = myna_xml_first_element(st->xml);
    if (!own_account(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    const char *jid = service_jid(st, el);
    if (!jid)
        return 0;
    /* §6: without a node, every node of that service. */
    const char *node = myna_xml_attr(el, "node");
    int rc = push_device_del(ctx(m), st->from.bare, jid, node);
    if (rc != 0) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return 0;
    }
    myna_log(m, MYNA_LOG_INFO, "%s disabled push to %s%s%s", st->from.full, jid,
             node ? " node " : "", node ? node : "");
    myna_iq_result(st, NULL);
    return 0;
}

/* ---- triggers ---- */

/* What deserves waking a phone: text, an encrypted message (OMEMO, whose body is only a
 * fallback), or a call being proposed (XEP-0353). Chat states and receipts do not. */
static bool worth_notifying(const struct myna_xml *msg)
{
    return myna_xml_find(msg, MYNA_NS_CLIENT, "body") ||
           myna_xml_find(msg, NS_OMEMO_OLD, "encrypted") ||
           myna_xml_find(msg, NS_OMEMO, "encrypted") ||
           myna_xml_find(msg, NS_JINGLE_MESSAGE, "propose");
}

static void count_attached(struct myna_session *s, void *data)
{
    if (!myna_session_detached(s))
        ++*(size_t *)data;
}

/* No session of the account is on a stream (a bound session that is not available yet is
 * still connected, and gets its messages when it sends presence; a held one is not). */
static bool account_unreachable(struct myna_module *m, const struct myna_jid *bare)
{
    size_t attached = 0;
    myna_user_sessions(m, bare, count_attached, &attached);
    return attached == 0;
}

/* A body cut to max_body bytes on a UTF-8 character boundary, in `a`. */
static const char *body_summary(struct push *p, struct myna_arena *a, const char *body)
{
    size_t n = strlen(body);
    if (n <= (size_t)p->max_body)
        return body;
    n = (size_t)p->max_body;
    while (n > 0 && ((unsigned char)body[n] & 0xC0) == 0x80)
        n--;
    return myna_arena_strndup(a, body, n);
}

/* Notifies every device of the message's recipient. The entry point for every trigger. */
static void notify_message(struct push *p, struct myna_stanza *st)
{
    struct myna_jid bare;
    myna_jid_to_bare(&st->to, &bare);
    size_t n;
    struct push_device *devs = push_devices(p, bare.bare, st->arena, &n);
    if (n == 0)
        return;
    struct push_summary sum = {.sender = st->from.full};
    const char *body = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "body");
    if (p->include_body && body)
        sum.body = body_summary(p, st->arena, body);
    sum.count = push_count_bump(p, bare.bare);
    push_notify(p, bare.bare, devs, &sum);
}

/* Above offline storage (0), which takes the message; this one only looks. */
static enum myna_verdict on_offline(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct myna_jid bare;
    myna_jid_to_bare(&st->to, &bare);
    /* A message routed again after its session ended was on that client's wire already
     * (and notified while the session was held). */
    if (worth_notifying(st->xml) && !myna_stanza_rerouted(st) && account_unreachable(m, &bare))
        notify_message(ctx(m), st);
    return MYNA_PASS;
}

/* A message for a held session waits unseen: wake the client up (only while no session
 * of the account is on a stream, as for offline messages). Carbon copies carry their
 * body inside <forwarded/> and do not count. */
static enum myna_verdict on_deliver(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct myna_session *target = myna_hook_target(st);
    if (st->kind != MYNA_MESSAGE || !target || !myna_session_detached(target) ||
        strcmp(st->type, "error") == 0 || strcmp(st->type, "groupchat") == 0 ||
        !worth_notifying(st->xml))
        return MYNA_PASS;
    struct myna_jid bare;
    myna_jid_to_bare(&st->to, &bare);
    if (account_unreachable(m, &bare))
        notify_message(ctx(m), st);
    return MYNA_PASS;
}

static void on_bound(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    push_count_reset(ctx(m), ev->user->bare); /* the user is back: counting starts over */
}

static void on_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    (void)data;
    push_forget_user(ctx(m), ev->user->bare);
}

static int push_load(struct myna_module *m)
{
    struct push *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->m = m;
    myna_module_set_data(m, p);
    p->store = myna_module_store(m, "push");
    p->max_devices = myna_opt_int(m, "max_devices");
    p->include_body = myna_opt_bool(m, "include_body");
    p->max_body = myna_opt_int(m, "max_body");
    if (!p->store ||
        myna_iq_register(m, MYNA_IQ_SET, NS_PUSH, "enable", MYNA_IQ_TO_USER, enable_iq, NULL) <
            0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_PUSH, "disable", MYNA_IQ_TO_USER, disable_iq,
                         NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_MESSAGE_OFFLINE, 10, on_offline, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_DELIVER, 60, on_deliver, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_BOUND, on_bound, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_SESSION_RESUMED, on_bound, NULL) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_deleted, NULL) < 0)
        return -1;
    return myna_disco_user_feature(m, NS_PUSH);
}

static void push_unload(struct myna_module *m)
{
    struct push *p = ctx(m);
    if (!p)
        return;
    push_flights_free(p);
    free(p);
}

MYNA_MODULE_DEFINE(.name = "push", .description = "Push notifications (XEP-0357)",
                   .options = push_options, .load = push_load, .unload = push_unload);
