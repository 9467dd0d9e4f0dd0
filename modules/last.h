/* modules/last.h — the "last" service the last module publishes on each host: when an
 * account last logged in and out, and the status of its last unavailable presence
 * (XEP-0012 §3 data), e.g. for XEP-0133 get-user-lastlogin. Look it up with
 * myna_service_get(m, LAST_SERVICE) when needed; NULL means the module is not loaded.
 */
#ifndef MYNA_MOD_LAST_H
#define MYNA_MOD_LAST_H

#include <stdint.h>

#include "myna/module.h"

#define LAST_SERVICE "last"
#define LAST_SERVICE_VERSION 1

struct last_record {
    int64_t login;      /* wall-clock seconds of the last resource binding, 0 = never */
    int64_t logout;     /* when the last session ended, 0 = never */
    const char *status; /* <status/> of that session's unavailable presence, "" if none */
};

struct last_service {
    unsigned version; /* LAST_SERVICE_VERSION */
    void *ctx;        /* the last module's instance */
    /* The record of local user `bare` (a prepared bare JID), strings in `a`. Returns 0, or
     * -1 when nothing is recorded for the account. */
    int (*get)(const struct last_service *svc, const char *bare, struct myna_arena *a,
               struct last_record *out);
};

#endif
