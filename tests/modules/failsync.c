/* tests/modules/failsync.c — an LD_PRELOAD shim for tests/modules/commit_fail.sh: while the
 * file named by MYNA_TEST_FAILSYNC_FLAG exists, fdatasync() and fsync() of the database file
 * (data.mdb) fail with EIO, as a failing disk's would; so the store's commits fail after
 * their pages were written. Every other sync is untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failing(int fd)
{
    const char *flag = getenv("MYNA_TEST_FAILSYNC_FLAG");
    char link[64], target[4096];
    if (!flag || access(flag, F_OK) != 0)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    size_t len = strlen(target);
    return len >= 9 && strcmp(target + len - 9, "/data.mdb") == 0;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (failing(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (failing(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}
