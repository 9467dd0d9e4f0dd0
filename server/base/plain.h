/* server/base/plain.h — the SASL PLAIN message (RFC 4616 §2): [authzid] NUL authcid NUL
 * passwd, with exactly two NULs. Parsing only; the password check is the accounts'. Shared
 * by sasl.c and the SASL fuzz target. */
#ifndef MYNA_PLAIN_H
#define MYNA_PLAIN_H

#include <stddef.h>

/* msg (len bytes, with msg[len] == 0) is split in place: *authzid ("" when absent),
 * *authcid and *passwd point into it. 0, or -1 when it does not have the three parts. */
int sasl_plain_parse(const unsigned char *msg, size_t len, const char **authzid,
                     const char **authcid, const char **passwd);

#endif
