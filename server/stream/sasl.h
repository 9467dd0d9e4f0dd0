/* server/stream/sasl.h — SASL on a stream (RFC 6120 §6): the mechanism registry shared by
 * every kind of stream, the <auth/>, <response/>, <abort/> exchange, <failure/> answers
 * slowed by login throttling (authfail.c), every failure logged, and at most 5 password
 * failures (16 others) per stream.
 * Mechanisms: SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) with their -PLUS
 * variants (channel binding offered per transport, XEP-0440; a SCRAM hash only while every
 * account of the host has keys for it), PLAIN (RFC 4616) under TLS only, which also
 * completes an imported account's missing keys; a row per mechanism says which kind of
 * stream offers it, so EXTERNAL (XEP-0178) for s2s is one more row. One struct sasl per stream until it succeeds; it borrows the
 * stream, which must outlive it (the owner frees it, never from inside done()). */
#ifndef MYNA_SASL_H
#define MYNA_SASL_H

#include <stdbool.h>

#include "myna/xml.h"

struct stream;
struct sasl;

/* Which kinds of stream offer a mechanism. */
#define SASL_C2S 0x1u /* a local account authenticates (its password or keys) */
#define SASL_S2S 0x2u /* a peer server authenticates (EXTERNAL, with s2s) */

/* The authenticated identity: for SASL_C2S, the account's node (prepared; the domain is
 * the stream's). After <success/> went out; the owner restarts the stream. */
typedef void (*sasl_done_fn)(struct stream *st, const char *user);

/* `use`: SASL_C2S or SASL_S2S, which mechanisms this stream offers. */
struct sasl *sasl_new(struct stream *st, unsigned use, sasl_done_fn done);
void sasl_free(struct sasl *s);
/* SASL_S2S: the domain the peer's stream header names; EXTERNAL is offered while the
 * peer's certificate verifies for it (XEP-0178). */
void sasl_set_peer_domain(struct sasl *s, const char *domain);
/* Appends <mechanisms/> (and XEP-0440's channel-binding types) for the stream as it is. */
void sasl_features(const struct sasl *s, struct myna_buf *b);
/* An element in the SASL namespace (urn:ietf:params:xml:ns:xmpp-sasl). */
void sasl_element(struct sasl *s, struct myna_xml *el);
/* No exchange is running: a new <auth/> (or <starttls/>) is in order. */
bool sasl_idle(const struct sasl *s);
/* A password check or a failure delay runs: the peer must wait for our answer. */
bool sasl_busy(const struct sasl *s);
/* The stream holds an unauthenticated-connection slot under `key` (preauth.c); sasl_free
 * gives it back. A struct sasl lives exactly as long as its stream is unauthenticated, so
 * the slot ends with authentication or with the stream. */
void sasl_hold_preauth(struct sasl *s, const char *key);

#endif
