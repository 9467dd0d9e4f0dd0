/* server/net/xmlframe.h — cutting what a stream writes into its top-level elements, for
 * the transports where each element stands alone (WebSocket messages, RFC 7395 §3.3.3;
 * BOSH bodies, XEP-0206 §5): a stanza that relied on the stream header's default namespace
 * gets it declared on itself. Input is our own serializer's output (no comments or CDATA,
 * '<' escaped in text, attribute values quoted). */
#ifndef MYNA_XMLFRAME_H
#define MYNA_XMLFRAME_H

#include <stddef.h>

/* Calls fn once per complete top-level element of s[0, n), whitespace between elements
 * dropped, with ` xmlns='ns'` added to an unprefixed element that declares no default
 * namespace. Returns the bytes consumed: the rest starts an element not complete yet. */
size_t xmlframe_split(const char *s, size_t n, const char *ns,
                      void (*fn)(void *ud, const char *el, size_t len), void *ud);

#endif
