/* modules/common/forms.h — XEP-0004 data forms for modules: parse a received <x
 * xmlns='jabber:x:data'/> into fields and values, and build forms to send.
 * Parsing is strict where XEP-0004 §3.2-3.3 is (a known form type, a var on every field but
 * 'fixed', each var once, one value for single-valued types, a FORM_TYPE of XEP-0068 §3 with
 * one value) and returns FORM_EMALFORMED otherwise. Everything parsed lives in the caller's
 * arena; nothing is kept. Depends only on myna/xml.h, so any module can compile it in.
 */
#ifndef MYNA_MOD_FORMS_H
#define MYNA_MOD_FORMS_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/xml.h"

#define NS_DATA_FORMS "jabber:x:data"

#define FORM_EMALFORMED (-1) /* not a valid XEP-0004 form */

struct form_field {
    const char *var;     /* NULL only for type 'fixed' */
    const char *type;    /* the type attribute, or NULL (text-single by §3.3) */
    const char *const *values; /* nvalues texts, in document order */
    size_t nvalues;
    struct form_field *next;
};

struct form {
    const char *type;        /* form, submit, cancel or result (§3.1) */
    const char *form_type;   /* value of the FORM_TYPE field (XEP-0068), or NULL */
    bool form_type_hidden;   /* the FORM_TYPE field is of type 'hidden' */
    struct form_field *fields; /* FORM_TYPE excluded, in document order */
    size_t nfields;
};

/* Parses `x` (a jabber:x:data <x/>) into `out`, allocating in `a`. 0 or FORM_EMALFORMED. */
int form_parse(struct myna_arena *a, const struct myna_xml *x, struct form *out);
/* The field named var, or NULL. */
const struct form_field *form_field(const struct form *f, const char *var);
/* First value of the field named var; NULL if the field or a value is absent. */
const char *form_value(const struct form *f, const char *var);
/* XEP-0004 §3.3 boolean ("1"/"true", "0"/"false"). False for anything else. */
bool form_parse_bool(const char *text, bool *out);

/* Building. form_new adds <x type=TYPE/> under parent (NULL parent: a new root in arena
 * `a`) and, when form_type is set, its hidden FORM_TYPE field. */
struct myna_xml *form_new(struct myna_arena *a, struct myna_xml *parent, const char *type,
                          const char *form_type);
/* Adds a field; type, label and value may be NULL. Returns the <field/>. */
struct myna_xml *form_add_field(struct myna_xml *form, const char *var, const char *type,
                                const char *label, const char *value);
void form_field_add_value(struct myna_xml *field, const char *value);
void form_field_add_option(struct myna_xml *field, const char *label, const char *value);

#endif
