/* server/stream/stream.c — the stream layer (see stream.h): RFC 6120 §4 streams, §5
 * STARTTLS, §4.9 stream errors.
 * States: HEADER (waiting for the peer's header) -> OPEN (elements go to the kind) ->
 * HEADER again after a restart (STARTTLS, SASL) ... -> CLOSING (we closed cleanly and wait
 * for the peer's closing tag, RFC 6120 §4.4) -> CLOSED (closed both ways, after an error,
 * or the transport is gone; the parser is stopped, nothing more is written).
 * Invariants: a stream is on srv->streams exactly while it has a transport; it is freed
 * (kind->free) only after the transport is gone and no job, timer or callback holds it;
 * kind->ended runs once, before the transport closes. */
#include "server/stream/stream.h"

#include <malloc.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "myna/jid.h"
#include "myna/store.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/base/scram.h"
#include "server/loop/loop.h"
#include "server/net/conn.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"
#include "server/server.h"
#include "xml/parser.h"

/* ---- stream error conditions (RFC 6120 §4.9.3) ---- */

static const char *const error_names[STREAM_ERR__COUNT] = {
    [STREAM_ERR_BAD_FORMAT] = "bad-format",
    [STREAM_ERR_BAD_NAMESPACE_PREFIX] = "bad-namespace-prefix",
    [STREAM_ERR_CONFLICT] = "conflict",
    [STREAM_ERR_CONNECTION_TIMEOUT] = "connection-timeout",
    [STREAM_ERR_HOST_GONE] = "host-gone",
    [STREAM_ERR_HOST_UNKNOWN] = "host-unknown",
    [STREAM_ERR_IMPROPER_ADDRESSING] = "improper-addressing",
    [STREAM_ERR_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [STREAM_ERR_INVALID_FROM] = "invalid-from",
    [STREAM_ERR_INVALID_NAMESPACE] = "invalid-namespace",
    [STREAM_ERR_INVALID_XML] = "invalid-xml",
    [STREAM_ERR_NOT_AUTHORIZED] = "not-authorized",
    [STREAM_ERR_NOT_WELL_FORMED] = "not-well-formed",
    [STREAM_ERR_POLICY_VIOLATION] = "policy-violation",
    [STREAM_ERR_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
    [STREAM_ERR_RESET] = "reset",
    [STREAM_ERR_RESOURCE_CONSTRAINT] = "resource-constraint",
    [STREAM_ERR_RESTRICTED_XML] = "restricted-xml",
    [STREAM_ERR_SEE_OTHER_HOST] = "see-other-host",
    [STREAM_ERR_SYSTEM_SHUTDOWN] = "system-shutdown",
    [STREAM_ERR_UNDEFINED_CONDITION] = "undefined-condition",
    [STREAM_ERR_UNSUPPORTED_ENCODING] = "unsupported-encoding",
    [STREAM_ERR_UNSUPPORTED_FEATURE] = "unsupported-feature",
    [STREAM_ERR_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
    [STREAM_ERR_UNSUPPORTED_VERSION] = "unsupported-version",
};

const char *stream_error_name(enum stream_error e)
{
    return (unsigned)e < STREAM_ERR__COUNT ? error_names[e] : "undefined-condition";
}

enum stream_error stream_error_from_name(const char *name)
{
    for (unsigned i = 0; name && i < STREAM_ERR__COUNT; i++)
        if (strcmp(error_names[i], name) == 0)
            return (enum stream_error)i;
    return STREAM_ERR_UNDEFINED_CONDITION;
}

#define NS_FRAMING "urn:ietf:params:xml:ns:xmpp-framing"

static enum transport_framing framing(const struct stream *st)
{
    return st->tr ? st->tr->ops->framing : FRAMING_TCP;
}

/* RFC 7395 §3.3, XEP-0206 §5: over WebSocket and BOSH no <stream:stream> encloses the
 * elements, so the stream prefix is declared on each element that uses it. */
static const char *prefix_decl(const struct stream *st)
{
    return framing(st) != FRAMING_TCP ? " xmlns:stream='" MYNA_NS_STREAM "'" : "";
}

/* <stream:error><condition/>[<text/>][application condition]</stream:error> (§4.9.2). */
static void error_serialize(const struct stream *st, struct myna_buf *b, enum stream_error e,
                            const char *text, const char *app)
{
    myna_buf_printf(b, "<stream:error%s><%s xmlns='%s'/>", prefix_decl(st),
                    stream_error_name(e), MYNA_NS_STREAMS);
    if (text) {
        myna_buf_printf(b, "<text xmlns='%s'>", MYNA_NS_STREAMS);
        myna_buf_append_escaped(b, text, strlen(text));
        myna_buf_appends(b, "</text>");
    }
    if (app)
        myna_buf_appends(b, app);
    myna_buf_appends(b, "</stream:error>");
}

/* ---- lifetime ---- */

static const struct xml_parser_callbacks parser_cb;

void stream_ref(struct stream *st)
{
    st->refs++;
}

void stream_unref(struct stream *st)
{
    if (--st->refs > 0)
        return;
    if (st->parser) /* never bound to a transport */
        xml_parser_free(st->parser);
    st->kind->free(st);
}

static void deadline_fire(void *data)
{
    struct stream *st = data;
    st->timer = 0;
    if (st->tr && !st->established)
        stream_error(st, STREAM_ERR_CONNECTION_TIMEOUT, "Authentication took too long");
}

static void cancel_timer(struct stream *st)
{
    if (st->timer) {
        loop_timer_cancel(st->srv->loop, st->timer);
        st->timer = 0; /* it holds no reference: it never outlives the transport */
    }
}

void stream_attach(struct stream *st, struct server *srv, const struct stream_kind *kind,
                   const struct stream_limits *lim, struct transport *tr, enum stream_tls tls)
{
    st->kind = kind;
    st->srv = srv;
    st->refs = 1; /* the transport */
    st->state = STREAM_HEADER;
    st->tls = tls;
    st->tr = tr;
    struct xml_parser_limits pl = {
        .max_stanza_bytes = lim->max_stanza_bytes,
        .max_depth = lim->max_depth,
        .max_attrs = lim->max_attrs,
    };
    st->parser = xml_parser_new(&pl, &parser_cb, st);
    if (lim->rate)
        tr->ops->set_rate(tr, lim->rate, lim->burst);
    st->last_in = loop_now(srv->loop);
    st->next = srv->streams;
    if (st->next)
        st->next->prev = st;
    srv->streams = st;
    st->close_ms = (uint32_t)(lim->close_ms ? lim->close_ms : STREAM_CLOSE_TIMEOUT_MS);
    st->keepalive_ms = lim->keepalive_ms;
    st->flood_grace_ms = lim->flood_grace_ms;
    st->last_out = (uint32_t)st->last_in;
    if (lim->deadline_ms)
        st->timer = loop_timer_add(srv->loop, lim->deadline_ms, deadline_fire, st);
}

void stream_established(struct stream *st)
{
    st->established = true;
    if (st->state != STREAM_CLOSING)
        cancel_timer(st);
}

static void unlink_stream(struct stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else if (st->srv->streams == st)
        st->srv->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->next = st->prev = NULL;
}

static void end_once(struct stream *st)
{
    if (st->ended)
        return;
    st->ended = true;
    st->kind->ended(st);
}

void stream_transport_gone(struct stream *st, const char *why)
{
    log_debug(st->kind->name, "conn=%llu peer=%s closed: %s",
              (unsigned long long)stream_conn_id(st), stream_peer(st), why);
    st->tr = NULL;
    st->broken = st->state == STREAM_HEADER || st->state == STREAM_OPEN;
    st->state = STREAM_CLOSED;
    end_once(st);
    cancel_timer(st);
    if (st->parser) {
        /* The parser may be on the stack below us (closing from a callback): free later. */
        loop_defer(st->srv->loop, (loop_fn)xml_parser_free, st->parser);
        st->parser = NULL;
    }
    unlink_stream(st);
    loop_defer(st->srv->loop, (loop_fn)stream_unref, st);
}

/* ---- the TCP binding: a connection's events ---- */

static void conn_data(struct conn *c, const char *buf, size_t len)
{
    stream_input(c->owner, buf, len);
}

static void conn_tls_ready(struct conn *c)
{
    stream_secured(c->owner);
}

static void conn_closed(struct conn *c, const char *why)
{
    stream_transport_gone(c->owner, why);
}

static const struct conn_ops stream_conn_ops = {
    .data = conn_data,
    .tls_ready = conn_tls_ready,
    .closed = conn_closed,
};

void stream_accept(struct stream *st, struct server *srv, const struct stream_kind *kind,
                   const struct stream_limits *lim, const struct config_listen *l, int fd,
                   const char *peer)
{
    struct conn *c = conn_new(srv, fd, peer, &stream_conn_ops, st);
    c->keep_ssl = l->record_layer == TLS_RECORDS_OPENSSL;
    enum stream_tls tls = l->tls == TLS_DIRECT     ? STREAM_TLS_DIRECT
                          : l->tls == TLS_STARTTLS ? STREAM_TLS_STARTTLS
                                                   : STREAM_TLS_NONE;
    stream_attach(st, srv, kind, lim, &c->tr, tls);
    if (tls == STREAM_TLS_DIRECT && conn_start_tls(c) < 0)
        conn_abort(c, "TLS setup failed");
}

void stream_connected(struct stream *st, struct server *srv, const struct stream_kind *kind,
                      const struct stream_limits *lim, int fd, const char *peer,
                      bool direct_tls)
{
    struct conn *c = conn_new(srv, fd, peer, &stream_conn_ops, st);
    c->keep_ssl = true;
    stream_attach(st, srv, kind, lim, &c->tr,
                  direct_tls ? STREAM_TLS_DIRECT : STREAM_TLS_STARTTLS);
}

/* ---- output ---- */

static void wrote(struct stream *st)
{
    if (st->keepalive_ms)
        st->last_out = (uint32_t)loop_now(st->srv->loop);
}

/* Bytes of the stream itself (header, error, closing tag): only the transport counts. */
static void write_raw(struct stream *st, const void *data, size_t len)
{
    if (st->tr)
        st->tr->ops->write(st->tr, data, len);
}

bool stream_writable(const struct stream *st)
{
    return st->tr && (st->state == STREAM_HEADER || st->state == STREAM_OPEN);
}

void stream_write(struct stream *st, const void *data, size_t len)
{
    if (!stream_writable(st))
        return;
    st->tr->ops->write(st->tr, data, len);
    wrote(st);
}

void stream_write_str(struct stream *st, const char *s)
{
    stream_write(st, s, strlen(s));
}

void stream_write_buf(struct stream *st, struct wbuf *b)
{
    if (!stream_writable(st))
        return;
    st->tr->ops->write_buf(st->tr, b);
    wrote(st);
}

void stream_write_splice(struct stream *st, struct wbuf *shared, size_t split,
                         const char *piece, size_t plen)
{
    if (!stream_writable(st))
        return;
    st->tr->ops->write_splice(st->tr, shared, split, piece, plen);
    wrote(st);
}

bool stream_is_stanza(const struct stream *st, const struct myna_xml *el)
{
    return strcmp(el->ns, st->kind->ns) == 0 &&
           (strcmp(el->name, "message") == 0 || strcmp(el->name, "presence") == 0 ||
            strcmp(el->name, "iq") == 0);
}

size_t stream_queued(const struct stream *st)
{
    return st->tr ? st->tr->ops->queued(st->tr) : 0;
}

const char *stream_peer(const struct stream *st)
{
    return st->tr ? st->tr->ops->peer(st->tr) : NULL;
}

bool stream_peer_verified(const struct stream *st, const char *domain)
{
    return st->secured && st->tr && st->tr->ops->peer_verified &&
           st->tr->ops->peer_verified(st->tr, domain);
}

const char *stream_peer_problem(const struct stream *st, const char *domain)
{
    if (!st->secured || !st->tr || !st->tr->ops->peer_problem)
        return "no TLS";
    return st->tr->ops->peer_problem(st->tr, domain);
}

uint64_t stream_conn_id(const struct stream *st)
{
    return st->tr ? st->tr->ops->id(st->tr) : 0;
}

bool stream_tls_pending(const struct stream *st)
{
    return st->tls == STREAM_TLS_STARTTLS && !st->secured;
}

const char *const *stream_channel_binding_types(const struct stream *st)
{
    static const char *const none[] = {NULL};
    return st->secured && st->tr ? st->tr->ops->channel_binding_types(st->tr) : none;
}

int stream_channel_binding(const struct stream *st, const char *type, unsigned char *out,
                           size_t outlen)
{
    return st->tr && st->tr->ops->is_encrypted(st->tr)
               ? st->tr->ops->channel_binding(st->tr, type, out, outlen)
               : -1;
}

void stream_set_domain(struct stream *st, const char *domain)
{
    st->domain = domain;
}

static const char *who(const struct stream *st)
{
    return st->kind->who ? st->kind->who(st) : NULL;
}

static void header_attr(struct myna_buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    myna_buf_printf(b, " %s='", name);
    myna_buf_append_escaped(b, value, strlen(value));
    myna_buf_appends(b, "'");
}

static void new_id(struct stream *st)
{
    unsigned char rnd[9];
    RAND_bytes(rnd, sizeof rnd);
    base64_encode(rnd, sizeof rnd, st->id, sizeof st->id);
}

/* Our header (RFC 6120 §4.7). The receiving entity names the stream with a new id each
 * time (§4.7.3); the initiating entity sends none and says whom it wants. */
static void write_header(struct stream *st)
{
    struct myna_buf b;
    myna_buf_init(&b);
    bool ws = framing(st) == FRAMING_WEBSOCKET;
    if (framing(st) == FRAMING_BOSH) {
        /* XEP-0206 §5: the session's <body/> names the stream (authid) instead. */
        new_id(st);
        st->header_sent = true;
        myna_buf_free(&b);
        return;
    }
    if (ws) /* RFC 7395 §3.3.2 */
        myna_buf_appends(&b, "<open xmlns='" NS_FRAMING "'");
    else
        myna_buf_printf(&b, "<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s'%s",
                        st->kind->ns, MYNA_NS_STREAM,
                        st->kind->header_xmlns ? st->kind->header_xmlns : "");
    if (!st->initiator) {
        new_id(st);
        header_attr(&b, "id", st->id);
    }
    header_attr(&b, "from", st->domain);
    if (st->initiator)
        header_attr(&b, "to", who(st));
    if (st->kind->rfc6120)
        myna_buf_appends(&b, " version='1.0' xml:lang='en'");
    myna_buf_appends(&b, ws ? "/>" : ">");
    write_raw(st, b.data, b.len);
    wrote(st);
    myna_buf_free(&b);
    st->header_sent = true;
}

/* Stream features (RFC 6120 §4.3.2): while STARTTLS is required it is all we offer. */
static void write_features(struct stream *st)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<stream:features%s>", prefix_decl(st));
    if (stream_tls_pending(st))
        myna_buf_printf(&b, "<starttls xmlns='%s'><required/></starttls>", MYNA_NS_TLS);
    else if (st->kind->features)
        st->kind->features(st, &b);
    myna_buf_appends(&b, "</stream:features>");
    stream_write(st, b.data, b.len);
    myna_buf_free(&b);
}

/* ---- closing ---- */

/* Closed both ways: nothing more is read or written, the kind ends, the transport
 * closes once the queue is written. */
static void finish(struct stream *st)
{
    st->state = STREAM_CLOSED;
    cancel_timer(st);
    if (st->parser)
        xml_parser_stop(st->parser);
    end_once(st);
    if (st->tr)
        st->tr->ops->close(st->tr);
}

/* </stream:stream>, or <close/> over WebSocket (RFC 7395 §3.6); nothing over BOSH. */
static void write_closing_tag(struct stream *st)
{
    static const char close[] = "<close xmlns='" NS_FRAMING "'/>";
    if (framing(st) == FRAMING_WEBSOCKET)
        write_raw(st, close, sizeof close - 1);
    else if (framing(st) == FRAMING_BOSH)
        return; /* the transport's terminate body ends the session */
    else
        write_raw(st, "</stream:stream>", 16);
}

/* Our closing tag may still go out: not after an error or our own close. */
static bool may_close(const struct stream *st)
{
    return st->tr && (st->state == STREAM_HEADER || st->state == STREAM_OPEN);
}

void stream_error_app(struct stream *st, enum stream_error e, const char *text,
                      const char *app)
{
    if (!may_close(st))
        return;
    /* RFC 6120 §4.9.1.1: an error before our header still needs a header. */
    if (!st->header_sent)
        write_header(st);
    log_info(st->kind->name, "conn=%llu peer=%s jid=%s stream error: %s%s%s",
             (unsigned long long)stream_conn_id(st), stream_peer(st), who(st) ? who(st) : "-",
             stream_error_name(e), text ? ": " : "", text ? text : "");
    struct myna_buf b;
    myna_buf_init(&b);
    error_serialize(st, &b, e, text, app);
    write_raw(st, b.data, b.len);
    myna_buf_free(&b);
    write_closing_tag(st);
    finish(st);
}

void stream_error(struct stream *st, enum stream_error e, const char *text)
{
    stream_error_app(st, e, text, NULL);
}

/* Our closing tag without an error. */
static void write_close(struct stream *st)
{
    if (!st->header_sent)
        write_header(st);
    write_closing_tag(st);
}

static void close_timeout_fire(void *data)
{
    struct stream *st = data;
    st->timer = 0;
    if (st->state == STREAM_CLOSING) {
        log_debug(st->kind->name, "conn=%llu peer=%s did not close its stream in time",
                  (unsigned long long)stream_conn_id(st), stream_peer(st));
        finish(st);
    }
}

void stream_close(struct stream *st)
{
    if (!may_close(st))
        return;
    write_close(st);
    /* RFC 6120 §4.4: the peer may still be sending; its data must not meet a closed
     * socket (a reset can destroy what it has not read yet), so wait for its closing
     * tag, within reason. */
    st->state = STREAM_CLOSING;
    cancel_timer(st);
    st->timer = loop_timer_add(st->srv->loop, st->close_ms, close_timeout_fire, st);
    end_once(st);
}

/* The transport ends right after our closing tag (the peer closed first, or STARTTLS
 * failed). */
static void close_now(struct stream *st)
{
    if (!may_close(st))
        return;
    write_close(st);
    finish(st);
}

void stream_abort(struct stream *st, const char *why)
{
    if (st->tr)
        st->tr->ops->abort(st->tr, why);
    else
        unlink_stream(st);
}

/* ---- negotiation ---- */

void stream_restart(struct stream *st)
{
    st->state = STREAM_HEADER;
    st->header_sent = false;
    xml_parser_reset(st->parser);
    if (st->initiator)
        write_header(st);
}

void stream_initiate(struct stream *st)
{
    st->initiator = true;
    write_header(st);
}

void stream_authenticated(struct stream *st)
{
    st->authenticated = true;
    stream_restart(st);
}

void stream_set_stanza_limit(struct stream *st, size_t bytes)
{
    if (st->parser)
        xml_parser_set_max_stanza(st->parser, bytes);
}

void stream_starttls(struct stream *st, bool in_order)
{
    if (!in_order || st->secured || st->tls != STREAM_TLS_STARTTLS || !st->tr->ops->start_tls) {
        /* RFC 6120 §5.4.2.2: <failure/>, then the stream and the TCP connection end. */
        stream_write_str(st, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        close_now(st);
        return;
    }
    stream_write_str(st, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    stream_restart(st);
    if (st->tr->ops->start_tls(st->tr) < 0)
        st->tr->ops->abort(st->tr, "STARTTLS failed");
}

int stream_starttls_client(struct stream *st, const char *local, const char *peer)
{
    if (!st->tr || !st->tr->ops->start_tls_client ||
        st->tr->ops->start_tls_client(st->tr, local, peer) < 0)
        return -1;
    /* After the TLS call: our new header must leave encrypted. */
    stream_restart(st);
    return 0;
}

void stream_secured(struct stream *st)
{
    st->secured = true;
}

/* ---- input ---- */

/* Returns the error for a header this stream cannot accept, or -1. */
static int check_header(struct stream *st, struct myna_xml *header, const char *default_ns)
{
    const char *to = myna_xml_attr(header, "to");
    const char *dom = to ? myna_jid_nameprep(header->arena, to) : NULL;
    /* First, so that even an error header names the domain when it is ours. */
    bool served = st->kind->header(st, header, dom);
    if (st->state != STREAM_HEADER)
        return STREAM_ERR_NOT_WELL_FORMED;
    if (strcmp(default_ns, st->kind->ns) != 0)
        return STREAM_ERR_INVALID_NAMESPACE;
    if (!served)
        return STREAM_ERR_HOST_UNKNOWN;
    /* RFC 6120 §4.7.5: no version, or a major version below 1, cannot do TLS or SASL. */
    const char *version = myna_xml_attr(header, "version");
    if (st->kind->rfc6120 && (!version || atoi(version) < 1))
        return STREAM_ERR_UNSUPPORTED_VERSION;
    return -1;
}

static void on_stream_open(void *ud, struct myna_xml *header, const char *default_ns)
{
    struct stream *st = ud;
    int err = check_header(st, header, default_ns);
    myna_arena_free(header->arena);
    if (err >= 0) {
        stream_error(st, (enum stream_error)err, NULL);
        return;
    }
    if (!st->initiator) { /* the initiator's header went first; the receiver offers */
        write_header(st);
        if (st->kind->rfc6120)
            write_features(st);
    }
    st->state = STREAM_OPEN;
    if (st->kind->opened)
        st->kind->opened(st);
}

static void on_element(void *ud, struct myna_xml *el)
{
    struct stream *st = ud;
    stream_ref(st); /* the kind may close the stream under us */
    /* Each element is one unit of work: a failed write fails this request only. */
    if (st->srv->store)
        myna_store_env_unit_begin(st->srv->store);
    if (st->state == STREAM_OPEN)
        st->kind->element(st, el);
    if (st->srv->store)
        myna_store_env_unit_commit(st->srv->store);
    myna_arena_free(el->arena);
    stream_unref(st);
}

static void on_stream_close(void *ud)
{
    struct stream *st = ud;
    if (st->state == STREAM_CLOSING) /* the answer to our close */
        finish(st);
    else /* RFC 6120 §4.4: the peer closed; answer with our closing tag and end */
        close_now(st);
}

static const struct xml_parser_callbacks parser_cb = {
    .stream_open = on_stream_open,
    .element = on_element,
    .stream_close = on_stream_close,
};

void stream_input(struct stream *st, const char *buf, size_t len)
{
    if (st->state == STREAM_CLOSED || !st->parser)
        return;
    st->last_in = loop_now(st->srv->loop);
    stream_ref(st);
    if (st->flood_grace_ms && st->state != STREAM_CLOSING && st->tr &&
        st->tr->ops->over_rate_ms && st->tr->ops->over_rate_ms(st->tr) > st->flood_grace_ms) {
        /* Pausing its reads did not slow it down (RFC 6120 §4.9.3.14). */
        stream_error(st, STREAM_ERR_POLICY_VIOLATION, "Sending faster than allowed for too long");
        stream_unref(st);
        return;
    }
    enum xml_parse_error e = xml_parser_feed(st->parser, buf, len);
    if (e != XML_PARSE_OK && st->state == STREAM_CLOSING)
        finish(st); /* no error can follow our closing tag */
    else if (e != XML_PARSE_OK)
        stream_error(st, stream_error_from_name(xml_parse_condition(e)), xml_parse_strerror(e));
    stream_unref(st);
}

/* ---- all streams ---- */

void stream_close_all(struct server *srv, enum stream_error e)
{
    for (struct stream *st = srv->streams, *next; st; st = next) {
        next = st->next;
        stream_error(st, e, NULL);
    }
}

void stream_abort_all(struct server *srv)
{
    while (srv->streams)
        stream_abort(srv->streams, "server exiting");
}

void stream_sweep(struct server *srv, uint64_t idle_ms)
{
    uint64_t now = loop_now(srv->loop);
    size_t shrunk = 0;
    for (struct stream *st = srv->streams; st; st = st->next) {
        if (st->parser && now - st->last_in >= idle_ms && xml_parser_memory(st->parser) > 1024) {
            xml_parser_shrink(st->parser);
            shrunk++;
        }
        /* RFC 6120 §4.6.1: whitespace between elements, so that a silent peer or NAT on
         * the way does not take the connection for dead. */
        if (st->keepalive_ms && st->state == STREAM_OPEN &&
            (uint32_t)now - st->last_out >= st->keepalive_ms)
            stream_write(st, " ", 1);
    }
    /* Freed parser buffers sit between live session data; hand the pages back once a wave
     * of logins has settled (a sweep that shrinks nothing after some that did), or every 64
     * shrunk parsers while logins trickle in: counted across sweeps, since logins slowed by
     * load go idle a few at a time and no single sweep may reach the threshold. */
    srv->sweep_shrunk += shrunk;
    if (srv->sweep_shrunk >= 64 || (shrunk == 0 && srv->sweep_shrunk > 0)) {
        malloc_trim(0);
        srv->sweep_shrunk = 0;
    }
}
