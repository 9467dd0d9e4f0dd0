/* modules/common/dataform.c — see dataform.h (XEP-0004 parsing and building). */
#include "dataform.h"

#include <string.h>

struct myna_xml *df_find(const struct myna_xml *parent)
{
    return parent ? myna_xml_find(parent, DF_NS, "x") : NULL;
}

static bool known_type(const char *t)
{
    static const char *const types[] = {"form", "submit", "cancel", "result", NULL};
    for (size_t i = 0; types[i]; i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

int df_parse(const struct myna_xml *x, struct dataform *out, size_t max_fields,
             size_t max_values)
{
    memset(out, 0, sizeof *out);
    if (!myna_xml_is(x, DF_NS, "x"))
        return -1;
    out->type = myna_xml_attr(x, "type");
    if (!out->type || !known_type(out->type))
        return -1;
    struct df_field **tail = &out->fields;
    for (struct myna_xml *f = myna_xml_find(x, DF_NS, "field"); f;
         f = myna_xml_find_next(f, DF_NS, "field")) {
        if (++out->nfields > max_fields)
            return -1;
        struct df_field *df = myna_arena_alloc(x->arena, sizeof *df);
        df->var = myna_xml_attr(f, "var");
        df->type = myna_xml_attr(f, "type");
        if (df->var && df_get(out, df->var))
            return -1; /* §3.2: var is unique within a form */
        size_t n = 0;
        for (struct myna_xml *v = myna_xml_find(f, DF_NS, "value"); v;
             v = myna_xml_find_next(v, DF_NS, "value"))
            n++;
        if (n > max_values)
            return -1;
        df->values = myna_arena_alloc(x->arena, (n ? n : 1) * sizeof *df->values);
        for (struct myna_xml *v = myna_xml_find(f, DF_NS, "value"); v;
             v = myna_xml_find_next(v, DF_NS, "value"))
            df->values[df->nvalues++] = myna_xml_text(v);
        *tail = df;
        tail = &df->next;
        if (df->var && strcmp(df->var, "FORM_TYPE") == 0 && df->nvalues)
            out->form_type = df->values[0];
    }
    return 0;
}

const struct df_field *df_get(const struct dataform *f, const char *var)
{
    for (const struct df_field *d = f->fields; d; d = d->next)
        if (d->var && strcmp(d->var, var) == 0)
            return d;
    return NULL;
}

const char *df_value(const struct dataform *f, const char *var)
{
    const struct df_field *d = df_get(f, var);
    return d && d->nvalues ? d->values[0] : NULL;
}

int df_bool(const struct dataform *f, const char *var, bool *out)
{
    const struct df_field *d = df_get(f, var);
    if (!d)
        return 0;
    if (d->nvalues != 1)
        return -1;
    const char *v = d->values[0];
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        *out = false;
    else
        return -1;
    return 1;
}

struct myna_xml *df_new(struct myna_xml *parent, const char *type, const char *form_type,
                        const char *title)
{
    struct myna_xml *x = myna_xml_add_child(parent, DF_NS, "x");
    myna_xml_set_attr(x, "type", type);
    if (title)
        myna_xml_add_text(myna_xml_add_child(x, DF_NS, "title"), title, strlen(title));
    if (form_type)
        df_add_field(x, "FORM_TYPE", "hidden", NULL, form_type);
    return x;
}

struct myna_xml *df_add_field(struct myna_xml *form, const char *var, const char *type,
                              const char *label, const char *value)
{
    struct myna_xml *f = myna_xml_add_child(form, DF_NS, "field");
    if (var)
        myna_xml_set_attr(f, "var", var);
    if (type)
        myna_xml_set_attr(f, "type", type);
    if (label)
        myna_xml_set_attr(f, "label", label);
    if (value)
        df_add_value(f, value);
    return f;
}

void df_add_value(struct myna_xml *field, const char *value)
{
    myna_xml_add_text(myna_xml_add_child(field, DF_NS, "value"), value, strlen(value));
}

void df_add_option(struct myna_xml *field, const char *label, const char *value)
{
    struct myna_xml *o = myna_xml_add_child(field, DF_NS, "option");
    if (label)
        myna_xml_set_attr(o, "label", label);
    df_add_value(o, value);
}
