/* tests/unit/test_hashmap.c — the keyed hash of peer-keyed tables (server/base/siphash.c,
 * server/loop/hashmap.c): SipHash-2-4 against the paper's test vector, and keys an attacker
 * would pick to collide under an unkeyed hash (FNV-1a, what the map used before) spread
 * over the buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modules/muc/muc.h"
#include "server/base/siphash.h"
#include "server/loop/hashmap.h"

static void test_siphash_vector(void **state)
{
    (void)state;
    /* SipHash paper, appendix A: key 00..0f, message 00..0e. */
    struct siphash_key k = {.k0 = 0x0706050403020100ull, .k1 = 0x0f0e0d0c0b0a0908ull};
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    assert_true(siphash24(&k, msg, sizeof msg) == 0xa129ca6149be45e5ull);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void test_collisions_spread(void **state)
{
    (void)state;
    enum { N = 300 };
    static char keys[N][24];
    int n = 0;
    /* Names that share the low 12 bits of their FNV-1a hash: one chain of N under FNV. */
    for (unsigned i = 0; n < N; i++) {
        char k[24];
        snprintf(k, sizeof k, "user:guess%u@x", i);
        if ((fnv1a(k) & 0xfff) == 0x5a5)
            memcpy(keys[n++], k, sizeof k);
    }
    struct hashmap *h = hashmap_new();
    for (int i = 0; i < N; i++)
        hashmap_put(h, keys[i], keys[i]);
    assert_int_equal(hashmap_count(h), N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hashmap_get(h, keys[i]), keys[i]);
    assert_true(hashmap_longest_chain(h) < 16);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hashmap_del(h, keys[i]), keys[i]);
    assert_int_equal(hashmap_count(h), 0);
    hashmap_free(h);
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void test_module_map_keyed(void **state)
{
    (void)state;
    enum { N = 300 };
    static char keys[N][32];
    int n = 0;
    for (unsigned i = 0; n < N; i++) {
        char k[32];
        snprintf(k, sizeof k, "room%u@conference.x", i);
        if ((fnv1a64(k) & 0xfff) == 0x123)
            memcpy(keys[n++], k, sizeof k);
    }
    struct muc_map m = {0};
    for (int i = 0; i < N; i++)
        muc_map_put(&m, keys[i], keys[i]);
    size_t longest = 0;
    for (size_t b = 0; b < m.nb; b++) {
        size_t len = 0;
        for (struct muc_map_ent *e = m.b[b]; e; e = e->next)
            len++;
        longest = len > longest ? len : longest;
    }
    assert_true(longest < 16);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(muc_map_get(&m, keys[i]), keys[i]);
    muc_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vector),
        cmocka_unit_test(test_collisions_spread),
        cmocka_unit_test(test_module_map_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
