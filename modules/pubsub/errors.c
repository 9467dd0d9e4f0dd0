/* modules/pubsub/errors.c — error answers of XEP-0060: an RFC 6120 §8.3 stanza error plus
 * the application-specific condition of the pubsub#errors namespace (XEP-0060 §14.2,
 * e.g. <precondition-not-met/>, <closed-node/>, <unsupported feature='...'/>).
 */
#include <string.h>

#include "../common/error_reply.h"
#include "pubsub.h"

static void send_error(struct myna_stanza *st, enum myna_error cond, const char *app,
                       const char *feature, const char *text)
{
    struct myna_xml *err;
    /* The request's payload is not echoed back: it may be a large publish. */
    struct myna_xml *r = error_reply_bare(st, cond, text, &err);
    if (r == NULL)
        return;
    if (err && app) {
        /* RFC 6120 §8.3.2: the application condition follows the defined condition
         * (and its text). */
        struct myna_xml *x = myna_xml_add_child(err, NS_PUBSUB_ERRORS, app);
        if (feature)
            myna_xml_set_attr(x, "feature", feature);
    }
    myna_iq_send_result(st, r);
}

void ps_error(struct myna_stanza *st, enum myna_error cond, const char *app, const char *text)
{
    send_error(st, cond, app, NULL, text);
}

void ps_error_unsupported(struct myna_stanza *st, const char *feature)
{
    send_error(st, MYNA_ERR_FEATURE_NOT_IMPLEMENTED, "unsupported", feature, NULL);
}
