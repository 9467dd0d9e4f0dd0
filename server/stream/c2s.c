/* server/stream/c2s.c — client streams (RFC 6120 §4 streams, §5 STARTTLS, §6 SASL, §7 binding;
 * XEP-0368 direct TLS; XEP-0440 channel-binding types).
 * A stream goes through phases, each with its own element handler:
 *   pre-auth (starttls, auth, response, abort) -> bind (iq bind, legacy session) ->
 *   session (stanzas to the router, nonzas to modules).
 * Headers, features assembly, STARTTLS, restarts and stream errors are the stream layer's
 * (stream.c); this file decides what is client-specific. Anything out of phase ends the
 * stream with the RFC's error; a c2s is freed only when its stream's last reference goes
 * (the connection, each running job or delay). */
#include "server/stream/c2s.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/base/scram.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/net/wbuf.h"
#include "server/modhost/host.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/stream/sm.h"
#include "server/stream/stream.h"

#define SASL_MAX_FAILURES 5
#define SASL_MAX_PAYLOAD 8192

enum c2s_phase {
    PHASE_PREAUTH, /* features sent: STARTTLS and/or SASL */
    PHASE_SASL,    /* SCRAM exchange in progress (waiting for <response/>) */
    PHASE_BUSY,    /* waiting for a job or a failure delay; input is queued by TCP */
    PHASE_BIND,    /* authenticated, waiting for resource binding */
    PHASE_SESSION, /* bound */
};

struct c2s {
    struct stream st;                  /* the stream layer's part (first) */
    enum c2s_phase phase;              /* while the stream is open */
    struct host *host;                 /* from the stream header's 'to' */
    char *user;                        /* authenticated node (prepared) */
    struct scram_server *scram;        /* during a SCRAM exchange */
    struct myna_session *session;
    char mech[24];                     /* mechanism awaiting its first <response/> */
    struct sm *sm;                     /* XEP-0198 state once enabled, else NULL */
    struct csi_held *held;             /* XEP-0352: presence held while inactive */
    bool inactive;                     /* the client said <inactive/> */
    unsigned sasl_failures;
};

#define C2S(s) ((struct c2s *)(s))

static void csi_flush(struct c2s *c);

/* ---- lifetime ---- */

static void c2s_free(struct stream *st)
{
    struct c2s *c = C2S(st);
    pool_strfree(c->user);
    csi_flush(c); /* frees what is held; nothing is written any more */
    sm_free(c->sm);
    pool_free(c, sizeof *c);
}

static void sm_reroute(struct c2s *c);

static void c2s_end_session(struct c2s *c)
{
    if (c->session) {
        struct myna_session *s = c->session;
        c->session = NULL;
        c->st.who = NULL;
        s->c2s = NULL;
        session_free(s);
    }
    /* After the session is gone, so nothing is routed back to it. */
    sm_reroute(c);
}

static void c2s_ended(struct stream *st)
{
    struct c2s *c = C2S(st);
    c2s_end_session(c);
    if (c->scram) {
        scram_server_free(c->scram);
        c->scram = NULL;
    }
}

/* ---- output ---- */

static void send_str(struct c2s *c, const char *s)
{
    stream_write_str(&c->st, s);
}

static void send_buf(struct c2s *c, struct myna_buf *b)
{
    stream_write(&c->st, b->data, b->len);
}

static void sm_request_ack(struct c2s *c);

/* Every stanza to the client goes through here (not nonzas): stream management counts and
 * keeps what it has not seen acknowledged. */
static void write_now(struct c2s *c, struct wbuf *b)
{
    stream_write_buf(&c->st, b);
    if (c->sm) {
        sm_sent(c->sm, b);
        sm_request_ack(c);
    }
}

/* ---- XEP-0352 client state indication ----
 * While the client is inactive, available/unavailable presence for it is held, only the
 * latest per sender, and written before anything else that goes to the client or when it
 * becomes active; so the client still sees an order the server could have produced. */

#define CSI_MAX_HELD 256

struct csi_held {
    char *from;          /* the sender's full JID */
    struct wbuf *buf;    /* its latest presence, serialized */
    struct csi_held *next;
};

static void csi_flush(struct c2s *c)
{
    struct csi_held *h = c->held;
    c->held = NULL;
    while (h) {
        struct csi_held *n = h->next;
        if (stream_writable(&c->st))
            write_now(c, h->buf);
        wbuf_unref(h->buf);
        free(h->from);
        free(h);
        h = n;
    }
}

/* Holds b if it is presence that may wait; returns false to write it now. */
static bool csi_hold(struct c2s *c, struct wbuf *b)
{
    if (b->len < 9 || memcmp(b->data, "<presence", 9) != 0)
        return false;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_parse(a, b->data, b->len, MYNA_NS_CLIENT);
    const char *type = p ? myna_xml_attr(p, "type") : NULL;
    const char *from = p ? myna_xml_attr(p, "from") : NULL;
    bool hold = p && from && (!type || strcmp(type, "unavailable") == 0);
    size_t n = 0;
    struct csi_held **pp = &c->held;
    for (; hold && *pp; pp = &(*pp)->next, n++) {
        if (strcmp((*pp)->from, from) == 0) { /* newer presence replaces the held one */
            wbuf_unref((*pp)->buf);
            (*pp)->buf = wbuf_ref(b);
            myna_arena_free(a);
            return true;
        }
    }
    if (hold && n < CSI_MAX_HELD) {
        struct csi_held *h = xcalloc(1, sizeof *h);
        h->from = xstrdup(from);
        h->buf = wbuf_ref(b);
        *pp = h;
    } else {
        hold = false;
    }
    myna_arena_free(a);
    return hold;
}

/* Every stanza to the client goes through here (not nonzas): CSI may hold it, stream
 * management counts and keeps what it has not seen acknowledged. */
void c2s_write(struct c2s *c, struct wbuf *b)
{
    if (!stream_writable(&c->st))
        return;
    if (c->inactive && csi_hold(c, b))
        return;
    if (c->held)
        csi_flush(c);
    write_now(c, b);
}

void c2s_write_splice(struct c2s *c, struct wbuf *shared, size_t split, const char *piece,
                      size_t plen)
{
    if (!stream_writable(&c->st))
        return;
    if (c->sm || c->inactive || c->held) {
        struct wbuf *w = wbuf_splice(shared, split, piece, plen);
        c2s_write(c, w);
        wbuf_unref(w);
        return;
    }
    stream_write_splice(&c->st, shared, split, piece, plen);
}

size_t c2s_queued_bytes(const struct c2s *c)
{
    return stream_queued(&c->st);
}

/* Returns true if el was a CSI element (handled). */
static bool csi_nonza(struct c2s *c, struct myna_xml *el)
{
    if (strcmp(el->ns, "urn:xmpp:csi:0") != 0 || c->phase != PHASE_SESSION)
        return false;
    if (strcmp(el->name, "inactive") == 0) {
        c->inactive = true;
    } else if (strcmp(el->name, "active") == 0) {
        c->inactive = false;
        csi_flush(c);
    } else {
        return false;
    }
    return true;
}

static void send_xml(struct c2s *c, const struct myna_xml *el)
{
    struct wbuf *w = wbuf_serialize(el, MYNA_NS_CLIENT);
    c2s_write(c, w);
    wbuf_unref(w);
}

/* ---- XEP-0198 stream management (acks; no resumption) ---- */

#define NS_SM "urn:xmpp:sm:3"
#define SM_ASK_EVERY 10     /* ask for an ack after this many unacknowledged stanzas */
#define SM_ASK_AFTER_MS 1000 /* or this long after the first one */

static void sm_send_r(struct c2s *c)
{
    send_str(c, "<r xmlns='urn:xmpp:sm:3'/>");
}

static void sm_timer_fire(void *data)
{
    struct c2s *c = data;
    c->sm->timer = 0;
    if (c->sm->len)
        sm_send_r(c);
}

static void sm_request_ack(struct c2s *c)
{
    if (c->sm->len % SM_ASK_EVERY == 0)
        sm_send_r(c);
    else if (!c->sm->timer)
        c->sm->timer = loop_timer_add(c->st.srv->loop, SM_ASK_AFTER_MS, sm_timer_fire, c);
}

static void sm_enable(struct c2s *c)
{
    if (c->sm) {
        send_str(c, "<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
                    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
        return;
    }
    c->sm = sm_new();
    /* No resume attribute: a broken stream ends the session (its unacknowledged stanzas
     * are routed again, see sm_reroute). */
    send_str(c, "<enabled xmlns='urn:xmpp:sm:3'/>");
}

static void sm_on_ack(struct c2s *c, struct myna_xml *el)
{
    const char *hs = myna_xml_attr(el, "h");
    char *end = NULL;
    unsigned long h = hs ? strtoul(hs, &end, 10) : 0;
    if (!hs || !*hs || *end || h > UINT32_MAX) {
        stream_error(&c->st, STREAM_ERR_UNDEFINED_CONDITION, "Bad 'h' in <a/>");
        return;
    }
    if (!sm_ack(c->sm, (uint32_t)h)) {
        /* XEP-0198 §4: acknowledging more than was sent is a stream error. */
        char buf[128];
        snprintf(buf, sizeof buf,
                 "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='%lu' send-count='%u'/>", h,
                 c->sm->out);
        stream_error_app(&c->st, STREAM_ERR_UNDEFINED_CONDITION, NULL, buf);
        return;
    }
    if (!c->sm->len && c->sm->timer) {
        loop_timer_cancel(c->st.srv->loop, c->sm->timer);
        c->sm->timer = 0;
    }
}

/* Returns true if el was a stream management element (handled). */
static bool sm_nonza(struct c2s *c, struct myna_xml *el)
{
    if (strcmp(el->ns, NS_SM) != 0)
        return false;
    if (strcmp(el->name, "enable") == 0) {
        if (c->phase != PHASE_SESSION)
            send_str(c, "<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
        else
            sm_enable(c);
    } else if (strcmp(el->name, "r") == 0 && c->sm) {
        char buf[64];
        snprintf(buf, sizeof buf, "<a xmlns='urn:xmpp:sm:3' h='%u'/>", c->sm->in);
        send_str(c, buf);
    } else if (strcmp(el->name, "a") == 0 && c->sm) {
        sm_on_ack(c, el);
    } else if (strcmp(el->name, "r") != 0 && strcmp(el->name, "a") != 0) {
        stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
    }
    return true;
}

/* The stream ended with stanzas the client never acknowledged (XEP-0198 §4): messages go
 * to the user again (another resource, or offline storage), iq requests get an error back
 * to their sender, presence is dropped. */
static void sm_reroute(struct c2s *c)
{
    if (!c->sm)
        return;
    if (c->sm->timer) {
        loop_timer_cancel(c->st.srv->loop, c->sm->timer);
        c->sm->timer = 0;
    }
    struct sm_item *it = sm_take(c->sm);
    while (it) {
        struct sm_item *next = it->next;
        struct myna_arena *a = myna_arena_new();
        struct myna_xml *el = myna_xml_parse(a, it->buf->data, it->buf->len, MYNA_NS_CLIENT);
        struct stanza_ctx ctx;
        enum myna_error err;
        /* Each message goes again as a unit of its own (e.g. into offline storage). */
        myna_store_env_unit_begin(c->st.srv->store);
        if (el && myna_xml_attr(el, "from") && myna_xml_attr(el, "to") &&
            stanza_init(&ctx, c->st.srv, el, NULL, NULL, &err) == 0) {
            if (ctx.pub.kind == MYNA_MESSAGE && strcmp(ctx.pub.type, "error") != 0)
                router_route(c->st.srv, &ctx);
            else if (ctx.pub.kind == MYNA_IQ &&
                     (strcmp(ctx.pub.type, "get") == 0 || strcmp(ctx.pub.type, "set") == 0))
                myna_reply_error(&ctx.pub, MYNA_ERR_RECIPIENT_UNAVAILABLE, NULL);
        }
        myna_store_env_unit_commit(c->st.srv->store);
        myna_arena_free(a);
        wbuf_unref(it->buf);
        free(it);
        it = next;
    }
}

void c2s_close(struct c2s *c, const char *condition, const char *text)
{
    if (condition)
        stream_error(&c->st, stream_error_from_name(condition), text);
    else
        stream_close(&c->st);
}

/* ---- features ---- */

/* The SCRAM hashes this host offers (ACCOUNT_HAS bits): only those every account has
 * keys for, so no client is offered a mechanism its account cannot complete (accounts
 * imported from Prosody 0.12 have SHA-1 keys only, until their first PLAIN login). */
static unsigned scram_hashes(const struct c2s *c)
{
    return c->host ? account_host_hashes(c->st.srv->accounts, c->host->domain) : ACCOUNT_ALL;
}

static void sasl_mechanisms(struct c2s *c, struct myna_buf *b)
{
    myna_buf_printf(b, "<mechanisms xmlns='%s'>", MYNA_NS_SASL);
    bool cb = c->st.secured && stream_channel_binding_types(&c->st)[0];
    unsigned hashes = scram_hashes(c);
    bool sha256 = hashes & ACCOUNT_HAS(SCRAM_SHA256), sha1 = hashes & ACCOUNT_HAS(SCRAM_SHA1);
    if (cb && sha256)
        myna_buf_appends(b, "<mechanism>SCRAM-SHA-256-PLUS</mechanism>");
    if (cb && sha1)
        myna_buf_appends(b, "<mechanism>SCRAM-SHA-1-PLUS</mechanism>");
    if (sha256)
        myna_buf_appends(b, "<mechanism>SCRAM-SHA-256</mechanism>");
    if (sha1)
        myna_buf_appends(b, "<mechanism>SCRAM-SHA-1</mechanism>");
    if (c->st.secured) /* PLAIN only under TLS */
        myna_buf_appends(b, "<mechanism>PLAIN</mechanism>");
    myna_buf_appends(b, "</mechanisms>");
    if (cb) {
        /* XEP-0440: which channel-binding types this connection supports. */
        myna_buf_appends(b, "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
        for (const char *const *t = stream_channel_binding_types(&c->st); *t; t++)
            myna_buf_printf(b, "<channel-binding type='%s'/>", *t);
        myna_buf_appends(b, "</sasl-channel-binding>");
    }
}

static void c2s_features(struct stream *st, struct myna_buf *b)
{
    struct c2s *c = C2S(st);
    if (!st->authenticated) {
        sasl_mechanisms(c, b);
        return;
    }
    myna_buf_printf(b, "<bind xmlns='%s'/>", MYNA_NS_BIND);
    /* RFC 3921 session establishment, optional (RFC 6121 appendix E). */
    myna_buf_printf(b, "<session xmlns='%s'><optional/></session>", MYNA_NS_SESSION);
    myna_buf_appends(b, "<sm xmlns='urn:xmpp:sm:3'/>"); /* XEP-0198, acks only */
    myna_buf_appends(b, "<csi xmlns='urn:xmpp:csi:0'/>"); /* XEP-0352 */
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
    C2S(st)->phase = st->authenticated ? PHASE_BIND : PHASE_PREAUTH;
}

/* ---- SASL ---- */

static void sasl_send(struct c2s *c, const char *el, const unsigned char *data, size_t len)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<%s xmlns='%s'>", el, MYNA_NS_SASL);
    if (data && len) {
        char *enc = xmalloc(len * 4 / 3 + 8);
        int n = base64_encode(data, len, enc, len * 4 / 3 + 8);
        if (n > 0)
            myna_buf_append(&b, enc, (size_t)n);
        free(enc);
    } else if (data) {
        myna_buf_appends(&b, "="); /* RFC 6120 §6.4.2: empty data */
    }
    myna_buf_printf(&b, "</%s>", el);
    send_buf(c, &b);
    myna_buf_free(&b);
}

static void sasl_failure_now(struct c2s *c, const char *cond)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<failure xmlns='%s'><%s/></failure>", MYNA_NS_SASL, cond);
    send_buf(c, &b);
    myna_buf_free(&b);
    c->phase = PHASE_PREAUTH;
    c->mech[0] = 0;
    if (c->scram) {
        scram_server_free(c->scram);
        c->scram = NULL;
    }
    if (++c->sasl_failures >= SASL_MAX_FAILURES)
        stream_error(&c->st, STREAM_ERR_POLICY_VIOLATION, "Too many authentication failures");
}

/* Failure delays grow per account and per address: 250 ms doubling to 8 s. */
struct authfail {
    unsigned count;
    uint64_t last;
};

static unsigned authfail_bump(struct server *srv, const char *key)
{
    struct authfail *f = hashmap_get(srv->authfail, key);
    uint64_t now = loop_now(srv->loop);
    if (!f) {
        f = xcalloc(1, sizeof *f);
        hashmap_put(srv->authfail, key, f);
    }
    if (now - f->last > 10 * 60 * 1000)
        f->count = 0;
    f->count++;
    f->last = now;
    return f->count;
}

static void authfail_clear(struct server *srv, const char *key)
{
    free(hashmap_del(srv->authfail, key));
}

/* The address part of a peer "ip:port" as an authfail key. */
static void ip_key(const struct c2s *c, char *key, size_t len)
{
    const char *peer = stream_peer(&c->st);
    snprintf(key, len, "ip:%s", peer ? peer : "?");
    char *colon = strrchr(key, ':');
    if (colon && colon > key + 3)
        *colon = 0;
}

struct delayed_failure {
    struct c2s *c;
    const char *cond;
};

static void delayed_failure_fire(void *data)
{
    struct delayed_failure *d = data;
    if (stream_writable(&d->c->st) && d->c->phase == PHASE_BUSY)
        sasl_failure_now(d->c, d->cond);
    stream_unref(&d->c->st);
    free(d);
}

static void sasl_fail(struct c2s *c, const char *cond, const char *user)
{
    char key[600];
    unsigned n = 0;
    if (stream_peer(&c->st)) {
        ip_key(c, key, sizeof key);
        n = authfail_bump(c->st.srv, key);
    }
    if (user && c->host) {
        snprintf(key, sizeof key, "user:%s@%s", user, c->host->domain);
        unsigned m = authfail_bump(c->st.srv, key);
        n = m > n ? m : n;
    }
    log_info("c2s", "conn=%llu peer=%s user=%s@%s authentication failed (%s)",
             (unsigned long long)stream_conn_id(&c->st),
             stream_peer(&c->st) ? stream_peer(&c->st) : "-",
             user ? user : "?", c->host ? c->host->domain : "?", cond);
    unsigned shift = n > 6 ? 5 : (n ? n - 1 : 0);
    uint64_t delay = 250u << shift;
    struct delayed_failure *d = xmalloc(sizeof *d);
    d->c = c;
    d->cond = cond;
    stream_ref(&c->st);
    c->phase = PHASE_BUSY;
    loop_timer_add(c->st.srv->loop, delay, delayed_failure_fire, d);
}

static void sasl_success(struct c2s *c, const char *user, const unsigned char *data, size_t len)
{
    char key[600];
    snprintf(key, sizeof key, "user:%s@%s", user, c->host->domain);
    authfail_clear(c->st.srv, key);
    /* A success from an address halves its count: people behind one address who mistype
     * are not slowed for long, while guessing across many accounts still adds up. */
    ip_key(c, key, sizeof key);
    struct authfail *f = hashmap_get(c->st.srv->authfail, key);
    if (f)
        f->count /= 2;
    pool_strfree(c->user);
    c->user = pool_strdup(user);
    if (c->scram) {
        scram_server_free(c->scram);
        c->scram = NULL;
    }
    log_info("c2s", "conn=%llu peer=%s authenticated as %s@%s",
             (unsigned long long)stream_conn_id(&c->st), stream_peer(&c->st), user,
             c->host->domain);
    sasl_send(c, "success", data, len);
    stream_authenticated(&c->st);
}

/* Decodes the base64 text of <auth/> or <response/>; "=" and empty mean no data. */
static int sasl_decode(struct myna_xml *el, unsigned char *out, size_t outlen, size_t *len)
{
    const char *t = myna_xml_text(el);
    size_t tl = strlen(t);
    *len = 0;
    if (tl == 0 || strcmp(t, "=") == 0)
        return 0;
    if (tl > SASL_MAX_PAYLOAD)
        return -1;
    int n = base64_decode(t, tl, out, outlen - 1);
    if (n < 0)
        return -1;
    out[n] = 0;
    *len = (size_t)n;
    return 0;
}

/* authzid must be empty or the account's own bare JID (RFC 6120 §6.3.8). */
static bool authzid_ok(struct c2s *c, const char *user, const char *authzid)
{
    if (!authzid || !*authzid)
        return true;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j, self;
    bool ok = myna_jid_parse(a, authzid, &j) == 0 &&
              myna_jid_make(a, user, c->host->domain, NULL, &self) == 0 &&
              !j.resource && myna_jid_equal(&j, &self);
    myna_arena_free(a);
    return ok;
}

struct plain_job {
    struct c2s *c;
    struct account acc;
    struct account completed; /* acc plus the hashes it lacked, when `upgrade` */
    char *password;
    char user[MYNA_JID_PART_MAX + 1];
    bool ok;
    bool upgrade;
};

static void plain_work(void *data)
{
    struct plain_job *j = data;
    j->ok = account_check_password(&j->acc, j->password);
    /* An imported account with one hash gets the other now that the password is known. */
    j->completed = j->acc;
    j->upgrade = j->ok && account_complete(&j->completed, j->password);
    OPENSSL_cleanse(j->password, strlen(j->password));
}

static void plain_done(void *data)
{
    struct plain_job *j = data;
    struct c2s *c = j->c;
    if (j->upgrade && c->host &&
        account_upgrade(c->st.srv->accounts, j->user, c->host->domain, &j->acc, &j->completed) == 0)
        log_info("c2s", "%s@%s: SCRAM credentials completed at PLAIN login", j->user,
                 c->host->domain);
    if (stream_writable(&c->st) && c->phase == PHASE_BUSY) {
        if (j->ok)
            sasl_success(c, j->user, NULL, 0);
        else
            sasl_fail(c, "not-authorized", j->user);
    }
    free(j->password);
    free(j);
    stream_unref(&c->st);
}

static void sasl_plain(struct c2s *c, const unsigned char *msg, size_t len)
{
    /* RFC 4616: [authzid] NUL authcid NUL passwd */
    const char *authzid = (const char *)msg;
    const char *p1 = memchr(msg, 0, len);
    const char *p2 = p1 ? memchr(p1 + 1, 0, len - (size_t)(p1 + 1 - (const char *)msg)) : NULL;
    if (!p1 || !p2 || strlen(p2 + 1) != len - (size_t)(p2 + 1 - (const char *)msg)) {
        sasl_failure_now(c, "malformed-request");
        return;
    }
    struct myna_arena *a = myna_arena_new();
    const char *user = myna_jid_nodeprep(a, p1 + 1);
    struct account acc;
    if (!user || !*user) {
        myna_arena_free(a);
        sasl_fail(c, "not-authorized", NULL);
        return;
    }
    if (!authzid_ok(c, user, authzid)) {
        myna_arena_free(a);
        sasl_failure_now(c, "invalid-authzid");
        return;
    }
    if (account_get(c->st.srv->accounts, user, c->host->domain, &acc) != 0) {
        sasl_fail(c, "not-authorized", user);
        myna_arena_free(a);
        return;
    }
    struct plain_job *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->acc = acc;
    j->password = xstrdup(p2 + 1);
    snprintf(j->user, sizeof j->user, "%s", user);
    myna_arena_free(a);
    stream_ref(&c->st);
    c->phase = PHASE_BUSY;
    jobs_submit(c->st.srv->jobs, plain_work, plain_done, j);
}

/* The channel-binding type the client asked for in its GS2 header ("p=type,..."). */
static const char *gs2_cb_type(const unsigned char *msg, size_t len, char *buf, size_t buflen)
{
    if (len < 3 || msg[0] != 'p' || msg[1] != '=')
        return NULL;
    size_t i = 2, o = 0;
    while (i < len && msg[i] != ',' && o + 1 < buflen)
        buf[o++] = (char)msg[i++];
    buf[o] = 0;
    return buf;
}

static void sasl_scram_start(struct c2s *c, enum scram_hash hash, bool plus,
                             const unsigned char *msg, size_t len)
{
    unsigned char cb[64];
    int cblen = -1;
    char typebuf[32];
    const char *type = NULL;
    if (c->st.secured) {
        type = plus ? gs2_cb_type(msg, len, typebuf, sizeof typebuf) : NULL;
        if (!type)
            type = stream_channel_binding_types(&c->st)[0];
        cblen = type ? stream_channel_binding(&c->st, type, cb, sizeof cb) : -1;
    }
    if (plus && cblen < 0) {
        sasl_failure_now(c, "malformed-request");
        return;
    }
    c->scram = scram_server_new(hash, plus, cblen >= 0 ? type : NULL, cblen >= 0 ? cb : NULL,
                                cblen >= 0 ? (size_t)cblen : 0);
    const char *username = NULL, *authzid = NULL;
    enum scram_step_result r = scram_server_start(c->scram, (const char *)msg, len, &username,
                                                  &authzid);
    if (r != SCRAM_CONTINUE) {
        sasl_failure_now(c, r == SCRAM_FAIL_AUTHZID ? "invalid-authzid" : "malformed-request");
        return;
    }
    struct myna_arena *a = myna_arena_new();
    const char *user = myna_jid_nodeprep(a, username);
    if (user && !authzid_ok(c, user, authzid)) {
        myna_arena_free(a);
        sasl_failure_now(c, "invalid-authzid");
        return;
    }
    struct account acc;
    bool found = user && account_get(c->st.srv->accounts, user, c->host->domain, &acc) == 0;
    if (found && !account_cred(&acc, hash)) {
        /* Only when the features predate an import: the mechanism is no longer offered.
         * No password was checked, so nothing counts against the user. */
        myna_arena_free(a);
        sasl_failure_now(c, "temporary-auth-failure");
        return;
    }
    char out[512];
    r = scram_server_challenge(c->scram, found ? account_cred(&acc, hash) : NULL, out,
                               sizeof out);
    pool_strfree(c->user);
    c->user = user ? pool_strdup(user) : NULL; /* candidate; authenticated only on success */
    myna_arena_free(a);
    if (r != SCRAM_CONTINUE) {
        sasl_failure_now(c, "temporary-auth-failure");
        return;
    }
    sasl_send(c, "challenge", (const unsigned char *)out, strlen(out));
    c->phase = PHASE_SASL;
}

static bool mech_offered(const struct c2s *c, const char *mech)
{
    bool cb = c->st.secured && stream_channel_binding_types(&c->st)[0];
    if (c->st.secured && strcmp(mech, "PLAIN") == 0)
        return true;
    unsigned hashes = scram_hashes(c);
    bool sha256 = hashes & ACCOUNT_HAS(SCRAM_SHA256), sha1 = hashes & ACCOUNT_HAS(SCRAM_SHA1);
    return (sha1 && strcmp(mech, "SCRAM-SHA-1") == 0) ||
           (sha256 && strcmp(mech, "SCRAM-SHA-256") == 0) ||
           (cb && sha1 && strcmp(mech, "SCRAM-SHA-1-PLUS") == 0) ||
           (cb && sha256 && strcmp(mech, "SCRAM-SHA-256-PLUS") == 0);
}

/* The first client message of mechanism `mech` (already checked as offered). */
static void sasl_first(struct c2s *c, const char *mech, const unsigned char *msg, size_t len)
{
    if (strcmp(mech, "PLAIN") == 0) {
        sasl_plain(c, msg, len);
        return;
    }
    enum scram_hash h = strncmp(mech, "SCRAM-SHA-256", 13) == 0 ? SCRAM_SHA256 : SCRAM_SHA1;
    bool plus = strstr(mech, "-PLUS") != NULL;
    sasl_scram_start(c, h, plus, msg, len);
}

static void handle_auth(struct c2s *c, struct myna_xml *el)
{
    if (stream_tls_pending(&c->st)) {
        sasl_failure_now(c, "encryption-required");
        return;
    }
    const char *mech = myna_xml_attr(el, "mechanism");
    unsigned char msg[SASL_MAX_PAYLOAD];
    size_t len;
    if (sasl_decode(el, msg, sizeof msg, &len) < 0) {
        sasl_failure_now(c, "incorrect-encoding");
        return;
    }
    if (!mech || !mech_offered(c, mech)) {
        sasl_failure_now(c, "invalid-mechanism");
        return;
    }
    if (len == 0) {
        /* No initial response: ask for it with an empty challenge (RFC 6120 §6.4.2). */
        snprintf(c->mech, sizeof c->mech, "%s", mech);
        sasl_send(c, "challenge", (const unsigned char *)"", 0);
        c->phase = PHASE_SASL;
        return;
    }
    sasl_first(c, mech, msg, len);
}

static void handle_response(struct c2s *c, struct myna_xml *el)
{
    unsigned char msg[SASL_MAX_PAYLOAD];
    size_t len;
    if (sasl_decode(el, msg, sizeof msg, &len) < 0) {
        sasl_failure_now(c, "incorrect-encoding");
        return;
    }
    if (!c->scram) {
        if (!c->mech[0]) {
            sasl_failure_now(c, "malformed-request");
            return;
        }
        /* The first message of a mechanism started without initial response. */
        char mech[sizeof c->mech];
        memcpy(mech, c->mech, sizeof mech);
        c->mech[0] = 0;
        sasl_first(c, mech, msg, len);
        return;
    }
    char out[512];
    enum scram_step_result r = scram_server_finish(c->scram, (const char *)msg, len, out,
                                                   sizeof out);
    switch (r) {
    case SCRAM_SUCCESS:
        if (!c->user) {
            sasl_fail(c, "not-authorized", NULL);
            return;
        }
        {
            char *user = xstrdup(c->user);
            sasl_success(c, user, (const unsigned char *)out, strlen(out));
            free(user);
        }
        return;
    case SCRAM_FAIL_MALFORMED:
        sasl_failure_now(c, "malformed-request");
        return;
    case SCRAM_FAIL_AUTHZID:
        sasl_failure_now(c, "invalid-authzid");
        return;
    default:
        scram_server_free(c->scram);
        c->scram = NULL;
        sasl_fail(c, "not-authorized", c->user);
        return;
    }
}

/* ---- phases ---- */

static bool is_stanza(const struct myna_xml *el)
{
    return strcmp(el->ns, MYNA_NS_CLIENT) == 0 &&
           (strcmp(el->name, "message") == 0 || strcmp(el->name, "presence") == 0 ||
            strcmp(el->name, "iq") == 0);
}

static void phase_preauth(struct c2s *c, struct myna_xml *el)
{
    if (myna_xml_is(el, MYNA_NS_TLS, "starttls")) {
        stream_starttls(&c->st, c->phase == PHASE_PREAUTH);
        return;
    }
    if (strcmp(el->ns, MYNA_NS_SASL) == 0) {
        if (strcmp(el->name, "auth") == 0 && c->phase == PHASE_PREAUTH)
            handle_auth(c, el);
        else if (strcmp(el->name, "response") == 0 && c->phase == PHASE_SASL)
            handle_response(c, el);
        else if (strcmp(el->name, "abort") == 0 && c->phase == PHASE_SASL)
            sasl_failure_now(c, "aborted");
        else
            sasl_failure_now(c, "malformed-request");
        return;
    }
    if (is_stanza(el)) {
        stream_error(&c->st, STREAM_ERR_NOT_AUTHORIZED, NULL); /* RFC 6120 §4.9.3.12 */
        return;
    }
    stream_error(&c->st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
}

static void send_iq_error(struct c2s *c, struct myna_xml *el, enum myna_error e)
{
    send_xml(c, stanza_error_element(el, c->session ? c->session->jid.full : NULL, e));
}

static void random_resource(char *buf, size_t len)
{
    unsigned char rnd[6];
    RAND_bytes(rnd, sizeof rnd);
    snprintf(buf, len, "myna-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5]);
}

static void phase_bind(struct c2s *c, struct myna_xml *el)
{
    const char *type = myna_xml_attr(el, "type");
    const char *id = myna_xml_attr(el, "id");
    struct myna_xml *bind = myna_xml_find(el, MYNA_NS_BIND, "bind");
    if (!myna_xml_is(el, MYNA_NS_CLIENT, "iq") || !bind) {
        if (sm_nonza(c, el))
            return;
        if (is_stanza(el))
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
    if (c->st.srv->nsessions >= c->st.srv->cfg.max_sessions) {
        send_iq_error(c, el, MYNA_ERR_RESOURCE_CONSTRAINT);
        return;
    }
    stream_established(&c->st);
    c->phase = PHASE_SESSION;
    c->session = session_new(c->st.srv, c->host, c, &full);
    c->st.who = c->session->jid.full;
    struct myna_xml *r = myna_xml_new(el->arena, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(r, "type", "result");
    myna_xml_set_attr(r, "id", id);
    struct myna_xml *b = myna_xml_add_child(r, MYNA_NS_BIND, "bind");
    struct myna_xml *j = myna_xml_add_child(b, MYNA_NS_BIND, "jid");
    myna_xml_add_text(j, c->session->jid.full, strlen(c->session->jid.full));
    send_xml(c, r);
    log_info("c2s", "conn=%llu peer=%s bound %s", (unsigned long long)stream_conn_id(&c->st),
             stream_peer(&c->st), c->session->jid.full);
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
    if (!is_stanza(el)) {
        if (sm_nonza(c, el) || csi_nonza(c, el))
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
        c->sm->in++; /* XEP-0198: every stanza counts, whatever becomes of it */
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
    case PHASE_SASL:
        phase_preauth(c, el);
        break;
    case PHASE_BUSY:
        /* Pipelined input while we compute: only SASL abort makes sense; else wait. */
        stream_error(st, STREAM_ERR_POLICY_VIOLATION, "Data sent before the server answered");
        break;
    case PHASE_BIND:
        phase_bind(c, el);
        break;
    case PHASE_SESSION:
        phase_session(c, el);
        break;
    }
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
};

void c2s_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer)
{
    struct c2s *c = pool_alloc(sizeof *c);
    struct stream_limits lim = {
        .max_stanza_bytes = srv->cfg.c2s_stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
        .rate = srv->cfg.c2s_rate,
        .burst = srv->cfg.c2s_burst,
        .deadline_ms = (uint64_t)srv->cfg.auth_timeout * 1000,
    };
    stream_accept(&c->st, srv, &c2s_kind, &lim, l, fd, peer);
}
