/* examples/bot/bot.c — a bot at an address of the host itself, echo@HOST, that has no
 * account: it takes the stanzas the server would otherwise answer "no such user" for
 * through MYNA_HOOK_USER_UNKNOWN (API 1.1). It echoes chat/normal messages, accepts
 * presence subscriptions (RFC 6121 §3.1.3) and answers a probe, keeps one note per user
 * (urn:example:bot:note, stored under myna_store_key(user, "note") and acknowledged with
 * myna_store_on_durable once on disk), answers disco#info (XEP-0030 §3.1: client/bot),
 * and gives every other iq get/set exactly one service-unavailable (RFC 6120 §8.2.3).
 * Built out of tree: cc -shared -fPIC $(pkg-config --cflags myna-module) -o bot.so bot.c
 */
#include <stdlib.h>
#include <string.h>

#include <myna.h>

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_NOTE "urn:example:bot:note"

static const struct myna_option bot_options[] = {
    {.name = "node", .type = MYNA_OPT_STRING, .def = "echo",
     .doc = "local part of the bot's address: echo -> echo@example.org"},
    {.type = MYNA_OPT_END},
};

struct bot {
    char *node;               /* heap copy: option strings belong to the config */
    struct myna_store *notes; /* "bot_notes": key user@host\0note -> the note's text */
};

static void reply_message(struct myna_module *m, struct myna_stanza *st)
{
    const char *body = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "body");
    if (!body || (strcmp(st->type, "chat") != 0 && strcmp(st->type, "normal") != 0))
        return; /* never answer errors, groupchat or headlines */
    struct myna_xml *r = myna_xml_new(st->arena, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(r, "from", st->to.bare);
    myna_xml_set_attr(r, "to", st->from.full);
    myna_xml_set_attr(r, "type", st->type);
    if (st->id)
        myna_xml_set_attr(r, "id", st->id);
    myna_xml_add_text(myna_xml_add_child(r, NULL, "body"), body, strlen(body));
    myna_send(m, r);
}

static void send_presence(struct myna_module *m, struct myna_stanza *st, const char *type)
{
    struct myna_xml *p = myna_xml_new(st->arena, MYNA_NS_CLIENT, "presence");
    if (type)
        myna_xml_set_attr(p, "type", type);
    myna_xml_set_attr(p, "from", st->to.bare);
    myna_xml_set_attr(p, "to", type ? st->from.bare : st->from.full);
    myna_send(m, p);
}

/* Anyone may see the bot online: a request is approved at once, followed by the bot's
 * presence; a probe gets the presence too. */
static void on_presence(struct myna_module *m, struct myna_stanza *st)
{
    if (strcmp(st->type, "subscribe") == 0) {
        send_presence(m, st, "subscribed");
        send_presence(m, st, NULL);
    } else if (strcmp(st->type, "probe") == 0) {
        send_presence(m, st, NULL);
    }
}

/* The note is answered only once it is on disk: the answer rides on the commit. */
static void note_saved(void *data, int err)
{
    struct myna_pending_iq *p = data;
    if (err < 0)
        myna_pending_error(p, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
    else
        myna_pending_result(p, NULL);
}

static void note_iq(struct myna_module *m, struct bot *b, struct myna_stanza *st,
                    const struct myna_xml *q)
{
    size_t klen;
    void *key = myna_store_key(st->arena, st->from.bare, "note", 4, &klen);
    if (strcmp(st->type, "set") == 0) {
        const char *text = myna_xml_text(q);
        int rc = myna_store_put(b->notes, key, klen, text, strlen(text));
        if (rc < 0) {
            myna_log(m, MYNA_LOG_ERROR, "note of %s: %s", st->from.bare, myna_store_strerror(rc));
            myna_reply_error(st, myna_error_from_store(rc), NULL);
            return;
        }
        myna_store_on_durable(b->notes, note_saved, myna_iq_defer(st));
        return;
    }
    void *val = NULL;
    size_t len = 0;
    int rc = myna_store_get(b->notes, key, klen, st->arena, &val, &len);
    if (rc < 0 && rc != MYNA_STORE_NOTFOUND) {
        myna_reply_error(st, myna_error_from_store(rc), NULL);
        return;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *n = myna_xml_add_child(res, NS_NOTE, "note");
    if (rc == 0)
        myna_xml_add_text(n, val, len);
    myna_iq_send_result(st, res);
}

static void on_iq(struct myna_module *m, struct bot *b, struct myna_stanza *st)
{
    if (strcmp(st->type, "get") != 0 && strcmp(st->type, "set") != 0)
        return; /* results and errors are never answered */
    const struct myna_xml *q = myna_xml_first_element(st->xml);
    if (q && myna_xml_is(q, NS_NOTE, "note")) {
        note_iq(m, b, st, q);
    } else if (q && strcmp(st->type, "get") == 0 && myna_xml_is(q, NS_DISCO_INFO, "query") &&
               !myna_xml_attr(q, "node")) {
        struct myna_xml *res = myna_iq_result_new(st);
        struct myna_xml *info = myna_xml_add_child(res, NS_DISCO_INFO, "query");
        struct myna_xml *id = myna_xml_add_child(info, NULL, "identity");
        myna_xml_set_attr(id, "category", "client");
        myna_xml_set_attr(id, "type", "bot");
        myna_xml_set_attr(id, "name", "Echo bot");
        myna_xml_set_attr(myna_xml_add_child(info, NULL, "feature"), "var", NS_DISCO_INFO);
        myna_xml_set_attr(myna_xml_add_child(info, NULL, "feature"), "var", NS_NOTE);
        myna_iq_send_result(st, res);
    } else {
        /* The hook took the stanza, so the one answer is ours to send. */
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
    }
}

/* Every stanza to a local part without an account passes here first. */
static enum myna_verdict bot_stanza(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct bot *b = data;
    if (strcmp(st->to.node, b->node) != 0)
        return MYNA_PASS; /* someone else's (or nobody's: the server answers) */
    switch (st->kind) {
    case MYNA_MESSAGE:
        reply_message(m, st);
        break;
    case MYNA_PRESENCE:
        on_presence(m, st);
        break;
    case MYNA_IQ:
        on_iq(m, b, st);
        break;
    }
    return MYNA_HANDLED;
}

/* The notes of a deleted account go with it (the server would also remove every key
 * starting with "user@host\0", but a module that keeps more than that must do this). */
static void on_user_deleted(struct myna_module *m, const struct myna_event *ev, void *data)
{
    struct bot *b = data;
    struct myna_arena *a = myna_arena_new();
    size_t plen;
    void *prefix = myna_store_key(a, ev->user->bare, NULL, 0, &plen);
    myna_store_del_prefix(b->notes, prefix, plen, NULL);
    myna_arena_free(a);
}

static int bot_load(struct myna_module *m)
{
    struct bot *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    myna_module_set_data(m, b); /* unload() frees it, whatever load() returns */
    const char *node = myna_opt_string(m, "node");
    if (!node || !*node || myna_user_exists(m, node)) {
        myna_log(m, MYNA_LOG_ERROR, "node '%s' is empty or an existing account",
                 node ? node : "");
        return -1;
    }
    b->node = strdup(node);
    b->notes = myna_module_store(m, "bot_notes"); /* NULL: the server logged why */
    if (!b->node || !b->notes ||
        myna_hook_add(m, MYNA_HOOK_USER_UNKNOWN, 0, bot_stanza, b) < 0 ||
        myna_event_subscribe(m, MYNA_EVENT_USER_DELETED, on_user_deleted, b) < 0)
        return -1; /* -1 from hook_add: a server older than API 1.1 */
    myna_log(m, MYNA_LOG_INFO, "bot at %s@%s", b->node, myna_module_host(m));
    return 0;
}

static void bot_unload(struct myna_module *m)
{
    struct bot *b = myna_module_data(m);
    if (b)
        free(b->node);
    free(b);
}

MYNA_MODULE_DEFINE(.name = "bot", .description = "Echo bot at echo@HOST, without an account",
                   .options = bot_options, .load = bot_load, .unload = bot_unload);
