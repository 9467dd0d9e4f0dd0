/* server/base/log.c — one-line log events and allocation that never fails.
 *
 * Owns the process-wide log level and the syslog switch (set once at start-up, read-only
 * afterwards, so the loops may log without locks). Each event is formatted into one buffer
 * and written with a single write(2) so lines from several threads never interleave:
 *   2026-11-26T01:02:03.123Z INFO c2s: message
 * xmalloc & co. log and abort instead of returning NULL: no caller checks for NULL, and an
 * allocation failure is one clear log line instead of a crash somewhere later.
 */
#include "server/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum myna_log_level log_level = MYNA_LOG_INFO;
static bool log_syslog;

static const char *const level_names[] = {
    [MYNA_LOG_ERROR] = "ERROR",
    [MYNA_LOG_WARN] = "WARN",
    [MYNA_LOG_INFO] = "INFO",
    [MYNA_LOG_DEBUG] = "DEBUG",
};

static const int syslog_prio[] = {
    [MYNA_LOG_ERROR] = LOG_ERR,
    [MYNA_LOG_WARN] = LOG_WARNING,
    [MYNA_LOG_INFO] = LOG_INFO,
    [MYNA_LOG_DEBUG] = LOG_DEBUG,
};

void log_init(enum myna_log_level level, bool use_syslog)
{
    log_level = level;
    if (use_syslog && !log_syslog)
        openlog("mynad", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    else if (!use_syslog && log_syslog)
        closelog();
    log_syslog = use_syslog;
}

void log_set_level(enum myna_log_level level)
{
    log_level = level;
}

bool log_enabled(enum myna_log_level level)
{
    return level <= log_level;
}

int log_level_parse(const char *s)
{
    static const char *const names[] = {
        [MYNA_LOG_ERROR] = "error",
        [MYNA_LOG_WARN] = "warn",
        [MYNA_LOG_INFO] = "info",
        [MYNA_LOG_DEBUG] = "debug",
    };
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

void log_msg(enum myna_log_level level, const char *subsys, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int saved_errno = errno; /* callers may log between a failure and reading errno */

    if (!log_enabled(level))
        return;
    if ((unsigned)level > MYNA_LOG_DEBUG)
        level = MYNA_LOG_ERROR;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
                          level_names[level]);
    size_t sub_off = n; /* syslog has its own time and level: it gets "subsys: message" */
    int hdr = snprintf(line + n, sizeof(line) - n, "%.64s: ", subsys ? subsys : "-");
    if (hdr > 0)
        n += (size_t)hdr;
    size_t body = n;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (m > 0)
        n += (size_t)m;
    if (n > sizeof(line) - 2) {
        /* Truncated: mark it so nobody mistakes the line for the whole message. */
        n = sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    /* One event, one line: a newline inside the message would forge a second event. */
    for (size_t i = body; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';

    const char *p = line;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    if (log_syslog) {
        line[n - 1] = '\0';
        syslog(syslog_prio[level], "%s", line + sub_off);
    }
    errno = saved_errno;
}

static void out_of_memory(size_t n)
{
    /* log_msg uses only its stack buffer, so it works when the heap is exhausted. */
    log_msg(MYNA_LOG_ERROR, "core", "out of memory allocating %zu bytes; aborting", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = xmalloc(len);
    memcpy(p, s, len);
    return p;
}
