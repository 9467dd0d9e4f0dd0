/* server/base/jid.c — XMPP addresses: parsing, preparation and comparison (include/myna/jid.h).
 *
 * RFC 7622 §3.1 splitting (first '/' starts the resourcepart; the first '@' before it ends
 * the localpart), §3.2-3.4 lengths (1..1023 bytes per prepared part), with the RFC 6122
 * stringprep profiles (nodeprep, nameprep, resourceprep) from libidn as the deployed
 * network uses them. Invariant: a parsed JID holds only prepared parts, so equality is
 * byte equality. Every string of a JID lives in the caller's arena.
 */
#include "myna/jid.h"

#include <arpa/inet.h>
#include <idna.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#define LABEL_MAX 63
/* Raw input longer than this cannot prepare to a valid part (generous for mappings). */
#define RAW_PART_MAX (4 * MYNA_JID_PART_MAX)

/* Strict UTF-8 check: no overlongs, surrogates or code points above U+10FFFF, no NUL. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Prepares s[0..len) with `profile` into a fresh arena string; NULL if invalid. */
static char *prep_part(struct myna_arena *a, const Stringprep_profile *profile, const char *s,
                       size_t len)
{
    if (len == 0 || len > RAW_PART_MAX)
        return NULL;
    /* Fast path for printable ASCII, which is nearly every JID on the wire: there the three
     * profiles reduce to lowercasing (nodeprep, nameprep) or nothing (resourceprep), and
     * nodeprep's prohibited output is checked by node_prep. Same result as libidn, a
     * fraction of the cost on the per-stanza path. */
    bool fold = profile != stringprep_xmpp_resourceprep;
    size_t i = 0;
    while (i < len && (unsigned char)s[i] >= (fold ? 0x21 : 0x20) && (unsigned char)s[i] < 0x7f)
        i++;
    if (i == len && len <= MYNA_JID_PART_MAX) {
        char *res = myna_arena_strndup(a, s, len);
        if (fold)
            for (char *p = res; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
        return res;
    }
    if (!utf8_valid((const unsigned char *)s, len))
        return NULL;
    /* Case folding can grow a string (e.g. U+0390 becomes three code points). */
    size_t cap = len * 3 + 16;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *res = NULL;
    if (stringprep(buf, cap, 0, profile) == STRINGPREP_OK) {
        size_t out = strlen(buf);
        if (out >= 1 && out <= MYNA_JID_PART_MAX)
            res = myna_arena_strndup(a, buf, out);
    }
    free(buf);
    return res;
}

static char *node_prep(struct myna_arena *a, const char *s, size_t len)
{
    char *n = prep_part(a, stringprep_xmpp_nodeprep, s, len);
    /* nodeprep prohibits these already (RFC 6122 Appendix A.5); keep the rule visible. */
    if (n && strpbrk(n, "\"&'/:<>@"))
        return NULL;
    return n;
}

static char *resource_prep(struct myna_arena *a, const char *s, size_t len)
{
    return prep_part(a, stringprep_xmpp_resourceprep, s, len);
}

static bool ascii_label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Checks a prepared (lowercase) domain: labels non-empty, 1..63 octets in their ACE form. */
static bool domain_labels_ok(const char *d)
{
    bool ascii = true;
    for (const char *p = d; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = false;
    char *ace = NULL;
    const char *check = d;
    if (!ascii) {
        /* The U-label form's length limits apply to its A-label (RFC 5890 §2.3.2.1). */
        if (idna_to_ascii_8z(d, &ace, IDNA_ALLOW_UNASSIGNED) != IDNA_SUCCESS) {
            free(ace);
            return false;
        }
        check = ace;
        for (char *p = ace; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    bool ok = true;
    size_t label = 0;
    for (const char *p = check;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > LABEL_MAX)
                ok = false;
            label = 0;
            if (*p == '\0')
                break;
            continue;
        }
        if (!ascii_label_char((unsigned char)*p))
            ok = false;
        label++;
    }
    free(ace);
    return ok;
}

static char *domain_prep(struct myna_arena *a, const char *s, size_t len)
{
    /* A fully qualified name's trailing dot is not part of the JID (RFC 7622 §3.2). */
    if (len > 1 && s[len - 1] == '.')
        len--;
    if (len == 0)
        return NULL;
    if (s[0] == '[') {
        /* IPv6 literal (RFC 7622 §3.2.1): brackets around an address inet_pton accepts. */
        char addr[INET6_ADDRSTRLEN + 1];
        unsigned char bin[16];
        if (len < 3 || s[len - 1] != ']' || len - 2 > INET6_ADDRSTRLEN)
            return NULL;
        memcpy(addr, s + 1, len - 2);
        addr[len - 2] = '\0';
        if (inet_pton(AF_INET6, addr, bin) != 1)
            return NULL;
        char *d = myna_arena_strndup(a, s, len);
        for (char *p = d; *p; p++)
            if (*p >= 'A' && *p <= 'F')
                *p = (char)(*p - 'A' + 'a');
        return d;
    }
    char *d = prep_part(a, stringprep_nameprep, s, len);
    if (!d || !domain_labels_ok(d))
        return NULL;
    return d;
}

const char *myna_jid_nodeprep(struct myna_arena *a, const char *s)
{
    return s ? node_prep(a, s, strlen(s)) : NULL;
}

const char *myna_jid_nameprep(struct myna_arena *a, const char *s)
{
    return s ? domain_prep(a, s, strlen(s)) : NULL;
}

const char *myna_jid_resourceprep(struct myna_arena *a, const char *s)
{
    return s ? resource_prep(a, s, strlen(s)) : NULL;
}

/* x, sep, y as one string in a (every JID parsed on the message path comes here: no
 * printf). */
static const char *join(struct myna_arena *a, const char *x, char sep, const char *y)
{
    size_t xl = strlen(x), yl = strlen(y);
    char *s = myna_arena_alloc(a, xl + 1 + yl + 1);
    memcpy(s, x, xl);
    s[xl] = sep;
    memcpy(s + xl + 1, y, yl + 1);
    return s;
}

static void jid_finish(struct myna_arena *a, struct myna_jid *j)
{
    j->bare = j->node ? join(a, j->node, '@', j->domain) : j->domain;
    j->full = j->resource ? join(a, j->bare, '/', j->resource) : j->bare;
}

int myna_jid_parse(struct myna_arena *a, const char *s, struct myna_jid *out)
{
    struct myna_jid j = {0};
    if (!s)
        return -1;
    size_t len = strlen(s);
    const char *slash = memchr(s, '/', len);
    size_t head = slash ? (size_t)(slash - s) : len;
    const char *at = memchr(s, '@', head);
    const char *dom = s;
    if (at) {
        if (!(j.node = node_prep(a, s, (size_t)(at - s))))
            return -1;
        dom = at + 1;
    }
    if (!(j.domain = domain_prep(a, dom, (size_t)(s + head - dom))))
        return -1;
    if (slash && !(j.resource = resource_prep(a, slash + 1, len - head - 1)))
        return -1;
    jid_finish(a, &j);
    *out = j;
    return 0;
}

int myna_jid_make(struct myna_arena *a, const char *node, const char *domain,
                  const char *resource, struct myna_jid *out)
{
    struct myna_jid j = {0};
    if (!domain)
        return -1;
    if (node && !(j.node = node_prep(a, node, strlen(node))))
        return -1;
    if (!(j.domain = domain_prep(a, domain, strlen(domain))))
        return -1;
    if (resource && !(j.resource = resource_prep(a, resource, strlen(resource))))
        return -1;
    jid_finish(a, &j);
    *out = j;
    return 0;
}

static bool str_eq(const char *x, const char *y)
{
    if (!x || !y)
        return x == y;
    return strcmp(x, y) == 0;
}

bool myna_jid_equal(const struct myna_jid *a, const struct myna_jid *b)
{
    return str_eq(a->node, b->node) && str_eq(a->domain, b->domain) &&
           str_eq(a->resource, b->resource);
}

bool myna_jid_bare_equal(const struct myna_jid *a, const struct myna_jid *b)
{
    return str_eq(a->node, b->node) && str_eq(a->domain, b->domain);
}

void myna_jid_copy(struct myna_arena *a, const struct myna_jid *src, struct myna_jid *dst)
{
    struct myna_jid j = {0};
    j.node = src->node ? myna_arena_strdup(a, src->node) : NULL;
    j.domain = src->domain ? myna_arena_strdup(a, src->domain) : NULL;
    j.resource = src->resource ? myna_arena_strdup(a, src->resource) : NULL;
    if (j.domain)
        jid_finish(a, &j);
    *dst = j;
}

void myna_jid_to_bare(const struct myna_jid *src, struct myna_jid *dst)
{
    struct myna_jid j = *src;
    j.resource = NULL;
    j.full = j.bare;
    *dst = j;
}
