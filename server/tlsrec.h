/* server/tlsrec.h — a compact TLS 1.3 record layer (RFC 8446 §5) for established
 * connections. OpenSSL does the handshake; when it finishes with TLS 1.3, the traffic
 * secrets are taken over, the SSL object (about 12 KiB with its record layer) is freed,
 * and records are protected here with ~200 bytes of state per connection. Handles
 * application data, alerts (close) and KeyUpdate (§4.6.3) both ways. Connections that
 * negotiate TLS 1.2 keep their SSL object. */
#ifndef MYNA_TLSREC_H
#define MYNA_TLSREC_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct myna_buf;

/* Traffic secrets of one handshake, collected by the keylog callback. */
struct tls13_secrets {
    unsigned char client[64], server[64];
    size_t client_len, server_len;
};

struct tlsrec;

/* Takes over from a server SSL whose TLS 1.3 handshake just completed. Returns NULL (keep
 * using OpenSSL) if the version, suite or secrets don't allow it, or data is buffered. */
struct tlsrec *tlsrec_new(SSL *ssl, const struct tls13_secrets *sec);
void tlsrec_free(struct tlsrec *r);

/* Outcome of feeding received bytes. */
enum tlsrec_status {
    TLSREC_OK = 0,      /* all complete records processed */
    TLSREC_CLOSED,      /* the peer sent close_notify */
    TLSREC_ERROR,       /* bad record, bad tag, alert: drop the connection */
};

/* Decrypts complete records in buf[0..len) in place, calling data(ud, plain, n) for each
 * application-data record; an incomplete tail is kept inside r for the next call.
 * `out` receives any records we must send in reply (KeyUpdate). */
typedef void (*tlsrec_data_fn)(void *ud, const char *data, size_t len);
enum tlsrec_status tlsrec_input(struct tlsrec *r, unsigned char *buf, size_t len,
                                tlsrec_data_fn data, void *ud, struct myna_buf *out);
/* Bytes of an incomplete record held from the last input (to prepend to the next read). */
size_t tlsrec_pending(const struct tlsrec *r);
/* Moves the held incomplete record into dst (which has room) and forgets it. */
size_t tlsrec_take_pending(struct tlsrec *r, unsigned char *dst);
/* Encrypts plaintext into records appended to out. */
void tlsrec_seal(struct tlsrec *r, const void *data, size_t len, struct myna_buf *out);
/* Appends an encrypted close_notify alert. */
void tlsrec_close_notify(struct tlsrec *r, struct myna_buf *out);
/* Channel binding captured before the SSL was freed ("tls-exporter",
 * "tls-server-end-point"); returns length or -1. */
int tlsrec_channel_binding(const struct tlsrec *r, const char *type, unsigned char *out,
                           size_t outlen);
size_t tlsrec_memory(const struct tlsrec *r);
/* Frees the loop thread's scratch cipher context (exit path). */
void tlsrec_thread_cleanup(void);

#endif
