/* server/net/conn.h — one TCP connection with optional TLS: non-blocking reads handed to the
 * owner, a write queue of shared refcounted buffers (a broadcast serializes once and every
 * recipient's queue points at the same bytes), graceful close after the queue drains.
 * Output is held: writes only queue, and queued bytes reach the socket when no storage
 * batch is open, i.e. after the writes made before them are committed (conn_flush_all from
 * the loop's before_sleep, one writev per connection). With the compact TLS 1.3 layer the
 * plaintext of one loop iteration is sealed at the flush, into one record per 16 KiB.
 * Freed only through the loop's deferred queue, so no callback frees what its caller
 * still uses. A stream reaches its connection through conn_transport (net/transport.h). */
#ifndef MYNA_CONN_H
#define MYNA_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/net/peeraddr.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"

struct server;
struct conn;
struct tlsrec;
struct tls13_secrets;

struct conn_ops {
    /* Plaintext bytes arrived. */
    void (*data)(struct conn *c, const char *buf, size_t len);
    /* The TLS handshake finished (direct TLS or after STARTTLS). */
    void (*tls_ready)(struct conn *c);
    /* The connection is gone (peer closed, error, or conn_close finished). Called once;
     * the owner must drop its pointer. The conn is freed after this returns. */
    void (*closed)(struct conn *c, const char *why);
    /* Optional: the write queue has room again (under half of the pause mark) after a
     * flush; an owner streaming a large answer queues the next piece here. */
    void (*drained)(struct conn *c);
};

struct wq_item {
    struct wbuf *buf;
    size_t off;                  /* next byte to write */
    size_t end;                  /* one past the last byte of buf this item writes */
    struct wq_item *next;
};

struct conn {
    struct transport tr;         /* first: a stream's view of this connection */
    uint64_t id;                 /* unique, never reused */
    int fd;
    SSL *ssl;                    /* during the handshake, and for TLS 1.2 sessions */
    struct tlsrec *rec;          /* TLS 1.3 after the handshake (ssl is then NULL) */
    struct tls13_secrets *sec;   /* traffic secrets collected during the handshake */
    bool handshaking;            /* TLS handshake in progress */
    bool closing;                /* close after the write queue drains */
    bool dead;                   /* closed; waiting for the deferred free */
    bool ssl_want_write;         /* SSL_read needs the socket writable */
    bool paused;                 /* reading paused (write queue too long) */
    bool throttled;              /* reading paused (peer over its rate) */
    uint64_t flood_since;        /* loop ms the peer went over its rate, while it stays
                                  * there (the bucket not back to half full); 0 = not */
    bool want_write;             /* the socket refused bytes: waiting for it to drain */
    bool dropping;               /* being dropped (held output must never leave) */
    bool flush_listed;           /* on srv->flush_list: has output for the next flush */
    struct conn *flush_next, *flush_prev;
    uint64_t held_from, held_to; /* storage batches queued output followed (0 = none) */
    bool keep_ssl;               /* TLS 1.3: keep OpenSSL's record layer (no tlsrec) */
    bool verify_peer;            /* ask the peer for its certificate (s2s); keeps OpenSSL's
                                  * record layer, which holds the certificate */
    const char *why;             /* closing on its own (TLS alert sent or close_notify
                                  * answered): the reason given to the owner */
    uint64_t rate;               /* allowed bytes/s (0 = unlimited) */
    uint64_t burst;              /* token bucket size */
    double tokens;               /* bytes the peer may still send now */
    uint64_t tokens_at;          /* loop ms of the last refill */
    uint64_t throttle_timer;
    unsigned events;             /* current loop watch mask */
    struct wq_item *wq_head, *wq_tail;
    size_t wq_bytes;             /* bytes queued, for back-pressure (plaintext included) */
    struct wq_item *pt_head, *pt_tail; /* compact TLS 1.3 layer: plaintext written since the
                                  * last flush, sealed then into as few records as it takes,
                                  * straight from these (shared) buffers */
    const struct conn_ops *ops;
    void *owner;                 /* c2s stream (or s2s, component ...) */
    struct server *srv;
    char peer[PEER_MAX];         /* "ip:port" (behind a trusted proxy: the client's) */
    uint64_t bytes_in, bytes_out;
};

/* Wraps an accepted socket. */
struct conn *conn_new(struct server *srv, int fd, const char *peer, const struct conn_ops *ops,
                      void *owner);
/* Starts TLS server-side (direct TLS, or after <proceed/> was queued and flushed). */
int conn_start_tls(struct conn *c);
/* Starts TLS as the client (outgoing s2s) from local domain `local` to `peer`; OpenSSL keeps
 * the records. Output queued from now on follows the handshake. */
int conn_start_tls_client(struct conn *c, const char *local, const char *peer);
/* Queues bytes (copied) / a shared buffer (a reference is taken). Nothing is written
 * here: see conn_flush_all. */
void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_buf(struct conn *c, struct wbuf *b);
/* Queues shared[0, split) + piece + shared[split, len) as one message. On a plaintext
 * connection the two parts of `shared` are queued by reference (a fan-out shares one
 * buffer among all recipients); with TLS the plaintext is joined and sealed. */
void conn_write_splice(struct conn *c, struct wbuf *shared, size_t split, const char *piece,
                       size_t plen);
/* Writes out the held output of every connection that has some, closes those that were
 * closing and are drained, drops those that do not read (queue over 8 MiB after the
 * attempt). Does nothing while a storage batch is open: call it after the commit. */
void conn_flush_all(struct server *srv);
/* True while some connection has output for conn_flush_all. */
bool conn_flush_pending(const struct server *srv);
/* Batch `batch` failed to commit: connections whose held output was queued after its
 * writes are dropped without sending it (it may acknowledge what was lost). */
void conn_drop_batch(struct server *srv, uint64_t batch);
/* Flushes what is queued, then closes. The closed callback follows. */
void conn_close(struct conn *c);
/* Closes at once (drops the queue). */
void conn_abort(struct conn *c, const char *why);
/* True when the connection is encrypted (either TLS layer). */
bool conn_is_tls(const struct conn *c);
/* Channel-binding data of `type` for SCRAM-PLUS; length or -1. */
int conn_channel_binding(const struct conn *c, const char *type, unsigned char *out,
                         size_t outlen);
/* The channel-binding types this connection offers, best first (NULL-terminated). */
const char *const *conn_channel_binding_types(const struct conn *c);
/* Limits what the peer may send: `rate` bytes/s with bursts up to `burst` (token bucket;
 * reading pauses when the bucket is empty). 0 = unlimited. */
void conn_set_rate(struct conn *c, uint64_t rate, uint64_t burst);
/* Heap bytes this connection holds (TLS and queue), approximately. */
size_t conn_memory(const struct conn *c);
/* The connection as a stream's transport (net/transport.h): the ops of c->tr. */
extern const struct transport_ops conn_transport;

#endif
