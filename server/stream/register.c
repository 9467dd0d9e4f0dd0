/* server/stream/register.c — see register.h. Before authentication only `get` (the form)
 * and `set` (username and password, plain or as a jabber:x:data submit form) are served,
 * and only when allow_registration, registration_allow (addresses, hosts) and the
 * per-address interval let them; after authentication `get` says <registered/>, `set`
 * changes the password (the account's other sessions end with <reset/>) and <remove/>
 * deletes the account with every module's data after the answer went out. Passwords are
 * derived on the job pool (users.c); the stream is held by a reference meanwhile. */
#include "server/stream/register.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/modhost/users.h"
#include "server/net/peeraddr.h"
#include "server/net/wbuf.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/stream/c2s.h"
#include "server/stream/preauth.h"
#include "server/stream/stream.h"

#define NS_REGISTER "jabber:iq:register"
#define NS_DATA "jabber:x:data"
#define REGISTRATION_TABLE_MAX 65536

/* ---- answers ---- */

static void send_el(struct c2s *c, const struct myna_xml *el)
{
    struct wbuf *w = wbuf_serialize(el, MYNA_NS_CLIENT);
    c2s_write(c, w);
    wbuf_unref(w);
}

static void send_error(struct c2s *c, const struct myna_xml *iq, enum myna_error e)
{
    struct myna_session *s = c2s_session(c);
    send_el(c, stanza_error_element(iq, s ? s->jid.full : NULL, e));
}

static struct myna_xml *result(const struct myna_xml *iq)
{
    struct myna_xml *r = myna_xml_new(iq->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(r, "type", "result");
    const char *id = myna_xml_attr(iq, "id");
    if (id)
        myna_xml_set_attr(r, "id", id);
    return r;
}

static void add_text(struct myna_xml *parent, const char *ns, const char *name,
                     const char *text)
{
    struct myna_xml *x = myna_xml_add_child(parent, ns, name);
    if (text)
        myna_xml_add_text(x, text, strlen(text));
}

static void form_field(struct myna_xml *x, const char *var, const char *type,
                       const char *label, const char *value)
{
    struct myna_xml *f = myna_xml_add_child(x, NS_DATA, "field");
    myna_xml_set_attr(f, "var", var);
    myna_xml_set_attr(f, "type", type);
    if (label)
        myna_xml_set_attr(f, "label", label);
    if (value)
        add_text(f, NS_DATA, "value", value);
    else
        myna_xml_add_child(f, NS_DATA, "required");
}

/* XEP-0077 §3.1 (and §4 for the data form a client may fill instead). */
static void send_form(struct c2s *c, const struct myna_xml *iq)
{
    struct myna_xml *r = result(iq);
    struct myna_xml *q = myna_xml_add_child(r, NS_REGISTER, "query");
    add_text(q, NS_REGISTER, "instructions",
             "Choose a username and password for use with this service.");
    myna_xml_add_child(q, NS_REGISTER, "username");
    myna_xml_add_child(q, NS_REGISTER, "password");
    struct myna_xml *x = myna_xml_add_child(q, NS_DATA, "x");
    myna_xml_set_attr(x, "type", "form");
    add_text(x, NS_DATA, "title", "Account registration");
    add_text(x, NS_DATA, "instructions",
             "Choose a username and password for use with this service.");
    form_field(x, "FORM_TYPE", "hidden", NULL, NS_REGISTER);
    form_field(x, "username", "text-single", "Username", NULL);
    form_field(x, "password", "text-private", "Password", NULL);
    send_el(c, r);
}

/* ---- the request ---- */

/* A field's value in a submitted jabber:x:data form, or NULL. */
static const char *form_value(const struct myna_xml *x, const char *var)
{
    for (struct myna_xml *f = myna_xml_find(x, NS_DATA, "field"); f;
         f = myna_xml_find_next(f, NS_DATA, "field")) {
        const char *v = myna_xml_attr(f, "var");
        if (v && strcmp(v, var) == 0)
            return myna_xml_child_text(f, NS_DATA, "value");
    }
    return NULL;
}

/* username and password from <query/>: its own elements, or a submitted form. */
static void credentials(const struct myna_xml *q, const char **user, const char **pass)
{
    const struct myna_xml *x = myna_xml_find(q, NS_DATA, "x");
    const char *type = x ? myna_xml_attr(x, "type") : NULL;
    if (x && type && strcmp(type, "submit") == 0) {
        *user = form_value(x, "username");
        *pass = form_value(x, "password");
        return;
    }
    *user = myna_xml_child_text(q, NS_REGISTER, "username");
    *pass = myna_xml_child_text(q, NS_REGISTER, "password");
}

/* ---- who may register ---- */

static bool allowed(const struct server *srv, const char *domain, const char *peer)
{
    const struct config *cfg = &srv->cfg;
    if (!cfg->allow_registration)
        return false;
    bool host_ok = cfg->nreg_hosts == 0, addr_ok = cfg->nreg_ranges == 0;
    for (size_t i = 0; i < cfg->nreg_hosts; i++)
        host_ok = host_ok || strcmp(cfg->reg_hosts[i], domain) == 0;
    for (size_t i = 0; i < cfg->nreg_ranges; i++)
        addr_ok = addr_ok || peer_in_range(&cfg->reg_ranges[i], peer);
    return host_ok && addr_ok;
}

static void forget_old(const char *key, void *value, void *data)
{
    struct server *srv = *(struct server **)data;
    uint64_t interval = (uint64_t)srv->cfg.registration_interval * 1000;
    if (loop_now(srv->loop) - (uint64_t)(uintptr_t)value >= interval)
        ((const char **)data)[1] = key; /* one at a time: the map must not change here */
}

/* True (and the address's time set) when the address may register now. */
static bool throttle_pass(struct server *srv, const char *peer)
{
    char key[PREAUTH_KEY_MAX];
    peer_address_key(peer, key, sizeof key);
    uint64_t now = loop_now(srv->loop), interval = (uint64_t)srv->cfg.registration_interval * 1000;
    void *last = NULL;
    bool known = hashmap_get(srv->registrations, key) != NULL;
    if (known) {
        last = hashmap_get(srv->registrations, key);
        if (now - (uint64_t)(uintptr_t)last < interval)
            return false;
    }
    while (!known && hashmap_count(srv->registrations) >= REGISTRATION_TABLE_MAX) {
        const void *ctx[2] = {srv, NULL};
        hashmap_each(srv->registrations, forget_old, ctx);
        if (!ctx[1])
            return false; /* every entry is recent: a flood from many addresses */
        hashmap_del(srv->registrations, ctx[1]);
    }
    /* Times are stored in the value pointer; 0 would read as absent. */
    hashmap_put(srv->registrations, key, (void *)(uintptr_t)(now ? now : 1));
    return true;
}

/* ---- account creation and password change on the job pool ---- */

struct reg_job {
    struct c2s *c;
    struct myna_xml *answer;   /* the result, in its own arena */
    struct myna_xml *request;  /* for errors, in the same arena */
    char bare[3 * 1024 + 2];
    bool change;               /* a logged-in password change */
};

static void job_done(int rc, void *data)
{
    struct reg_job *j = data;
    struct stream *st = c2s_stream(j->c);
    if (stream_writable(st)) {
        if (rc == 0) {
            send_el(j->c, j->answer);
            if (j->change)
                users_end_sessions(st->srv, j->bare, c2s_session(j->c), "reset",
                                   "Password changed");
        } else {
            send_error(j->c, j->request,
                       rc == MYNA_USER_EXISTS ? MYNA_ERR_CONFLICT
                       : rc == MYNA_USER_BADPASSWORD || rc == MYNA_USER_BADNAME
                           ? MYNA_ERR_NOT_ACCEPTABLE
                           : MYNA_ERR_INTERNAL_SERVER_ERROR);
        }
    }
    log_info("c2s", "conn=%llu %s %s: %s", (unsigned long long)stream_conn_id(st),
             j->change ? "password change for" : "in-band registration of", j->bare,
             rc == 0 ? "done" : myna_store_strerror(rc));
    myna_arena_free(j->answer->arena);
    free(j);
    stream_unref(st);
}

static void start_job(struct c2s *c, const struct myna_xml *iq, const char *domain,
                      const char *node, const char *password, bool change)
{
    struct stream *st = c2s_stream(c);
    struct reg_job *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->change = change;
    snprintf(j->bare, sizeof j->bare, "%s@%s", node, domain);
    struct myna_arena *a = myna_arena_new();
    j->request = myna_xml_copy(a, iq);
    j->answer = result(j->request);
    int rc = users_change(st->srv, domain, node, password, !change, job_done, j);
    if (rc != 0) {
        stream_ref(st);
        job_done(rc, j); /* answers with the error at once */
        return;
    }
    stream_ref(st);
}

/* ---- entry points ---- */

bool register_offered(const struct stream *st)
{
    return st->domain && !stream_tls_pending(st) &&
           allowed(st->srv, st->domain, stream_peer((struct stream *)st));
}

bool register_preauth(struct c2s *c, struct myna_xml *el)
{
    struct stream *st = c2s_stream(c);
    struct myna_xml *q = myna_xml_find(el, NS_REGISTER, "query");
    if (strcmp(el->name, "iq") != 0 || !q || stream_tls_pending(st) || !st->domain)
        return false;
    const char *type = myna_xml_attr(el, "type");
    const char *to = myna_xml_attr(el, "to");
    if (!type || (to && strcmp(to, st->domain) != 0)) {
        send_error(c, el, MYNA_ERR_BAD_REQUEST);
        return true;
    }
    const char *peer = stream_peer(st);
    if (!allowed(st->srv, st->domain, peer)) {
        /* Off, or not for this host or address: XEP-0077 §3.1 says not-allowed. */
        send_error(c, el, st->srv->cfg.allow_registration ? MYNA_ERR_NOT_ALLOWED
                                                          : MYNA_ERR_SERVICE_UNAVAILABLE);
        return true;
    }
    if (strcmp(type, "get") == 0) {
        send_form(c, el);
        return true;
    }
    if (strcmp(type, "set") != 0 || myna_xml_find(q, NS_REGISTER, "remove")) {
        send_error(c, el, strcmp(type, "set") == 0 ? MYNA_ERR_REGISTRATION_REQUIRED
                                                   : MYNA_ERR_BAD_REQUEST);
        return true;
    }
    const char *user, *pass;
    credentials(q, &user, &pass);
    if (!user || !*user || !pass || !*pass) {
        send_error(c, el, MYNA_ERR_NOT_ACCEPTABLE); /* XEP-0077 §3.1: data missing */
        return true;
    }
    const char *node = myna_jid_nodeprep(el->arena, user);
    if (!node || !*node) {
        send_error(c, el, MYNA_ERR_JID_MALFORMED);
        return true;
    }
    if (account_exists(st->srv->accounts, node, st->domain)) {
        send_error(c, el, MYNA_ERR_CONFLICT);
        return true;
    }
    if (!throttle_pass(st->srv, peer)) {
        log_info("c2s", "conn=%llu peer=%s in-band registration refused: one per %u s per "
                 "address (limits.registration_interval)",
                 (unsigned long long)stream_conn_id(st), peer, st->srv->cfg.registration_interval);
        send_error(c, el, MYNA_ERR_RESOURCE_CONSTRAINT);
        return true;
    }
    start_job(c, el, st->domain, node, pass, false);
    return true;
}

/* Deletes the account once the <iq type='result'/> is out (its sessions end with it). */
struct removal {
    struct server *srv;
    char domain[1024];
    char node[1024];
};

static void remove_now(void *data)
{
    struct removal *r = data;
    struct host *h = server_host(r->srv, r->domain);
    struct myna_arena *a = myna_arena_new();
    struct myna_jid bare;
    if (h && myna_jid_make(a, r->node, r->domain, NULL, &bare) == 0) {
        myna_store_env_unit_begin(r->srv->store);
        int rc = users_delete(r->srv, h, &bare);
        int err = myna_store_env_unit_commit(r->srv->store);
        log_info("c2s", "%s removed its account (XEP-0077 §3.2): %s", bare.bare,
                 rc == 0 && err == 0 ? "done" : myna_store_strerror(rc ? rc : err));
    }
    myna_arena_free(a);
    free(r);
}

bool register_session(struct c2s *c, struct myna_session *s, struct myna_xml *el)
{
    struct myna_xml *q = myna_xml_find(el, NS_REGISTER, "query");
    const char *to = myna_xml_attr(el, "to");
    if (strcmp(el->name, "iq") != 0 || !q ||
        (to && strcmp(to, s->jid.domain) != 0))
        return false;
    const char *type = myna_xml_attr(el, "type");
    if (type && strcmp(type, "get") == 0) {
        struct myna_xml *r = result(el);
        struct myna_xml *rq = myna_xml_add_child(r, NS_REGISTER, "query");
        myna_xml_add_child(rq, NS_REGISTER, "registered");
        add_text(rq, NS_REGISTER, "username", s->jid.node);
        send_el(c, r);
        return true;
    }
    if (!type || strcmp(type, "set") != 0) {
        send_error(c, el, MYNA_ERR_BAD_REQUEST);
        return true;
    }
    if (myna_xml_find(q, NS_REGISTER, "remove")) {
        send_el(c, result(el));
        struct removal *r = xcalloc(1, sizeof *r);
        r->srv = s->srv;
        snprintf(r->domain, sizeof r->domain, "%s", s->jid.domain);
        snprintf(r->node, sizeof r->node, "%s", s->jid.node);
        loop_defer(s->srv->loop, remove_now, r);
        return true;
    }
    const char *user, *pass;
    credentials(q, &user, &pass);
    const char *node = user ? myna_jid_nodeprep(el->arena, user) : NULL;
    if (!user || !pass || !*pass) {
        send_error(c, el, MYNA_ERR_BAD_REQUEST); /* XEP-0077 §3.3 */
        return true;
    }
    if (!node || strcmp(node, s->jid.node) != 0) {
        send_error(c, el, MYNA_ERR_NOT_ALLOWED); /* only one's own password */
        return true;
    }
    start_job(c, el, s->jid.domain, node, pass, true);
    return true;
}
