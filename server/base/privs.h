/* server/base/privs.h — giving up root: mynad and mynactl, started as root with `user` set in
 * the config, switch to that account (its groups too) before they touch the data
 * directory or read keys, so every file they create belongs to it and a flaw cannot act as
 * root. Listeners are bound before the switch. */
#ifndef MYNA_PRIVS_H
#define MYNA_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* If running as root and `user` is set: becomes that user for good. Returns 1 if it
 * switched, 0 if there was nothing to do (not root, or no user), -1 on failure with the
 * reason in err. */
int privs_drop(const char *user, char *err, size_t errlen);

#endif
