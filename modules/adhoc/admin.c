/* modules/adhoc/admin.c — the XEP-0133 service administration commands: add user (§4.1),
 * delete user (§4.2), end user session (§4.5), change user password (§4.7), get user last
 * login (§4.9), get number and list of online users (§4.15, §4.20), send announcement to
 * online users (§4.23). Accounts change through the module API exactly as mynactl changes
 * them (myna_user_create/set_password/delete); deletion and session ends run from a timer
 * after the request, since the admin's own session may be among those that end.
 * Errors (§6): conflict for an existing account, item-not-found for a missing one, and
 * bad-request with <bad-payload/> (XEP-0050 §4.6) for a form that is incomplete or names
 * JIDs that are malformed or not this host's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adhoc.h"
#include "../last.h"

#define MAX_JIDS 100     /* JIDs one request may name */
#define MAX_SUBJECT 1024 /* bytes of an announcement's subject */

/* ---- forms ---- */

static struct myna_xml *admin_form(struct myna_xml *cmd, const char *title,
                                   const char *instructions)
{
    struct myna_xml *x = df_new(cmd, "form", NS_ADMIN, title);
    struct myna_xml *in = myna_xml_add_child(x, DF_NS, "instructions");
    myna_xml_add_text(in, instructions, strlen(instructions));
    return x;
}

static void required(struct myna_xml *field)
{
    myna_xml_add_child(field, DF_NS, "required");
}

static void bad_payload(struct adhoc_call *call, const char *text)
{
    adhoc_error(call->st, MYNA_ERR_BAD_REQUEST, CMD_BAD_PAYLOAD, text);
}

/* The JIDs of field `var`: accounts of this host (bare, or full when `full_ok`). Answers
 * bad-payload and returns -1 when the field is missing or a value does not fit. */
static int field_jids(struct adhoc_call *call, const struct dataform *f, const char *var,
                      bool multi, bool full_ok, struct myna_jid **out, size_t *n)
{
    struct myna_arena *a = call->st->arena;
    const struct df_field *fl = df_get(f, var);
    if (!fl || fl->nvalues == 0) {
        bad_payload(call, myna_arena_printf(a, "the field %s is required", var));
        return -1;
    }
    if ((!multi && fl->nvalues > 1) || fl->nvalues > MAX_JIDS) {
        bad_payload(call, myna_arena_printf(a, "too many values in %s", var));
        return -1;
    }
    *out = myna_arena_alloc(a, fl->nvalues * sizeof **out);
    for (size_t i = 0; i < fl->nvalues; i++) {
        struct myna_jid *j = &(*out)[i];
        const char *v = fl->values[i];
        if (myna_jid_parse(a, v, j) < 0) {
            bad_payload(call, myna_arena_printf(a, "'%s' is not a valid JID", v));
            return -1;
        }
        if (!j->node || strcmp(j->domain, myna_module_host(call->m)) != 0) {
            bad_payload(call, myna_arena_printf(a, "%s is not an account of %s", j->full,
                                                myna_module_host(call->m)));
            return -1;
        }
        if (j->resource && !full_ok) {
            bad_payload(call, myna_arena_printf(a, "%s: a bare JID is needed", j->full));
            return -1;
        }
    }
    *n = fl->nvalues;
    return 0;
}

/* Every account named must exist: item-not-found naming the first that does not. */
static bool all_exist(struct adhoc_call *call, const struct myna_jid *j, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!myna_user_exists(call->m, j[i].node)) {
            adhoc_error(call->st, MYNA_ERR_ITEM_NOT_FOUND, NULL,
                        myna_arena_printf(call->st->arena, "no account %s", j[i].bare));
            return false;
        }
    }
    return true;
}

/* ---- add user (§4.1) and change user password (§4.7) ---- */

static void add_user_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    struct myna_xml *x = admin_form(cmd, "Adding a User", "Fill out this form to add a user.");
    required(df_add_field(x, "accountjid", "jid-single",
                          "The Jabber ID for the account to be added", NULL));
    required(df_add_field(x, "password", "text-private", "The password for this account", NULL));
    df_add_field(x, "password-verify", "text-private", "Retype password", NULL);
}

static void password_done(struct myna_module *m, int result, void *data)
{
    struct adhoc_pending *p = data;
    switch (result) {
    case 0:
        adhoc_pending_done(p, "info", "Done", NULL);
        break;
    case MYNA_USER_EXISTS:
        adhoc_pending_fail(p, MYNA_ERR_CONFLICT, "the account exists");
        break;
    case MYNA_USER_NOTFOUND:
        adhoc_pending_fail(p, MYNA_ERR_ITEM_NOT_FOUND, "no such account");
        break;
    case MYNA_USER_BADPASSWORD:
        adhoc_pending_fail(p, MYNA_ERR_BAD_REQUEST,
                           "the password has characters SASLprep prohibits (RFC 4013)");
        break;
    default:
        adhoc_pending_fail(p, myna_error_from_store(result), NULL);
    }
}

/* The password fields: present, not empty, and equal to password-verify when given. */
static const char *form_password(struct adhoc_call *call, const struct dataform *f)
{
    const char *pw = df_value(f, "password");
    const char *verify = df_value(f, "password-verify");
    const struct df_field *pf = df_get(f, "password");
    if (!pw || !*pw || pf->nvalues != 1) {
        bad_payload(call, "a password is required");
        return NULL;
    }
    if (verify && strcmp(verify, pw) != 0) {
        bad_payload(call, "the passwords differ");
        return NULL;
    }
    return pw;
}

static void set_password(struct adhoc_call *call, const struct dataform *f, bool create)
{
    struct myna_jid *j;
    size_t n;
    if (field_jids(call, f, "accountjid", false, false, &j, &n) < 0)
        return;
    const char *pw = form_password(call, f);
    if (!pw)
        return;
    bool exists = myna_user_exists(call->m, j->node);
    if (create && exists) {
        adhoc_error(call->st, MYNA_ERR_CONFLICT, NULL, "the account exists"); /* §6 */
        return;
    }
    if (!create && !exists) {
        adhoc_error(call->st, MYNA_ERR_ITEM_NOT_FOUND, NULL, "no such account");
        return;
    }
    struct adhoc_pending *p = adhoc_defer(call);
    int rc = create ? myna_user_create(call->m, j->node, pw, password_done, p)
                    : myna_user_set_password(call->m, j->node, pw, password_done, p);
    if (rc != 0)
        password_done(call->m, rc, p);
    else
        myna_log(call->m, MYNA_LOG_INFO, "%s: %s %s", call->st->from.bare,
                 create ? "add-user" : "change-user-password", j->bare);
}

static void add_user_run(struct adhoc_call *call, const struct dataform *f)
{
    set_password(call, f, true);
}

static void change_password_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    struct myna_xml *x = admin_form(cmd, "Changing a User Password",
                                    "Fill out this form to change a user's password.");
    required(df_add_field(x, "accountjid", "jid-single",
                          "The Jabber ID for this account", NULL));
    required(df_add_field(x, "password", "text-private", "The password for this account", NULL));
}

static void change_password_run(struct adhoc_call *call, const struct dataform *f)
{
    set_password(call, f, false);
}

/* ---- delete user (§4.2) and end user session (§4.5): from a timer ---- */

static struct adhoc_pending *defer_jids(struct adhoc_call *call, const struct myna_jid *j,
                                        size_t n)
{
    struct adhoc_pending *p = adhoc_defer(call);
    p->jids = calloc(n, sizeof *p->jids);
    if (!p->jids)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!(p->jids[p->njids++] = strdup(j[i].full)))
            abort();
    return p;
}

static void delete_later(struct myna_module *m, void *data)
{
    struct adhoc_pending *p = data;
    p->timer = 0;
    struct myna_arena *a = myna_arena_new();
    int rc = 0;
    for (size_t i = 0; i < p->njids && rc == 0; i++) {
        struct myna_jid j;
        if (myna_jid_parse(a, p->jids[i], &j) == 0) {
            rc = myna_user_delete(m, j.node);
            if (rc == MYNA_USER_NOTFOUND)
                rc = 0; /* deleted meanwhile: what was asked is true */
            if (rc == 0)
                myna_log(m, MYNA_LOG_INFO, "delete-user %s", j.bare);
        }
    }
    myna_arena_free(a);
    if (rc != 0)
        adhoc_pending_fail(p, myna_error_from_store(rc), NULL);
    else
        adhoc_pending_done(p, "info", "Deleted", NULL);
}

static void jids_form(struct myna_xml *cmd, const char *title, const char *instructions,
                      const char *label)
{
    struct myna_xml *x = admin_form(cmd, title, instructions);
    required(df_add_field(x, "accountjids", "jid-multi", label, NULL));
}

static void delete_user_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    jids_form(cmd, "Deleting a User", "Fill out this form to delete a user.",
              "The Jabber ID(s) to delete");
}

static void delete_user_run(struct adhoc_call *call, const struct dataform *f)
{
    struct myna_jid *j;
    size_t n;
    if (field_jids(call, f, "accountjids", true, false, &j, &n) < 0 || !all_exist(call, j, n))
        return;
    struct adhoc_pending *p = defer_jids(call, j, n);
    p->timer = myna_timer_add(call->m, 0, 0, delete_later, p);
}

static void close_session(struct myna_session *s, void *data)
{
    (void)data;
    myna_session_close(s, "policy-violation", "Session ended by an administrator");
}

static void end_later(struct myna_module *m, void *data)
{
    struct adhoc_pending *p = data;
    p->timer = 0;
    struct myna_arena *a = myna_arena_new();
    size_t ended = 0;
    for (size_t i = 0; i < p->njids; i++) {
        struct myna_jid j;
        if (myna_jid_parse(a, p->jids[i], &j) < 0)
            continue;
        if (j.resource) {
            struct myna_session *s = myna_session_find(m, &j);
            if (s) {
                close_session(s, NULL);
                ended++;
            }
        } else {
            ended += myna_user_sessions(m, &j, close_session, NULL);
        }
    }
    myna_arena_free(a);
    myna_log(m, MYNA_LOG_INFO, "end-user-session: %zu sessions ended", ended);
    char note[64];
    snprintf(note, sizeof note, "%zu sessions ended", ended);
    adhoc_pending_done(p, "info", note, NULL);
}

static void end_session_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    jids_form(cmd, "Ending a User Session", "Fill out this form to end a user's session.",
              "The Jabber ID(s) for which to end sessions");
}

static void end_session_run(struct adhoc_call *call, const struct dataform *f)
{
    struct myna_jid *j;
    size_t n;
    if (field_jids(call, f, "accountjids", true, true, &j, &n) < 0 || !all_exist(call, j, n))
        return;
    for (size_t i = 0; i < n; i++) {
        if (j[i].resource && !myna_session_find(call->m, &j[i])) {
            adhoc_error(call->st, MYNA_ERR_ITEM_NOT_FOUND, NULL,
                        myna_arena_printf(call->st->arena, "no session %s", j[i].full));
            return;
        }
    }
    struct adhoc_pending *p = defer_jids(call, j, n);
    p->timer = myna_timer_add(call->m, 0, 0, end_later, p);
}

/* ---- get user last login (§4.9) ---- */

static void lastlogin_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    jids_form(cmd, "Getting a User's Last Login Time",
              "Fill out this form to get a user's last login time.",
              "The Jabber ID(s) for which to retrieve the last login time");
}

static void lastlogin_run(struct adhoc_call *call, const struct dataform *f)
{
    const struct last_service *svc = myna_service_get(call->m, LAST_SERVICE);
    if (!svc || svc->version < LAST_SERVICE_VERSION) {
        adhoc_error(call->st, MYNA_ERR_FEATURE_NOT_IMPLEMENTED, NULL,
                    "the last module is not loaded");
        return;
    }
    struct myna_jid *j;
    size_t n;
    /* One account per request: the result has one lastlogin field. */
    if (field_jids(call, f, "accountjids", false, false, &j, &n) < 0 || !all_exist(call, j, 1))
        return;
    struct myna_arena *a = call->st->arena;
    struct myna_xml *x = adhoc_result_form(a);
    df_add_field(x, "accountjids", "jid-multi", NULL, j->bare);
    struct last_record r;
    if (svc->get(svc, j->bare, a, &r) < 0 || r.login == 0) {
        adhoc_completed(call, "info", "No login recorded", x);
        return;
    }
    time_t t = (time_t)r.login;
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm); /* XEP-0082 */
    df_add_field(x, "lastlogin", "text-single", "The last login time", when);
    adhoc_completed(call, NULL, NULL, x);
}

/* ---- online users (§4.15, §4.20) ---- */

struct online {
    struct myna_arena *a;
    const char **bare;
    size_t n, cap;
};

static void collect_online(struct myna_session *s, void *data)
{
    struct online *o = data;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        o->bare = myna_arena_realloc(o->a, o->bare, o->cap * sizeof *o->bare,
                                     cap * sizeof *o->bare);
        o->cap = cap;
    }
    o->bare[o->n++] = myna_arena_strdup(o->a, myna_session_jid(s)->bare);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The distinct bare JIDs with a session on this host, sorted. */
static void online_users(struct adhoc_call *call, struct online *o)
{
    *o = (struct online){.a = call->st->arena};
    myna_host_sessions(call->m, collect_online, o);
    if (o->n == 0)
        return;
    qsort(o->bare, o->n, sizeof *o->bare, cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < o->n; i++)
        if (strcmp(o->bare[i], o->bare[k - 1]) != 0)
            o->bare[k++] = o->bare[i];
    o->n = k;
}

static void online_num_run(struct adhoc_call *call, const struct dataform *f)
{
    (void)f;
    struct online o;
    online_users(call, &o);
    struct myna_xml *x = adhoc_result_form(call->st->arena);
    df_add_field(x, "onlineusersnum", NULL, "The number of online users",
                 myna_arena_printf(call->st->arena, "%zu", o.n));
    adhoc_completed(call, NULL, NULL, x);
}

static void online_list_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    struct myna_xml *x = admin_form(cmd, "Requesting List of Online Users",
                                    "Fill out this form to request the online users of this "
                                    "service.");
    struct myna_xml *mx = df_add_field(x, "max_items", "list-single",
                                       "Maximum number of items to show", NULL);
    static const char *const sizes[] = {"25", "50", "75", "100", "150", "200"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        df_add_option(mx, sizes[i], sizes[i]);
    df_add_option(mx, "None", "none");
}

static void online_list_run(struct adhoc_call *call, const struct dataform *f)
{
    const char *max = df_value(f, "max_items");
    size_t limit = (size_t)-1;
    if (max && strcmp(max, "none") != 0) {
        char *end = NULL;
        long v = strtol(max, &end, 10);
        if (!*max || *end || v < 1 || v > 1000000) {
            bad_payload(call, "max_items is a number or none");
            return;
        }
        limit = (size_t)v;
    }
    struct online o;
    online_users(call, &o);
    struct myna_xml *x = adhoc_result_form(call->st->arena);
    struct myna_xml *fl = df_add_field(x, "onlineuserjids", "jid-multi",
                                       "The list of all online users", NULL);
    for (size_t i = 0; i < o.n && i < limit; i++)
        df_add_value(fl, o.bare[i]);
    adhoc_completed(call, NULL, NULL, x);
}

/* ---- announcement (§4.23) ---- */

static void announce_form(struct adhoc_call *call, struct myna_xml *cmd)
{
    struct myna_xml *x = admin_form(cmd, "Making an Announcement",
                                    "Fill out this form to make an announcement to all active "
                                    "users of this service.");
    df_add_field(x, "subject", "text-single", "Subject", NULL);
    required(df_add_field(x, "announcement", "text-multi", "Announcement", NULL));
}

struct recipients {
    struct myna_arena *a;
    struct myna_jid *to;
    size_t n, cap;
};

static void collect_recipient(struct myna_session *s, void *data)
{
    struct recipients *r = data;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        r->to = myna_arena_realloc(r->a, r->to, r->cap * sizeof *r->to, cap * sizeof *r->to);
        r->cap = cap;
    }
    myna_jid_copy(r->a, myna_session_jid(s), &r->to[r->n++]);
}

/* The text-multi lines joined with newlines (XEP-0004 §3.3); NULL when too long. */
static char *join_lines(struct myna_arena *a, const struct df_field *fl, long long max)
{
    size_t len = 0;
    for (size_t i = 0; i < fl->nvalues; i++)
        len += strlen(fl->values[i]) + 1;
    if ((long long)len > max + 1)
        return NULL;
    char *text = myna_arena_alloc(a, len + 1), *p = text;
    for (size_t i = 0; i < fl->nvalues; i++) {
        size_t l = strlen(fl->values[i]);
        memcpy(p, fl->values[i], l);
        p += l;
        if (i + 1 < fl->nvalues)
            *p++ = '\n';
    }
    *p = '\0';
    return text;
}

static void announce_run(struct adhoc_call *call, const struct dataform *f)
{
    struct myna_arena *a = call->st->arena;
    const struct df_field *fl = df_get(f, "announcement");
    const char *subject = df_value(f, "subject");
    if (!fl || fl->nvalues == 0) {
        bad_payload(call, "the field announcement is required");
        return;
    }
    char *text = join_lines(a, fl, call->ad->max_announcement);
    if (!text) {
        bad_payload(call, myna_arena_printf(a, "the announcement is longer than %lld bytes",
                                            call->ad->max_announcement));
        return;
    }
    if (subject && strlen(subject) > MAX_SUBJECT) {
        bad_payload(call, "the subject is longer than 1024 bytes");
        return;
    }
    if (!*text) {
        bad_payload(call, "the announcement is empty");
        return;
    }
    /* A headline (RFC 6121 §5.2.2) from the host to every session: not stored offline,
     * shown by clients as a notice. */
    struct myna_xml *msg = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(msg, "from", myna_module_host(call->m));
    myna_xml_set_attr(msg, "type", "headline");
    const char *subj = subject && *subject ? subject : "Announcement";
    myna_xml_add_text(myna_xml_add_child(msg, NULL, "subject"), subj, strlen(subj));
    myna_xml_add_text(myna_xml_add_child(msg, NULL, "body"), text, strlen(text));
    struct recipients r = {.a = a};
    myna_host_sessions(call->m, collect_recipient, &r);
    if (r.n > 0)
        myna_send_fanout(call->m, msg, r.to, r.n);
    myna_log(call->m, MYNA_LOG_INFO, "%s: announcement to %zu sessions", call->st->from.bare,
             r.n);
    adhoc_completed(call, "info", myna_arena_printf(a, "Sent to %zu sessions", r.n), NULL);
}

const struct adhoc_cmd admin_commands[] = {
    {ADMIN_NODE("add-user"), "Add a User", add_user_form, add_user_run},
    {ADMIN_NODE("delete-user"), "Delete a User", delete_user_form, delete_user_run},
    {ADMIN_NODE("end-user-session"), "End a User Session", end_session_form, end_session_run},
    {ADMIN_NODE("change-user-password"), "Change User Password", change_password_form,
     change_password_run},
    {ADMIN_NODE("get-user-lastlogin"), "Get User Last Login Time", lastlogin_form,
     lastlogin_run},
    {ADMIN_NODE("get-online-users-num"), "Get Number of Online Users", NULL, online_num_run},
    {ADMIN_NODE("get-online-users-list"), "Get List of Online Users", online_list_form,
     online_list_run},
    {ADMIN_NODE("announce"), "Send Announcement to Online Users", announce_form,
     announce_run},
};
const size_t admin_ncommands = sizeof admin_commands / sizeof admin_commands[0];
