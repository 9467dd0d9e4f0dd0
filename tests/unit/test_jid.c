/* tests/unit/test_jid.c — JID parsing and preparation (server/base/jid.c).
 * Tables of valid and invalid JIDs (RFC 7622 §3, RFC 6122 profiles), preparation examples,
 * length limits, comparison and copying.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stringprep.h>

#include "myna/jid.h"

static struct myna_arena *arena;

static int setup(void **state)
{
    arena = myna_arena_new();
    return 0;
}

static int teardown(void **state)
{
    myna_arena_free(arena);
    return 0;
}

struct valid_case {
    const char *in;
    const char *node, *domain, *resource, *full;
};

static const struct valid_case valid[] = {
    {"juliet@example.com", "juliet", "example.com", NULL, "juliet@example.com"},
    {"Juliet@EXAMPLE.com/Balcony", "juliet", "example.com", "Balcony",
     "juliet@example.com/Balcony"},
    {"example.com", NULL, "example.com", NULL, "example.com"},
    {"example.com/foo", NULL, "example.com", "foo", "example.com/foo"},
    {"example.com.", NULL, "example.com", NULL, "example.com"},
    {"juliet@example.com./r", "juliet", "example.com", "r", "juliet@example.com/r"},
    {"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar",
     "juliet@example.com/foo@bar"},
    {"juliet@example.com/foo/bar", "juliet", "example.com", "foo/bar",
     "juliet@example.com/foo/bar"},
    {"example.com/user@host", NULL, "example.com", "user@host", "example.com/user@host"},
    {"juliet@example.com/ foo", "juliet", "example.com", " foo", "juliet@example.com/ foo"},
    {"romeo@192.0.2.1", "romeo", "192.0.2.1", NULL, "romeo@192.0.2.1"},
    {"romeo@[2001:DB8::1]/x", "romeo", "[2001:db8::1]", "x", "romeo@[2001:db8::1]/x"},
    {"localhost", NULL, "localhost", NULL, "localhost"},
    {"\xc3\xa9lodie@EXAMPLE.org", "\xc3\xa9lodie", "example.org", NULL,
     "\xc3\xa9lodie@example.org"},
    /* nodeprep case-folds: German sharp s stays, capital I becomes i */
    {"IV@m\xc3\xbcnchen.example", "iv", "m\xc3\xbcnchen.example", NULL,
     "iv@m\xc3\xbcnchen.example"},
    {"_svc@comp_1.example", "_svc", "comp_1.example", NULL, "_svc@comp_1.example"},
};

static void test_valid(void **state)
{
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const struct valid_case *c = &valid[i];
        struct myna_jid j;
        if (myna_jid_parse(arena, c->in, &j) != 0)
            fail_msg("rejected valid JID '%s'", c->in);
        if (c->node)
            assert_string_equal(j.node, c->node);
        else
            assert_null(j.node);
        assert_string_equal(j.domain, c->domain);
        if (c->resource)
            assert_string_equal(j.resource, c->resource);
        else
            assert_null(j.resource);
        assert_string_equal(j.full, c->full);
    }
}

static const char *const invalid[] = {
    "",
    "@example.com",
    "juliet@",
    "juliet@/r",
    "example.com/",
    "juliet@example.com/",
    "/r",
    "a@b@example.com",
    "jul\"iet@example.com",
    "jul&iet@example.com",
    "jul'iet@example.com",
    "jul:iet@example.com",
    "jul<iet@example.com",
    "jul>iet@example.com",
    "jul iet@example.com",
    "example..com",
    ".example.com",
    "example.com..",
    ".",
    "exa mple.com",
    "exa<mple.com",
    "[2001:db8::1",
    "[not-an-ip]",
    "[]",
    "juliet@\xff\xfe.example",
    "\xc0\x80@example.com",            /* overlong NUL */
    "x@example.com/\xed\xa0\x80",       /* surrogate */
    "x@example.com/a\x01" "b",          /* control character (resourceprep C.2.1) */
    "x\xe2\x80\x8f@example.com",        /* RLM: bidi prohibited character (C.8) */
};

static void test_invalid(void **state)
{
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        struct myna_jid j;
        if (myna_jid_parse(arena, invalid[i], &j) == 0)
            fail_msg("accepted invalid JID '%s' (#%zu)", invalid[i], i);
    }
}

static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

static void test_lengths(void **state)
{
    struct myna_jid j;
    char buf[4096];
    char *n1023 = repeat('n', 1023), *n1024 = repeat('n', 1024);
    char *r1023 = repeat('r', 1023), *r1024 = repeat('r', 1024);
    char *l63 = repeat('a', 63), *l64 = repeat('a', 64);

    snprintf(buf, sizeof(buf), "%s@example.com/%s", n1023, r1023);
    assert_int_equal(myna_jid_parse(arena, buf, &j), 0);
    assert_int_equal(strlen(j.node), 1023);
    assert_int_equal(strlen(j.resource), 1023);
    snprintf(buf, sizeof(buf), "%s@example.com", n1024);
    assert_int_equal(myna_jid_parse(arena, buf, &j), -1);
    snprintf(buf, sizeof(buf), "x@example.com/%s", r1024);
    assert_int_equal(myna_jid_parse(arena, buf, &j), -1);

    snprintf(buf, sizeof(buf), "%s.example", l63);
    assert_int_equal(myna_jid_parse(arena, buf, &j), 0);
    snprintf(buf, sizeof(buf), "%s.example", l64);
    assert_int_equal(myna_jid_parse(arena, buf, &j), -1);

    /* total domain length: 16 labels of 63 + dots = 1023 ok; one more label too long */
    buf[0] = '\0';
    for (int i = 0; i < 16; i++) {
        if (i)
            strcat(buf, ".");
        strcat(buf, l63);
    }
    assert_int_equal(strlen(buf), 1023);
    assert_int_equal(myna_jid_parse(arena, buf, &j), 0);
    strcat(buf, ".a");
    assert_int_equal(myna_jid_parse(arena, buf, &j), -1);

    /* Case folding that grows: U+00DF sharp s folds to "ss" under nodeprep (B.2). */
    char big[3000] = "";
    for (int i = 0; i < 512; i++)
        strcat(big, "\xc3\x9f"); /* 1024 bytes raw, folds to 1024 bytes "ss..." */
    snprintf(buf, sizeof(buf), "%s@example.com", big);
    assert_int_equal(myna_jid_parse(arena, buf, &j), -1);
    big[1022] = '\0'; /* 511 characters -> 1022 bytes */
    snprintf(buf, sizeof(buf), "%s@example.com", big);
    assert_int_equal(myna_jid_parse(arena, buf, &j), 0);
    assert_int_equal(strlen(j.node), 1022);
    assert_int_equal(strncmp(j.node, "ssss", 4), 0);

    free(n1023);
    free(n1024);
    free(r1023);
    free(r1024);
    free(l63);
    free(l64);
}

static void test_preps(void **state)
{
    assert_string_equal(myna_jid_nodeprep(arena, "JuLiEt"), "juliet");
    assert_null(myna_jid_nodeprep(arena, ""));
    assert_null(myna_jid_nodeprep(arena, "a@b"));
    assert_string_equal(myna_jid_nameprep(arena, "EXAMPLE.Com."), "example.com");
    assert_null(myna_jid_nameprep(arena, ""));
    /* resourceprep keeps case, maps non-ASCII spaces to ASCII space (RFC 3454 C.1.2) */
    assert_string_equal(myna_jid_resourceprep(arena, "Home"), "Home");
    assert_string_equal(myna_jid_resourceprep(arena, "a\xc2\xa0" "b"), "a b");
    assert_null(myna_jid_resourceprep(arena, ""));
}

static void test_make(void **state)
{
    struct myna_jid j;
    assert_int_equal(myna_jid_make(arena, "Romeo", "Example.NET", "Orchard", &j), 0);
    assert_string_equal(j.bare, "romeo@example.net");
    assert_string_equal(j.full, "romeo@example.net/Orchard");
    assert_int_equal(myna_jid_make(arena, NULL, "example.net", NULL, &j), 0);
    assert_string_equal(j.full, "example.net");
    assert_ptr_equal(j.full, j.bare);
    assert_int_equal(myna_jid_make(arena, "a b", "example.net", NULL, &j), -1);
    assert_int_equal(myna_jid_make(arena, "a", NULL, NULL, &j), -1);
    assert_int_equal(myna_jid_make(arena, "a", "example.net", "", &j), -1);
}

static void test_compare_copy(void **state)
{
    struct myna_jid a, b, c, bare;
    assert_int_equal(myna_jid_parse(arena, "Juliet@Example.com/Balcony", &a), 0);
    assert_int_equal(myna_jid_parse(arena, "juliet@example.com/Balcony", &b), 0);
    assert_int_equal(myna_jid_parse(arena, "juliet@example.com/balcony", &c), 0);
    assert_true(myna_jid_equal(&a, &b));
    assert_false(myna_jid_equal(&a, &c));
    assert_true(myna_jid_bare_equal(&a, &c));

    myna_jid_to_bare(&a, &bare);
    assert_null(bare.resource);
    assert_string_equal(bare.full, "juliet@example.com");
    assert_false(myna_jid_equal(&a, &bare));
    assert_true(myna_jid_bare_equal(&a, &bare));

    struct myna_arena *other = myna_arena_new();
    struct myna_jid copy;
    myna_jid_copy(other, &a, &copy);
    assert_true(myna_jid_equal(&a, &copy));
    assert_ptr_not_equal(copy.node, a.node);
    assert_string_equal(copy.full, "juliet@example.com/Balcony");
    myna_arena_free(other);
    assert_string_equal(a.full, "juliet@example.com/Balcony");
}

/* The ASCII fast path in jid.c must agree with libidn's profiles byte for byte. */
static const char *libidn_prep(const Stringprep_profile *p, const char *in, char *buf,
                               size_t cap)
{
    snprintf(buf, cap, "%s", in);
    return stringprep(buf, cap, 0, p) == STRINGPREP_OK && *buf ? buf : NULL;
}

static void check_same(struct myna_arena *a, const char *in)
{
    char buf[256];
    const char *want, *got;
    want = libidn_prep(stringprep_xmpp_nodeprep, in, buf, sizeof buf);
    if (want && strpbrk(want, "\"&'/:<>@"))
        want = NULL;
    got = myna_jid_nodeprep(a, in);
    assert_true((want == NULL) == (got == NULL));
    if (want)
        assert_string_equal(want, got);
    want = libidn_prep(stringprep_xmpp_resourceprep, in, buf, sizeof buf);
    got = myna_jid_resourceprep(a, in);
    assert_true((want == NULL) == (got == NULL));
    if (want)
        assert_string_equal(want, got);
}

static void test_ascii_fast_path(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    char in[4];
    for (int c = 1; c < 128; c++) {
        snprintf(in, sizeof in, "x%c", c);
        check_same(a, in);
    }
    check_same(a, "Juliet");
    check_same(a, "Balcony Room");
    check_same(a, "MiXeD-Case_09.~!");
    myna_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),       cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_ascii_fast_path),
        cmocka_unit_test(test_lengths),     cmocka_unit_test(test_preps),
        cmocka_unit_test(test_make),        cmocka_unit_test(test_compare_copy),
    };
    return cmocka_run_group_tests_name("jid", tests, setup, teardown);
}
