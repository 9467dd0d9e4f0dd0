/* server/base/log.h — one-line log events to stderr (and optionally syslog).
 * Each line: time, level, subsystem, then context and message. Debug per subsystem is cheap
 * when off (the level check happens before formatting). SASL payloads and passwords never
 * reach a log. */
#ifndef MYNA_LOG_H
#define MYNA_LOG_H

#include <stdbool.h>

#include "myna/module.h" /* enum myna_log_level */

void log_init(enum myna_log_level level, bool use_syslog);
void log_set_level(enum myna_log_level level);
bool log_enabled(enum myna_log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
void log_msg(enum myna_log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) log_msg(MYNA_LOG_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(MYNA_LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(MYNA_LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...)                                                                \
    do {                                                                                   \
        if (log_enabled(MYNA_LOG_DEBUG))                                                   \
            log_msg(MYNA_LOG_DEBUG, sub, __VA_ARGS__);                                     \
    } while (0)

/* Allocation that never returns NULL: logs and aborts on failure. */
#include <stddef.h>
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
