/* tests/web/slowfsync.c — an LD_PRELOAD shim for tests/web/upload-slowdisk.sh: fsync() of a
 * file under an upload's temporary directory (".../upload/.tmp/") first sleeps
 * MYNA_TEST_FSYNC_DELAY_MS milliseconds, as a large file's fsync on a slow disk would.
 * Every other fsync (the store's, the logs') is untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd)
{
    static int (*real_fsync)(int);
    if (!real_fsync)
        real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char *ms = getenv("MYNA_TEST_FSYNC_DELAY_MS");
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ms ? readlink(link, target, sizeof target - 1) : -1;
    if (n > 0) {
        target[n] = '\0';
        if (strstr(target, "/upload/.tmp/")) {
            long d = atol(ms);
            struct timespec ts = {d / 1000, (d % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return real_fsync(fd);
}
