/* tests/unit/test_dataform.c — unit tests of the one XEP-0004 data-form helper the modules
 * share (modules/common/dataform.c): parsing submitted forms (types, values, FORM_TYPE kept
 * apart and its 'hidden' flag, §3.3 booleans), refusing every §3.1-3.3 and XEP-0068
 * violation and hostile sizes (too many fields or values), and building forms (as a child
 * or as a root) that parse back to the same fields. */
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
        "<field type='fixed'><value>a note</value></field>"
        "<field var='empty'/></x>");
    struct dataform f;
    assert_int_equal(df_parse(x, &f, 16, 4), 0);
    assert_string_equal(f.type, "submit");
    assert_string_equal(f.form_type, "urn:example");
    assert_true(f.form_type_hidden);
    assert_int_equal(f.nfields, 8); /* FORM_TYPE is not among the fields */
    assert_null(df_get(&f, "FORM_TYPE"));
    assert_string_equal(f.fields->var, "name"); /* document order */
    assert_string_equal(df_value(&f, "name"), "Room & co");
    bool v = false;
    assert_int_equal(df_bool(&f, "on", &v), 1);
    assert_true(v);
    assert_int_equal(df_bool(&f, "off", &v), 1);
    assert_false(v);
    assert_int_equal(df_bool(&f, "bad", &v), -1);
    assert_int_equal(df_bool(&f, "two", &v), -1);
    assert_int_equal(df_bool(&f, "empty", &v), -1);
    assert_int_equal(df_bool(&f, "absent", &v), 0);
    const struct df_field *m = df_get(&f, "multi");
    assert_non_null(m);
    assert_int_equal(m->nvalues, 2);
    assert_string_equal(m->values[1], "c@d");
    assert_null(df_value(&f, "empty"));
    assert_non_null(df_get(&f, "empty"));
    assert_null(df_get(&f, "absent"));
    myna_arena_free(a);
}

static void test_form_type(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct dataform f;
    /* No FORM_TYPE at all; a visible one; the same value twice (XEP-0115 §5.4 allows it). */
    assert_int_equal(df_parse(parse(a, "<x xmlns='jabber:x:data' type='result'/>"), &f, 4, 4), 0);
    assert_null(f.form_type);
    assert_false(f.form_type_hidden);
    assert_int_equal(df_parse(parse(a, "<x xmlns='jabber:x:data' type='form'><field "
                                       "var='FORM_TYPE'><value>urn:t</value></field></x>"),
                              &f, 4, 4), 0);
    assert_string_equal(f.form_type, "urn:t");
    assert_false(f.form_type_hidden);
    assert_int_equal(f.nfields, 0);
    assert_int_equal(df_parse(parse(a, "<x xmlns='jabber:x:data' type='result'><field "
                                       "var='FORM_TYPE' type='hidden'><value>urn:t</value>"
                                       "<value>urn:t</value></field></x>"), &f, 4, 4), 0);
    assert_string_equal(f.form_type, "urn:t");
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
        "<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='b'/>"
        "<field var='c'/><field var='d'/></x>",                         /* too many fields */
        "<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>",
        "<x xmlns='jabber:x:data' type='form'><field var='a' type='nope'/></x>",
        "<x xmlns='jabber:x:data' type='submit'><field var='a' type='boolean'><value>1"
        "</value><value>0</value></field></x>",                         /* single-valued */
        "<x xmlns='jabber:x:data' type='submit'><field var='a' type='text-single'><value>1"
        "</value><value>2</value></field></x>",
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>a</value>"
        "<value>b</value></field></x>",                                 /* two FORM_TYPEs */
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>a</value>"
        "</field><field var='FORM_TYPE'><value>a</value></field></x>",
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'/></x>", /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct myna_arena *a = myna_arena_new();
        struct dataform f;
        print_message("case %zu\n", i);
        assert_int_equal(df_parse(parse(a, bad[i]), &f, 3, 2), DF_EMALFORMED);
        myna_arena_free(a);
    }
    struct dataform f;
    assert_int_equal(df_parse(NULL, &f, 3, 2), DF_EMALFORMED);
    assert_null(df_find(NULL));
    bool b = true;
    assert_true(df_parse_bool("0", &b) && !b);
    assert_true(df_parse_bool("true", &b) && b);
    assert_false(df_parse_bool("yes", &b));
    assert_false(df_parse_bool("", &b));
    assert_false(df_parse_bool(NULL, &b));
}

/* A form of 10,000 fields is refused at the limit, not walked whole into memory. */
static void test_limits(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_appends(&b, "<x xmlns='jabber:x:data' type='submit'>");
    for (int i = 0; i < 10000; i++) {
        char f[64];
        snprintf(f, sizeof f, "<field var='f%d'><value>v</value></field>", i);
        myna_buf_appends(&b, f);
    }
    myna_buf_appends(&b, "</x>");
    struct myna_xml *x = myna_xml_parse(a, b.data, b.len, MYNA_NS_CLIENT);
    assert_non_null(x);
    struct dataform f;
    assert_int_equal(df_parse(x, &f, 64, 4), DF_EMALFORMED);
    assert_int_equal(df_parse(x, &f, 10000, 1), 0);
    assert_int_equal(f.nfields, 10000);
    myna_buf_free(&b);
    myna_arena_free(a);
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
    struct myna_xml *multi = df_add_field(x, "many", "text-multi", NULL, NULL);
    df_add_value(multi, "one");
    df_add_value(multi, "two");
    const char *text = myna_xml_to_string(q, "");
    struct myna_xml *back = parse(a, text);
    struct dataform f;
    assert_int_equal(df_parse(df_find(back), &f, 8, 8), 0);
    assert_string_equal(f.type, "form");
    assert_string_equal(f.form_type, "urn:example:form");
    assert_true(f.form_type_hidden);
    assert_string_equal(myna_xml_child_text(df_find(back), DF_NS, "title"), "Title");
    /* option values are not field values */
    assert_int_equal(df_get(&f, "choice")->nvalues, 1);
    assert_string_equal(df_value(&f, "choice"), "b");
    bool v = false;
    assert_int_equal(df_bool(&f, "flag", &v), 1);
    assert_true(v);
    assert_int_equal(df_get(&f, "many")->nvalues, 2);

    /* A form without a parent (stored as it is, e.g. a pubsub node's configuration). */
    struct myna_xml *root = df_new_root(a, "submit", "urn:t", NULL);
    df_add_field(root, "k", NULL, NULL, "v");
    back = parse(a, myna_xml_to_string(root, ""));
    assert_int_equal(df_parse(back, &f, 8, 8), 0);
    assert_string_equal(f.type, "submit");
    assert_string_equal(f.form_type, "urn:t");
    assert_string_equal(df_value(&f, "k"), "v");
    assert_null(myna_xml_find(back, DF_NS, "title"));
    myna_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit),  cmocka_unit_test(test_form_type),
        cmocka_unit_test(test_hostile), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_build_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
