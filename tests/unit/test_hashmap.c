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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vector),
        cmocka_unit_test(test_collisions_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
