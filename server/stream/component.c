/* server/stream/component.c — external components (XEP-0114, jabber:component:accept), on
 * the stream layer (stream.h), which does the header, errors and close.
 * A component connects, names its domain in the stream header, proves the shared secret
 * with <handshake>hex(SHA1(stream id + secret))</handshake>, and from then on owns the
 * domain: stanzas to the domain or any JID in it go to the component, stanzas it sends
 * from that domain are routed like any other. One connection per domain; a new one that
 * authenticates replaces the old (conflict). Stanzas use jabber:client internally; the
 * component namespace is mapped on the way in and out. Until the handshake: the
 * pre-login stanza size, limits.auth_timeout, and wrong secrets throttled like passwords
 * (authfail.c, per address and per domain); always limits.component_rate. */
#include "server/stream/component.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/authfail.h"
#include "server/stream/stream.h"

#define COMPONENT_STANZA_MAX (1u << 20) /* trusted peers, but still bounded */

struct component {
    struct stream st;                   /* the stream layer's part (first) */
    /* The domain it asked for and its secret: copies, since a reload frees the config
     * they came from while the component stays connected. */
    struct config_component *cfg;
    bool ready;                         /* the handshake succeeded */
    bool registered;                    /* owns cfg->domain in srv->components */
};

#define COMPONENT(s) ((struct component *)(s))

static void unregister(struct component *c)
{
    if (c->registered) {
        if (hashmap_get(c->st.srv->components, c->cfg->domain) == c)
            hashmap_del(c->st.srv->components, c->cfg->domain);
        c->registered = false;
        log_info("component", "%s disconnected", c->cfg->domain);
    }
}

/* The header's 'to' must be a configured component domain. */
static bool comp_header(struct stream *st, const struct myna_xml *header, const char *to)
{
    struct component *c = COMPONENT(st);
    for (size_t i = 0; to && !c->cfg && i < st->srv->cfg.ncomponents; i++) {
        const struct config_component *cc = &st->srv->cfg.components[i];
        if (strcmp(cc->domain, to) == 0) {
            c->cfg = xcalloc(1, sizeof *c->cfg);
            c->cfg->domain = xstrdup(cc->domain);
            c->cfg->secret = xstrdup(cc->secret);
        }
    }
    if (c->cfg)
        stream_set_domain(st, c->cfg->domain);
    return c->cfg != NULL;
}

/* A wrong secret, or an address or domain locked out by earlier ones (authfail.c: the
 * domain counts like an account, under the empty node). One guess per connection. */
static void refuse(struct component *c, bool count)
{
    struct stream *st = &c->st;
    if (count)
        authfail_failed(st->srv, stream_peer(st), "", c->cfg->domain);
    log_info("component", "conn=%llu peer=%s handshake for %s refused%s",
             (unsigned long long)stream_conn_id(st), stream_peer(st), c->cfg->domain,
             count ? "" : " (too many failures: locked for now)");
    stream_error(st, STREAM_ERR_NOT_AUTHORIZED, NULL);
}

static void handshake(struct component *c, struct myna_xml *el)
{
    if (authfail_locked(c->st.srv, stream_peer(&c->st), "", c->cfg->domain)) {
        refuse(c, false);
        return;
    }
    /* XEP-0114 §3: lowercase hex SHA-1 of stream id + secret. */
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", c->st.id, c->cfg->secret);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)buf, strlen(buf), md);
    OPENSSL_cleanse(buf, sizeof buf);
    char hex[SHA_DIGEST_LENGTH * 2 + 1];
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *got = myna_xml_text(el);
    size_t gl = strlen(got);
    char lower[SHA_DIGEST_LENGTH * 2 + 1] = "";
    for (size_t i = 0; i < gl && i < sizeof lower - 1; i++)
        lower[i] = (char)(got[i] >= 'A' && got[i] <= 'F' ? got[i] + 32 : got[i]);
    if (gl != SHA_DIGEST_LENGTH * 2 || CRYPTO_memcmp(lower, hex, sizeof hex - 1) != 0) {
        refuse(c, true);
        return;
    }
    authfail_succeeded(c->st.srv, stream_peer(&c->st), "", c->cfg->domain);
    stream_set_stanza_limit(&c->st, COMPONENT_STANZA_MAX);
    struct component *old = hashmap_get(c->st.srv->components, c->cfg->domain);
    if (old && old != c)
        stream_error(&old->st, STREAM_ERR_CONFLICT, "Replaced by new connection");
    hashmap_put(c->st.srv->components, c->cfg->domain, c);
    c->registered = true;
    c->ready = true;
    stream_established(&c->st);
    stream_write_str(&c->st, "<handshake/>");
    log_info("component", "conn=%llu peer=%s authenticated as %s",
             (unsigned long long)stream_conn_id(&c->st), stream_peer(&c->st), c->cfg->domain);
}

/* jabber:component:accept -> jabber:client for the stanza and children in that ns. */
static void map_ns(struct myna_xml *el)
{
    if (el->type != MYNA_XML_ELEMENT)
        return;
    if (strcmp(el->ns, MYNA_NS_COMPONENT) == 0)
        el->ns = MYNA_NS_CLIENT;
    for (struct myna_xml *ch = el->children; ch; ch = ch->next)
        map_ns(ch);
}

static void component_stanza(struct component *c, struct myna_xml *el)
{
    map_ns(el);
    struct stanza_ctx ctx;
    enum myna_error err;
    const char *from = myna_xml_attr(el, "from");
    struct myna_jid fj;
    /* The component may only speak for its own domain (XEP-0114 §3.1). */
    if (!from || myna_jid_parse(el->arena, from, &fj) < 0 ||
        strcmp(fj.domain, c->cfg->domain) != 0) {
        stream_error(&c->st, STREAM_ERR_INVALID_FROM, NULL);
        return;
    }
    if (!myna_xml_attr(el, "to")) {
        stream_error(&c->st, STREAM_ERR_IMPROPER_ADDRESSING, NULL);
        return;
    }
    if (stanza_init(&ctx, c->st.srv, el, &fj, NULL, &err) < 0) {
        /* A bad 'to' or type: answer the component directly. */
        struct wbuf *w = wbuf_serialize(stanza_error_element(el, from, err), MYNA_NS_CLIENT);
        stream_write_buf(&c->st, w);
        wbuf_unref(w);
        return;
    }
    router_route(c->st.srv, &ctx);
    stanza_check_unit(&ctx);
}

static void comp_element(struct stream *st, struct myna_xml *el)
{
    struct component *c = COMPONENT(st);
    if (!c->ready) {
        if (myna_xml_is(el, MYNA_NS_COMPONENT, "handshake"))
            handshake(c, el);
        else
            stream_error(st, STREAM_ERR_NOT_AUTHORIZED, NULL);
    } else if (stream_is_stanza(st, el)) {
        component_stanza(c, el);
    } else {
        stream_error(st, STREAM_ERR_UNSUPPORTED_STANZA_TYPE, NULL);
    }
}

static void comp_ended(struct stream *st)
{
    unregister(COMPONENT(st));
}

static void comp_free(struct stream *st)
{
    struct component *c = COMPONENT(st);
    if (c->cfg) {
        free(c->cfg->domain);
        OPENSSL_cleanse(c->cfg->secret, strlen(c->cfg->secret));
        free(c->cfg->secret);
        free(c->cfg);
    }
    free(c);
}

static const struct stream_kind component_kind = {
    .name = "component",
    .ns = MYNA_NS_COMPONENT,
    .rfc6120 = false, /* XEP-0114 streams have no version and no features */
    .header = comp_header,
    .element = comp_element,
    .ended = comp_ended,
    .free = comp_free,
};

void component_accept(struct server *srv, const struct config_listen *l, int fd,
                      const char *peer)
{
    struct component *c = xcalloc(1, sizeof *c);
    struct stream_limits lim = {
        /* Before the handshake as little as for a client before login. */
        .max_stanza_bytes = srv->cfg.preauth_stanza_size,
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
        .rate = srv->cfg.component_rate,
        .burst = srv->cfg.component_rate,
        .deadline_ms = (uint64_t)srv->cfg.auth_timeout * 1000,
    };
    stream_accept(&c->st, srv, &component_kind, &lim, l, fd, peer);
}

bool component_route(struct server *srv, struct stanza_ctx *st)
{
    struct component *c = hashmap_get(srv->components, st->pub.to.domain);
    if (!c || !c->st.tr)
        return false;
    myna_xml_set_attr(st->pub.xml, "from", st->pub.from.full);
    /* Written in the stream's default namespace (jabber:component:accept). */
    struct wbuf *w = wbuf_serialize(st->pub.xml, MYNA_NS_CLIENT);
    stream_write_buf(&c->st, w);
    wbuf_unref(w);
    return true;
}

bool component_is_domain(struct server *srv, const char *domain)
{
    for (size_t i = 0; i < srv->cfg.ncomponents; i++)
        if (strcmp(srv->cfg.components[i].domain, domain) == 0)
            return true;
    return false;
}
