/* server/net/transport.h — what carries a stream's bytes, as the stream layer
 * (server/stream/stream.c) sees it: a small table of operations on an opaque transport.
 * A TCP connection, with or without TLS, implements it today (conn_transport, conn.c);
 * WebSocket (RFC 7395) and BOSH (XEP-0206) sessions will implement the same table. Events
 * going up (bytes arrived, TLS is up, the transport is gone) reach the stream through each
 * transport's own callbacks, so this folder knows nothing of streams.
 * Every write is held until the storage commit, whatever the transport (see conn.h). */
#ifndef MYNA_TRANSPORT_H
#define MYNA_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;
struct transport_ops;

/* The first member of every transport (struct conn, later a WebSocket or BOSH session), so
 * that a stream holds one pointer and reaches both the transport and its operations. */
struct transport {
    const struct transport_ops *ops;
};

/* How the stream's own bytes (header, features, error, closing tag) are framed. */
enum transport_framing {
    FRAMING_TCP,       /* RFC 6120: one XML document, <stream:stream> ... </stream:stream> */
    FRAMING_WEBSOCKET, /* RFC 7395 §3.3: <open/> and <close/>, every message stands alone */
    FRAMING_BOSH,      /* XEP-0206: no header or closing tag (the session's <body/> carries
                        * them), elements stand alone inside bodies */
};

struct transport_ops {
    enum transport_framing framing;
    /* Queues bytes (copied), a shared buffer (a reference is taken), or
     * shared[0, split) + piece + shared[split, len) as one message. */
    void (*write)(struct transport *t, const void *data, size_t len);
    void (*write_buf)(struct transport *t, struct wbuf *b);
    void (*write_splice)(struct transport *t, struct wbuf *shared, size_t split, const char *piece,
                         size_t plen);
    /* Ends the transport once what is queued has been written; the owner hears of it. */
    void (*close)(struct transport *t);
    /* Ends it at once, dropping what is queued. */
    void (*abort)(struct transport *t, const char *why);
    /* Starts TLS (what is queued, i.e. <proceed/>, leaves first in plaintext): 0 or -1.
     * NULL where the carrier owns TLS (wss://, https://): no STARTTLS is offered. */
    int (*start_tls)(struct transport *t);
    bool (*is_encrypted)(const struct transport *t);
    /* Channel-binding data of `type` for SCRAM-PLUS (RFC 5929, RFC 9266): its length or
     * -1; and the types offered, best first, NULL-terminated. */
    int (*channel_binding)(const struct transport *t, const char *type, unsigned char *out,
                           size_t outlen);
    const char *const *(*channel_binding_types)(const struct transport *t);
    /* Limits what the peer may send: bytes/s with bursts up to `burst`; 0 = unlimited. */
    void (*set_rate)(struct transport *t, uint64_t rate, uint64_t burst);
    /* For logs and login throttling: an id never reused, and the peer as "ip:port". */
    uint64_t (*id)(const struct transport *t);
    const char *(*peer)(const struct transport *t);
    /* Bytes queued and not yet written to the peer. */
    size_t (*queued)(const struct transport *t);
    /* Server-to-server (NULL where a transport carries no s2s): TLS as the client, from
     * local domain `local` to `peer` (SNI), what is queued following it encrypted; the
     * peer's certificate asked for (incoming s2s; call before TLS starts or at its very
     * start); whether that certificate verifies for `domain` (RFC 6125), and why not. */
    int (*start_tls_client)(struct transport *t, const char *local, const char *peer);
    void (*request_peer_cert)(struct transport *t);
    bool (*peer_verified)(const struct transport *t, const char *domain);
    const char *(*peer_problem)(const struct transport *t, const char *domain);
    /* How long the peer has kept sending faster than set_rate allows (its reading paused
     * again and again), in ms; 0 when it is not (NULL: never measured). */
    uint64_t (*over_rate_ms)(const struct transport *t);
};

#endif
