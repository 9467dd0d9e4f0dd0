/* examples/echo/echo.c — an echo bot: claims the sub-domain echo.HOST and sends every chat
 * or normal message addressed there back to its sender, body unchanged. It answers
 * disco#info/#items for its domain (XEP-0030 §3.1, §4.1) and lists itself in the host's
 * disco#items; any other iq get/set gets service-unavailable (RFC 6120 §8.2.3: every
 * request gets exactly one answer). Errors, groupchat and presence are ignored.
 * Built out of tree: cc -shared -fPIC $(pkg-config --cflags myna-module) -o echo.so echo.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myna.h>

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

static const struct myna_option echo_options[] = {
    {.name = "subdomain", .type = MYNA_OPT_STRING, .def = "echo",
     .doc = "label put in front of the host name: echo -> echo.example.org"},
    {.name = "prefix", .type = MYNA_OPT_STRING, .def = "",
     .doc = "text put in front of every echoed body"},
    {.type = MYNA_OPT_END},
};

/* Sends a copy of the message's body back to the sender, from the echo domain. */
static void echo_message(struct myna_module *m, struct myna_stanza *st)
{
    const char *body = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "body");
    if (!body || (strcmp(st->type, "chat") != 0 && strcmp(st->type, "normal") != 0))
        return; /* no body, or error/groupchat/headline: never answer those */
    /* The reply lives in the stanza's arena: freed when this dispatch ends. */
    struct myna_xml *reply = myna_xml_new(st->arena, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(reply, "from", st->to.full);
    myna_xml_set_attr(reply, "to", st->from.full);
    myna_xml_set_attr(reply, "type", st->type);
    if (st->id)
        myna_xml_set_attr(reply, "id", st->id);
    struct myna_xml *b = myna_xml_add_child(reply, NULL, "body");
    const char *text = myna_arena_printf(st->arena, "%s%s", myna_opt_string(m, "prefix"), body);
    myna_xml_add_text(b, text, strlen(text));
    myna_send(m, reply); /* borrowed: the server serializes it before returning */
    myna_metric_add(m, "echoed", 1);
}

static void echo_iq(struct myna_stanza *st)
{
    if (strcmp(st->type, "get") != 0 && strcmp(st->type, "set") != 0)
        return; /* results and errors are never answered */
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    if (strcmp(st->type, "get") == 0 && !st->to.node && !st->to.resource &&
        myna_xml_is(q, NS_DISCO_INFO, "query") && !myna_xml_attr(q, "node")) {
        struct myna_xml *res = myna_iq_result_new(st);
        struct myna_xml *info = myna_xml_add_child(res, NS_DISCO_INFO, "query");
        struct myna_xml *id = myna_xml_add_child(info, NULL, "identity");
        myna_xml_set_attr(id, "category", "component");
        myna_xml_set_attr(id, "type", "generic");
        myna_xml_set_attr(id, "name", "Echo bot");
        myna_xml_set_attr(myna_xml_add_child(info, NULL, "feature"), "var", NS_DISCO_INFO);
        myna_iq_send_result(st, res);
        return;
    }
    if (strcmp(st->type, "get") == 0 && myna_xml_is(q, NS_DISCO_ITEMS, "query")) {
        struct myna_xml *res = myna_iq_result_new(st);
        myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
        myna_iq_send_result(st, res);
        return;
    }
    /* A claimed sub-domain gets every stanza, so the one-answer duty is ours here. */
    myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
}

/* Everything addressed to echo.HOST (or any JID at it) arrives here. */
static void echo_domain(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    switch (st->kind) {
    case MYNA_MESSAGE:
        echo_message(m, st);
        break;
    case MYNA_IQ:
        echo_iq(st);
        break;
    case MYNA_PRESENCE:
        break;
    }
}

static int echo_load(struct myna_module *m)
{
    /* Strings built here must outlive load(): keep the domain in a heap copy owned by
     * the module instance and freed in unload. */
    const char *label = myna_opt_string(m, "subdomain");
    size_t n = strlen(label) + 1 + strlen(myna_module_host(m)) + 1;
    char *domain = malloc(n);
    if (!domain)
        return -1;
    snprintf(domain, n, "%s.%s", label, myna_module_host(m));
    if (myna_subdomain_claim(m, domain, echo_domain, NULL) < 0) {
        free(domain); /* not kept as data yet, so unload() will not see it */
        return -1;    /* the server logged why */
    }
    myna_module_set_data(m, domain);
    myna_disco_item(m, domain, "Echo bot");
    myna_log(m, MYNA_LOG_INFO, "echoing messages sent to %s", domain);
    return 0;
}

static void echo_unload(struct myna_module *m)
{
    free(myna_module_data(m));
}

MYNA_MODULE_DEFINE(.name = "echo", .description = "Echo bot on echo.HOST",
                   .options = echo_options, .load = echo_load, .unload = echo_unload);
