/* server/route/router.c — stanza routing (RFC 6120 §10, RFC 6121 §8).
 * Order for a stanza from a local session: OUT hooks, then by destination domain:
 * claimed sub-domain -> its module; local host -> the host (iq handlers, HOST_STANZA
 * hook) or a user (IN hooks, then full/bare JID delivery rules; USER_UNKNOWN hook, then
 * RFC 6121 §8.5.1 for a local part without an account); anything else is a remote
 * domain, handed to federation (server/stream/s2s.c).
 * Every iq get/set that ends here gets exactly one answer. */
#include "server/route/router.h"

#include <openssl/rand.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/net/wbuf.h"
#include "server/route/session.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/stream/component.h"
#include "server/stream/s2s.h"

static bool is_type(const struct myna_stanza *st, const char *t)
{
    return strcmp(st->type, t) == 0;
}

static bool is_request(const struct myna_stanza *st)
{
    return st->kind == MYNA_IQ && (is_type(st, "get") || is_type(st, "set"));
}

static void reply_error(struct stanza_ctx *st, enum myna_error e)
{
    myna_reply_error(&st->pub, e, NULL);
}

void router_deliver(struct server *srv, struct stanza_ctx *st, struct myna_session *s)
{
    struct myna_stanza *pub = &st->pub;
    st->target = s;
    if (s->host && hooks_run(s->host, MYNA_HOOK_DELIVER, pub) == MYNA_HANDLED) {
        st->target = NULL;
        return;
    }
    st->target = NULL;
    /* Every delivered stanza carries the sender's stamped from (RFC 6120 §8.1.2.1). */
    myna_xml_set_attr(pub->xml, "from", pub->from.full);
    struct wbuf *w = wbuf_serialize(pub->xml, MYNA_NS_CLIENT);
    session_write(s, w);
    wbuf_unref(w);
}

/* A server-originated iq's answer, matched by id. */
static bool iq_response(struct server *srv, struct stanza_ctx *st);

static void to_host(struct server *srv, struct host *h, struct stanza_ctx *st, unsigned where)
{
    struct myna_stanza *pub = &st->pub;
    if (pub->kind == MYNA_IQ) {
        if (is_request(pub)) {
            struct myna_xml *q = myna_xml_first_element(pub->xml);
            enum myna_iq_type t = is_type(pub, "get") ? MYNA_IQ_GET : MYNA_IQ_SET;
            struct reg_iq *r = iq_handler_find(h, t, q->ns, q->name, where);
            if (!r) {
                if (hooks_run(h, MYNA_HOOK_HOST_STANZA, pub) != MYNA_HANDLED)
                    reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
                else if (!st->answered)
                    st->answered = true; /* the hook took it, so answering is its duty */
                return;
            }
            int rc = r->fn(r->owner, pub, r->data);
            if (!st->answered) {
                log_error(r->owner->def->name, "iq handler for %s returned %d without answering",
                          q->ns, rc);
                reply_error(st, MYNA_ERR_INTERNAL_SERVER_ERROR);
            }
            return;
        }
        if (iq_response(srv, st))
            return;
        hooks_run(h, MYNA_HOOK_HOST_STANZA, pub); /* results/errors are never answered */
        return;
    }
    if (hooks_run(h, MYNA_HOOK_HOST_STANZA, pub) == MYNA_HANDLED)
        return;
    /* Messages to the server itself that nothing handles (RFC 6120 §10.3.1). */
    if (pub->kind == MYNA_MESSAGE && !is_type(pub, "error") && !is_type(pub, "groupchat") &&
        !is_type(pub, "headline"))
        reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
}

/* RFC 6121 §8.5.2: the available resources with the highest non-negative priority. */
static int max_priority(struct user *u)
{
    int best = -1;
    for (struct myna_session *s = u ? u->sessions : NULL; s; s = s->next_of_user)
        if (s->available && s->priority >= 0 && s->priority > best)
            best = s->priority;
    return best;
}

static void message_offline(struct server *srv, struct host *h, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    if (hooks_run(h, MYNA_HOOK_MESSAGE_OFFLINE, pub) == MYNA_HANDLED)
        return;
    /* RFC 6121 §8.5.2.2.1: normal/chat are bounced when not stored; others dropped. */
    if (is_type(pub, "normal") || is_type(pub, "chat"))
        reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
}

static void message_to_bare(struct server *srv, struct host *h, struct stanza_ctx *st,
                            struct user *u)
{
    struct myna_stanza *pub = &st->pub;
    if (is_type(pub, "error"))
        return;
    if (is_type(pub, "groupchat")) {
        reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE); /* §8.5.2.1.1 */
        return;
    }
    int best = max_priority(u);
    if (best < 0) {
        if (is_type(pub, "headline"))
            return;
        message_offline(srv, h, st);
        return;
    }
    /* chat/normal: every resource at the highest priority; headline: every available
     * resource with non-negative priority (§8.5.2.1.1). */
    bool all = is_type(pub, "headline");
    for (struct myna_session *s = u->sessions; s;) {
        struct myna_session *next = s->next_of_user;
        if (s->available && s->priority >= 0 && (all || s->priority == best))
            router_deliver(srv, st, s);
        s = next;
    }
}

static void to_user(struct server *srv, struct host *h, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    enum myna_hook in = pub->kind == MYNA_MESSAGE    ? MYNA_HOOK_MESSAGE_IN
                        : pub->kind == MYNA_PRESENCE ? MYNA_HOOK_PRESENCE_IN
                                                     : MYNA_HOOK_IQ_IN;
    bool exists = user_find(srv, pub->to.bare) != NULL ||
                  account_exists(srv->accounts, pub->to.node, h->domain);
    if (!exists) {
        /* A module may serve the address (a bot without an account). */
        if (hooks_run(h, MYNA_HOOK_USER_UNKNOWN, pub) == MYNA_HANDLED) {
            if (is_request(pub) && !st->answered)
                st->answered = true;
            return;
        }
        /* RFC 6121 §8.5.1: no such user. */
        /* Presence to nobody (subscription requests included, §3.1.3) is ignored. */
        if (pub->kind == MYNA_MESSAGE || is_request(pub))
            reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
        return;
    }
    if (hooks_run(h, in, pub) == MYNA_HANDLED) {
        if (is_request(pub) && !st->answered)
            st->answered = true;
        return;
    }
    struct user *u = user_find(srv, pub->to.bare);
    if (pub->to.resource) {
        struct myna_session *s = session_find(srv, pub->to.full);
        if (s) {
            router_deliver(srv, st, s);
            return;
        }
        /* §8.5.3.2: no such resource. */
        switch (pub->kind) {
        case MYNA_MESSAGE:
            /* §8.5.3.2.1: groupchat is bounced (the sender is a room that should learn
             * the occupant is gone), headline dropped (as ejabberd and Prosody do: an
             * error would leak presence), error ignored; chat and normal are treated as
             * if sent to the bare JID, like Prosody and ejabberd. */
            if (is_type(pub, "groupchat"))
                reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
            else if (!is_type(pub, "headline"))
                message_to_bare(srv, h, st, u);
            return;
        case MYNA_PRESENCE:
            return; /* presence to an unknown resource is dropped (subscriptions were
                       handled by the roster module's IN hook when loaded) */
        case MYNA_IQ:
            if (is_request(pub))
                reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
            return;
        }
        return;
    }
    switch (pub->kind) {
    case MYNA_MESSAGE:
        message_to_bare(srv, h, st, u);
        return;
    case MYNA_PRESENCE:
        /* Without a roster module: deliver to every available resource. */
        for (struct myna_session *s = u ? u->sessions : NULL; s;) {
            struct myna_session *next = s->next_of_user;
            if (s->available)
                router_deliver(srv, st, s);
            s = next;
        }
        return;
    case MYNA_IQ:
        /* §8.5.2.1.3 (bare JID iq): the server answers on the user's behalf. */
        to_host(srv, h, st, MYNA_IQ_TO_USER);
        return;
    }
}

/* Whether `domain` lies under one of our hosts (conference.HOST, anything.HOST). */
static bool local_subdomain(struct server *srv, const char *domain)
{
    size_t dl = strlen(domain);
    for (size_t i = 0; i < srv->nhosts; i++) {
        const char *hd = srv->hosts[i]->domain;
        size_t hl = strlen(hd);
        if (dl > hl + 1 && domain[dl - hl - 1] == '.' && strcmp(domain + dl - hl, hd) == 0)
            return true;
    }
    return false;
}

void router_route(struct server *srv, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    const char *domain = pub->to.domain;
    if (component_route(srv, st))
        return;
    if (component_is_domain(srv, domain)) {
        /* Configured but not connected (XEP-0114 gives no queue). */
        if (pub->kind != MYNA_PRESENCE)
            reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
        return;
    }
    struct subdomain *sd = hashmap_get(srv->subdomains, domain);
    if (sd) {
        if (pub->kind == MYNA_IQ && !is_request(pub) && iq_response(srv, st))
            return;
        sd->fn(sd->owner, pub, sd->data);
        return;
    }
    struct host *h = server_host(srv, domain);
    if (h) {
        if (!pub->to.node) {
            if (pub->to.resource) {
                /* host/resource: nothing lives there but answers to our own requests. */
                if (pub->kind == MYNA_IQ && !is_request(pub))
                    iq_response(srv, st);
                else if (is_request(pub) || pub->kind == MYNA_MESSAGE)
                    reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE);
                return;
            }
            to_host(srv, h, st, MYNA_IQ_TO_HOST);
            return;
        }
        to_user(srv, h, st);
        return;
    }
    /* Presence to a sub-domain of a local host that nothing serves (a MUC join to a
     * conference service that does not exist) can never be delivered: the sender learns
     * it from an error presence (RFC 6120 §8.3.3.15), as from Prosody and ejabberd,
     * instead of waiting forever. Unavailable presence is not answered (nothing waits for
     * it). Other stanzas to such a sub-domain are s2s_route's (answered at once too,
     * unless s2s.domains says where that domain is). */
    if (pub->kind == MYNA_PRESENCE && !is_type(pub, "unavailable") &&
        local_subdomain(srv, domain) && !config_s2s_domain(&srv->cfg, domain)) {
        reply_error(st, MYNA_ERR_REMOTE_SERVER_NOT_FOUND);
        return;
    }
    /* A remote domain: federation (queued, sent, or bounced there). */
    s2s_route(srv, st);
}

void router_from_session(struct server *srv, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    struct host *h = pub->origin ? pub->origin->host : NULL;
    if (h) {
        enum myna_hook out = pub->kind == MYNA_MESSAGE    ? MYNA_HOOK_MESSAGE_OUT
                             : pub->kind == MYNA_PRESENCE ? MYNA_HOOK_PRESENCE_OUT
                                                          : MYNA_HOOK_IQ_OUT;
        if (hooks_run(h, out, pub) == MYNA_HANDLED) {
            if (is_request(pub) && !st->answered)
                st->answered = true;
            return;
        }
    }
    router_route(srv, st);
}

/* ---- server-originated iqs ---- */

struct iq_request {
    char *id;
    char *peer;          /* the JID asked: only it may answer (no forged replies) */
    struct myna_module *m;
    myna_iq_response_fn fn;
    void *data;
    uint64_t timer;
    struct server *srv;
};

static void iq_request_timeout(void *data)
{
    struct iq_request *r = data;
    hashmap_del(r->srv->pending_iqs, r->id);
    if (r->m) {
        myna_store_env_unit_begin(r->srv->store); /* one unit of work, like a timer */
        r->fn(r->m, NULL, r->data);
        myna_store_env_unit_commit(r->srv->store);
    }
    free(r->id);
    free(r->peer);
    free(r);
}

static bool iq_response(struct server *srv, struct stanza_ctx *st)
{
    struct myna_stanza *pub = &st->pub;
    if (!pub->id || is_request(pub))
        return false;
    struct iq_request *r = hashmap_get(srv->pending_iqs, pub->id);
    /* RFC 6120 §8.1.2.1: the answer comes from the entity asked (a bare JID's account
     * may answer from the bare JID or, for a user's own resources, a full one). */
    if (!r || (strcmp(pub->from.full, r->peer) != 0 && strcmp(pub->from.bare, r->peer) != 0))
        return false;
    hashmap_del(srv->pending_iqs, pub->id);
    loop_timer_cancel(srv->loop, r->timer);
    if (r->m)
        r->fn(r->m, pub, r->data);
    free(r->id);
    free(r->peer);
    free(r);
    return true;
}

int router_iq_request(struct server *srv, struct myna_module *m, struct myna_xml *iq,
                      unsigned timeout_ms, myna_iq_response_fn fn, void *data)
{
    char idbuf[40];
    const char *id = myna_xml_attr(iq, "id");
    const char *to = myna_xml_attr(iq, "to");
    struct myna_jid peer;
    if (!to || myna_jid_parse(iq->arena, to, &peer) < 0 || !myna_xml_attr(iq, "from"))
        return -1;
    if (!id) {
        /* Unguessable ids, so nobody can answer for the peer by guessing. */
        unsigned char rnd[8];
        RAND_bytes(rnd, sizeof rnd);
        snprintf(idbuf, sizeof idbuf, "myna-%llu-%02x%02x%02x%02x%02x%02x%02x%02x",
                 (unsigned long long)++srv->next_iq_id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
        myna_xml_set_attr(iq, "id", idbuf);
        id = myna_xml_attr(iq, "id");
    }
    struct iq_request *r = xcalloc(1, sizeof *r);
    r->id = xstrdup(id);
    r->peer = xstrdup(peer.full);
    r->m = m;
    r->fn = fn;
    r->data = data;
    r->srv = srv;
    struct iq_request *old = hashmap_put(srv->pending_iqs, r->id, r);
    if (old) {
        loop_timer_cancel(srv->loop, old->timer);
        free(old->id);
        free(old->peer);
        free(old);
    }
    r->timer = loop_timer_add(srv->loop, timeout_ms ? timeout_ms : 30000, iq_request_timeout, r);
    stanza_send(srv, iq);
    return 0;
}

/* Drops pending requests made by a module being unloaded. */
static void drop_module_iq(const char *key, void *value, void *data)
{
    struct iq_request *r = value;
    if (r->m == data)
        r->m = NULL;
}

void router_forget_module(struct server *srv, struct myna_module *m)
{
    hashmap_each(srv->pending_iqs, drop_module_iq, m);
}

static void free_request(const char *key, void *value, void *data)
{
    struct iq_request *r = value;
    free(r->id);
    free(r->peer);
    free(r);
}

void router_free(struct server *srv)
{
    hashmap_each(srv->pending_iqs, free_request, NULL);
}
