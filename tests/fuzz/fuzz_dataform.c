/* tests/fuzz/fuzz_dataform.c — libFuzzer target for the XEP-0004 data-form helper
 * (modules/common/dataform.c) that every module reading a client's form uses (MUC room
 * configuration, pubsub publish-options and node configuration, MAM queries, ad-hoc
 * commands). The input is the XML of a form as a client would send it, parsed with
 * myna_xml_parse (the stream parser's tree); the first byte picks the limits. Whatever
 * parses must satisfy what df_parse promises: FORM_TYPE kept apart, a var on every non-fixed
 * field and each var once, the counts within the limits, at most one value for
 * single-valued types; the accessors and builders must then work on it. Build and run: see
 * tests/fuzz/README.md; `make check` runs it briefly (tests/fuzz/fuzz-run.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/common/dataform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "broken promise: %s\n", what);
        abort();
    }
}

/* XEP-0004 §3.3: only these may carry several values. */
static bool multi_valued(const char *type)
{
    static const char *const multi[] = {"list-multi", "jid-multi", "text-multi", "fixed", NULL};
    for (const char *const *m = multi; type && *m; m++)
        if (strcmp(type, *m) == 0)
            return true;
    return false;
}

static void check_form(const struct dataform *f, size_t max_fields, size_t max_values)
{
    check(f->type != NULL, "form without type");
    size_t n = 0;
    for (const struct df_field *a = f->fields; a; a = a->next, n++) {
        check(a->var != NULL || (a->type && strcmp(a->type, "fixed") == 0), "field without var");
        check(a->nvalues <= max_values, "too many values");
        /* No type: a submitted form may omit it for any field (§3.2), so no limit. */
        check(a->nvalues <= 1 || !a->type || multi_valued(a->type),
              "several values in a single-valued field");
        for (size_t i = 0; i < a->nvalues; i++)
            check(a->values[i] != NULL, "NULL value");
        if (a->var) {
            check(strcmp(a->var, "FORM_TYPE") != 0, "FORM_TYPE among the fields");
            for (const struct df_field *b = a->next; b; b = b->next)
                check(!b->var || strcmp(a->var, b->var) != 0, "duplicate var");
            check(df_get(f, a->var) == a, "df_get does not find the field");
            const char *v = df_value(f, a->var);
            check(a->nvalues ? v == a->values[0] : v == NULL, "df_value");
            bool bv;
            int rc = df_bool(f, a->var, &bv);
            check(rc == 1 || rc == -1, "df_bool on a present field");
        }
    }
    check(n == f->nfields && n <= max_fields, "field count");
}

/* Builds a reply form from what was parsed (as modules echo values back) and parses it. */
static void rebuild(const struct dataform *f)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *x = df_new_root(a, "result", f->form_type, "t");
    for (const struct df_field *fl = f->fields; fl; fl = fl->next) {
        struct myna_xml *fe = df_add_field(x, fl->var, fl->type, "label",
                                           fl->nvalues ? fl->values[0] : NULL);
        for (size_t i = 1; i < fl->nvalues; i++)
            df_add_value(fe, fl->values[i]);
    }
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(x, NULL, &b);
    struct myna_xml *back = myna_xml_parse(a, b.data, b.len, NULL);
    check(back != NULL, "a built form does not parse");
    struct dataform g;
    check(df_parse(back, &g, 1u << 20, 1u << 20) == 0, "a built form is refused");
    check(g.nfields == f->nfields, "a built form lost fields");
    myna_buf_free(&b);
    myna_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_fields = (data[0] & 0x0f) + 1, max_values = (data[0] >> 4) + 1;
    if (data[0] == 0xff)
        max_fields = max_values = 1u << 20;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *root = myna_xml_parse(a, (const char *)data + 1, size - 1, "jabber:client");
    if (root) {
        struct myna_xml *x = myna_xml_is(root, DF_NS, "x") ? root : df_find(root);
        struct dataform f;
        if (df_parse(x, &f, max_fields, max_values) == 0) {
            check_form(&f, max_fields, max_values);
            rebuild(&f);
        }
        bool b;
        df_parse_bool(myna_xml_text(root), &b);
    }
    myna_arena_free(a);
    return 0;
}
