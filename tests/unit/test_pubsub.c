/* tests/unit/test_pubsub.c — unit tests of the pubsub module's pure parts: the XEP-0115 §5
 * verification string with the specification's own examples (§5.2, §5.3) and the §5.4
 * ill-formed cases, the shared caps cache (verified answers only), and base64/SHA-1
 * helpers used for avatar ids (modules/pubsub/caps.c, util.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "modules/pubsub/pubsub.h"

/* The module API's keyed hash (server/modhost/modapi.c), which caps.c uses for buckets. */
uint64_t myna_hash(const void *data, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = data; len--; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static struct myna_xml *parse(struct myna_arena *a, const char *xml)
{
    struct myna_xml *x = myna_xml_parse(a, xml, strlen(xml), MYNA_NS_CLIENT);
    assert_non_null(x);
    return x;
}

/* ---- XEP-0115 ---- */

#define SIMPLE                                                                             \
    "<query xmlns='http://jabber.org/protocol/disco#info' node='http://code.google.com/p/" \
    "exodus#QgayPKawpkPSDYmwT/WM94uAlu0='><identity category='client' name='Exodus 0.9.1' " \
    "type='pc'/><feature var='http://jabber.org/protocol/caps'/><feature "                \
    "var='http://jabber.org/protocol/disco#info'/><feature "                               \
    "var='http://jabber.org/protocol/disco#items'/><feature "                              \
    "var='http://jabber.org/protocol/muc'/></query>"

#define COMPLEX_FORM                                                                       \
    "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>"  \
    "urn:xmpp:dataforms:softwareinfo</value></field><field var='ip_version' "              \
    "type='text-multi'><value>ipv4</value><value>ipv6</value></field><field var='os'>"     \
    "<value>Mac</value></field><field var='os_version'><value>10.5.1</value></field>"      \
    "<field var='software'><value>Psi</value></field><field var='software_version'>"      \
    "<value>0.11</value></field></x>"

#define COMPLEX                                                                            \
    "<query xmlns='http://jabber.org/protocol/disco#info' node='http://psi-im.org#q07IKJE" \
    "yjvHSyhy//CH0CxmKi8w='><identity xml:lang='en' category='client' name='Psi 0.11' "    \
    "type='pc'/><identity xml:lang='el' category='client' name='\xce\xa8 0.11' "          \
    "type='pc'/><feature var='http://jabber.org/protocol/caps'/><feature "                \
    "var='http://jabber.org/protocol/disco#info'/><feature "                               \
    "var='http://jabber.org/protocol/disco#items'/><feature "                              \
    "var='http://jabber.org/protocol/muc'/>" COMPLEX_FORM "</query>"

static void test_caps_examples(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    assert_string_equal(caps_ver_string(a, parse(a, SIMPLE), "sha-1"),
                        "QgayPKawpkPSDYmwT/WM94uAlu0=");
    assert_string_equal(caps_ver_string(a, parse(a, COMPLEX), "sha-1"),
                        "q07IKJEyjvHSyhy//CH0CxmKi8w=");
    /* Order of elements in the answer does not matter. */
    assert_string_equal(caps_ver_string(a, parse(a,
        "<query xmlns='http://jabber.org/protocol/disco#info'>"
        "<feature var='http://jabber.org/protocol/muc'/>"
        "<feature var='http://jabber.org/protocol/disco#items'/>"
        "<identity category='client' name='Exodus 0.9.1' type='pc'/>"
        "<feature var='http://jabber.org/protocol/disco#info'/>"
        "<feature var='http://jabber.org/protocol/caps'/></query>"), "sha-1"),
        "QgayPKawpkPSDYmwT/WM94uAlu0=");
    assert_non_null(caps_ver_string(a, parse(a, SIMPLE), "sha-256"));
    assert_null(caps_ver_string(a, parse(a, SIMPLE), "md5")); /* not supported */
    myna_arena_free(a);
}

static void test_caps_ill_formed(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    static const char *const bad[] = {
        /* §5.4 3.3: the same identity twice */
        "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' "
        "type='pc'/><identity category='client' type='pc'/></query>",
        /* §5.4 3.4: the same feature twice */
        "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/><feature "
        "var='a'/></query>",
        /* §5.4 3.5: two forms with one FORM_TYPE */
        "<query xmlns='http://jabber.org/protocol/disco#info'>" COMPLEX_FORM COMPLEX_FORM
        "</query>",
        /* an identity without type */
        "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='c'/></query>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(caps_ver_string(a, parse(a, bad[i]), "sha-1"));
    /* §5.4 3.6: a form without hidden FORM_TYPE is ignored, not fatal. */
    const char *plain = caps_ver_string(a, parse(a,
        "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/></query>"),
        "sha-1");
    const char *with_ignored = caps_ver_string(a, parse(a,
        "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/>"
        "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>urn:x</value>"
        "</field></x><x xmlns='jabber:x:data' type='result'><field var='k'><value>v</value>"
        "</field></x></query>"), "sha-1");
    assert_non_null(plain);
    assert_string_equal(plain, with_ignored);
    myna_arena_free(a);
}

static void test_caps_cache(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    caps_global_ref();
    const char *key = "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=";
    bool verified = true;
    /* A wrong ver: usable for that JID, never cached. */
    struct caps_entry *e = caps_from_disco(parse(a, SIMPLE), "sha-1", "AAAA", "n#AAAA",
                                           &verified);
    assert_non_null(e);
    assert_false(verified);
    assert_true(caps_has(e, "http://jabber.org/protocol/muc"));
    assert_false(caps_has(e, "http://jabber.org/protocol/tune+notify"));
    assert_null(caps_lookup("n#AAAA"));
    caps_unref(e);
    /* The right one: cached for everybody. */
    e = caps_from_disco(parse(a, SIMPLE), "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0=", key,
                        &verified);
    assert_true(verified);
    struct caps_entry *again = caps_lookup(key);
    assert_ptr_equal(e, again);
    caps_unref(again);
    caps_unref(e);
    /* Ill-formed: nothing at all. */
    assert_null(caps_from_disco(parse(a, "<query xmlns='http://jabber.org/protocol/disco#info'>"
                                         "<feature var='a'/><feature var='a'/></query>"),
                                "sha-1", "x", "n#x", &verified));
    caps_global_unref();
    myna_arena_free(a);
}

/* ---- util ---- */

static void test_base64_sha1(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    size_t len = 99;
    unsigned char *d = ps_base64_decode(a, "aGVs\nbG8=", &len);
    assert_non_null(d);
    assert_int_equal(len, 5);
    assert_memory_equal(d, "hello", 5);
    assert_non_null(d = ps_base64_decode(a, "YQ==", &len));
    assert_int_equal(len, 1);
    assert_non_null(d = ps_base64_decode(a, "", &len));
    assert_int_equal(len, 0);
    assert_null(ps_base64_decode(a, "YQ=", &len));   /* not a multiple of 4 */
    assert_null(ps_base64_decode(a, "Y!==", &len));  /* outside the alphabet */
    assert_null(ps_base64_decode(a, "YQ==YQ==", &len)); /* data after padding */
    assert_string_equal(ps_sha1_hex(a, "abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d");
    myna_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_examples),  cmocka_unit_test(test_caps_ill_formed),
        cmocka_unit_test(test_caps_cache),     cmocka_unit_test(test_base64_sha1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
