/* modules/adhoc/adhoc.c — ad-hoc commands (XEP-0050) on the host JID: the command list
 * and command nodes in service discovery (§2.2, listed only to admins; other requesters
 * get an empty list and forbidden on a command node), execution in stages with sessions
 * (§2.4, §3.3: a session belongs to the requester's full JID and command, and lives
 * `session_timeout` seconds), actions (§3.4: execute, complete, cancel; prev and next
 * are refused, every command having one stage), and the errors of §4.6.
 * Every command is for admins only (XEP-0133 §5, forbidden otherwise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error_reply.h"
#include "adhoc.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define MAX_SESSIONS 256          /* open sessions per host */
#define MAX_SESSIONS_PER_JID 8    /* per requester */
#define MAX_FORM_FIELDS 32
#define MAX_FIELD_VALUES 1000     /* e.g. lines of an announcement, JIDs of a list */

static const struct myna_option adhoc_options[] = {
    {"admins", MYNA_OPT_STRING, "", 0, 0,
     "bare JIDs allowed to run the commands, space or comma separated"},
    {"session_timeout", MYNA_OPT_INT, "600", 10, 86400,
     "seconds a command waits for its form to come back"},
    {"max_announcement", MYNA_OPT_INT, "16384", 16, 1048576,
     "bytes of an announcement (XEP-0133 announce); longer is refused"},
    {.type = MYNA_OPT_END},
};

/* ---- answers ---- */

void adhoc_error(struct myna_stanza *st, enum myna_error cond, const char *app,
                 const char *text)
{
    struct myna_xml *err;
    /* The request is not echoed: it may be a long announcement. */
    struct myna_xml *r = error_reply_bare(st, cond, text, &err);
    if (r == NULL)
        return;
    if (err && app)
        myna_xml_add_child(err, NS_COMMANDS, app); /* RFC 6120 §8.3.2: after the text */
    myna_iq_send_result(st, r);
}

static struct myna_xml *command_el(struct myna_arena *a, const char *node, const char *sid,
                                   const char *status)
{
    struct myna_xml *c = myna_xml_new(a, NS_COMMANDS, "command");
    myna_xml_set_attr(c, "node", node);
    myna_xml_set_attr(c, "sessionid", sid);
    myna_xml_set_attr(c, "status", status);
    return c;
}

static void add_note(struct myna_xml *cmd, const char *type, const char *text)
{
    if (!text)
        return;
    struct myna_xml *n = myna_xml_add_child(cmd, NS_COMMANDS, "note");
    myna_xml_set_attr(n, "type", type ? type : "info");
    myna_xml_add_text(n, text, strlen(text));
}

void adhoc_completed(struct adhoc_call *call, const char *note_type, const char *note,
                     const struct myna_xml *form)
{
    struct myna_xml *c = command_el(call->st->arena, call->cmd->node, call->sessionid,
                                    "completed");
    add_note(c, note_type, note);
    if (form)
        myna_xml_add_copy(c, form);
    myna_iq_result(call->st, c);
}

struct myna_xml *adhoc_result_form(struct myna_arena *a)
{
    struct myna_xml *holder = myna_xml_new(a, NS_COMMANDS, "holder");
    return df_new(holder, "result", NS_ADMIN, NULL);
}

/* ---- deferred answers ---- */

struct adhoc_pending *adhoc_defer(struct adhoc_call *call)
{
    struct adhoc_pending *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->ad = call->ad;
    p->node = strdup(call->cmd->node);
    p->sessionid = strdup(call->sessionid);
    if (!p->node || !p->sessionid)
        abort();
    p->iq = myna_iq_defer(call->st);
    p->next = call->ad->pending;
    call->ad->pending = p;
    return p;
}

static void pending_free(struct adhoc_pending *p)
{
    struct adhoc *ad = p->ad;
    for (struct adhoc_pending **pp = &ad->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->timer)
        myna_timer_cancel(ad->m, p->timer);
    for (size_t i = 0; i < p->njids; i++)
        free(p->jids[i]);
    free(p->jids);
    free(p->node);
    free(p->sessionid);
    free(p);
}

void adhoc_pending_done(struct adhoc_pending *p, const char *note_type, const char *note,
                        const struct myna_xml *form)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *c = command_el(a, p->node, p->sessionid, "completed");
    add_note(c, note_type, note);
    if (form)
        myna_xml_add_copy(c, form);
    myna_pending_result(p->iq, c);
    myna_arena_free(a);
    pending_free(p);
}

void adhoc_pending_fail(struct adhoc_pending *p, enum myna_error cond, const char *text)
{
    myna_pending_error(p->iq, cond, text);
    pending_free(p);
}

/* ---- who ---- */

static bool is_admin(const struct adhoc *ad, const struct myna_jid *who)
{
    for (size_t i = 0; i < ad->nadmins; i++)
        if (strcmp(ad->admins[i], who->bare) == 0)
            return true;
    return false;
}

static const struct adhoc_cmd *find_cmd(const char *node)
{
    for (size_t i = 0; i < admin_ncommands; i++)
        if (strcmp(admin_commands[i].node, node) == 0)
            return &admin_commands[i];
    return NULL;
}

/* ---- sessions (§3.3) ---- */

static void session_drop(struct adhoc *ad, struct adhoc_session *s)
{
    for (struct adhoc_session **pp = &ad->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            ad->nsessions--;
            break;
        }
    }
    free(s->id);
    free(s->node);
    free(s->owner);
    free(s);
}

static void sessions_expire(struct adhoc *ad)
{
    uint64_t now = myna_now_ms();
    for (struct adhoc_session *s = ad->sessions, *next; s; s = next) {
        next = s->next;
        if (s->expires_ms <= now)
            session_drop(ad, s);
    }
}

/* The oldest session of `owner` (or of anyone), for making room. */
static struct adhoc_session *oldest(struct adhoc *ad, const char *owner)
{
    struct adhoc_session *o = NULL;
    for (struct adhoc_session *s = ad->sessions; s; s = s->next)
        if ((!owner || strcmp(s->owner, owner) == 0) && (!o || s->expires_ms < o->expires_ms))
            o = s;
    return o;
}

static char *session_id(struct adhoc *ad, struct myna_arena *a)
{
    return myna_arena_printf(a, "adhoc-%llu-%llx", (unsigned long long)++ad->next_session,
                             (unsigned long long)myna_now_ms());
}

static void session_open(struct adhoc *ad, const char *id, const char *node,
                         const char *owner)
{
    size_t mine = 0;
    for (struct adhoc_session *s = ad->sessions; s; s = s->next)
        mine += strcmp(s->owner, owner) == 0;
    if (mine >= MAX_SESSIONS_PER_JID)
        session_drop(ad, oldest(ad, owner));
    else if (ad->nsessions >= MAX_SESSIONS)
        session_drop(ad, oldest(ad, NULL));
    struct adhoc_session *s = calloc(1, sizeof *s);
    if (!s || !(s->id = strdup(id)) || !(s->node = strdup(node)) ||
        !(s->owner = strdup(owner)))
        abort();
    s->expires_ms = myna_now_ms() + (uint64_t)ad->session_timeout_ms;
    s->next = ad->sessions;
    ad->sessions = s;
    ad->nsessions++;
}

/* Was `id` ever handed out here? Then it has ended (§4.6 session-expired). */
static bool was_ours(const struct adhoc *ad, const char *id)
{
    if (strncmp(id, "adhoc-", 6) != 0)
        return false;
    char *end = NULL;
    unsigned long long n = strtoull(id + 6, &end, 10);
    return end != id + 6 && *end == '-' && n >= 1 && n <= ad->next_session;
}

/* ---- execution ---- */

static bool known_action(const char *a)
{
    static const char *const actions[] = {"execute", "cancel", "prev", "next", "complete"};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(a, actions[i]) == 0)
            return true;
    return false;
}

/* Runs the command with the form submitted in `el` (XEP-0050 §3.5.1: type submit; a
 * 'cancel' form counts as one too). */
static void run_submitted(struct adhoc_call *call, struct myna_xml *el)
{
    struct myna_xml *x = df_find(el);
    struct dataform f;
    if (!x) {
        adhoc_error(call->st, MYNA_ERR_BAD_REQUEST, CMD_BAD_PAYLOAD, "the form is missing");
        return;
    }
    if (df_parse(x, &f, MAX_FORM_FIELDS, MAX_FIELD_VALUES) < 0 ||
        (strcmp(f.type, "submit") != 0 && strcmp(f.type, "cancel") != 0) ||
        (f.form_type && strcmp(f.form_type, NS_ADMIN) != 0)) {
        adhoc_error(call->st, MYNA_ERR_BAD_REQUEST, CMD_BAD_PAYLOAD,
                    "not a submitted http://jabber.org/protocol/admin form");
        return;
    }
    call->cmd->run(call, &f);
}

/* First stage: the form to fill in, or the command's result when it needs none. */
static void start(struct adhoc_call *call, struct myna_xml *el)
{
    struct adhoc *ad = call->ad;
    call->sessionid = session_id(ad, call->st->arena);
    if (df_find(el)) {
        run_submitted(call, el); /* everything in one request: no session needed */
        return;
    }
    if (!call->cmd->form) {
        call->cmd->run(call, NULL);
        return;
    }
    struct myna_xml *c = command_el(call->st->arena, call->cmd->node, call->sessionid,
                                    "executing");
    struct myna_xml *acts = myna_xml_add_child(c, NS_COMMANDS, "actions");
    myna_xml_set_attr(acts, "execute", "complete");
    myna_xml_add_child(acts, NS_COMMANDS, "complete");
    call->cmd->form(call, c);
    session_open(ad, call->sessionid, call->cmd->node, call->st->from.full);
    myna_iq_result(call->st, c);
}

static int command_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct adhoc *ad = data;
    struct myna_xml *el = myna_xml_first_element(st->xml);
    const char *node = myna_xml_attr(el, "node");
    const char *action = myna_xml_attr(el, "action");
    const char *sid = myna_xml_attr(el, "sessionid");
    if (!node) {
        adhoc_error(st, MYNA_ERR_BAD_REQUEST, NULL, "the command has no node");
        return 0;
    }
    if (!action)
        action = "execute"; /* §4.1 */
    if (!known_action(action)) {
        adhoc_error(st, MYNA_ERR_BAD_REQUEST, CMD_MALFORMED_ACTION, NULL);
        return 0;
    }
    const struct adhoc_cmd *cmd = find_cmd(node);
    if (!cmd) {
        adhoc_error(st, MYNA_ERR_ITEM_NOT_FOUND, NULL, NULL);
        return 0;
    }
    if (!is_admin(ad, &st->from)) {
        /* XEP-0133 §5, XEP-0050 §4.6. */
        myna_log(m, MYNA_LOG_INFO, "%s is no admin: command %s refused", st->from.full, node);
        adhoc_error(st, MYNA_ERR_FORBIDDEN, NULL, NULL);
        return 0;
    }
    struct adhoc_call call = {.ad = ad, .m = m, .st = st, .cmd = cmd};
    sessions_expire(ad);
    if (!sid) {
        if (strcmp(action, "execute") != 0 && strcmp(action, "complete") != 0) {
            adhoc_error(st, MYNA_ERR_BAD_REQUEST, CMD_BAD_ACTION, "no session to act on");
            return 0;
        }
        start(&call, el);
        return 0;
    }
    struct adhoc_session *s = ad->sessions;
    while (s && strcmp(s->id, sid) != 0)
        s = s->next;
    if (!s) {
        if (was_ours(ad, sid))
            adhoc_error(st, MYNA_ERR_NOT_ALLOWED, CMD_SESSION_EXPIRED, NULL);
        else
            adhoc_error(st, MYNA_ERR_BAD_REQUEST, CMD_BAD_SESSIONID, NULL);
        return 0;
    }
    if (strcmp(s->owner, st->from.full) != 0 || strcmp(s->node, node) != 0) {
        adhoc_error(st, MYNA_ERR_BAD_REQUEST, CMD_BAD_SESSIONID, NULL);
        return 0;
    }
    if (strcmp(action, "prev") == 0 || strcmp(action, "next") == 0) {
        adhoc_error(st, MYNA_ERR_BAD_REQUEST, CMD_BAD_ACTION, "this command has one stage");
        return 0;
    }
    call.sessionid = myna_arena_strdup(st->arena, sid);
    session_drop(ad, s); /* §3.3: canceled or completed now, either way it ends */
    if (strcmp(action, "cancel") == 0) {
        myna_iq_result(st, command_el(st->arena, node, call.sessionid, "canceled"));
        return 0;
    }
    run_submitted(&call, el);
    return 0;
}

/* ---- discovery (§2.1-2.2) ---- */

static int list_node(struct myna_module *m, const struct myna_jid *requester, const char *node,
                     bool items, struct myna_xml *query, enum myna_error *err, void *data)
{
    struct adhoc *ad = data;
    if (!items) {
        struct myna_xml *id = myna_xml_add_child(query, NULL, "identity");
        myna_xml_set_attr(id, "category", "automation");
        myna_xml_set_attr(id, "type", "command-list");
        myna_xml_set_attr(myna_xml_add_child(query, NULL, "feature"), "var", NS_COMMANDS);
        return 0;
    }
    if (!is_admin(ad, requester))
        return 0; /* §2.2: the list may differ per requester; others see none */
    for (size_t i = 0; i < admin_ncommands; i++) {
        struct myna_xml *it = myna_xml_add_child(query, NULL, "item");
        myna_xml_set_attr(it, "jid", myna_module_host(m));
        myna_xml_set_attr(it, "node", admin_commands[i].node);
        myna_xml_set_attr(it, "name", admin_commands[i].name);
    }
    return 0;
}

static int command_node(struct myna_module *m, const struct myna_jid *requester,
                        const char *node, bool items, struct myna_xml *query,
                        enum myna_error *err, void *data)
{
    struct adhoc *ad = data;
    if (!is_admin(ad, requester)) {
        *err = MYNA_ERR_FORBIDDEN; /* §2.2: a command not available to the requester */
        return -1;
    }
    if (items)
        return 0;
    const struct adhoc_cmd *cmd = find_cmd(node);
    struct myna_xml *id = myna_xml_add_child(query, NULL, "identity");
    myna_xml_set_attr(id, "category", "automation");
    myna_xml_set_attr(id, "type", "command-node");
    myna_xml_set_attr(id, "name", cmd->name);
    myna_xml_set_attr(myna_xml_add_child(query, NULL, "feature"), "var", NS_COMMANDS);
    myna_xml_set_attr(myna_xml_add_child(query, NULL, "feature"), "var", DF_NS);
    return 0;
}

/* ---- load ---- */

static int parse_admins(struct adhoc *ad, const char *list)
{
    char *copy = strdup(list ? list : ""), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *w = strtok_r(copy, " ,\t", &save); w && rc == 0;
         w = strtok_r(NULL, " ,\t", &save)) {
        struct myna_arena *a = myna_arena_new();
        struct myna_jid j;
        char **grown;
        if (myna_jid_parse(a, w, &j) < 0 || !j.node || j.resource) {
            myna_log(ad->m, MYNA_LOG_ERROR, "adhoc.admins: '%s' is not a bare JID", w);
            rc = -1;
        } else if (!(grown = realloc(ad->admins, (ad->nadmins + 1) * sizeof *grown)) ||
                   !(grown[ad->nadmins] = strdup(j.bare))) {
            abort();
        } else {
            ad->admins = grown;
            ad->nadmins++;
        }
        myna_arena_free(a);
    }
    free(copy);
    return rc;
}

static int adhoc_load(struct myna_module *m)
{
    struct adhoc *ad = calloc(1, sizeof *ad);
    if (!ad)
        return -1;
    ad->m = m;
    myna_module_set_data(m, ad);
    ad->session_timeout_ms = myna_opt_int(m, "session_timeout") * 1000;
    ad->max_announcement = myna_opt_int(m, "max_announcement");
    if (parse_admins(ad, myna_opt_string(m, "admins")) < 0)
        return -1;
    if (ad->nadmins == 0)
        myna_log(m, MYNA_LOG_WARN, "no admins configured (adhoc.admins): every command is "
                                   "refused");
    if (myna_iq_register(m, MYNA_IQ_SET, NS_COMMANDS, "command", MYNA_IQ_TO_HOST, command_iq,
                         ad) < 0 ||
        myna_disco_node(m, NS_COMMANDS, list_node, ad) < 0)
        return -1;
    for (size_t i = 0; i < admin_ncommands; i++)
        if (myna_disco_node(m, admin_commands[i].node, command_node, ad) < 0)
            return -1;
    return 0;
}

static void adhoc_unload(struct myna_module *m)
{
    struct adhoc *ad = myna_module_data(m);
    if (!ad)
        return;
    while (ad->pending)
        adhoc_pending_fail(ad->pending, MYNA_ERR_SERVICE_UNAVAILABLE, "module unloaded");
    while (ad->sessions)
        session_drop(ad, ad->sessions);
    for (size_t i = 0; i < ad->nadmins; i++)
        free(ad->admins[i]);
    free(ad->admins);
    free(ad);
}

MYNA_MODULE_DEFINE(.name = "adhoc",
                   .description = "Ad-hoc commands (XEP-0050), service administration (XEP-0133)",
                   .options = adhoc_options, .load = adhoc_load, .unload = adhoc_unload);
