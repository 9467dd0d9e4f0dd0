/* server/stream/c2s.c — client streams: what is client-specific on top of the stream
 * layer (stream.c: headers, features assembly, STARTTLS, restarts, stream errors, close)
 * and SASL (sasl.c): the hosts a client may name, which features it gets, resource
 * binding (RFC 6120 §7), legacy session establishment, stanzas to the router (§8.1.2.1
 * 'from' checks), nonzas to modules, XEP-0198 acks and XEP-0352.
 * Phases, each with its own element handler: pre-auth (starttls and SASL) -> bind ->
 * session. Anything out of phase ends the stream with the RFC's error; a c2s is freed
 * only when its stream's last reference goes (the connection, each running job or delay). */
#include "server/stream/c2s.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/net/bosh.h"
#include "server/net/http.h"
#include "server/net/wbuf.h"
#include "server/net/websocket.h"
#include "server/modhost/host.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/csi.h"
#include "server/stream/preauth.h"
#include "server/stream/register.h"
#include "server/stream/sasl.h"
#include "server/stream/sm.h"
#include "server/stream/stream.h"

enum c2s_phase {
    PHASE_PREAUTH, /* features sent: STARTTLS and/or SASL (sasl.c has its own states) */
    PHASE_BIND,    /* authenticated, waiting for resource binding */
    PHASE_SESSION, /* bound */
};

struct c2s {
    struct stream st;                  /* the stream layer's part (first) */
    struct host *host;                 /* from the stream header's 'to' */
    struct sasl *sasl;                 /* until authenticated */
    char *user;                        /* authenticated node (prepared) */
    struct myna_session *session;
    struct sm *sm;                     /* XEP-0198 state once enabled, else NULL */
    struct csi csi;                    /* XEP-0352 state */
    enum c2s_phase phase;              /* while the stream is open */
    uint16_t listener;                 /* index of its listener in srv->cfg.listens (for
                                        * XEP-0198 'location'); UINT16_MAX when unknown */
};

#define C2S(s) ((struct c2s *)(s))

/* ---- lifetime ---- */

static void c2s_free(struct stream *st)
{
    struct c2s *c = C2S(st);
    sasl_free(c->sasl);
    pool_strfree(c->user);
    csi_clear(&c->csi);
    sm_free(c->sm);
    pool_free(c, sizeof *c);
}

static void queue_held(void *ud, struct wbuf *b)
{
    sm_queue(ud, b);
}

/* The session ends with its stream; XEP-0198 decides what becomes of it and of what the
 * client did not acknowledge (sm.c). */
static void c2s_ended(struct stream *st)
{
    struct c2s *c = C2S(st);
    struct myna_session *s = c->session;
    if (s) {
        c->session = NULL;
        s->c2s = NULL;
    }
    if (c->sm && c->csi.held)
        csi_flush(&c->csi, queue_held, c->sm); /* a resumed stream gets them */
    sm_stream_ended(&c->sm, s, st->broken);
}

void c2s_release(struct c2s *c)
{
    if (c->sm && c->csi.held)
        csi_flush(&c->csi, queue_held, c->sm); /* the resumed stream gets them */
    if (c->session)
        c->session->c2s = NULL;
    c->session = NULL;
    c->sm = NULL;
}

const char *c2s_user(const struct c2s *c)
{
    return c->user;
}

/* XEP-0198 §5 'location': the listener's, else the host's. */
static const char *sm_location(const struct c2s *c)
{
    const struct config *cfg = &c->st.srv->cfg;
    if (c->listener < cfg->nlistens && cfg->listens[c->listener].sm_location)
        return cfg->listens[c->listener].sm_location;
    return c->host->cfg ? c->host->cfg->sm_location : NULL;
}

/* ---- output ---- */

/* After CSI: stream management counts and keeps what it has not seen acknowledged. */
/* Which kind of stanza b holds, for /metrics (it starts with its element). */
static void count_out(struct server *srv, const char *data, size_t len)
{
    if (len > 2 && data[0] == '<')
        srv->stats.stanzas_out[data[1] == 'm' ? STAT_MESSAGE
                               : data[1] == 'p' ? STAT_PRESENCE
                                                : STAT_IQ]++;
}

static void write_now(struct c2s *c, struct wbuf *b)
{
    count_out(c->st.srv, b->data, b->len);
    stream_write_buf(&c->st, b);
    if (c->sm)
        sm_sent(c->sm, b);
}

static void write_held(void *ud, struct wbuf *b)
{
    write_now(ud, b);
}

/* Every stanza to the client goes through here (not nonzas): CSI may hold it, stream
 * management counts and keeps what it has not seen acknowledged. */
void c2s_write(struct c2s *c, struct wbuf *b)
{
    if (!stream_writable(&c->st))
        return;
    if (c->csi.inactive && csi_hold(&c->csi, b))
        return;
    if (c->csi.held)
        csi_flush(&c->csi, write_held, c);
    write_now(c, b);
}

void c2s_write_splice(struct c2s *c, struct wbuf *shared, size_t split, const char *piece,
                      size_t plen)
{
    if (!stream_writable(&c->st))
        return;
    if (c->sm || c->csi.inactive || c->csi.held) {
        struct wbuf *w = wbuf_splice(shared, split, piece, plen);
        c2s_write(c, w);
        wbuf_unref(w);
        return;
    }
    count_out(c->st.srv, shared->data, shared->len);
    stream_write_splice(&c->st, shared, split, piece, plen);
}

size_t c2s_queued_bytes(const struct c2s *c)
{
    return stream_queued(&c->st);
}

static void send_xml(struct c2s *c, const struct myna_xml *el)
{
    struct wbuf *w = wbuf_serialize(el, MYNA_NS_CLIENT);
    c2s_write(c, w);
    wbuf_unref(w);
}

struct stream *c2s_stream(struct c2s *c)
{
    return &c->st;
}

struct myna_session *c2s_session(const struct c2s *c)
{
    return c->session;
}

void c2s_close(struct c2s *c, const char *condition, const char *text)
{
    if (condition)
        stream_error(&c->st, stream_error_from_name(condition), text);
    else
        stream_close(&c->st);
}

/* ---- features ---- */

static void c2s_features(struct stream *st, struct myna_buf *b)
{
    struct c2s *c = C2S(st);
    if (!st->authenticated) {
        sasl_features(c->sasl, b);
        if (register_offered(st))
            myna_buf_appends(b, "<register xmlns='http://jabber.org/features/iq-register'/>");
        return;
    }
    myna_buf_printf(b, "<bind xmlns='%s'/>", MYNA_NS_BIND);
    /* RFC 3921 session establishment, optional (RFC 6121 appendix E). */
    myna_buf_printf(b, "<session xmlns='%s'><optional/></session>", MYNA_NS_SESSION);
    myna_buf_appends(b, SM_FEATURE);
    myna_buf_appends(b, CSI_FEATURE);
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *f = myna_xml_new(a, MYNA_NS_STREAM, "features");
    stream_features_add(c->host, c->session, f);
    for (struct myna_xml *x = f->children; x; x = x->next)
        if (x->type == MYNA_XML_ELEMENT)
            myna_xml_serialize(x, MYNA_NS_CLIENT, b);
    myna_arena_free(a);
}

/* The header's 'to' must be one of our hosts; after authentication, the same one. */
static bool c2s_header(struct stream *st, const struct myna_xml *header, const char *to)
{
    struct c2s *c = C2S(st);
    struct host *h = to ? server_host(st->srv, to) : NULL;
    if (st->authenticated)
        return h && h == c->host;
    if (h) {
        c->host = h;
        stream_set_domain(st, h->domain);
    }
    return h != NULL;
}

static void c2s_opened(struct stream *st)
{
    struct c2s *c = C2S(st);
    if (!st->authenticated) {
        c->phase = PHASE_PREAUTH;
        return;
    }
    c->phase = PHASE_BIND;
    sasl_free(c->sasl); /* done; nothing of it runs any more */
    c->sasl = NULL;
}

/* SASL succeeded as user@domain: restart for the authenticated stream (RFC 6120 §6.4.6). */
static void c2s_authenticated(struct stream *st, const char *user)
{
    struct c2s *c = C2S(st);
    pool_strfree(c->user);
    c->user = pool_strdup(user);
    stream_set_stanza_limit(st, st->srv->cfg.c2s_stanza_size);
    stream_authenticated(st);
}

/* ---- phases ---- */

static void phase_preauth(struct c2s *c, struct myna_xml *el)
{
    if (sasl_busy(c->sasl)) {
        /* Pipelined input while a password is checked or a failure delayed. */
        stream_error(&c->st, STREAM_ERR_POLICY_VIOLATION, "Data sent before the server answered");
        return;
    }
    if (myna_xml_is(el, MYNA_NS_TLS, "starttls")) {
        stream_starttls(&c->st, sasl_idle(c->sasl));
        return;
    }
    if (strcmp(el->ns, MYNA_NS_SASL) == 0) {
        sasl_element(c->sasl, el);
        return;
    }
    if (stream_is_stanza(&c->st, el)) {
        if (register_preauth(c, el)) /* XEP-0077 before login */
            return;
        stream_error(&c->st, STREAM_ERR_NOT_AUTHORIZED, NULL); /* RFC 6120 §4.9.3.12 */
        return;
    }
    stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
}

static void send_iq_error(struct c2s *c, struct myna_xml *el, enum myna_error e)
{
    send_xml(c, stanza_error_element(el, c->session ? c->session->jid.full : NULL, e));
}

void c2s_attach_session(struct c2s *c, struct myna_session *s)
{
    stream_established(&c->st);
    c->phase = PHASE_SESSION;
    c->session = s;
    s->c2s = c;
    log_info("c2s", "conn=%llu peer=%s bound %s", (unsigned long long)stream_conn_id(&c->st),
             stream_peer(&c->st), s->jid.full);
}

static void random_resource(char *buf, size_t len)
{
    unsigned char rnd[6];
    RAND_bytes(rnd, sizeof rnd);
    snprintf(buf, len, "myna-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5]);
}

/* True if the account has limits.sessions_per_account bound resources already. */
static bool account_full(const struct c2s *c, const char *bare)
{
    const struct user *u = user_find(c->st.srv, bare);
    unsigned n = 0;
    for (const struct myna_session *s = u ? u->sessions : NULL; s; s = s->next_of_user)
        n++;
    if (n < c->st.srv->cfg.sessions_per_account)
        return false;
    log_info("c2s", "conn=%llu %s: %u resources bound already (limits.sessions_per_account)",
             (unsigned long long)stream_conn_id(&c->st), bare, n);
    return true;
}

static void phase_bind(struct c2s *c, struct myna_xml *el)
{
    const char *type = myna_xml_attr(el, "type");
    const char *id = myna_xml_attr(el, "id");
    struct myna_xml *bind = myna_xml_find(el, MYNA_NS_BIND, "bind");
    if (!myna_xml_is(el, MYNA_NS_CLIENT, "iq") || !bind) {
        if (sm_element(&c->sm, c, el, sm_location(c)))
            return;
        if (stream_is_stanza(&c->st, el))
            stream_error(&c->st, STREAM_ERR_NOT_AUTHORIZED, "Bind a resource first");
        else if (nonza_dispatch(c->host, NULL, el) != MYNA_HANDLED)
            stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    if (!type || strcmp(type, "set") != 0 || !id) {
        send_iq_error(c, el, MYNA_ERR_BAD_REQUEST);
        return;
    }
    const char *res = myna_xml_child_text(bind, MYNA_NS_BIND, "resource");
    char gen[32];
    if (!res || !*res) {
        random_resource(gen, sizeof gen);
        res = gen;
    }
    struct myna_jid full;
    if (myna_jid_make(el->arena, c->user, c->host->domain, res, &full) < 0) {
        send_iq_error(c, el, MYNA_ERR_BAD_REQUEST); /* RFC 6120 §7.7.2.1 */
        return;
    }
    if (c->st.srv->nsessions >= c->st.srv->cfg.max_sessions ||
        (!session_find(c->st.srv, full.full) && account_full(c, full.bare))) {
        /* RFC 6120 §7.6.2.1: the account (or server) is at its limit of resources. A
         * resource already bound is replaced (conflict), so it never counts. */
        send_iq_error(c, el, MYNA_ERR_RESOURCE_CONSTRAINT);
        return;
    }
    c2s_attach_session(c, session_new(c->st.srv, c->host, c, &full));
    struct myna_xml *r = myna_xml_new(el->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(r, "type", "result");
    myna_xml_set_attr(r, "id", id);
    struct myna_xml *b = myna_xml_add_child(r, MYNA_NS_BIND, "bind");
    struct myna_xml *j = myna_xml_add_child(b, MYNA_NS_BIND, "jid");
    myna_xml_add_text(j, c->session->jid.full, strlen(c->session->jid.full));
    send_xml(c, r);
}

/* Records the session's broadcast presence for routing (RFC 6121 §4.2, §8.5.2). */
static void track_presence(struct myna_session *s, struct myna_stanza *st)
{
    if (st->has_to)
        return;
    if (strcmp(st->type, "available") == 0) {
        bool initial = !s->available;
        myna_session_set_presence(s, st->xml);
        if (initial) {
            struct myna_event ev = {
                .type = MYNA_EVENT_SESSION_AVAILABLE, .user = &s->jid, .session = s};
            events_emit(s->host, &ev);
        }
    } else if (strcmp(st->type, "unavailable") == 0) {
        myna_session_set_presence(s, NULL);
    }
}

static void phase_session(struct c2s *c, struct myna_xml *el)
{
    struct myna_session *s = c->session;
    if (!stream_is_stanza(&c->st, el)) {
        if (sm_element(&c->sm, c, el, sm_location(c)) || csi_element(&c->csi, el, write_held, c))
            return;
        if (strcmp(el->ns, MYNA_NS_CLIENT) == 0) {
            stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
            return;
        }
        if (nonza_dispatch(c->host, s, el) != MYNA_HANDLED)
            stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    if (c->sm)
        sm_received(c->sm);
    c->st.srv->stats.stanzas_in[el->name[0] == 'm' ? STAT_MESSAGE
                                : el->name[0] == 'p' ? STAT_PRESENCE
                                                     : STAT_IQ]++;
    /* RFC 6120 §8.1.2.1: 'from' from a client must be its own JID, if present. */
    const char *from = myna_xml_attr(el, "from");
    if (from) {
        struct myna_jid fj;
        if (myna_jid_parse(el->arena, from, &fj) < 0 ||
            (!myna_jid_equal(&fj, &s->jid) &&
             !(fj.resource == NULL && strcmp(fj.bare, s->jid.bare) == 0))) {
            stream_error(&c->st, STREAM_ERR_INVALID_FROM, NULL);
            return;
        }
    }
    if (register_session(c, s, el)) /* XEP-0077: password change, account removal */
        return;
    /* Legacy session establishment (RFC 3921 §3): accept and answer. */
    if (strcmp(el->name, "iq") == 0 && myna_xml_find(el, MYNA_NS_SESSION, "session") &&
        !myna_xml_attr(el, "to")) {
        struct myna_xml *r = myna_xml_new(el->arena, MYNA_NS_CLIENT, "iq");
        myna_xml_set_attr(r, "type", "result");
        const char *id = myna_xml_attr(el, "id");
        if (id)
            myna_xml_set_attr(r, "id", id);
        send_xml(c, r);
        return;
    }
    struct stanza_ctx ctx;
    enum myna_error err;
    if (stanza_init(&ctx, c->st.srv, el, &s->jid, s, &err) < 0) {
        const char *type = myna_xml_attr(el, "type");
        if (!type || strcmp(type, "error") != 0)
            send_iq_error(c, el, err);
        return;
    }
    myna_xml_set_attr(el, "from", s->jid.full);
    if (ctx.pub.kind == MYNA_PRESENCE)
        track_presence(s, &ctx.pub);
    router_from_session(c->st.srv, &ctx);
    stanza_check_unit(&ctx);
}

static void c2s_element(struct stream *st, struct myna_xml *el)
{
    struct c2s *c = C2S(st);
    switch (c->phase) {
    case PHASE_PREAUTH:
        phase_preauth(c, el);
        break;
    case PHASE_BIND:
        phase_bind(c, el);
        break;
    case PHASE_SESSION:
        phase_session(c, el);
        break;
    }
}

static const char *c2s_who(const struct stream *st)
{
    const struct myna_session *s = ((const struct c2s *)st)->session;
    return s ? s->jid.full : NULL;
}

static const struct stream_kind c2s_kind = {
    .name = "c2s",
    .ns = MYNA_NS_CLIENT,
    .rfc6120 = true,
    .header = c2s_header,
    .features = c2s_features,
    .opened = c2s_opened,
    .element = c2s_element,
    .ended = c2s_ended,
    .free = c2s_free,
    .who = c2s_who,
};

static void c2s_limits(const struct server *srv, struct stream_limits *lim)
{
    *lim = (struct stream_limits){
        /* Until authentication only what SASL needs (limits.preauth_stanza_size). */
        .max_stanza_bytes = srv->cfg.preauth_stanza_size < srv->cfg.c2s_stanza_size
                                ? srv->cfg.preauth_stanza_size
                                : srv->cfg.c2s_stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
        .rate = srv->cfg.c2s_rate,
        .burst = srv->cfg.c2s_burst,
        .deadline_ms = (uint64_t)srv->cfg.auth_timeout * 1000,
    };
}

/* The listener's place in the current config (l is the listener's own copy), for the
 * per-listener XEP-0198 location; UINT16_MAX when none matches. */
static uint16_t listener_index(const struct server *srv, const struct config_listen *l)
{
    uint16_t idx = UINT16_MAX;
    for (size_t i = 0; i < srv->cfg.nlistens && i < UINT16_MAX; i++)
        if (srv->cfg.listens[i].port == l->port && srv->cfg.listens[i].type == l->type &&
            strcmp(srv->cfg.listens[i].address, l->address) == 0)
            idx = (uint16_t)i;
    return idx;
}

void c2s_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer)
{
    char key[PREAUTH_KEY_MAX];
    if (!preauth_admit(srv, peer, key)) {
        close(fd);
        return;
    }
    struct c2s *c = pool_alloc(sizeof *c);
    struct stream_limits lim;
    c2s_limits(srv, &lim);
    c->listener = listener_index(srv, l);
    c->sasl = sasl_new(&c->st, SASL_C2S, c2s_authenticated);
    sasl_hold_preauth(c->sasl, key);
    stream_accept(&c->st, srv, &c2s_kind, &lim, l, fd, peer);
}

/* ---- over WebSocket (RFC 7395) ---- */

/* The events of a WebSocket or BOSH transport. */
static void ws_input(void *owner, const char *data, size_t len)
{
    stream_input(&C2S(owner)->st, data, len);
}

static void ws_gone(void *owner, const char *why)
{
    stream_transport_gone(&C2S(owner)->st, why);
}

static const struct ws_events c2s_ws_events = {
    .input = ws_input,
    .gone = ws_gone,
};

void c2s_websocket(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct server *srv = ud;
    /* Counted with the unauthenticated TCP clients of the same address. */
    char key[PREAUTH_KEY_MAX];
    if (!preauth_admit(srv, req->peer, key)) {
        http_error(hc, 503);
        return;
    }
    if (!websocket_origin_allowed(hc, (const char *const *)srv->cfg.http.websocket_origins,
                                  srv->cfg.http.external_url)) {
        log_info("c2s", "peer=%s WebSocket from origin %s refused (http.websocket_origins)",
                 req->peer, http_header(hc, "Origin"));
        preauth_release(srv, key);
        http_error(hc, 403);
        return;
    }
    struct c2s *c = pool_alloc(sizeof *c);
    struct transport *tr = websocket_upgrade(hc, req, MYNA_NS_CLIENT, srv->cfg.c2s_stanza_size,
                                             &c2s_ws_events, c);
    if (!tr) {
        preauth_release(srv, key);
        pool_free(c, sizeof *c);
        return;
    }
    struct stream_limits lim;
    c2s_limits(srv, &lim);
    c->listener = UINT16_MAX; /* not a c2s listener: the host's sm_location applies */
    c->sasl = sasl_new(&c->st, SASL_C2S, c2s_authenticated);
    sasl_hold_preauth(c->sasl, key);
    /* wss:// is TLS from the first byte; over ws:// (a reverse proxy on the same machine
     * usually took TLS off) there is no STARTTLS to offer. */
    stream_attach(&c->st, srv, &c2s_kind, &lim, tr,
                  req->secure ? STREAM_TLS_DIRECT : STREAM_TLS_NONE);
    if (req->secure)
        stream_secured(&c->st);
    websocket_start(tr);
}

/* ---- over BOSH (XEP-0206) ---- */

static void *bosh_create(struct server *srv, struct transport *tr, bool secure, const char *peer)
{
    /* Counted with the unauthenticated TCP clients of the same address. */
    char key[PREAUTH_KEY_MAX];
    if (!preauth_admit(srv, peer, key))
        return NULL;
    struct c2s *c = pool_alloc(sizeof *c);
    struct stream_limits lim;
    c2s_limits(srv, &lim);
    c->listener = UINT16_MAX; /* not a c2s listener: the host's sm_location applies */
    c->sasl = sasl_new(&c->st, SASL_C2S, c2s_authenticated);
    sasl_hold_preauth(c->sasl, key);
    stream_attach(&c->st, srv, &c2s_kind, &lim, tr, secure ? STREAM_TLS_DIRECT : STREAM_TLS_NONE);
    if (secure)
        stream_secured(&c->st);
    return c;
}

static const char *bosh_stream_id(void *owner)
{
    return C2S(owner)->st.id;
}

static const struct bosh_hooks c2s_bosh_hooks = {
    .create = bosh_create,
    .input = ws_input,
    .stream_id = bosh_stream_id,
    .gone = ws_gone,
};

void c2s_bosh(struct http_conn *hc, const struct http_request *req, void *ud)
{
    bosh_request(ud, hc, req, &c2s_bosh_hooks);
}
