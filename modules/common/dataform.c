/* modules/common/dataform.c — XEP-0004 data forms: the strict parser (§3.1-3.3, XEP-0068
 * §3 FORM_TYPE) and the builders. See dataform.h. */
#include "dataform.h"

#include <string.h>

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* §3.3: the field types; the first six carry at most one value. */
static const char *const single_types[] = {"boolean", "hidden", "jid-single", "list-single",
                                           "text-private", "text-single", NULL};
static const char *const multi_types[] = {"fixed", "jid-multi", "list-multi", "text-multi",
                                          NULL};

struct myna_xml *df_find(const struct myna_xml *parent)
{
    return parent ? myna_xml_find(parent, DF_NS, "x") : NULL;
}

static int field_parse(const struct myna_xml *el, struct df_field *f, size_t max_values)
{
    f->var = myna_xml_attr(el, "var");
    f->type = myna_xml_attr(el, "type");
    if (f->type && !one_of(f->type, single_types) && !one_of(f->type, multi_types))
        return DF_EMALFORMED;
    if (!f->var && !(f->type && strcmp(f->type, "fixed") == 0))
        return DF_EMALFORMED; /* §3.2: var is required except for fixed fields */
    size_t n = 0;
    for (struct myna_xml *v = myna_xml_find(el, DF_NS, "value"); v;
         v = myna_xml_find_next(v, DF_NS, "value"))
        if (++n > max_values)
            return DF_EMALFORMED;
    /* FORM_TYPE's repeats are judged by form_type_take. */
    if (n > 1 && f->type && one_of(f->type, single_types) && strcmp(f->var, "FORM_TYPE") != 0)
        return DF_EMALFORMED;
    f->values = myna_arena_alloc(el->arena, (n ? n : 1) * sizeof *f->values);
    for (struct myna_xml *v = myna_xml_find(el, DF_NS, "value"); v;
         v = myna_xml_find_next(v, DF_NS, "value"))
        f->values[f->nvalues++] = myna_xml_text(v);
    return 0;
}

/* XEP-0068 §3: FORM_TYPE holds one value (repeats of the same text are tolerated, as
 * XEP-0115 §5.4 does). */
static int form_type_take(struct dataform *out, const struct df_field *f)
{
    if (f->nvalues == 0)
        return DF_EMALFORMED;
    for (size_t i = 1; i < f->nvalues; i++)
        if (strcmp(f->values[i], f->values[0]) != 0)
            return DF_EMALFORMED;
    out->form_type = f->values[0];
    out->form_type_hidden = f->type && strcmp(f->type, "hidden") == 0;
    return 0;
}

int df_parse(const struct myna_xml *x, struct dataform *out, size_t max_fields,
             size_t max_values)
{
    static const char *const form_types[] = {"form", "submit", "cancel", "result", NULL};
    memset(out, 0, sizeof *out);
    if (!myna_xml_is(x, DF_NS, "x"))
        return DF_EMALFORMED;
    out->type = myna_xml_attr(x, "type");
    if (!out->type || !one_of(out->type, form_types))
        return DF_EMALFORMED;
    struct df_field **tail = &out->fields;
    bool seen_form_type = false;
    size_t seen = 0;
    for (struct myna_xml *el = myna_xml_find(x, DF_NS, "field"); el;
         el = myna_xml_find_next(el, DF_NS, "field")) {
        if (++seen > max_fields)
            return DF_EMALFORMED;
        struct df_field *f = myna_arena_alloc(x->arena, sizeof *f);
        if (field_parse(el, f, max_values) < 0)
            return DF_EMALFORMED;
        if (f->var && strcmp(f->var, "FORM_TYPE") == 0) {
            if (seen_form_type || form_type_take(out, f) < 0)
                return DF_EMALFORMED;
            seen_form_type = true;
            continue;
        }
        if (f->var && df_get(out, f->var))
            return DF_EMALFORMED; /* §3.2: a var names one field */
        *tail = f;
        tail = &f->next;
        out->nfields++;
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

bool df_parse_bool(const char *text, bool *out)
{
    if (!text)
        return false;
    if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0)
        *out = true;
    else if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0)
        *out = false;
    else
        return false;
    return true;
}

int df_bool(const struct dataform *f, const char *var, bool *out)
{
    const struct df_field *d = df_get(f, var);
    if (!d)
        return 0;
    if (d->nvalues != 1 || !df_parse_bool(d->values[0], out))
        return -1;
    return 1;
}

static void form_init(struct myna_xml *x, const char *type, const char *form_type,
                      const char *title)
{
    myna_xml_set_attr(x, "type", type);
    if (title)
        myna_xml_add_text(myna_xml_add_child(x, DF_NS, "title"), title, strlen(title));
    if (form_type)
        df_add_field(x, "FORM_TYPE", "hidden", NULL, form_type);
}

struct myna_xml *df_new(struct myna_xml *parent, const char *type, const char *form_type,
                        const char *title)
{
    struct myna_xml *x = myna_xml_add_child(parent, DF_NS, "x");
    form_init(x, type, form_type, title);
    return x;
}

struct myna_xml *df_new_root(struct myna_arena *a, const char *type, const char *form_type,
                             const char *title)
{
    struct myna_xml *x = myna_xml_new(a, DF_NS, "x");
    form_init(x, type, form_type, title);
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
