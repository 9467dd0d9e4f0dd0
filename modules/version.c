/* modules/version.c — Software Version (XEP-0092) of the server: name "Myna", the package
 * version, and the operating system from uname(2) unless the option hide_os is set
 * (XEP-0092 §5 notes that revealing the OS can help attackers).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "myna/module.h"

#define NS_VERSION "jabber:iq:version"

static const struct myna_option version_options[] = {
    {"hide_os", MYNA_OPT_BOOL, "false", 0, 0, "leave the operating system out of replies"},
    {NULL, MYNA_OPT_END, NULL, 0, 0, NULL},
};

static int version_answer(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)data;
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_VERSION, "query");
    struct myna_xml *el = myna_xml_add_child(q, NULL, "name");
    myna_xml_add_text(el, "Myna", 4);
    el = myna_xml_add_child(q, NULL, "version");
    myna_xml_add_text(el, PACKAGE_VERSION, sizeof(PACKAGE_VERSION) - 1);
    struct utsname u;
    if (!myna_opt_bool(m, "hide_os") && uname(&u) == 0) {
        const char *os = myna_arena_printf(st->arena, "%s %s", u.sysname, u.release);
        el = myna_xml_add_child(q, NULL, "os");
        myna_xml_add_text(el, os, strlen(os));
    }
    myna_iq_send_result(st, res);
    return 0;
}

static int version_load(struct myna_module *m)
{
    return myna_iq_register(m, MYNA_IQ_GET, NS_VERSION, "query", MYNA_IQ_TO_HOST,
                            version_answer, NULL);
}

MYNA_MODULE_DEFINE(.name = "version", .description = "Software version (XEP-0092)",
                   .options = version_options, .load = version_load);
