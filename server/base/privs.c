/* server/base/privs.c — switching from root to the configured user (server/base/privs.h). The order
 * is the one that cannot be undone: supplementary groups, group, then user; afterwards
 * getting root back must fail, or the switch counts as failed. */
#include "server/base/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int privs_drop(const char *user, char *err, size_t errlen)
{
    if (geteuid() != 0 || !user)
        return 0;
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "user '%s' (config setting 'user') does not exist%s%s", user,
                 errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }
    if (pw->pw_uid == 0) {
        snprintf(err, errlen, "user '%s' is root: set 'user' to an unprivileged account", user);
        return -1;
    }
    if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(err, errlen, "switched to '%s' but could get root back", user);
        return -1;
    }
    return 1;
}
