/* modules/common/error_reply.h — an error answer that does not echo the request.
 * RFC 6120 §8.3.1 lets a server include the original payload in an error; modules whose
 * requests can be large (a pubsub publish, an ad-hoc announcement) leave it out, and add
 * the application-specific condition after the defined one and its text (§8.3.2).
 * Compiled into each module that uses it, like dataform.c. */
#ifndef MYNA_MODULES_COMMON_ERROR_REPLY_H
#define MYNA_MODULES_COMMON_ERROR_REPLY_H

#include <myna.h>

/* The error reply to `st` with only its <error/> child; *err gets that element, for the
 * caller's application condition. NULL when `st` gets no reply (an error or result). */
struct myna_xml *error_reply_bare(struct myna_stanza *st, enum myna_error cond,
                                  const char *text, struct myna_xml **err);

#endif
