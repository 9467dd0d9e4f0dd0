/* tests/fuzz/fuzz_jid.c — libFuzzer target for JIDs (RFC 7622; server/base/jid.c on libidn):
 * parsing and preparation of a JID a peer wrote, and of each part alone.
 *
 * Checked on every input: no crash or leak; a JID that parses has parts within 1023 bytes,
 * a domain, bare = [node@]domain and full = bare[/resource]; parsing its `full` again gives
 * an equal JID (preparation is idempotent, RFC 7622 §3.2-3.4), and myna_jid_make from its
 * parts gives the same; each prep function, where it succeeds, is idempotent too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/jid.h"
#include "myna/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_part(const char *p)
{
    if (p && (strlen(p) == 0 || strlen(p) > 1023))
        abort();
}

static void idempotent(struct myna_arena *a, const char *(*prep)(struct myna_arena *,
                                                                 const char *),
                       const char *s)
{
    const char *once = prep(a, s);
    if (!once)
        return;
    const char *twice = prep(a, once);
    if (!twice || strcmp(once, twice) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4000)
        return 0;
    char s[4001];
    memcpy(s, data, size);
    s[size] = 0;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j;
    if (myna_jid_parse(a, s, &j) == 0) {
        check_part(j.node);
        check_part(j.domain);
        check_part(j.resource);
        if (!j.domain)
            abort();
        char want[4200];
        snprintf(want, sizeof want, "%s%s%s", j.node ? j.node : "", j.node ? "@" : "",
                 j.domain);
        if (strcmp(want, j.bare) != 0)
            abort();
        snprintf(want, sizeof want, "%s%s%s", j.bare, j.resource ? "/" : "",
                 j.resource ? j.resource : "");
        if (strcmp(want, j.full) != 0)
            abort();
        struct myna_jid again, made;
        if (myna_jid_parse(a, j.full, &again) != 0 || !myna_jid_equal(&j, &again) ||
            strcmp(again.full, j.full) != 0)
            abort();
        if (myna_jid_make(a, j.node, j.domain, j.resource, &made) != 0 ||
            strcmp(made.full, j.full) != 0)
            abort();
    }
    idempotent(a, myna_jid_nodeprep, s);
    idempotent(a, myna_jid_nameprep, s);
    idempotent(a, myna_jid_resourceprep, s);
    myna_arena_free(a);
    return 0;
}
