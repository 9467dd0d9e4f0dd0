/* modules/common/dataform.h — the one XEP-0004 data-form helper of the first-party modules
 * (muc, pubsub, mam, ...): a strict parser for a received <x xmlns='jabber:x:data'/> and
 * builders for forms a module sends. Parsing checks what XEP-0004 requires (§3.1 a known
 * form type; §3.2 a var on every field but 'fixed', each var once; §3.3 a known field type,
 * at most one value for single-valued types) and XEP-0068 §3 (FORM_TYPE: one value, kept
 * apart from the fields), and never trusts the number of fields or values. A static helper
 * compiled into each module that uses it (public API only).
 */
#ifndef MYNA_DATAFORM_H
#define MYNA_DATAFORM_H

#include <stdbool.h>
#include <stddef.h>

#include <myna.h>

#define DF_NS "jabber:x:data"

/* df_parse's error: not a valid form, or over the caller's limits. */
#define DF_EMALFORMED (-1)

struct df_field {
    const char *var;      /* NULL only for 'fixed' fields */
    const char *type;     /* the type attribute, or NULL (text-single by §3.3) */
    const char **values;  /* every <value/>, in document order */
    size_t nvalues;
    struct df_field *next;
};

struct dataform {
    const char *type;       /* form, submit, cancel or result (§3.1) */
    const char *form_type;  /* value of the FORM_TYPE field (XEP-0068), or NULL */
    bool form_type_hidden;  /* that field is of type 'hidden' (XEP-0115 §5.4 needs it) */
    struct df_field *fields; /* in document order, FORM_TYPE left out */
    size_t nfields;          /* fields listed (FORM_TYPE not counted) */
};

/* Parses form element `x` into `out`; everything parsed is allocated in x's arena and lives
 * as long as x. Returns 0, or DF_EMALFORMED when x is NULL or not a valid data form
 * (above), or has more than max_fields <field/> elements (FORM_TYPE included) or a field
 * with more than max_values values. */
int df_parse(const struct myna_xml *x, struct dataform *out, size_t max_fields,
             size_t max_values);
/* The first data form child of `parent`, or NULL (also for a NULL parent). */
struct myna_xml *df_find(const struct myna_xml *parent);
/* The field named var, or NULL. */
const struct df_field *df_get(const struct dataform *f, const char *var);
/* First value of `var`, or NULL when the field or its value is absent. */
const char *df_value(const struct dataform *f, const char *var);
/* XEP-0004 §3.3 boolean: 1/true or 0/false. Returns 1 and sets *out, 0 when the field is
 * absent, -1 when it is not one boolean value. */
int df_bool(const struct dataform *f, const char *var, bool *out);
/* The same rule for a text (NULL allowed): true and *out set when it is a boolean. */
bool df_parse_bool(const char *text, bool *out);

/* Builders. df_new adds <x type=TYPE/> as a child of `parent`, df_new_root makes it a new
 * root element in arena `a`; both add the hidden FORM_TYPE field when form_type is given,
 * and a <title/> when title is. */
struct myna_xml *df_new(struct myna_xml *parent, const char *type, const char *form_type,
                        const char *title);
struct myna_xml *df_new_root(struct myna_arena *a, const char *type, const char *form_type,
                             const char *title);
/* A field; var, type, label and the first value may be NULL. Returns the <field/>. */
struct myna_xml *df_add_field(struct myna_xml *form, const char *var, const char *type,
                              const char *label, const char *value);
void df_add_value(struct myna_xml *field, const char *value);
void df_add_option(struct myna_xml *field, const char *label, const char *value);

#endif
