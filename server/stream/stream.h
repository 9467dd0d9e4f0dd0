/* server/stream/stream.h — the one XML stream layer under every kind of stream (c2s and
 * components today; s2s in and out, and streams over WebSocket and BOSH next). It owns the
 * transport binding, the parser (feed, reset, idle shrink, limits), stream headers and
 * their checks (RFC 6120 §4.7), features assembly, STARTTLS (§5), restarts, stream errors
 * (§4.9, one table of conditions, one builder), the stream id, the close (§4.4), the
 * negotiation deadline and every element's unit of work. A kind of stream (struct
 * stream_kind) decides only what is its own: which domains it serves, its features and
 * what its elements mean. The owner embeds struct stream and frees itself in kind->free
 * when the last reference goes. */
#ifndef MYNA_STREAM_H
#define MYNA_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/xml.h"

struct server;
struct config_listen;
struct transport;
struct wbuf;
struct xml_parser;
struct stream;

/* RFC 6120 §4.9.3, in the RFC's order. */
enum stream_error {
    STREAM_ERR_BAD_FORMAT,
    STREAM_ERR_BAD_NAMESPACE_PREFIX,
    STREAM_ERR_CONFLICT,
    STREAM_ERR_CONNECTION_TIMEOUT,
    STREAM_ERR_HOST_GONE,
    STREAM_ERR_HOST_UNKNOWN,
    STREAM_ERR_IMPROPER_ADDRESSING,
    STREAM_ERR_INTERNAL_SERVER_ERROR,
    STREAM_ERR_INVALID_FROM,
    STREAM_ERR_INVALID_NAMESPACE,
    STREAM_ERR_INVALID_XML,
    STREAM_ERR_NOT_AUTHORIZED,
    STREAM_ERR_NOT_WELL_FORMED,
    STREAM_ERR_POLICY_VIOLATION,
    STREAM_ERR_REMOTE_CONNECTION_FAILED,
    STREAM_ERR_RESET,
    STREAM_ERR_RESOURCE_CONSTRAINT,
    STREAM_ERR_RESTRICTED_XML,
    STREAM_ERR_SEE_OTHER_HOST,
    STREAM_ERR_SYSTEM_SHUTDOWN,
    STREAM_ERR_UNDEFINED_CONDITION,
    STREAM_ERR_UNSUPPORTED_ENCODING,
    STREAM_ERR_UNSUPPORTED_FEATURE,
    STREAM_ERR_UNSUPPORTED_STANZA_TYPE,
    STREAM_ERR_UNSUPPORTED_VERSION,
    STREAM_ERR__COUNT
};

/* The condition's element name ("not-well-formed"). */
const char *stream_error_name(enum stream_error e);
/* The condition named `name`; undefined-condition for a name RFC 6120 does not define. */
enum stream_error stream_error_from_name(const char *name);

enum stream_state {
    STREAM_HEADER,  /* waiting for the peer's header (at the start and after each restart) */
    STREAM_OPEN,    /* headers exchanged: elements flow */
    STREAM_CLOSING, /* we closed without an error: waiting for the peer's closing tag */
    STREAM_CLOSED,  /* closed both ways, or after an error, or the transport is gone */
};

/* STARTTLS policy (RFC 6120 §5.3.1). */
enum stream_tls {
    STREAM_TLS_NONE,     /* plaintext, no STARTTLS offered (a component listener) */
    STREAM_TLS_STARTTLS, /* STARTTLS offered and required before anything else */
    STREAM_TLS_DIRECT,   /* TLS from the first byte (XEP-0368) */
};

struct stream_limits {
    size_t max_stanza_bytes; /* one top-level element (and the header) */
    unsigned max_depth;
    unsigned max_attrs;
    uint64_t rate, burst;    /* bytes/s the peer may send and the bucket (0 = unlimited) */
    uint64_t deadline_ms;    /* the stream must be established by then (connection-timeout);
                              * 0 = no deadline */
    uint64_t close_ms;       /* how long a close waits for the peer's closing tag (RFC 6120
                              * §4.4); 0 = STREAM_CLOSE_TIMEOUT_MS */
    uint32_t keepalive_ms;   /* a whitespace keepalive goes out when nothing else did for
                              * this long (RFC 6120 §4.6.1); 0 = never */
    uint32_t flood_grace_ms; /* a peer over `rate` for this long is closed with
                              * policy-violation; 0 = it is only paused */
};

#define STREAM_CLOSE_TIMEOUT_MS 10000

/* What a kind of stream decides; everything else is the stream layer's. */
struct stream_kind {
    const char *name;  /* for logs: "c2s", "component" */
    const char *ns;    /* the content namespace its header must declare (jabber:client ...) */
    bool rfc6120;      /* version='1.0' required, sent in ours, features follow it (XEP-0114
                        * streams have neither) */
    /* The peer's header named `to` (nameprep'd, or NULL when absent or invalid). Returns
     * whether this stream serves it, after stream_set_domain() when it does; called for
     * every header, so restarts are checked against what the stream already is. */
    bool (*header)(struct stream *st, const struct myna_xml *header, const char *to);
    /* Appends its features (SASL mechanisms, bind ...) after those of the stream layer;
     * NULL for kinds without features. Not called while STARTTLS is still required. */
    void (*features)(struct stream *st, struct myna_buf *b);
    /* The stream is open: our header (and features) went out. May be NULL. */
    void (*opened)(struct stream *st);
    /* A top-level element while open. Runs in its own unit of work; el->arena is freed
     * after it returns. The kind may close the stream from here. */
    void (*element)(struct stream *st, struct myna_xml *el);
    /* The stream ends (our close, or the transport went away); called once. */
    void (*ended)(struct stream *st);
    /* The last reference went: free the owner, which embeds the stream. */
    void (*free)(struct stream *st);
    /* Who the peer is, for logs (a client's bound JID), and on a stream we initiated the
     * domain our header is addressed to; NULL when not known. May be NULL. */
    const char *(*who)(const struct stream *st);
    /* More namespace declarations for our header (s2s: " xmlns:db='jabber:server:dialback'",
     * XEP-0220 §2.1), or NULL. */
    const char *header_xmlns;
};

/* Ordered so that no padding is left: every client session holds one. */
struct stream {
    const struct stream_kind *kind;
    struct server *srv;
    struct transport *tr;             /* the transport, NULL once it is gone */
    struct xml_parser *parser;        /* NULL once the transport is gone */
    const char *domain;               /* the local domain served (kind-owned), or NULL */
    struct stream *next, *prev;       /* srv->streams */
    uint64_t last_in;                 /* loop ms of the last input */
    uint64_t timer;                   /* the negotiation deadline, then the close timeout */
    char id[24];                      /* our stream id (RFC 6120 §4.7.3) */
    enum stream_state state;
    enum stream_tls tls;
    unsigned refs;                    /* the transport, each job or timer, each callback */
    uint32_t close_ms;                /* see stream_limits */
    uint32_t keepalive_ms;            /* see stream_limits */
    uint32_t flood_grace_ms;          /* see stream_limits */
    uint32_t last_out;                /* loop ms of the last output, modulo 2^32 (only the
                                       * time since, under 24 days, is ever computed) */
    bool secured;                     /* TLS is up */
    bool authenticated;               /* SASL or the handshake succeeded */
    bool established;                 /* fully set up: the negotiation deadline is off */
    bool header_sent;                 /* our header for the current stream went out */
    bool ended;                       /* kind->ended ran */
    bool initiator;                   /* we opened the stream: our header goes first */
    bool broken;                      /* the transport went away while the stream was
                                       * open, without a close either way (XEP-0198 §5
                                       * holds such a session) */
};

/* Binds st (zeroed by its owner) to a socket accepted on listener l: a connection
 * (conn_transport) with the listener's TLS policy and record layer; direct TLS starts
 * here. The stream has one reference, held by the transport. */
void stream_accept(struct stream *st, struct server *srv, const struct stream_kind *kind,
                   const struct stream_limits *lim, const struct config_listen *l, int fd,
                   const char *peer);
/* Binds st to a TCP connection we opened (outgoing s2s): OpenSSL keeps the TLS records,
 * STARTTLS is expected unless `direct_tls` (XEP-0368), which the caller then starts. */
void stream_connected(struct stream *st, struct server *srv, const struct stream_kind *kind,
                      const struct stream_limits *lim, int fd, const char *peer,
                      bool direct_tls);
/* Binds st to any transport (stream_accept for TCP; WebSocket and BOSH sessions later).
 * The transport reports to the stream with the three calls below. */
void stream_attach(struct stream *st, struct server *srv, const struct stream_kind *kind,
                   const struct stream_limits *lim, struct transport *tr, enum stream_tls tls);
/* Bytes of the XML stream arrived. */
void stream_input(struct stream *st, const char *buf, size_t len);
/* TLS is up (direct TLS, or after <proceed/>). */
void stream_secured(struct stream *st);
/* The transport is gone (peer closed, error, or our close finished); the stream ends and
 * drops the transport's reference later in this loop iteration. */
void stream_transport_gone(struct stream *st, const char *why);
/* Makes st the initiating entity (an outgoing s2s stream, RFC 6120 §4.7): our header goes
 * out now and after each restart, from st->domain (stream_set_domain first) to kind->who,
 * without an id; the peer's header answers it (the kind reads its id and 'from' in
 * kind->header), and no features are sent by us. */
void stream_initiate(struct stream *st);
/* Turns the negotiation deadline (stream_limits.deadline_ms) off: the stream is set up. */
void stream_established(struct stream *st);

void stream_ref(struct stream *st);
void stream_unref(struct stream *st);

/* The local domain this stream serves (kind->header sets it); `domain` must outlive it. */
void stream_set_domain(struct stream *st, const char *domain);
/* True while stanzas and nonzas may be written (transport present, not closed). */
bool stream_writable(const struct stream *st);
void stream_write(struct stream *st, const void *data, size_t len);
void stream_write_str(struct stream *st, const char *s);
void stream_write_buf(struct stream *st, struct wbuf *b);
void stream_write_splice(struct stream *st, struct wbuf *shared, size_t split,
                         const char *piece, size_t plen);
/* el is a stanza: message, presence or iq in the stream's content namespace. */
bool stream_is_stanza(const struct stream *st, const struct myna_xml *el);
/* Bytes queued for the peer and not yet written. */
size_t stream_queued(const struct stream *st);

/* The peer's certificate verifies for `domain` (RFC 6125; s2s transports only). */
bool stream_peer_verified(const struct stream *st, const char *domain);
const char *stream_peer_problem(const struct stream *st, const char *domain);
/* Transport facts for SASL and logs. */
const char *stream_peer(const struct stream *st);
uint64_t stream_conn_id(const struct stream *st);
/* STARTTLS is required and not done yet: nothing but <starttls/> is in order. */
bool stream_tls_pending(const struct stream *st);
/* Channel binding of the transport (types best first; none while not secured). */
const char *const *stream_channel_binding_types(const struct stream *st);
int stream_channel_binding(const struct stream *st, const char *type, unsigned char *out,
                           size_t outlen);

/* <starttls/> (RFC 6120 §5.4.2): when offered, not done and `in_order` (the kind has no
 * negotiation running), answers <proceed/>, restarts and starts TLS; otherwise answers
 * <failure/> and closes. */
void stream_starttls(struct stream *st, bool in_order);
/* The initiating side got <proceed/> (RFC 6120 §5.4.2.3): TLS starts as the client, from
 * `local` to `peer`, and the stream restarts with our header once TLS is up. 0 or -1. */
int stream_starttls_client(struct stream *st, const char *local, const char *peer);
/* SASL succeeded: the stream restarts (RFC 6120 §6.4.6), and later headers must name the
 * same domain. */
void stream_authenticated(struct stream *st);
/* Changes the stanza size limit from the next element on (a kind allows less before
 * authentication than after it). */
void stream_set_stanza_limit(struct stream *st, size_t bytes);
/* A new stream on the same transport: the next bytes are a header (RFC 6120 §4.3.3). */
void stream_restart(struct stream *st);

/* Ends the stream: our header if none went out yet (§4.9.1.1), <stream:error> with the
 * condition, `text` (may be NULL) and an application-specific condition (serialized
 * element, may be NULL), then the closing tag; kind->ended runs; the transport closes
 * once that is written. */
void stream_error(struct stream *st, enum stream_error e, const char *text);
void stream_error_app(struct stream *st, enum stream_error e, const char *text,
                      const char *app);
/* Ends the stream without an error (RFC 6120 §4.4): our closing tag, kind->ended, then the
 * transport closes when the peer's closing tag arrives, or after the close timeout;
 * nothing more is written, and what the peer still sends is parsed but not acted on. */
void stream_close(struct stream *st);
/* Drops the transport at once (exit path). */
void stream_abort(struct stream *st, const char *why);

/* Every stream of the server: closed with `e` (shutdown), aborted (exit), and the
 * periodic sweep: idle parsers give their memory back (idle_ms without input), and
 * whitespace keepalives go out where they are due. */
void stream_close_all(struct server *srv, enum stream_error e);
void stream_abort_all(struct server *srv);
void stream_sweep(struct server *srv, uint64_t idle_ms);

#endif
