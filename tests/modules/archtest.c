/* tests/modules/archtest.c — a test-only module that uses the archive service
 * (myna/archive.h) the way a MUC service will: it claims rooms.HOST, where every JID is a
 * "room" with its own archive (owner = the room's bare JID).
 *   groupchat message with a body to a room: appended (from room/sender-node, no 'to',
 *     'with' = the sender's bare JID) and the element append marked with
 *     <stanza-id by=ROOM/> reflected to the sender;
 *   chat message "history N [SINCE_MS]" to a room: the service's history read, each item
 *     sent back as a groupchat message with a XEP-0203 delay and its stanza-id;
 *   chat message "import STAMP_MS TEXT" to a room: TEXT imported as a groupchat message
 *     archived at STAMP_MS (version 2), reflected like an append;
 *   iq in urn:xmpp:mam:2 to a room: answered by the service's query, each result marked
 *     with a muc#user <x><item jid=WITH/></x> by the result callback;
 *   iq set <destroy xmlns='urn:myna:test:archive'/>: the room's archive removed;
 *   iq set <retract xmlns='urn:myna:test:archive' id=ID/>: that message replaced by a
 *     tombstone (as XEP-0425 moderation does), item-not-found for an unknown id;
 *   iq get <get xmlns='urn:myna:test:archive' id=ID/>: the archived message in the result
 *     (version 2's get), item-not-found for an unknown id.
 * Every other iq get/set is answered service-unavailable. Built only for `make check`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/archive.h"
#include "myna/module.h"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_TEST "urn:myna:test:archive"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"

static const struct myna_archive_service *service(struct myna_module *m)
{
    const struct myna_archive_service *s = myna_service_get(m, MYNA_ARCHIVE_SERVICE);
    return s && s->version >= 1 ? s : NULL;
}

static void add_sid(struct myna_xml *msg, const char *by, const char *id)
{
    struct myna_xml *sid = myna_xml_add_child(msg, "urn:xmpp:sid:0", "stanza-id");
    myna_xml_set_attr(sid, "by", by);
    myna_xml_set_attr(sid, "id", id);
}

/* Archives a copy of the message (append, or import at `stamp_ms` when nonzero) and
 * reflects it to the sender. */
static void groupchat(struct myna_module *m, struct myna_stanza *st,
                      const struct myna_archive_service *svc, uint64_t stamp_ms,
                      const char *text)
{
    struct myna_xml *copy = myna_xml_copy(st->arena, st->xml);
    myna_xml_set_attr(copy, "from", myna_arena_printf(st->arena, "%s/%s", st->to.bare,
                                                      st->from.node ? st->from.node : "x"));
    myna_xml_set_attr(copy, "to", NULL); /* stored without 'to' (XEP-0313 §5.1.2) */
    myna_xml_set_attr(copy, "type", "groupchat");
    if (text) {
        struct myna_xml *body = myna_xml_find(copy, MYNA_NS_CLIENT, "body");
        myna_xml_remove(body);
        myna_xml_add_text(myna_xml_add_child(copy, NULL, "body"), text, strlen(text));
    }
    char id[MYNA_ARCHIVE_ID_SIZE];
    int rc = stamp_ms ? (svc->version >= 2 ? svc->import(svc, st->to.bare, st->from.bare, copy,
                                                          stamp_ms, id)
                                           : MYNA_STORE_ERROR)
                      : svc->append(svc, st->to.bare, st->from.bare, copy, id);
    if (rc != 0 || !id[0]) {
        myna_reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, "append failed");
        return;
    }
    /* append added <stanza-id by=room/>: reflect the same element. */
    myna_xml_set_attr(copy, "to", st->from.full);
    myna_send(m, copy);
}

struct hist {
    struct myna_module *m;
    struct myna_stanza *st;
};

static int history_item(const struct myna_archive_item *item, void *data)
{
    struct hist *h = data;
    struct myna_xml *msg = myna_xml_copy(h->st->arena, item->message);
    myna_xml_set_attr(msg, "to", h->st->from.full);
    time_t t = (time_t)(item->stamp_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct myna_xml *d = myna_xml_add_child(msg, "urn:xmpp:delay", "delay");
    myna_xml_set_attr(d, "stamp", stamp);
    myna_xml_set_attr(d, "from", item->with);
    add_sid(msg, h->st->to.bare, item->id);
    myna_send(h->m, msg);
    return 0;
}

static void history(struct myna_module *m, struct myna_stanza *st, const char *body,
                    const struct myna_archive_service *svc)
{
    unsigned long max = 0;
    unsigned long long since = 0;
    if (sscanf(body, "history %lu %llu", &max, &since) < 1)
        return;
    struct hist h = {m, st};
    svc->history(svc, st->to.bare, max, since, history_item, &h);
    /* A marker after the history, so a test knows it is complete. */
    struct myna_xml *end = myna_xml_new(st->arena, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(end, "from", st->to.bare);
    myna_xml_set_attr(end, "to", st->from.full);
    myna_xml_set_attr(end, "type", "chat");
    myna_xml_add_text(myna_xml_add_child(end, NULL, "subject"), "end of history", 14);
    myna_send(m, end);
}

/* The result callback: what a MUC adds for a non-anonymous room (XEP-0313 §5.1.2). */
static void mark_result(struct myna_xml *result, const struct myna_archive_item *item,
                        void *data)
{
    struct myna_xml *x = myna_xml_add_child(item->message, NS_MUC_USER, "x");
    myna_xml_set_attr(myna_xml_add_child(x, NULL, "item"), "jid", item->with);
}

/* get's callback: the item's message (with its id and stamp as attributes) into `data`. */
static int copy_item(const struct myna_archive_item *item, void *data)
{
    struct myna_xml *res = data;
    myna_xml_set_attr(res, "id", item->id);
    myna_xml_set_attrf(res, "stamp", "%llu", (unsigned long long)item->stamp_ms);
    myna_xml_add_copy(res, item->message);
    return 0;
}

static void room_iq(struct myna_module *m, struct myna_stanza *st,
                    const struct myna_archive_service *svc)
{
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    if (q && strcmp(q->ns, NS_MAM) == 0) {
        svc->query(svc, st, st->to.bare, mark_result, NULL);
        return;
    }
    if (q && strcmp(st->type, "set") == 0 && myna_xml_is(q, NS_TEST, "destroy")) {
        if (svc->remove(svc, st->to.bare) == 0)
            myna_iq_result(st, NULL);
        else
            myna_reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    if (q && strcmp(st->type, "get") == 0 && myna_xml_is(q, NS_TEST, "get") &&
        svc->version >= 2) {
        struct myna_xml *res = myna_xml_new(st->arena, NS_TEST, "get");
        if (svc->get(svc, st->to.bare, myna_xml_attr(q, "id"), copy_item, res) == 0)
            myna_iq_result(st, res);
        else
            myna_reply_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL);
        return;
    }
    if (q && strcmp(st->type, "set") == 0 && myna_xml_is(q, NS_TEST, "retract")) {
        struct myna_xml *t = myna_xml_new(st->arena, MYNA_NS_CLIENT, "message");
        myna_xml_set_attr(t, "from", st->to.bare);
        myna_xml_set_attr(t, "type", "groupchat");
        myna_xml_add_child(t, "urn:xmpp:message-retract:1", "retracted");
        int rc = svc->replace(svc, st->to.bare, myna_xml_attr(q, "id"), t);
        if (rc == 0)
            myna_iq_result(st, NULL);
        else
            myna_reply_error(st, rc == MYNA_STORE_NOTFOUND ? MYNA_ERR_ITEM_NOT_FOUND
                                                           : MYNA_ERR_INTERNAL_SERVER_ERROR,
                             NULL);
        return;
    }
    myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
}

static void on_domain(struct myna_module *m, struct myna_stanza *st, void *data)
{
    bool request = st->kind == MYNA_IQ &&
                   (strcmp(st->type, "get") == 0 || strcmp(st->type, "set") == 0);
    const struct myna_archive_service *svc = service(m);
    if (!svc || !st->to.node) {
        if (request)
            myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    if (request) {
        room_iq(m, st, svc);
        return;
    }
    if (st->kind != MYNA_MESSAGE)
        return;
    const char *body = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "body");
    if (!body)
        return;
    unsigned long long stamp;
    int off = 0;
    if (strcmp(st->type, "groupchat") == 0)
        groupchat(m, st, svc, 0, NULL);
    else if (strcmp(st->type, "chat") == 0 && sscanf(body, "import %llu %n", &stamp, &off) == 1 &&
             off > 0)
        groupchat(m, st, svc, stamp, body + off);
    else if (strcmp(st->type, "chat") == 0)
        history(m, st, body, svc);
}

static void archtest_unload(struct myna_module *m)
{
    free(myna_module_data(m));
}

static int archtest_load(struct myna_module *m)
{
    char *domain = malloc(strlen(myna_module_host(m)) + 8);
    if (!domain)
        return -1;
    sprintf(domain, "rooms.%s", myna_module_host(m));
    myna_module_set_data(m, domain);
    return myna_subdomain_claim(m, domain, on_domain, NULL);
}

static const char *const archtest_deps[] = {"mam", NULL};

MYNA_MODULE_DEFINE(.name = "archtest", .description = "Archive service test rooms",
                   .depends = archtest_deps, .load = archtest_load, .unload = archtest_unload);
