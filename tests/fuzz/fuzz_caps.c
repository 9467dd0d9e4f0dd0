/* tests/fuzz/fuzz_caps.c — libFuzzer target for the XEP-0115 entity-capabilities code of
 * the pubsub module (modules/pubsub/caps.c): a disco#info answer from a peer (any
 * identities, features and XEP-0128 forms), its verification string (§5.1, §5.4 with the
 * ill-formed cases) and the shared cache of verified answers. The input is "hash NUL ver
 * NUL <query .../>" (an empty ver stands for the correct one, so that verified answers
 * are fuzzed too): the answer is parsed with myna_xml_parse, verified against ver, and
 * a verified entry must then be found in the cache under its key with each of its
 * features. Build and run: see tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/pubsub/pubsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *hash = (const char *)data;
    const char *e1 = memchr(data, '\0', size);
    if (!e1)
        return 0;
    const char *ver = e1 + 1;
    const char *e2 = memchr(ver, '\0', size - (size_t)(ver - hash));
    if (!e2)
        return 0;
    const char *xml = e2 + 1;
    size_t xlen = size - (size_t)(xml - hash);
    static bool init;
    if (!init) {
        caps_global_ref(); /* the cache lives for the whole run, bounded by itself */
        init = true;
    }
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *q = myna_xml_parse(a, xml, xlen, "jabber:client");
    if (q) {
        const char *mine = caps_ver_string(a, q, hash);
        if (!*ver && mine)
            ver = mine; /* an empty ver asks for the right one: the cache path gets fuzzed */
        char key[600];
        snprintf(key, sizeof key, "node#%s", ver);
        bool verified = false;
        struct caps_entry *e = caps_from_disco(q, hash, ver, key, &verified);
        if (verified) {
            check(e != NULL && mine != NULL && strcmp(mine, ver) == 0, "verified without match");
            struct caps_entry *c = caps_lookup(key);
            check(c != NULL, "verified entry not cached");
            for (const struct myna_xml *f = myna_xml_find(q, "http://jabber.org/protocol/disco#info",
                                                          "feature");
                 f; f = myna_xml_find_next(f, "http://jabber.org/protocol/disco#info", "feature"))
                if (myna_xml_attr(f, "var"))
                    check(caps_has(c, myna_xml_attr(f, "var")), "cached entry lacks a feature");
            caps_unref(c);
        }
        if (e)
            caps_unref(e);
    }
    myna_arena_free(a);
    return 0;
}
