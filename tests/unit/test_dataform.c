/* tests/unit/test_dataform.c — unit tests of the XEP-0004 data-form helper that modules
 * share (modules/common/dataform.c): parsing submitted forms (types, FORM_TYPE, values,
 * §3.3 booleans) and refusing hostile ones (unknown type, repeated var, too many fields or
 * values, not a form), and building forms that parse back to the same fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "modules/common/dataform.h"

static struct myna_xml *parse(struct myna_arena *a, const char *text)
{
    struct myna_xml *x = myna_xml_parse(a, text, strlen(text), MYNA_NS_CLIENT);
    assert_non_null(x);
    return x;
}

static void test_submit(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *x = parse(a,
        "<x xmlns='jabber:x:data' type='submit'>"
        "<field var='FORM_TYPE' type='hidden'><value>urn:example</value></field>"
        "<field var='name'><value>Room &amp; co</value></field>"
        "<field var='on'><value>true</value></field><field var='off'><value>0</value></field>"
        "<field var='bad'><value>maybe</value></field>"
        "<field var='two'><value>1</value><value>0</value></field>"
        "<field var='multi' type='jid-multi'><value>a@b</value><value>c@d</value></field>"
        "<field var='empty'/></x>");
    struct dataform f;
    assert_int_equal(df_parse(x, &f, 16, 4), 0);
    assert_string_equal(f.type, "submit");
    assert_string_equal(f.form_type, "urn:example");
    assert_string_equal(df_value(&f, "name"), "Room & co");
    bool v = false;
    assert_int_equal(df_bool(&f, "on", &v), 1);
    assert_true(v);
    assert_int_equal(df_bool(&f, "off", &v), 1);
    assert_false(v);
    assert_int_equal(df_bool(&f, "bad", &v), -1);
    assert_int_equal(df_bool(&f, "two", &v), -1);
    assert_int_equal(df_bool(&f, "absent", &v), 0);
    const struct df_field *m = df_get(&f, "multi");
    assert_non_null(m);
    assert_int_equal(m->nvalues, 2);
    assert_string_equal(m->values[1], "c@d");
    assert_null(df_value(&f, "empty"));
    assert_non_null(df_get(&f, "empty"));
    myna_arena_free(a);
}

static void test_hostile(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "<x xmlns='jabber:x:data'/>",                                   /* no type */
        "<x xmlns='jabber:x:data' type='evil'/>",                       /* unknown type */
        "<x xmlns='urn:other' type='submit'/>",                         /* not a form */
        "<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='a'/></x>",
        "<x xmlns='jabber:x:data' type='submit'><field var='a'><value/><value/><value/>"
        "</field></x>",                                                 /* too many values */
        "<x xmlns='jabber:x:data' type='submit'><field/><field/><field/><field/></x>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct myna_arena *a = myna_arena_new();
        struct dataform f;
        assert_int_equal(df_parse(parse(a, bad[i]), &f, 3, 2), -1);
        myna_arena_free(a);
    }
    assert_null(df_find(NULL));
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *q = myna_xml_new(a, "urn:q", "query");
    struct myna_xml *x = df_new(q, "form", "urn:example:form", "Title");
    struct myna_xml *fl = df_add_field(x, "choice", "list-single", "Pick", "b");
    df_add_option(fl, "A", "a");
    df_add_option(fl, NULL, "b");
    df_add_field(x, "flag", "boolean", NULL, "1");
    const char *text = myna_xml_to_string(q, "");
    struct myna_xml *back = parse(a, text);
    struct dataform f;
    assert_int_equal(df_parse(df_find(back), &f, 8, 8), 0);
    assert_string_equal(f.type, "form");
    assert_string_equal(f.form_type, "urn:example:form");
    /* option values are not field values */
    assert_int_equal(df_get(&f, "choice")->nvalues, 1);
    assert_string_equal(df_value(&f, "choice"), "b");
    bool v = false;
    assert_int_equal(df_bool(&f, "flag", &v), 1);
    assert_true(v);
    myna_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_build_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
