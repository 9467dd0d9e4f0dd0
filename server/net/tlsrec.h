/* server/net/tlsrec.h — a compact TLS 1.3 record layer (RFC 8446 §5) for established
 * connections. OpenSSL does the handshake; when it finishes with TLS 1.3, the traffic
 * secrets are taken over, the SSL object (about 12 KiB with its record layer) is freed,
 * and records are protected here with ~350 bytes of state per connection. It enforces the
 * record layer rules OpenSSL enforces (and the RFC's where OpenSSL 3.0 is laxer), answers
 * every violation with the alert OpenSSL sends, answers close_notify and KeyUpdate
 * (§4.6.3), and updates its own keys before the §5.5 usage limit. Connections that
 * negotiate TLS 1.2, or whose listener says tls_record_layer = "openssl", keep OpenSSL. */
#ifndef MYNA_TLSREC_H
#define MYNA_TLSREC_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct myna_buf;

/* Traffic secrets of one handshake, collected by the keylog callback, and the records
 * OpenSSL wrote under the server's application key before the handover (the NewSessionTicket
 * messages of RFC 8446 §4.6.1, one record each): our send sequence number starts there. */
struct tls13_secrets {
    unsigned char client[64], server[64];
    size_t client_len, server_len;
    uint64_t tx_records;
};

/* Wipes and frees secrets (NULL allowed): the only way they are released. */
void tls13_secrets_free(struct tls13_secrets *sec);

/* Records sealed under one key before we update it (§5.5: AES-GCM stays safe up to about
 * 2^24.5 full records; the same limit serves every suite). */
#define TLSREC_KEY_LIMIT (UINT64_C(1) << 24)

struct tlsrec;

/* Takes over from a server SSL whose TLS 1.3 handshake (full or resumed) just completed,
 * the send sequence number at sec->tx_records. Returns NULL (keep using OpenSSL) if the
 * version, suite or secrets don't allow it, or data is buffered. */
struct tlsrec *tlsrec_new(SSL *ssl, const struct tls13_secrets *sec);
/* The same from raw secrets of `len` bytes for suite 0x1301, 0x1302 or 0x1303 (for tests
 * and the fuzzer: rx decrypts what we receive, tx protects what we send). */
struct tlsrec *tlsrec_new_keys(unsigned suite, const unsigned char *rx_secret,
                               const unsigned char *tx_secret, size_t len);
/* Wipes the keys and frees r (NULL allowed). */
void tlsrec_free(struct tlsrec *r);

/* Outcome of feeding received bytes. */
enum tlsrec_status {
    TLSREC_OK = 0, /* every complete record processed; an incomplete tail is kept */
    TLSREC_CLOSED, /* the peer sent close_notify; ours was sent back */
    TLSREC_ERROR,  /* the connection must end: our alert (if any) was sent, io->why says why */
};

/* Where tlsrec_input delivers, called in record order. */
struct tlsrec_io {
    /* The plaintext of one application-data record. */
    void (*data)(struct tlsrec_io *io, const char *data, size_t len);
    /* Records to send at once (KeyUpdate answer, alert, close_notify): they must reach the
     * socket after everything sealed before and before anything sealed after. */
    void (*send)(struct tlsrec_io *io, const void *records, size_t len);
    /* Optional: called before the layer seals a record of its own (KeyUpdate answer, alert),
     * so that plaintext the owner still holds unsealed is sealed first (since 1.1). */
    void (*sealing)(struct tlsrec_io *io);
    void *ud;
    bool stop;       /* data() may set it: process no further record (the owner closed) */
    const char *why; /* out: what ended the connection, for the log */
};

/* Decrypts the complete records in buf[0..len) in place and acts on each in order; keeps an
 * incomplete tail inside r for the next call. */
enum tlsrec_status tlsrec_input(struct tlsrec *r, unsigned char *buf, size_t len,
                                struct tlsrec_io *io);
/* The peer closed TCP without close_notify: sends the decode_error alert OpenSSL sends. */
void tlsrec_eof(struct tlsrec *r, struct tlsrec_io *io);
/* Bytes of an incomplete record held from the last input (to prepend to the next read). */
size_t tlsrec_pending(const struct tlsrec *r);
/* Moves the held incomplete record into dst (which has room) and forgets it. */
size_t tlsrec_take_pending(struct tlsrec *r, unsigned char *dst);
/* Room tlsrec_seal_v needs for len bytes of plaintext: its records and a KeyUpdate. */
size_t tlsrec_seal_bound(size_t len);
/* Encrypts the concatenation of iov[0..iovcnt) into as few records as possible (one per
 * 2^14 bytes), read straight from the pieces, written at out (tlsrec_seal_bound(total)
 * bytes of room); a KeyUpdate first when the send key reaches TLSREC_KEY_LIMIT. Returns the
 * bytes written (0 after an alert or close_notify was sent). */
size_t tlsrec_seal_v(struct tlsrec *r, const struct iovec *iov, int iovcnt, unsigned char *out);
/* Encrypts plaintext into records appended to out (a KeyUpdate first when the send key
 * reaches TLSREC_KEY_LIMIT). Nothing after an alert or close_notify was sent. */
void tlsrec_seal(struct tlsrec *r, const void *data, size_t len, struct myna_buf *out);
/* Appends an encrypted close_notify alert; nothing is sealed after it. */
void tlsrec_close_notify(struct tlsrec *r, struct myna_buf *out);
/* Channel binding captured before the SSL was freed ("tls-exporter",
 * "tls-server-end-point"); returns length or -1. */
int tlsrec_channel_binding(const struct tlsrec *r, const char *type, unsigned char *out,
                           size_t outlen);
size_t tlsrec_memory(const struct tlsrec *r);
/* Frees the loop thread's scratch cipher context (exit path). */
void tlsrec_thread_cleanup(void);

#endif
