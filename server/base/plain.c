/* server/base/plain.c — see plain.h. */
#include "server/base/plain.h"

#include <string.h>

int sasl_plain_parse(const unsigned char *msg, size_t len, const char **authzid,
                     const char **authcid, const char **passwd)
{
    const unsigned char *p1 = memchr(msg, 0, len);
    if (!p1)
        return -1;
    size_t rest = len - (size_t)(p1 + 1 - msg);
    const unsigned char *p2 = memchr(p1 + 1, 0, rest);
    /* A third NUL would cut the password short: refuse rather than check a prefix. */
    if (!p2 || memchr(p2 + 1, 0, len - (size_t)(p2 + 1 - msg)))
        return -1;
    *authzid = (const char *)msg;
    *authcid = (const char *)p1 + 1;
    *passwd = (const char *)p2 + 1;
    return 0;
}
