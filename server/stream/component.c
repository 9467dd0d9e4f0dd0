/* server/stream/component.c — external components (XEP-0114, jabber:component:accept).
 * A component connects, names its domain in the stream header, proves the shared secret
 * with <handshake>hex(SHA1(stream id + secret))</handshake>, and from then on owns the
 * domain: stanzas to the domain or any JID in it go to the component, stanzas it sends
 * from that domain are routed like any other. One connection per domain; a new one that
 * authenticates replaces the old (conflict). Stanzas use jabber:client internally; the
 * component namespace is mapped on the way in and out. */
#include "server/stream/component.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/base/scram.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/net/conn.h"
#include "server/route/router.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "xml/parser.h"

enum comp_phase { COMP_HEADER, COMP_HANDSHAKE, COMP_READY, COMP_CLOSED };

struct component {
    struct server *srv;
    struct conn *conn;
    struct xml_parser *parser;
    enum comp_phase phase;
    const struct config_component *cfg; /* the domain it asked for */
    char stream_id[24];
    bool header_sent;
    bool registered;                    /* owns cfg->domain in srv->components */
    unsigned refs;
    struct component *next, *prev;      /* srv->comp_list */
};

static void comp_unref(struct component *c)
{
    if (--c->refs == 0)
        free(c);
}

static void send_str(struct component *c, const char *s)
{
    if (c->conn)
        conn_write(c->conn, s, strlen(s));
}

static void send_header(struct component *c, const char *from)
{
    unsigned char rnd[9];
    RAND_bytes(rnd, sizeof rnd);
    base64_encode(rnd, sizeof rnd, c->stream_id, sizeof c->stream_id);
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_appends(&b, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                         "xmlns:stream='http://etherx.jabber.org/streams' id='");
    myna_buf_appends(&b, c->stream_id);
    if (from) {
        myna_buf_appends(&b, "' from='");
        myna_buf_append_escaped(&b, from, strlen(from));
    }
    myna_buf_appends(&b, "'>");
    if (c->conn)
        conn_write(c->conn, b.data, b.len);
    myna_buf_free(&b);
    c->header_sent = true;
}

static void unregister(struct component *c)
{
    if (c->registered) {
        if (hashmap_get(c->srv->components, c->cfg->domain) == c)
            hashmap_del(c->srv->components, c->cfg->domain);
        c->registered = false;
        log_info("component", "%s disconnected", c->cfg->domain);
    }
}

static void comp_close(struct component *c, const char *cond, const char *text)
{
    if (c->phase == COMP_CLOSED || !c->conn)
        return;
    if (!c->header_sent)
        send_header(c, c->cfg ? c->cfg->domain : NULL);
    struct myna_buf b;
    myna_buf_init(&b);
    if (cond) {
        stream_error_serialize(&b, cond, text);
        log_info("component", "conn=%llu peer=%s stream error: %s",
                 (unsigned long long)c->conn->id, c->conn->peer, cond);
    }
    myna_buf_appends(&b, "</stream:stream>");
    conn_write(c->conn, b.data, b.len);
    myna_buf_free(&b);
    c->phase = COMP_CLOSED;
    unregister(c);
    if (c->parser)
        xml_parser_stop(c->parser);
    conn_close(c->conn);
}

static void on_stream_open(void *ud, struct myna_xml *header, const char *default_ns)
{
    struct component *c = ud;
    const char *cond = NULL;
    const char *to = myna_xml_attr(header, "to");
    const char *dom = to ? myna_jid_nameprep(header->arena, to) : NULL;
    for (size_t i = 0; dom && i < c->srv->cfg.ncomponents; i++)
        if (strcmp(c->srv->cfg.components[i].domain, dom) == 0)
            c->cfg = &c->srv->cfg.components[i];
    if (strcmp(default_ns, MYNA_NS_COMPONENT) != 0)
        cond = "invalid-namespace";
    else if (!c->cfg)
        cond = "host-unknown";
    myna_arena_free(header->arena);
    if (cond) {
        comp_close(c, cond, NULL);
        return;
    }
    send_header(c, c->cfg->domain);
    c->phase = COMP_HANDSHAKE;
}

static void handshake(struct component *c, struct myna_xml *el)
{
    /* XEP-0114 §3: lowercase hex SHA-1 of stream id + secret. */
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", c->stream_id, c->cfg->secret);
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
        comp_close(c, "not-authorized", NULL);
        return;
    }
    struct component *old = hashmap_get(c->srv->components, c->cfg->domain);
    if (old && old != c)
        comp_close(old, "conflict", "Replaced by new connection");
    hashmap_put(c->srv->components, c->cfg->domain, c);
    c->registered = true;
    c->phase = COMP_READY;
    send_str(c, "<handshake/>");
    log_info("component", "conn=%llu peer=%s authenticated as %s", (unsigned long long)c->conn->id,
             c->conn->peer, c->cfg->domain);
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
        comp_close(c, "invalid-from", NULL);
        return;
    }
    if (!myna_xml_attr(el, "to")) {
        comp_close(c, "improper-addressing", NULL);
        return;
    }
    if (stanza_init(&ctx, c->srv, el, &fj, NULL, &err) < 0) {
        /* A bad 'to' or type: answer the component directly. */
        struct myna_xml *r = stanza_error_element(el, from, err);
        struct myna_buf b;
        myna_buf_init(&b);
        myna_xml_serialize(r, MYNA_NS_CLIENT, &b);
        conn_write(c->conn, b.data, b.len);
        myna_buf_free(&b);
        return;
    }
    router_route(c->srv, &ctx);
    stanza_check_unit(&ctx);
}

static void on_element(void *ud, struct myna_xml *el)
{
    struct component *c = ud;
    c->refs++;
    myna_store_env_unit_begin(c->srv->store); /* each element is one unit of work */
    if (c->phase == COMP_HANDSHAKE) {
        if (myna_xml_is(el, MYNA_NS_COMPONENT, "handshake"))
            handshake(c, el);
        else
            comp_close(c, "not-authorized", NULL);
    } else if (c->phase == COMP_READY) {
        if (strcmp(el->ns, MYNA_NS_COMPONENT) == 0 &&
            (strcmp(el->name, "message") == 0 || strcmp(el->name, "presence") == 0 ||
             strcmp(el->name, "iq") == 0))
            component_stanza(c, el);
        else
            comp_close(c, "unsupported-stanza-type", NULL);
    }
    myna_store_env_unit_commit(c->srv->store);
    myna_arena_free(el->arena);
    comp_unref(c);
}

static void on_stream_close(void *ud)
{
    comp_close(ud, NULL, NULL);
}

static const struct xml_parser_callbacks parser_cb = {
    .stream_open = on_stream_open,
    .element = on_element,
    .stream_close = on_stream_close,
};

static void on_data(struct conn *conn, const char *buf, size_t len)
{
    struct component *c = conn->owner;
    if (c->phase == COMP_CLOSED || !c->parser)
        return;
    c->refs++;
    enum xml_parse_error e = xml_parser_feed(c->parser, buf, len);
    if (e != XML_PARSE_OK && c->phase != COMP_CLOSED)
        comp_close(c, xml_parse_condition(e), xml_parse_strerror(e));
    comp_unref(c);
}

static void on_closed(struct conn *conn, const char *why)
{
    struct component *c = conn->owner;
    c->conn = NULL;
    c->phase = COMP_CLOSED;
    unregister(c);
    if (c->parser) {
        loop_defer(c->srv->loop, (loop_fn)xml_parser_free, c->parser);
        c->parser = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->comp_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_defer(c->srv->loop, (loop_fn)comp_unref, c);
}

static const struct conn_ops comp_conn_ops = {
    .data = on_data,
    .closed = on_closed,
};

void component_accept(struct server *srv, const struct config_listen *l, int fd,
                      const char *peer)
{
    struct component *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->refs = 1;
    struct xml_parser_limits lim = {
        .max_stanza_bytes = 1u << 20, /* trusted peers, but still bounded */
        .max_depth = srv->cfg.c2s_max_depth,
        .max_attrs = srv->cfg.c2s_max_attrs,
    };
    c->parser = xml_parser_new(&lim, &parser_cb, c);
    c->conn = conn_new(srv, fd, peer, &comp_conn_ops, c);
    c->conn->keep_ssl = l->record_layer == TLS_RECORDS_OPENSSL;
    c->next = srv->comp_list;
    if (c->next)
        c->next->prev = c;
    srv->comp_list = c;
    if (l->tls == TLS_DIRECT && conn_start_tls(c->conn) < 0)
        conn_abort(c->conn, "TLS setup failed");
}

bool component_route(struct server *srv, struct stanza_ctx *st)
{
    struct component *c = hashmap_get(srv->components, st->pub.to.domain);
    if (!c || !c->conn)
        return false;
    myna_xml_set_attr(st->pub.xml, "from", st->pub.from.full);
    struct myna_buf b;
    myna_buf_init(&b);
    /* Written in the stream's default namespace (jabber:component:accept). */
    myna_xml_serialize(st->pub.xml, MYNA_NS_CLIENT, &b);
    conn_write(c->conn, b.data, b.len);
    myna_buf_free(&b);
    return true;
}

bool component_is_domain(struct server *srv, const char *domain)
{
    for (size_t i = 0; i < srv->cfg.ncomponents; i++)
        if (strcmp(srv->cfg.components[i].domain, domain) == 0)
            return true;
    return false;
}

void component_close_all(struct server *srv, bool abort_now)
{
    for (struct component *c = srv->comp_list, *next; c; c = next) {
        next = c->next;
        if (abort_now && c->conn)
            conn_abort(c->conn, "server exiting");
        else
            comp_close(c, "system-shutdown", NULL);
    }
}
