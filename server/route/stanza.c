/* server/route/stanza.c — stanza parsing into struct myna_stanza, and the RFC 6120 error tables
 * (§8.3.3 stanza error conditions with their default types). Errors are data: one row per
 * condition. */
#include "server/route/stanza.h"

#include <string.h>

#include "server/base/log.h"
#include "server/route/router.h"
#include "server/server.h"

struct error_row {
    const char *condition;
    const char *type;
};

/* RFC 6120 §8.3.3: each condition with the error type the RFC shows for it. */
static const struct error_row error_rows[MYNA_ERR__COUNT] = {
    [MYNA_ERR_BAD_REQUEST] = {"bad-request", "modify"},
    [MYNA_ERR_CONFLICT] = {"conflict", "cancel"},
    [MYNA_ERR_FEATURE_NOT_IMPLEMENTED] = {"feature-not-implemented", "cancel"},
    [MYNA_ERR_FORBIDDEN] = {"forbidden", "auth"},
    [MYNA_ERR_GONE] = {"gone", "cancel"},
    [MYNA_ERR_INTERNAL_SERVER_ERROR] = {"internal-server-error", "cancel"},
    [MYNA_ERR_ITEM_NOT_FOUND] = {"item-not-found", "cancel"},
    [MYNA_ERR_JID_MALFORMED] = {"jid-malformed", "modify"},
    [MYNA_ERR_NOT_ACCEPTABLE] = {"not-acceptable", "modify"},
    [MYNA_ERR_NOT_ALLOWED] = {"not-allowed", "cancel"},
    [MYNA_ERR_NOT_AUTHORIZED] = {"not-authorized", "auth"},
    [MYNA_ERR_POLICY_VIOLATION] = {"policy-violation", "modify"},
    [MYNA_ERR_RECIPIENT_UNAVAILABLE] = {"recipient-unavailable", "wait"},
    [MYNA_ERR_REDIRECT] = {"redirect", "modify"},
    [MYNA_ERR_REGISTRATION_REQUIRED] = {"registration-required", "auth"},
    [MYNA_ERR_REMOTE_SERVER_NOT_FOUND] = {"remote-server-not-found", "cancel"},
    [MYNA_ERR_REMOTE_SERVER_TIMEOUT] = {"remote-server-timeout", "wait"},
    [MYNA_ERR_RESOURCE_CONSTRAINT] = {"resource-constraint", "wait"},
    [MYNA_ERR_SERVICE_UNAVAILABLE] = {"service-unavailable", "cancel"},
    [MYNA_ERR_SUBSCRIPTION_REQUIRED] = {"subscription-required", "auth"},
    [MYNA_ERR_UNDEFINED_CONDITION] = {"undefined-condition", "cancel"},
    [MYNA_ERR_UNEXPECTED_REQUEST] = {"unexpected-request", "wait"},
};

const char *myna_error_condition(enum myna_error e)
{
    return (unsigned)e < MYNA_ERR__COUNT ? error_rows[e].condition : "undefined-condition";
}

const char *myna_error_type(enum myna_error e)
{
    return (unsigned)e < MYNA_ERR__COUNT ? error_rows[e].type : "cancel";
}

static const char *default_type(enum myna_stanza_kind k)
{
    switch (k) {
    case MYNA_MESSAGE:
        return "normal";
    case MYNA_PRESENCE:
        return "available";
    case MYNA_IQ:
        return "";
    }
    return "";
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

int stanza_init(struct stanza_ctx *ctx, struct server *srv, struct myna_xml *el,
                const struct myna_jid *from, struct myna_session *origin,
                enum myna_error *err)
{
    static const char *const iq_types[] = {"get", "set", "result", "error", NULL};
    static const char *const presence_types[] = {"unavailable", "subscribe", "subscribed",
                                                 "unsubscribe", "unsubscribed", "probe",
                                                 "error", NULL};
    static const char *const message_types[] = {"chat", "error", "groupchat", "headline",
                                                "normal", NULL};
    memset(ctx, 0, sizeof *ctx);
    struct myna_stanza *st = &ctx->pub;
    ctx->srv = srv;
    st->xml = el;
    st->arena = el->arena;
    st->origin = origin;
    if (strcmp(el->name, "message") == 0)
        st->kind = MYNA_MESSAGE;
    else if (strcmp(el->name, "presence") == 0)
        st->kind = MYNA_PRESENCE;
    else
        st->kind = MYNA_IQ;
    st->id = myna_xml_attr(el, "id");
    const char *type = myna_xml_attr(el, "type");
    st->type = type ? type : default_type(st->kind);

    if (from)
        st->from = *from;
    else {
        const char *f = myna_xml_attr(el, "from");
        if (!f || myna_jid_parse(st->arena, f, &st->from) < 0) {
            *err = MYNA_ERR_JID_MALFORMED;
            return -1;
        }
    }
    const char *to = myna_xml_attr(el, "to");
    if (to) {
        st->has_to = true;
        if (myna_jid_parse(st->arena, to, &st->to) < 0) {
            *err = MYNA_ERR_JID_MALFORMED;
            return -1;
        }
    } else {
        /* RFC 6120 §10.3: no 'to' means the sender's own account. */
        myna_jid_to_bare(&st->from, &st->to);
    }

    switch (st->kind) {
    case MYNA_IQ:
        /* RFC 6120 §8.2.3: id and a known type are required; get/set carry one child. */
        if (!st->id || !type || !one_of(type, iq_types)) {
            *err = MYNA_ERR_BAD_REQUEST;
            return -1;
        }
        if (strcmp(type, "get") == 0 || strcmp(type, "set") == 0) {
            struct myna_xml *c = myna_xml_first_element(el);
            if (!c || myna_xml_find_next(c, NULL, NULL)) {
                *err = MYNA_ERR_BAD_REQUEST;
                return -1;
            }
        }
        break;
    case MYNA_PRESENCE:
        if (type && !one_of(type, presence_types)) {
            *err = MYNA_ERR_BAD_REQUEST;
            return -1;
        }
        break;
    case MYNA_MESSAGE:
        /* RFC 6121 §5.2.2: an unknown type is treated as normal. */
        if (type && !one_of(type, message_types))
            st->type = "normal";
        break;
    }
    return 0;
}

static struct myna_xml *add_error(struct myna_xml *r, enum myna_error e)
{
    struct myna_xml *er = myna_xml_add_child(r, MYNA_NS_CLIENT, "error");
    myna_xml_set_attr(er, "type", myna_error_type(e));
    myna_xml_add_child(er, MYNA_NS_STANZAS, myna_error_condition(e));
    return er;
}

struct myna_xml *stanza_error_element(const struct myna_xml *el, const char *to,
                                      enum myna_error e)
{
    struct myna_xml *r = myna_xml_new(el->arena, MYNA_NS_CLIENT, el->name);
    const char *id = myna_xml_attr(el, "id");
    if (id)
        myna_xml_set_attr(r, "id", id);
    myna_xml_set_attr(r, "type", "error");
    if (to)
        myna_xml_set_attr(r, "to", to);
    add_error(r, e);
    return r;
}

struct myna_xml *myna_error_reply(struct myna_stanza *st, enum myna_error e, const char *text)
{
    if (strcmp(st->type, "error") == 0 ||
        (st->kind == MYNA_IQ && strcmp(st->type, "result") == 0))
        return NULL;
    struct myna_arena *a = st->arena;
    struct myna_xml *r = myna_xml_new(a, MYNA_NS_CLIENT, st->xml->name);
    if (st->id)
        myna_xml_set_attr(r, "id", st->id);
    myna_xml_set_attr(r, "type", "error");
    myna_xml_set_attr(r, "from", st->has_to ? st->to.full : st->to.bare);
    myna_xml_set_attr(r, "to", st->from.full);
    /* RFC 6120 §8.3.1: the error may include the original payload; iq replies keep it so
     * clients can match the query, messages keep theirs for context. */
    for (struct myna_xml *c = st->xml->children; c; c = c->next)
        if (c->type == MYNA_XML_ELEMENT && !myna_xml_is(c, MYNA_NS_CLIENT, "error"))
            myna_xml_add_copy(r, c);
    struct myna_xml *er = add_error(r, e);
    if (text) {
        struct myna_xml *t = myna_xml_add_child(er, MYNA_NS_STANZAS, "text");
        myna_xml_add_text(t, text, strlen(text));
    }
    return r;
}

void myna_reply_error(struct myna_stanza *st, enum myna_error e, const char *text)
{
    struct stanza_ctx *ctx = STANZA_CTX(st);
    if (st->kind == MYNA_IQ && ctx->answered) {
        log_warn("router", "second answer to iq id=%s dropped", st->id ? st->id : "");
        return;
    }
    ctx->answered = true;
    struct myna_xml *r = myna_error_reply(st, e, text);
    if (r)
        stanza_send(ctx->srv, r);
}

enum myna_error myna_error_from_store(int err)
{
    return err == MYNA_STORE_FULL ? MYNA_ERR_RESOURCE_CONSTRAINT
                                  : MYNA_ERR_INTERNAL_SERVER_ERROR;
}

void stanza_check_unit(struct stanza_ctx *ctx)
{
    int err = myna_store_env_unit_error(ctx->srv->store);
    if (err == 0 || ctx->answered)
        return;
    /* A full store is logged by the store itself, rate-limited: not once per stanza. */
    log_msg(err == MYNA_STORE_FULL ? MYNA_LOG_DEBUG : MYNA_LOG_WARN, "router",
            "a %s from %s failed: %s", ctx->pub.xml->name, ctx->pub.from.full,
            myna_store_strerror(err));
    myna_reply_error(&ctx->pub, myna_error_from_store(err), NULL);
}

void stanza_send(struct server *srv, struct myna_xml *el)
{
    struct stanza_ctx ctx;
    enum myna_error err;
    if (stanza_init(&ctx, srv, el, NULL, NULL, &err) < 0) {
        log_warn("router", "dropping server-built stanza with bad addressing: %s",
                 myna_xml_to_string(el, MYNA_NS_CLIENT));
        return;
    }
    router_route(srv, &ctx);
}
