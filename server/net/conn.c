/* server/net/conn.c — see conn.h. Reads go into one read buffer shared by all connections
 * (the loop thread owns it), so an idle connection holds no read buffer. With TLS the
 * handshake, reads and writes all run through one state function, because SSL_read may
 * want to write and SSL_write may want to read.
 * Invariant: no byte is written to a socket while a storage batch is open, so nothing a
 * client sees (an iq result, a XEP-0198 <a/>, an error) can precede the commit of the
 * writes made before it; the one exception is <proceed/>, which must leave before the
 * TLS handshake and follows no write. */
#include "server/net/conn.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "myna/store.h"

#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/net/tls.h"
#include "server/net/tlsrec.h"
#include "server/server.h"

/* Stop reading from a peer that does not read what we send... */
#define WQ_PAUSE_BYTES (1u << 20)
/* ...and drop it when it still does not read: one slow reader must not make the server
 * hold unbounded memory for it. Checked after each write attempt, so a burst that the
 * socket takes at once (one iteration's held output) does not count. */
#define WQ_MAX_BYTES (8u << 20)
#define WRITEV_MAX 64

static void conn_io(void *data, unsigned events);
static void queue_raw(struct conn *c, const void *data, size_t len);
static void seal_pending(struct conn *c);
static bool rate_consume(struct conn *c, size_t n);

/* ---- held output: the list of connections to flush after the commit ---- */

/* No storage batch is open: everything written so far is committed. */
static bool output_free(const struct server *srv)
{
    return !srv->store || myna_store_env_batch(srv->store) == 0;
}

static void flush_list_add(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->flush_listed || c->dead)
        return;
    c->flush_listed = true;
    c->flush_prev = NULL;
    c->flush_next = srv->flush_list;
    if (srv->flush_list)
        srv->flush_list->flush_prev = c;
    srv->flush_list = c;
}

static void flush_list_del(struct conn *c)
{
    if (!c->flush_listed)
        return;
    if (c->flush_prev)
        c->flush_prev->flush_next = c->flush_next;
    else
        c->srv->flush_list = c->flush_next;
    if (c->flush_next)
        c->flush_next->flush_prev = c->flush_prev;
    c->flush_listed = false;
    c->flush_next = c->flush_prev = NULL;
}

struct conn *conn_new(struct server *srv, int fd, const char *peer, const struct conn_ops *ops,
                      void *owner)
{
    struct conn *c = pool_alloc(sizeof *c);
    c->tr.ops = &conn_transport;
    c->id = ++srv->next_conn_id;
    c->fd = fd;
    c->ops = ops;
    c->owner = owner;
    c->srv = srv;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->events = LOOP_READ;
    loop_watch(srv->loop, fd, LOOP_READ, conn_io, c);
    srv->nconns++;
    return c;
}

static void items_free(struct wq_item *it)
{
    while (it) {
        struct wq_item *n = it->next;
        wbuf_unref(it->buf);
        free(it);
        it = n;
    }
}

static void conn_free(void *data)
{
    struct conn *c = data;
    items_free(c->wq_head);
    items_free(c->pt_head);
    if (c->ssl)
        SSL_free(c->ssl);
    tlsrec_free(c->rec);
    tls13_secrets_free(c->sec); /* a handshake that failed after the keylog callback */
    pool_free(c, sizeof *c);
}

static void conn_dead(struct conn *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->throttle_timer)
        loop_timer_cancel(c->srv->loop, c->throttle_timer);
    flush_list_del(c);
    loop_unwatch(c->srv->loop, c->fd);
    if (c->ssl && !c->handshaking && !c->closing)
        SSL_set_quiet_shutdown(c->ssl, 1);
    close(c->fd);
    c->fd = -1;
    c->srv->nconns--;
    if (c->ops->closed)
        c->ops->closed(c, why);
    loop_defer(c->srv->loop, conn_free, c);
}

void conn_abort(struct conn *c, const char *why)
{
    conn_dead(c, why);
}

static void update_events(struct conn *c)
{
    if (c->dead)
        return;
    unsigned ev = 0;
    /* Writability is asked for only after the socket refused bytes: held output is
     * written from conn_flush_all, not on epoll's word. */
    if (c->closing)
        ev = LOOP_READ | (c->want_write ? LOOP_WRITE : 0); /* notice the peer going away */
    else if (c->handshaking)
        ev = LOOP_READ | (c->ssl_want_write ? LOOP_WRITE : 0);
    else {
        if (!c->paused && !c->throttled)
            ev |= LOOP_READ;
        if (c->want_write || c->ssl_want_write)
            ev |= LOOP_WRITE;
    }
    if (ev != c->events) {
        loop_modify(c->srv->loop, c->fd, ev);
        c->events = ev;
    }
}

/* Returns 1 if it made progress / needs nothing, 0 if it would block, -1 on error. */
static int do_handshake(struct conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshaking = false;
        c->ssl_want_write = false;
        /* TLS 1.3: take the record layer over and drop the heavy SSL object. */
        c->rec = c->sec ? tlsrec_new(c->ssl, c->sec) : NULL;
        if (c->sec) {
            tls13_secrets_free(c->sec);
            c->sec = NULL;
            SSL_set_app_data(c->ssl, NULL);
        }
        if (c->rec) {
            SSL_free(c->ssl);
            c->ssl = NULL;
        }
        if (c->ops->tls_ready)
            c->ops->tls_ready(c);
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->ssl_want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    char buf[160];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    log_debug("tls", "conn=%llu peer=%s handshake failed: %s", (unsigned long long)c->id,
              c->peer, buf);
    return -1;
}

/* Drops n written bytes from the head of the queue. */
static void queue_consume(struct conn *c, size_t n)
{
    c->bytes_out += n;
    c->wq_bytes -= n;
    while (n > 0) {
        struct wq_item *it = c->wq_head;
        size_t left = it->end - it->off;
        size_t take = n < left ? n : left;
        it->off += take;
        n -= take;
        if (it->off == it->end) {
            c->wq_head = it->next;
            if (!c->wq_head)
                c->wq_tail = NULL;
            wbuf_unref(it->buf);
            free(it);
        }
    }
}

/* TLS 1.2 (OpenSSL owns the records): one SSL_write per buffer. */
static int flush_ssl(struct conn *c)
{
    while (c->wq_head) {
        struct wq_item *it = c->wq_head;
        size_t n = it->end - it->off;
        ERR_clear_error();
        int r = SSL_write(c->ssl, it->buf->data + it->off, (int)(n > 1u << 30 ? 1u << 30 : n));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                return 0;
            return -1;
        }
        queue_consume(c, (size_t)r);
    }
    return 1;
}

/* Writes the queue: one writev of up to WRITEV_MAX buffers at a time (plaintext, or
 * records already sealed by the compact TLS 1.3 layer). Returns 1 when empty, 0 if the
 * socket is full, -1 on error. */
static int flush_queue(struct conn *c)
{
    if (c->ssl)
        return flush_ssl(c);
    while (c->wq_head) {
        struct iovec iov[WRITEV_MAX];
        int n = 0;
        size_t total = 0;
        for (struct wq_item *it = c->wq_head; it && n < WRITEV_MAX; it = it->next, n++) {
            iov[n].iov_base = it->buf->data + it->off;
            iov[n].iov_len = it->end - it->off;
            total += iov[n].iov_len;
        }
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            return -1;
        }
        queue_consume(c, (size_t)w);
        if ((size_t)w < total)
            return 0; /* the socket took what it could */
    }
    return 1;
}

/* Writes what this connection holds (the caller checked output_free), then closes it if
 * it was closing and is drained, or drops it if it does not read. */
static void conn_flush(struct conn *c)
{
    flush_list_del(c);
    if (c->dead || c->dropping || c->handshaking)
        return; /* the handshake's end flushes (conn_io) */
    c->held_from = c->held_to = 0;
    seal_pending(c);
    int r = c->wq_head ? flush_queue(c) : 1;
    if (r < 0 || (c->closing && r > 0)) {
        if (c->ssl && r > 0)
            SSL_shutdown(c->ssl);
        conn_dead(c, r < 0 ? "write error" : c->why ? c->why : "closed");
        return;
    }
    c->want_write = r == 0;
    if (c->wq_bytes > WQ_MAX_BYTES) {
        log_info("conn", "conn=%llu peer=%s does not read: %zu bytes queued, dropping it",
                 (unsigned long long)c->id, c->peer, c->wq_bytes);
        conn_dead(c, "write queue overflow");
        return;
    }
    if (c->paused && c->wq_bytes < WQ_PAUSE_BYTES / 2)
        c->paused = false;
    update_events(c);
    if (c->ops->drained && !c->closing && c->wq_bytes < WQ_PAUSE_BYTES / 2)
        c->ops->drained(c);
}

void conn_flush_all(struct server *srv)
{
    /* Closing a connection here runs its owner's close handling, which may write to the
     * store (then stop: the rest waits for the next commit) or queue more output (taken
     * in this same pass, from the list's head). */
    while (srv->flush_list && output_free(srv))
        conn_flush(srv->flush_list);
}

bool conn_flush_pending(const struct server *srv)
{
    return srv->flush_list != NULL;
}

static void conn_dropped(void *data)
{
    struct conn *c = data;
    if (!c->dead)
        conn_dead(c, "storage commit failed");
}

void conn_drop_batch(struct server *srv, uint64_t batch)
{
    /* Called from inside the store's commit: mark now (nothing more is written or read),
     * close from the deferred queue. */
    for (struct conn *c = srv->flush_list, *next; c; c = next) {
        next = c->flush_next;
        if (c->held_from && c->held_from <= batch && batch <= c->held_to) {
            log_warn("conn", "conn=%llu peer=%s dropped: its pending output followed writes "
                     "that failed to commit", (unsigned long long)c->id, c->peer);
            flush_list_del(c);
            c->dropping = true;
            loop_defer(srv->loop, conn_dropped, c);
        }
    }
}

/* The connection ends on its own after what is queued (a TLS alert, our close_notify)
 * has been written; the owner hears `why` then. */
static void conn_end(struct conn *c, const char *why)
{
    if (c->dead || c->closing)
        return;
    c->closing = true;
    c->why = why;
    flush_list_add(c); /* the flush writes the alert and closes once drained */
    update_events(c);
}

static void rec_data(struct tlsrec_io *io, const char *data, size_t len)
{
    struct conn *c = io->ud;
    if (!c->dead && !c->closing)
        c->ops->data(c, data, len);
    io->stop = c->dead || c->closing;
}

/* KeyUpdate answers and alerts join the queue at once, behind the records of the data
 * that came before them and ahead of what the owner writes next. */
static void rec_send(struct tlsrec_io *io, const void *records, size_t len)
{
    struct conn *c = io->ud;
    if (!c->dead)
        queue_raw(c, records, len);
}

/* The layer is about to seal a record of its own: what the owner wrote before goes first. */
static void rec_sealing(struct tlsrec_io *io)
{
    struct conn *c = io->ud;
    if (!c->dead)
        seal_pending(c);
}

/* Reads with the compact TLS 1.3 record layer: ciphertext into the shared buffer after any
 * held partial record, then decrypt every complete record in place. */
static void read_rec(struct conn *c)
{
    unsigned char *buf = (unsigned char *)c->srv->readbuf;
    size_t cap = sizeof c->srv->readbuf;
    for (int rounds = 0; rounds < 8 && !c->dead && !c->closing && !c->paused && !c->throttled;
         rounds++) {
        struct tlsrec_io io = {
            .data = rec_data, .send = rec_send, .sealing = rec_sealing, .ud = c};
        size_t have = tlsrec_take_pending(c->rec, buf);
        ssize_t n = read(c->fd, buf + have, cap - have);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                tlsrec_input(c->rec, buf, have, &io); /* keeps the partial record */
                return;
            }
            conn_dead(c, strerror(errno));
            return;
        }
        if (n == 0) {
            tlsrec_eof(c->rec, &io);
            conn_end(c, io.why);
            return;
        }
        c->bytes_in += (uint64_t)n;
        rate_consume(c, (size_t)n);
        if (tlsrec_input(c->rec, buf, have + (size_t)n, &io) != TLSREC_OK) {
            conn_end(c, io.why);
            return;
        }
        if (have + (size_t)n < cap)
            return;
    }
}

static void read_some(struct conn *c)
{
    if (c->rec) {
        read_rec(c);
        return;
    }
    char *buf = c->srv->readbuf;
    size_t cap = sizeof c->srv->readbuf;
    /* Bounded per wakeup so one busy peer cannot starve the others. */
    for (int rounds = 0; rounds < 8 && !c->dead && !c->closing && !c->paused && !c->throttled;
         rounds++) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, buf, (int)cap);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    return;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_want_write = true;
                    return;
                }
                if (e == SSL_ERROR_ZERO_RETURN) /* close_notify: ours follows (§6.1) */
                    conn_end(c, "closed by peer (close_notify)");
                else
                    conn_dead(c, "TLS error"); /* OpenSSL has sent its alert */
                return;
            }
            c->ssl_want_write = false;
            n = r;
        } else {
            n = read(c->fd, buf, cap);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                conn_dead(c, strerror(errno));
                return;
            }
            if (n == 0) {
                conn_dead(c, "closed by peer");
                return;
            }
        }
        c->bytes_in += (uint64_t)n;
        rate_consume(c, (size_t)n);
        c->ops->data(c, buf, (size_t)n);
        /* After STARTTLS was agreed, plaintext must stop: the owner switched us to TLS. */
        if (c->handshaking)
            return;
        if ((size_t)n < cap && !(c->ssl && SSL_pending(c->ssl)))
            return;
    }
}

/* The socket can take bytes again: write now if nothing uncommitted is open, else after
 * the commit. */
static void conn_writable(struct conn *c)
{
    c->want_write = false;
    if (output_free(c->srv))
        conn_flush(c);
    else
        flush_list_add(c);
}

static void conn_io(void *data, unsigned events)
{
    struct conn *c = data;
    if (c->dead || c->dropping)
        return;
    if (c->handshaking) {
        int r = do_handshake(c);
        if (r < 0) {
            conn_dead(c, "TLS handshake failed");
            return;
        }
        if (r == 0) {
            update_events(c);
            return;
        }
        if (c->wq_head || c->closing)
            flush_list_add(c); /* what was queued during the handshake */
    }
    if (c->closing) {
        if ((events & LOOP_WRITE) && c->want_write) {
            conn_writable(c);
            if (c->dead)
                return;
        }
        if (events & LOOP_READ) {
            /* Drain and ignore input while closing; notice EOF. */
            char tmp[512];
            ssize_t n = c->ssl ? SSL_read(c->ssl, tmp, sizeof tmp) : read(c->fd, tmp, sizeof tmp);
            /* (With the compact record layer the bytes are ciphertext: ignored all the same.) */
            if (n == 0 || (n < 0 && !c->ssl && errno != EAGAIN)) {
                conn_dead(c, "closed by peer");
                return;
            }
        }
        update_events(c);
        return;
    }
    if ((events & LOOP_READ) || (c->ssl_want_write && (events & LOOP_WRITE)))
        read_some(c);
    if (c->dead || c->dropping)
        return;
    if ((events & LOOP_WRITE) && c->want_write) {
        conn_writable(c);
        return;
    }
    update_events(c);
}

/* ---- rate limit: a token bucket per connection ---- */

static void rate_refill(struct conn *c)
{
    uint64_t now = loop_now(c->srv->loop);
    c->tokens += (double)(now - c->tokens_at) * (double)c->rate / 1000.0;
    if (c->tokens > (double)c->burst)
        c->tokens = (double)c->burst;
    c->tokens_at = now;
    if (c->tokens >= (double)c->burst / 2)
        c->flood_since = 0; /* the peer slowed down: a later burst is a new episode */
}

static void rate_resume(void *data)
{
    struct conn *c = data;
    c->throttle_timer = 0;
    if (c->dead)
        return;
    rate_refill(c);
    c->throttled = false;
    update_events(c);
    /* TLS may hold decrypted bytes the socket no longer signals: read now. */
    conn_io(c, LOOP_READ);
}

/* Takes n bytes from the bucket; when it runs dry, pauses reading until it refills to a
 * quarter of the burst. Returns true if reading is now paused. */
static bool rate_consume(struct conn *c, size_t n)
{
    if (!c->rate)
        return false;
    rate_refill(c);
    c->tokens -= (double)n;
    if (c->tokens > 0)
        return false;
    double want = (double)c->burst / 4 - c->tokens;
    uint64_t ms = (uint64_t)(want * 1000.0 / (double)c->rate) + 1;
    c->throttled = true;
    if (!c->flood_since)
        c->flood_since = loop_now(c->srv->loop);
    c->throttle_timer = loop_timer_add(c->srv->loop, ms, rate_resume, c);
    update_events(c);
    return true;
}

void conn_set_rate(struct conn *c, uint64_t rate, uint64_t burst)
{
    c->rate = rate;
    c->burst = burst ? burst : rate;
    c->tokens = (double)c->burst;
    c->tokens_at = loop_now(c->srv->loop);
}

int conn_start_tls(struct conn *c)
{
    /* <proceed/> must leave in plaintext before the handshake begins (RFC 6120 §5.4.2.3);
     * it is tiny, so the socket takes it at once. It is the one write that does not wait
     * for the commit: nothing before authentication writes to the store. */
    if (c->wq_head && (flush_queue(c) <= 0 || c->wq_head))
        return -1;
    c->held_from = c->held_to = 0;
    c->ssl = tls_ssl_new(c->srv->tls, c->fd);
    if (!c->ssl)
        return -1;
    if (c->verify_peer)
        tls_request_peer_cert(c->ssl);
    else if (!c->keep_ssl) { /* secrets for the compact record layer, via the keylog cb */
        c->sec = xcalloc(1, sizeof *c->sec);
        SSL_set_app_data(c->ssl, c->sec);
    }
    c->handshaking = true;
    update_events(c);
    return 0;
}

int conn_start_tls_client(struct conn *c, const char *local, const char *peer)
{
    if (c->wq_head && (flush_queue(c) <= 0 || c->wq_head))
        return -1;
    c->held_from = c->held_to = 0;
    c->ssl = tls_client_ssl_new(c->srv->tls, local, peer, c->fd);
    if (!c->ssl)
        return -1;
    c->keep_ssl = true;
    c->handshaking = true;
    c->ssl_want_write = true; /* the client speaks first: run the handshake on writability */
    update_events(c);
    return 0;
}

static struct wq_item *item_new(struct wbuf *b, size_t off, size_t end)
{
    struct wq_item *it = xmalloc(sizeof *it);
    it->buf = wbuf_ref(b);
    it->off = off;
    it->end = end;
    it->next = NULL;
    return it;
}

/* n more bytes wait for the flush, which waits for the open storage batch (if any). */
static void queued(struct conn *c, size_t n)
{
    c->wq_bytes += n;
    uint64_t batch = c->srv->store ? myna_store_env_batch(c->srv->store) : 0;
    if (batch) {
        if (!c->held_from)
            c->held_from = batch;
        c->held_to = batch;
    }
    if (c->wq_bytes > WQ_PAUSE_BYTES && !c->paused) {
        c->paused = true; /* stop reading from a peer that does not read */
        update_events(c);
    }
    flush_list_add(c);
}

/* Seals the plaintext written since the last flush into records queued for the socket:
 * one buffer, filled straight from the pieces (ordering: before any record the layer
 * sends itself, and before the flush writes). */
static void seal_pending(struct conn *c)
{
    if (!c->pt_head)
        return;
    struct wq_item *pt = c->pt_head;
    c->pt_head = c->pt_tail = NULL;
    while (pt) {
        struct iovec iov[WRITEV_MAX];
        int n = 0;
        size_t plain = 0;
        for (struct wq_item *it = pt; it && n < WRITEV_MAX; it = it->next, n++) {
            iov[n].iov_base = it->buf->data + it->off;
            iov[n].iov_len = it->end - it->off;
            plain += iov[n].iov_len;
        }
        struct wbuf *w = xmalloc(sizeof *w + tlsrec_seal_bound(plain));
        w->refs = 1;
        w->len = tlsrec_seal_v(c->rec, iov, n, (unsigned char *)w->data);
        for (int i = 0; i < n; i++) {
            struct wq_item *next = pt->next;
            wbuf_unref(pt->buf);
            free(pt);
            pt = next;
        }
        /* wq_bytes counted the plaintext; the records replace it. */
        c->wq_bytes -= plain;
        if (w->len) {
            struct wq_item *it = item_new(w, 0, w->len);
            if (c->wq_tail)
                c->wq_tail->next = it;
            else
                c->wq_head = it;
            c->wq_tail = it;
            c->wq_bytes += w->len;
        }
        wbuf_unref(w);
    }
}

/* Queues bytes [off, end) of b that go to the socket as they are (ciphertext or plaintext
 * streams), held until the open storage batch (if any) is committed. */
static void queue_range(struct conn *c, struct wbuf *b, size_t off, size_t end)
{
    if (off >= end)
        return;
    seal_pending(c); /* records sealed now go after the plaintext written before them */
    struct wq_item *it = item_new(b, off, end);
    if (c->wq_tail)
        c->wq_tail->next = it;
    else
        c->wq_head = it;
    c->wq_tail = it;
    queued(c, end - off);
}

/* Plaintext [off, end) of b for the compact TLS 1.3 layer, sealed at the flush. */
static void queue_plain(struct conn *c, struct wbuf *b, size_t off, size_t end)
{
    if (off >= end)
        return;
    struct wq_item *it = item_new(b, off, end);
    if (c->pt_tail)
        c->pt_tail->next = it;
    else
        c->pt_head = it;
    c->pt_tail = it;
    queued(c, end - off);
}

static void queue_wbuf(struct conn *c, struct wbuf *b)
{
    queue_range(c, b, 0, b->len);
}

static void queue_raw(struct conn *c, const void *data, size_t len)
{
    struct wbuf *b = wbuf_new(data, len);
    queue_wbuf(c, b);
    wbuf_unref(b);
}

void conn_write_buf(struct conn *c, struct wbuf *b)
{
    if (c->dead || c->closing || c->dropping)
        return;
    if (c->rec)
        queue_plain(c, b, 0, b->len);
    else
        queue_wbuf(c, b);
}

void conn_write_splice(struct conn *c, struct wbuf *shared, size_t split, const char *piece,
                       size_t plen)
{
    if (c->dead || c->closing || c->dropping)
        return;
    if (c->rec) {
        /* The pieces are sealed from where they are, into one record. */
        struct wbuf *p = wbuf_new(piece, plen);
        queue_plain(c, shared, 0, split);
        queue_plain(c, p, 0, plen);
        queue_plain(c, shared, split, shared->len);
        wbuf_unref(p);
        return;
    }
    if (c->ssl) {
        /* OpenSSL seals per write: join the pieces into one record. */
        struct wbuf *w = wbuf_splice(shared, split, piece, plen);
        conn_write_buf(c, w);
        wbuf_unref(w);
        return;
    }
    queue_range(c, shared, 0, split);
    queue_raw(c, piece, plen);
    queue_range(c, shared, split, shared->len);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->dead || c->closing || c->dropping || len == 0)
        return;
    struct wbuf *b = wbuf_new(data, len);
    conn_write_buf(c, b);
    wbuf_unref(b);
}

void conn_close(struct conn *c)
{
    if (c->dead || c->closing || c->dropping)
        return;
    if (c->rec) {
        struct myna_buf out;
        myna_buf_init(&out);
        seal_pending(c); /* the data goes before the close_notify */
        tlsrec_close_notify(c->rec, &out);
        if (out.len)
            queue_raw(c, out.data, out.len);
        myna_buf_free(&out);
    }
    c->closing = true;
    flush_list_add(c); /* the flush closes it once drained */
    update_events(c);
}

size_t conn_memory(const struct conn *c)
{
    return sizeof *c + c->wq_bytes + (c->rec ? tlsrec_memory(c->rec) : 0);
}

bool conn_is_tls(const struct conn *c)
{
    return c->ssl || c->rec;
}

int conn_channel_binding(const struct conn *c, const char *type, unsigned char *out,
                         size_t outlen)
{
    if (c->rec)
        return tlsrec_channel_binding(c->rec, type, out, outlen);
    return c->ssl ? tls_channel_binding(c->ssl, type, out, outlen) : -1;
}

const char *const *conn_channel_binding_types(const struct conn *c)
{
    static const char *const v13[] = {"tls-exporter", "tls-server-end-point", NULL};
    static const char *const none[] = {NULL};
    if (c->rec)
        return v13;
    return c->ssl ? tls_channel_binding_types(c->ssl) : none;
}

/* ---- the connection as a stream's transport (c->tr is its first member) ---- */

static void tr_write(struct transport *t, const void *data, size_t len)
{
    conn_write((struct conn *)t, data, len);
}

static void tr_write_buf(struct transport *t, struct wbuf *b)
{
    conn_write_buf((struct conn *)t, b);
}

static void tr_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                            const char *piece, size_t plen)
{
    conn_write_splice((struct conn *)t, shared, split, piece, plen);
}

static void tr_close(struct transport *t)
{
    conn_close((struct conn *)t);
}

static void tr_abort(struct transport *t, const char *why)
{
    conn_abort((struct conn *)t, why);
}

static int tr_start_tls(struct transport *t)
{
    return conn_start_tls((struct conn *)t);
}

static bool tr_is_encrypted(const struct transport *t)
{
    return conn_is_tls((const struct conn *)t);
}

static int tr_channel_binding(const struct transport *t, const char *type, unsigned char *out,
                              size_t outlen)
{
    return conn_channel_binding((const struct conn *)t, type, out, outlen);
}

static const char *const *tr_channel_binding_types(const struct transport *t)
{
    return conn_channel_binding_types((const struct conn *)t);
}

static void tr_set_rate(struct transport *t, uint64_t rate, uint64_t burst)
{
    conn_set_rate((struct conn *)t, rate, burst);
}

static uint64_t tr_id(const struct transport *t)
{
    return ((const struct conn *)t)->id;
}

static const char *tr_peer(const struct transport *t)
{
    return ((const struct conn *)t)->peer;
}

static uint64_t tr_over_rate_ms(const struct transport *t)
{
    const struct conn *c = (const struct conn *)t;
    return c->flood_since ? loop_now(c->srv->loop) - c->flood_since : 0;
}

static size_t tr_queued(const struct transport *t)
{
    return ((const struct conn *)t)->wq_bytes;
}

static int tr_start_tls_client(struct transport *t, const char *local, const char *peer)
{
    return conn_start_tls_client((struct conn *)t, local, peer);
}

static void tr_request_peer_cert(struct transport *t)
{
    struct conn *c = (struct conn *)t;
    c->verify_peer = true;
    if (c->ssl && c->handshaking) { /* direct TLS: the SSL exists, nothing was read yet */
        tls_request_peer_cert(c->ssl);
        if (c->sec) {
            tls13_secrets_free(c->sec);
            c->sec = NULL;
            SSL_set_app_data(c->ssl, NULL);
        }
    }
}

static bool tr_peer_verified(const struct transport *t, const char *domain)
{
    return tls_peer_verified(((const struct conn *)t)->ssl, domain);
}

static const char *tr_peer_problem(const struct transport *t, const char *domain)
{
    return tls_peer_problem(((const struct conn *)t)->ssl, domain);
}

const struct transport_ops conn_transport = {
    .framing = FRAMING_TCP,
    .write = tr_write,
    .write_buf = tr_write_buf,
    .write_splice = tr_write_splice,
    .close = tr_close,
    .abort = tr_abort,
    .start_tls = tr_start_tls,
    .is_encrypted = tr_is_encrypted,
    .channel_binding = tr_channel_binding,
    .channel_binding_types = tr_channel_binding_types,
    .set_rate = tr_set_rate,
    .id = tr_id,
    .peer = tr_peer,
    .start_tls_client = tr_start_tls_client,
    .request_peer_cert = tr_request_peer_cert,
    .peer_verified = tr_peer_verified,
    .peer_problem = tr_peer_problem,
    .queued = tr_queued,
    .over_rate_ms = tr_over_rate_ms,
};
