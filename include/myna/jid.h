/* myna/jid.h — XMPP addresses (RFC 7622 syntax and lengths, prepared with the RFC 6122
 * stringprep profiles nodeprep/nameprep/resourceprep as the deployed network does).
 *
 * Public API. Parsed JIDs hold prepared (canonical) parts; two JIDs are equal exactly when
 * their prepared parts are byte-equal. Implemented in server/base/jid.c (libidn).
 */
#ifndef MYNA_JID_H
#define MYNA_JID_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/xml.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each part is at most 1023 bytes after preparation (RFC 7622 §3.2-3.4). */
#define MYNA_JID_PART_MAX 1023

/* A prepared JID. Strings are owned by whoever made the JID (an arena, see below).
 * node and resource are NULL when absent; domain is never NULL in a valid JID. */
struct myna_jid {
    const char *node;
    const char *domain;
    const char *resource;
    const char *bare; /* "node@domain" or "domain" */
    const char *full; /* bare plus "/resource" when there is one */
};

/* Parses and prepares `s` into `out`, allocating in arena `a`. Returns 0, or -1 for a
 * malformed JID (reply `jid-malformed`). Domains: lowercased, trailing dot removed,
 * IDNA labels checked; IP literals allowed. */
int myna_jid_parse(struct myna_arena *a, const char *s, struct myna_jid *out);
/* Builds a JID from parts (each may be NULL but domain), preparing each. */
int myna_jid_make(struct myna_arena *a, const char *node, const char *domain,
                  const char *resource, struct myna_jid *out);
/* Prepares one part in place into `a`; returns NULL if the part is invalid. */
const char *myna_jid_nodeprep(struct myna_arena *a, const char *s);
const char *myna_jid_nameprep(struct myna_arena *a, const char *s);
const char *myna_jid_resourceprep(struct myna_arena *a, const char *s);

bool myna_jid_equal(const struct myna_jid *a, const struct myna_jid *b);
bool myna_jid_bare_equal(const struct myna_jid *a, const struct myna_jid *b);
/* Copies a JID into another arena. */
void myna_jid_copy(struct myna_arena *a, const struct myna_jid *src, struct myna_jid *dst);
/* The bare part of a JID (shares strings with src). */
void myna_jid_to_bare(const struct myna_jid *src, struct myna_jid *dst);

#ifdef __cplusplus
}
#endif
#endif
