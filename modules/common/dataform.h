/* modules/common/dataform.h — XEP-0004 data forms for first-party modules: a parser that
 * turns a submitted <x xmlns='jabber:x:data'/> into fields and values (checking the form
 * type and field shapes, never trusting their count or size), and builders for forms a
 * module sends (§3.1 form types, §3.2 fields, §3.3 field types, FORM_TYPE of XEP-0068).
 * A static helper compiled into each module that needs it (public API only). */
#ifndef MYNA_DATAFORM_H
#define MYNA_DATAFORM_H

#include <stdbool.h>
#include <stddef.h>

#include <myna.h>

#define DF_NS "jabber:x:data"

struct df_field {
    const char *var;      /* NULL for fixed fields */
    const char *type;     /* the type attribute, or NULL (text-single by default) */
    const char **values;  /* every <value/>, in order */
    size_t nvalues;
    struct df_field *next;
};

struct dataform {
    const char *type;       /* form, submit, cancel, result */
    const char *form_type;  /* value of the hidden FORM_TYPE field, or NULL */
    struct df_field *fields;
    size_t nfields;
};

/* Parses form element `x` into `out` (strings stay in x's arena). Returns 0, or -1 when x
 * is not a data form, its type is unknown, a field var repeats, or limits are exceeded
 * (max_fields fields, max_values values per field). */
int df_parse(const struct myna_xml *x, struct dataform *out, size_t max_fields,
             size_t max_values);
/* The first data form child of `parent` (any element), or NULL. */
struct myna_xml *df_find(const struct myna_xml *parent);
const struct df_field *df_get(const struct dataform *f, const char *var);
/* First value of `var`, or NULL when the field or its value is absent. */
const char *df_value(const struct dataform *f, const char *var);
/* XEP-0004 §3.3 boolean: 1/true or 0/false. Returns 1 and sets *out, 0 when the field is
 * absent, -1 when the value is not a boolean. */
int df_bool(const struct dataform *f, const char *var, bool *out);

/* Builders: a new form as a child of `parent`; FORM_TYPE (hidden) added when given. */
struct myna_xml *df_new(struct myna_xml *parent, const char *type, const char *form_type,
                        const char *title);
/* A field with an optional first value (NULL = none). */
struct myna_xml *df_add_field(struct myna_xml *form, const char *var, const char *type,
                              const char *label, const char *value);
void df_add_value(struct myna_xml *field, const char *value);
void df_add_option(struct myna_xml *field, const char *label, const char *value);

#endif
