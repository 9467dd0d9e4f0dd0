/* modules/common/forms.c — XEP-0004 data forms: parsing with the checks of §3.1-3.3 and
 * XEP-0068 §3 (FORM_TYPE), and builders. See forms.h.
 */
#include "forms.h"

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
static const char *const multi_types[] = {"jid-multi", "list-multi", "text-multi", "fixed",
                                          NULL};

static int field_parse(struct myna_arena *a, const struct myna_xml *el, struct form_field *f)
{
    f->var = myna_xml_attr(el, "var");
    f->type = myna_xml_attr(el, "type");
    if (f->type && !one_of(f->type, single_types) && !one_of(f->type, multi_types))
        return FORM_EMALFORMED;
    if (!f->var && !(f->type && strcmp(f->type, "fixed") == 0))
        return FORM_EMALFORMED; /* §3.2: var is required except for fixed fields */
    size_t n = 0;
    for (const struct myna_xml *v = myna_xml_find(el, NS_DATA_FORMS, "value"); v;
         v = myna_xml_find_next(v, NS_DATA_FORMS, "value"))
        n++;
    if (n > 1 && f->type && one_of(f->type, single_types))
        return FORM_EMALFORMED;
    const char **vals = myna_arena_alloc(a, (n ? n : 1) * sizeof *vals);
    size_t i = 0;
    for (const struct myna_xml *v = myna_xml_find(el, NS_DATA_FORMS, "value"); v;
         v = myna_xml_find_next(v, NS_DATA_FORMS, "value"))
        vals[i++] = myna_xml_text(v);
    f->values = vals;
    f->nvalues = n;
    return 0;
}

/* XEP-0068 §3: FORM_TYPE holds one value (repeats of the same text are tolerated, as
 * XEP-0115 §5.4 does). */
static int form_type_take(struct form *out, const struct form_field *f)
{
    if (f->nvalues == 0)
        return FORM_EMALFORMED;
    for (size_t i = 1; i < f->nvalues; i++)
        if (strcmp(f->values[i], f->values[0]) != 0)
            return FORM_EMALFORMED;
    out->form_type = f->values[0];
    out->form_type_hidden = f->type && strcmp(f->type, "hidden") == 0;
    return 0;
}

int form_parse(struct myna_arena *a, const struct myna_xml *x, struct form *out)
{
    static const char *const form_types[] = {"form", "submit", "cancel", "result", NULL};
    memset(out, 0, sizeof *out);
    if (!x || !myna_xml_is(x, NS_DATA_FORMS, "x"))
        return FORM_EMALFORMED;
    out->type = myna_xml_attr(x, "type");
    if (!out->type || !one_of(out->type, form_types))
        return FORM_EMALFORMED;
    struct form_field **tail = &out->fields;
    bool seen_form_type = false;
    for (const struct myna_xml *el = myna_xml_find(x, NS_DATA_FORMS, "field"); el;
         el = myna_xml_find_next(el, NS_DATA_FORMS, "field")) {
        struct form_field *f = myna_arena_alloc(a, sizeof *f);
        if (field_parse(a, el, f) < 0)
            return FORM_EMALFORMED;
        if (f->var && strcmp(f->var, "FORM_TYPE") == 0) {
            if (seen_form_type || form_type_take(out, f) < 0)
                return FORM_EMALFORMED;
            seen_form_type = true;
            continue;
        }
        if (f->var && form_field(out, f->var))
            return FORM_EMALFORMED; /* §3.2: a var names one field */
        *tail = f;
        tail = &f->next;
        out->nfields++;
    }
    return 0;
}

const struct form_field *form_field(const struct form *f, const char *var)
{
    for (const struct form_field *x = f->fields; x; x = x->next)
        if (x->var && strcmp(x->var, var) == 0)
            return x;
    return NULL;
}

const char *form_value(const struct form *f, const char *var)
{
    const struct form_field *x = form_field(f, var);
    return x && x->nvalues ? x->values[0] : NULL;
}

bool form_parse_bool(const char *text, bool *out)
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

struct myna_xml *form_new(struct myna_arena *a, struct myna_xml *parent, const char *type,
                          const char *form_type)
{
    struct myna_xml *x = parent ? myna_xml_add_child(parent, NS_DATA_FORMS, "x")
                                : myna_xml_new(a, NS_DATA_FORMS, "x");
    myna_xml_set_attr(x, "type", type);
    if (form_type)
        form_add_field(x, "FORM_TYPE", "hidden", NULL, form_type);
    return x;
}

struct myna_xml *form_add_field(struct myna_xml *form, const char *var, const char *type,
                                const char *label, const char *value)
{
    struct myna_xml *f = myna_xml_add_child(form, NS_DATA_FORMS, "field");
    if (var)
        myna_xml_set_attr(f, "var", var);
    if (type)
        myna_xml_set_attr(f, "type", type);
    if (label)
        myna_xml_set_attr(f, "label", label);
    if (value)
        form_field_add_value(f, value);
    return f;
}

void form_field_add_value(struct myna_xml *field, const char *value)
{
    struct myna_xml *v = myna_xml_add_child(field, NS_DATA_FORMS, "value");
    myna_xml_add_text(v, value, strlen(value));
}

void form_field_add_option(struct myna_xml *field, const char *label, const char *value)
{
    struct myna_xml *o = myna_xml_add_child(field, NS_DATA_FORMS, "option");
    if (label)
        myna_xml_set_attr(o, "label", label);
    form_field_add_value(o, value);
}
