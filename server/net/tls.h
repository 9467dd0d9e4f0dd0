/* server/net/tls.h — TLS server contexts (OpenSSL): one SSL_CTX per virtual host, chosen by
 * SNI; TLS 1.2 minimum, and TLS 1.2 only with ECDHE and AEAD ciphers; buffers released on
 * idle connections; the keylog callback that hands TLS 1.3 traffic secrets to tlsrec.c;
 * channel-binding data for SCRAM-PLUS (RFC 9266 tls-exporter, RFC 5929
 * tls-server-end-point, and tls-unique when the extended master secret was used). */
#ifndef MYNA_TLS_H
#define MYNA_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct config;
struct tls;

/* Loads every host's certificate and key; on error returns NULL with a message in err. */
struct tls *tls_new(const struct config *cfg, char *err, size_t errlen);
/* Drops the caller's reference: the contexts go when no SSL made from them is left (each
 * SSL holds one, released by SSL_free), so a reload frees the old ones as soon as the
 * last handshake or OpenSSL-layer connection on them ends. */
void tls_free(struct tls *t);
/* How many struct tls exist (current and retired ones still in use), for stats. */
size_t tls_contexts_alive(void);
/* A new server-side SSL for an accepted socket, on the first host's context until SNI
 * names another host. */
SSL *tls_ssl_new(struct tls *t, int fd);
/* Channel binding data of `type` ("tls-exporter", "tls-server-end-point", "tls-unique")
 * for an established connection; returns length or -1 if unavailable. */
int tls_channel_binding(SSL *ssl, const char *type, unsigned char *out, size_t outlen);
/* The channel-binding types this connection can offer, in preference order (NULL-ended):
 * TLS 1.3 tls-exporter, tls-server-end-point; TLS 1.2 adds tls-exporter and tls-unique only
 * with the extended master secret. */
const char *const *tls_channel_binding_types(SSL *ssl);

/* ---- server-to-server (RFC 6120 §13.7, RFC 6125, RFC 7590) ---- */

/* A client-side SSL for an outgoing s2s connection from local `domain` (its host's
 * certificate is presented, for SASL EXTERNAL) to `peer` (SNI). Verification runs against
 * the trust store but never fails the handshake: tls_peer_verified() decides afterwards
 * (so that dialback stays possible where policy allows it). */
SSL *tls_client_ssl_new(struct tls *t, const char *domain, const char *peer, int fd);
/* Asks a server-side SSL for the peer's certificate (incoming s2s), verified the same way. */
void tls_request_peer_cert(SSL *ssl);
/* True when the peer presented a certificate that chains to the trust store and names
 * `domain` (RFC 6125 DNS-ID with wildcards in the left-most label, SRV-ID
 * _xmpp-server.DOMAIN, or XmppAddr; RFC 6120 §13.7.1.2). */
bool tls_peer_verified(SSL *ssl, const char *domain);
/* The RFC 6125 name check alone: `cert` names `domain` (DNS-ID, SRV-ID, XmppAddr). */
bool tls_cert_names(X509 *cert, const char *domain);
/* Why the peer's certificate did not verify, for logs; TLS_WRONG_NAME when it chains to
 * the trust store but names another domain. */
const char *tls_peer_problem(SSL *ssl, const char *domain);
#define TLS_WRONG_NAME "the certificate does not name the domain"

/* Releases the certificates cached for channel binding (exit path). */
void tls_cache_free(void);

#endif
