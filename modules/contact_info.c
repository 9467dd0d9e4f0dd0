/* modules/contact_info.c — server contact addresses (XEP-0157): the configured addresses
 * (mailto:, xmpp:, https: ... URIs) in the host's disco#info as a XEP-0128 form with
 * FORM_TYPE http://jabber.org/network/serverinfo, one field per role (XEP-0157 §3). Roles
 * without addresses are left out; with none configured the form is not added at all.
 * Every value must be a URI (§3: status-addresses MUST, the others SHOULD): a value that
 * is not one refuses the load. Nothing is stored.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/dataform.h"
#include "myna/module.h"

#define FORM_SERVERINFO "http://jabber.org/network/serverinfo"
#define MAX_ADDRESSES 32 /* per role */

/* Option name, then the XEP-0157 field it fills. */
static const char *const roles[][2] = {
    {"abuse", "abuse-addresses"},       {"admin", "admin-addresses"},
    {"feedback", "feedback-addresses"}, {"sales", "sales-addresses"},
    {"security", "security-addresses"}, {"status", "status-addresses"},
    {"support", "support-addresses"},
};

static const struct myna_option contact_options[] = {
    {"abuse", MYNA_OPT_STRING, "", 0, 0, "abuse-addresses: URIs, space or comma separated"},
    {"admin", MYNA_OPT_STRING, "", 0, 0, "admin-addresses: URIs, space or comma separated"},
    {"feedback", MYNA_OPT_STRING, "", 0, 0, "feedback-addresses: URIs"},
    {"sales", MYNA_OPT_STRING, "", 0, 0, "sales-addresses: URIs"},
    {"security", MYNA_OPT_STRING, "", 0, 0, "security-addresses: URIs"},
    {"status", MYNA_OPT_STRING, "", 0, 0, "status-addresses: URIs (e.g. a status page)"},
    {"support", MYNA_OPT_STRING, "", 0, 0, "support-addresses: URIs"},
    {.type = MYNA_OPT_END},
};

/* RFC 3986 §3.1 scheme followed by ':' and something printable without spaces. */
static bool is_uri(const char *s)
{
    if (!isalpha((unsigned char)*s))
        return false;
    const char *p = s + 1;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':' || p[1] == '\0')
        return false;
    for (p++; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
            return false;
    return true;
}

/* Adds one field with the addresses listed in `list`; -1 for a value that is no URI. */
static int add_role(struct myna_module *m, struct myna_xml *form, const char *option,
                    const char *var, const char *list, size_t *added)
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    struct myna_xml *field = NULL;
    size_t n = 0;
    int rc = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " ,\t\n", &save); w; w = strtok_r(NULL, " ,\t\n", &save)) {
        if (!is_uri(w) || ++n > MAX_ADDRESSES) {
            myna_log(m, MYNA_LOG_ERROR, "contact_info.%s: '%s' is %s", option, w,
                     n > MAX_ADDRESSES ? "one address too many (at most 32)" : "not a URI");
            rc = -1;
            break;
        }
        if (!field) /* a list whatever the number of values (as deployed servers send) */
            field = df_add_field(form, var, "list-multi", NULL, NULL);
        df_add_value(field, w);
    }
    free(copy);
    if (field)
        (*added)++;
    return rc;
}

static int contact_load(struct myna_module *m)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *holder = myna_xml_new(a, DF_NS, "holder");
    struct myna_xml *form = df_new(holder, "result", FORM_SERVERINFO, NULL);
    size_t added = 0;
    int rc = 0;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0] && rc == 0; i++) {
        const char *list = myna_opt_string(m, roles[i][0]);
        if (list && *list)
            rc = add_role(m, form, roles[i][0], roles[i][1], list, &added);
    }
    if (rc == 0 && added > 0 && myna_disco_extension(m, form) < 0) {
        myna_log(m, MYNA_LOG_ERROR, "another module already added a %s form", FORM_SERVERINFO);
        rc = -1;
    }
    myna_arena_free(a);
    return rc;
}

MYNA_MODULE_DEFINE(.name = "contact_info",
                   .description = "Server contact addresses (XEP-0157) in disco#info",
                   .options = contact_options, .load = contact_load);
