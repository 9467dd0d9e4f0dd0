/* modules/common/error_reply.c — see error_reply.h. */
#include "error_reply.h"

struct myna_xml *error_reply_bare(struct myna_stanza *st, enum myna_error cond,
                                  const char *text, struct myna_xml **err)
{
    struct myna_xml *r = myna_error_reply(st, cond, text);
    if (r == NULL)
        return NULL;
    *err = myna_xml_find(r, MYNA_NS_CLIENT, "error");
    for (struct myna_xml *ch = myna_xml_first_element(r); ch;) {
        struct myna_xml *next = myna_xml_find_next(ch, NULL, NULL);
        if (ch != *err)
            myna_xml_remove(ch);
        ch = next;
    }
    return r;
}
