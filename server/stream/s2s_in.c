/* server/stream/s2s_in.c — incoming s2s streams (RFC 6120 as the receiving entity, from a
 * peer server): the header names one of our domains (`to`) and the peer's (`from`,
 * §4.7.1-2); STARTTLS is required; the peer's certificate is asked for, and SASL EXTERNAL
 * (XEP-0178) is offered while it verifies for the peer's domain; then stanzas flow one way,
 * to us. Every stanza must come from a domain authenticated on this stream (invalid-from)
 * to a domain we serve (host-unknown), with both addresses present (improper-addressing):
 * anything else ends the stream, so a peer can never act for a local user or use us as a
 * relay. Limits: connections at once in total and per IP, stanza size, read rate, and the
 * authentication deadline. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/jid.h"
#include "server/base/log.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/s2s.h"
#include "server/stream/sasl.h"
#include "server/stream/stream.h"

#define MAX_AUTH_DOMAINS 16

struct s2s_in {
    struct stream st;            /* first */
    struct sasl *sasl;           /* until authenticated */
    char *local;                 /* our domain the header named (st.domain points here) */
    char *peer_domain;           /* the header's from, or NULL */
    char *auth[MAX_AUTH_DOMAINS]; /* domains authenticated on this stream */
    char *auth_local[MAX_AUTH_DOMAINS]; /* ... each towards this local domain */
    size_t nauth;
    bool bidi;                   /* XEP-0288: we may send to the peer on this stream */
    char ip[48];
};

#define IN(s) ((struct s2s_in *)(s))

static const struct stream_kind in_kind;

static bool authenticated_for(const struct s2s_in *in, const char *domain)
{
    for (size_t i = 0; i < in->nauth; i++)
        if (strcmp(in->auth[i], domain) == 0)
            return true;
    return false;
}

static bool in_header(struct stream *st, const struct myna_xml *header, const char *to)
{
    struct s2s_in *in = IN(st);
    if (in->local)
        return to && strcmp(to, in->local) == 0; /* restarts name the same domain */
    if (!to || !s2s_is_local(st->srv, to))
        return false;
    in->local = xstrdup(to);
    stream_set_domain(st, in->local);
    const char *from = myna_xml_attr(header, "from");
    struct myna_arena *a = myna_arena_new();
    const char *dom = from ? myna_jid_nameprep(a, from) : NULL;
    in->peer_domain = dom ? xstrdup(dom) : NULL;
    myna_arena_free(a);
    return true;
}

static void in_opened(struct stream *st)
{
    struct s2s_in *in = IN(st);
    if (in->peer_domain && config_s2s_policy(&st->srv->cfg, in->peer_domain) == S2S_DENY)
        stream_error(st, STREAM_ERR_POLICY_VIOLATION, "Federation with this domain is not allowed");
}

static void in_features(struct stream *st, struct myna_buf *b)
{
    struct s2s_in *in = IN(st);
    if (!in->sasl || st->authenticated)
        return; /* RFC 6120 §6.4.6: after SASL, nothing more to negotiate */
    sasl_set_peer_domain(in->sasl, in->peer_domain);
    if (in->peer_domain && stream_peer_verified(st, in->peer_domain))
        sasl_features(in->sasl, b);
    else
        log_info("s2s-in", "conn=%llu peer=%s from %s: certificate not accepted: %s",
                 (unsigned long long)stream_conn_id(st), stream_peer(st),
                 in->peer_domain ? in->peer_domain : "(no from)",
                 stream_peer_problem(st, in->peer_domain));
    /* XEP-0220 §2.4: dialback, with its error reporting. */
    myna_buf_printf(b, "<dialback xmlns='%s'><errors/></dialback>", S2S_NS_DIALBACK_FEATURE);
    if (st->srv->cfg.s2s.bidi) /* XEP-0288 §2 */
        myna_buf_printf(b, "<bidi xmlns='%s'/>", S2S_NS_BIDI_FEATURE);
}

/* `domain` may send to `local` on this stream; with XEP-0288, `local` may send to it too. */
static void add_domain(struct s2s_in *in, const char *domain, const char *local)
{
    if (in->nauth < MAX_AUTH_DOMAINS && !authenticated_for(in, domain)) {
        in->auth_local[in->nauth] = xstrdup(local);
        in->auth[in->nauth++] = xstrdup(domain);
        if (in->bidi)
            s2s_bidi_register(in->st.srv, local, domain, &in->st);
    }
    stream_established(&in->st);
}

static void in_authenticated(struct stream *st, const char *domain)
{
    add_domain(IN(st), domain, IN(st)->local);
    stream_authenticated(st);
}

/* ---- dialback as the receiving and as the authoritative server (XEP-0220) ---- */

static void db_answer(struct stream *st, const char *name, const char *from, const char *to,
                      const char *id, const char *type, const char *error)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<db:%s from='%s' to='%s'", name, from, to);
    if (id) {
        myna_buf_appends(&b, " id='");
        myna_buf_append_escaped(&b, id, strlen(id));
        myna_buf_appends(&b, "'");
    }
    myna_buf_printf(&b, " type='%s'", type);
    if (error)
        myna_buf_printf(&b, "><error type='cancel'><%s xmlns='%s'/></error></db:%s>", error,
                        MYNA_NS_STANZAS, name);
    else
        myna_buf_appends(&b, "/>");
    stream_write(st, b.data, b.len);
    myna_buf_free(&b);
}

/* A db:result waiting for the authoritative server's answer. */
struct db_pending {
    struct s2s_in *in;     /* a reference is held */
    char *from, *to;
};

static void db_verified(void *data, int valid)
{
    struct db_pending *p = data;
    struct stream *st = &p->in->st;
    if (stream_writable(st)) {
        if (valid > 0)
            add_domain(p->in, p->from, p->to);
        log_info("s2s-in", "conn=%llu peer=%s dialback for %s: %s",
                 (unsigned long long)stream_conn_id(st), stream_peer(st), p->from,
                 valid > 0 ? "valid" : valid == 0 ? "invalid" : "no answer");
        if (valid >= 0)
            db_answer(st, "result", p->to, p->from, NULL, valid ? "valid" : "invalid", NULL);
        else
            db_answer(st, "result", p->to, p->from, NULL, "error", "remote-server-timeout");
    }
    stream_unref(st);
    free(p->from);
    free(p->to);
    free(p);
}

/* <db:result from='O' to='R'>key</db:result>: O asks to send on this stream. */
static void db_result(struct s2s_in *in, struct myna_xml *el)
{
    struct stream *st = &in->st;
    struct server *srv = st->srv;
    const char *from = myna_xml_attr(el, "from"), *to = myna_xml_attr(el, "to");
    const char *key = myna_xml_text(el);
    const char *o = from ? myna_jid_nameprep(el->arena, from) : NULL;
    const char *r = to ? myna_jid_nameprep(el->arena, to) : NULL;
    if (!o || !r) {
        stream_error(st, STREAM_ERR_IMPROPER_ADDRESSING, NULL);
        return;
    }
    if (!s2s_is_local(srv, r)) { /* §2.4: errors go back in the element itself */
        db_answer(st, "result", r, o, NULL, "error", "item-not-found");
        return;
    }
    enum s2s_policy pol = config_s2s_policy(&srv->cfg, o);
    if (pol == S2S_DENY) {
        db_answer(st, "result", r, o, NULL, "error", "not-allowed");
        return;
    }
    /* XEP-0344 §2.3: a certificate that names O proves more than a callback would. */
    if (stream_peer_verified(st, o)) {
        add_domain(in, o, r);
        log_info("s2s-in", "conn=%llu peer=%s dialback for %s: valid (certificate)",
                 (unsigned long long)stream_conn_id(st), stream_peer(st), o);
        db_answer(st, "result", r, o, NULL, "valid", NULL);
        return;
    }
    if (pol != S2S_DIALBACK) {
        log_info("s2s-in", "conn=%llu peer=%s dialback for %s refused: its certificate "
                           "does not verify (%s) and policy requires it",
                 (unsigned long long)stream_conn_id(st), stream_peer(st), o,
                 stream_peer_problem(st, o));
        db_answer(st, "result", r, o, NULL, "invalid", NULL);
        return;
    }
    if (!*key) {
        db_answer(st, "result", r, o, NULL, "invalid", NULL);
        return;
    }
    struct db_pending *p = xcalloc(1, sizeof *p);
    p->in = in;
    p->from = xstrdup(o);
    p->to = xstrdup(r);
    stream_ref(st);
    s2s_out_verify(srv, r, o, st->id, key, db_verified, p);
}

/* <db:verify from='R' to='O' id='...'>key</db:verify>: R asks whether we (O) gave that
 * key on that stream (§2.1.3). Answered on this stream. */
static void db_verify(struct s2s_in *in, struct myna_xml *el)
{
    struct stream *st = &in->st;
    const char *from = myna_xml_attr(el, "from"), *to = myna_xml_attr(el, "to");
    const char *id = myna_xml_attr(el, "id");
    const char *r = from ? myna_jid_nameprep(el->arena, from) : NULL;
    const char *o = to ? myna_jid_nameprep(el->arena, to) : NULL;
    if (!r || !o || !id) {
        stream_error(st, STREAM_ERR_IMPROPER_ADDRESSING, NULL);
        return;
    }
    if (!s2s_is_local(st->srv, o)) {
        db_answer(st, "verify", o, r, id, "error", "item-not-found");
        return;
    }
    char expect[65];
    s2s_dialback_key(st->srv, r, o, id, expect);
    const char *key = myna_xml_text(el);
    bool ok = strlen(key) == 64 && CRYPTO_memcmp(key, expect, 64) == 0;
    db_answer(st, "verify", o, r, id, ok ? "valid" : "invalid", NULL);
}

static bool in_authorized(void *data, const char *domain)
{
    return authenticated_for(data, domain);
}

static void in_stanza(struct s2s_in *in, struct myna_xml *el)
{
    if (!in->nauth) {
        stream_error(&in->st, STREAM_ERR_NOT_AUTHORIZED, NULL); /* RFC 6120 §4.9.3.12 */
        return;
    }
    s2s_stanza_in(&in->st, el, in_authorized, in);
}

static void in_element(struct stream *st, struct myna_xml *el)
{
    struct s2s_in *in = IN(st);
    if (in->sasl && sasl_busy(in->sasl)) {
        stream_error(st, STREAM_ERR_POLICY_VIOLATION, "Data sent before the server answered");
        return;
    }
    if (myna_xml_is(el, MYNA_NS_TLS, "starttls")) {
        stream_starttls(st, !in->sasl || sasl_idle(in->sasl));
        return;
    }
    if (strcmp(el->ns, MYNA_NS_SASL) == 0) {
        if (in->sasl && !st->authenticated && !stream_tls_pending(st))
            sasl_element(in->sasl, el);
        else
            stream_error(st, STREAM_ERR_POLICY_VIOLATION, "SASL not in order");
        return;
    }
    if (myna_xml_is(el, S2S_NS_BIDI, "bidi") && st->srv->cfg.s2s.bidi && !in->nauth &&
        !stream_tls_pending(st)) {
        in->bidi = true; /* XEP-0288 §2: our answers may come back on this stream */
        return;
    }
    if (strcmp(el->ns, S2S_NS_DIALBACK) == 0 && !stream_tls_pending(st)) {
        if (strcmp(el->name, "result") == 0 && !myna_xml_attr(el, "type"))
            db_result(in, el);
        else if (strcmp(el->name, "verify") == 0 && !myna_xml_attr(el, "type"))
            db_verify(in, el);
        else
            stream_error(st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    if (stream_is_stanza(st, el)) {
        in_stanza(in, el);
        return;
    }
    stream_error(st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
}

static void in_ended(struct stream *st)
{
    struct s2s_in *in = IN(st);
    for (size_t i = 0; in->bidi && i < in->nauth; i++)
        s2s_bidi_unregister(st->srv, in->auth_local[i], in->auth[i], st);
    if (in->nauth)
        log_info("s2s-in", "conn=%llu %s -> %s closed", (unsigned long long)stream_conn_id(st),
                 in->auth[0], in->local ? in->local : "-");
}

static void in_free(struct stream *st)
{
    struct s2s_in *in = IN(st);
    sasl_free(in->sasl);
    for (size_t i = 0; i < in->nauth; i++) {
        free(in->auth[i]);
        free(in->auth_local[i]);
    }
    free(in->local);
    free(in->peer_domain);
    free(in);
}

static const char *in_who(const struct stream *st)
{
    const struct s2s_in *in = (const struct s2s_in *)st;
    return in->nauth ? in->auth[0] : in->peer_domain;
}

static const struct stream_kind in_kind = {
    .name = "s2s-in",
    .ns = MYNA_NS_SERVER,
    .rfc6120 = true,
    .header = in_header,
    .features = in_features,
    .opened = in_opened,
    .element = in_element,
    .ended = in_ended,
    .free = in_free,
    .who = in_who,
    .header_xmlns = S2S_HEADER_XMLNS,
};

static bool is_in(const struct stream *st)
{
    return st->kind == &in_kind;
}

/* The address part of "ip:port" (IPv6 addresses contain colons: cut at the last). */
static void ip_of(const char *peer, char *out, size_t len)
{
    snprintf(out, len, "%s", peer);
    char *c = strrchr(out, ':');
    if (c)
        *c = 0;
}

void s2s_accept(struct server *srv, const struct config_listen *l, int fd, const char *peer)
{
    struct s2s_in *in = xcalloc(1, sizeof *in);
    struct stream_limits lim = {
        .max_stanza_bytes = srv->cfg.s2s.stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
        .rate = srv->cfg.s2s.rate,
        .burst = srv->cfg.s2s.rate * 2,
        .deadline_ms = (uint64_t)srv->cfg.s2s.auth_timeout * 1000,
        .keepalive_ms = srv->cfg.s2s.keepalive * 1000,
        .flood_grace_ms = srv->cfg.s2s.flood_grace * 1000,
    };
    ip_of(peer, in->ip, sizeof in->ip);
    size_t total = 0, same = 0;
    for (struct stream *st = srv->streams; st; st = st->next)
        if (is_in(st)) {
            total++;
            same += strcmp(IN(st)->ip, in->ip) == 0;
        }
    in->sasl = sasl_new(&in->st, SASL_S2S, in_authenticated);
    stream_accept(&in->st, srv, &in_kind, &lim, l, fd, peer);
    if (in->st.tr && in->st.tr->ops->request_peer_cert)
        in->st.tr->ops->request_peer_cert(in->st.tr);
    if (total >= srv->cfg.s2s.max_incoming || same >= srv->cfg.s2s.max_incoming_per_ip)
        stream_error(&in->st, STREAM_ERR_RESOURCE_CONSTRAINT, "Too many connections");
}

void s2s_in_count(struct server *srv, size_t *n)
{
    *n = 0;
    for (struct stream *st = srv->streams; st; st = st->next)
        *n += is_in(st);
}

void s2s_in_list(struct server *srv, struct myna_buf *b)
{
    for (struct stream *st = srv->streams; st; st = st->next) {
        if (!is_in(st))
            continue;
        struct s2s_in *in = IN(st);
        myna_buf_printf(b, "in %s %s %s peer=%s%s%s", in->local ? in->local : "-",
                        in_who(st) ? in_who(st) : "-",
                        in->nauth ? "authenticated" : "negotiating", stream_peer(st),
                        st->secured ? " tls" : "", in->bidi ? " bidi" : "");
        for (size_t i = 1; i < in->nauth; i++)
            myna_buf_printf(b, " +%s", in->auth[i]);
        myna_buf_appends(b, "\n");
    }
}

size_t s2s_in_close_domain(struct server *srv, const char *domain)
{
    size_t n = 0;
    for (struct stream *st = srv->streams, *next; st; st = next) {
        next = st->next;
        if (is_in(st) && stream_writable(st) && authenticated_for(IN(st), domain)) {
            stream_close(st);
            n++;
        }
    }
    return n;
}
