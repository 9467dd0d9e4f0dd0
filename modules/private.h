/* modules/private.h — the services around the private module (modules/private.c):
 *   "private"           published by the private module: the stored vcard-temp (XEP-0054)
 *                       and private XML elements (XEP-0049) of an account, for modules
 *                       that convert them (XEP-0398 avatars, XEP-0411 bookmarks);
 *   "private.extension" published by at most one other module per host (the pubsub module)
 *                       and consulted by the private module on each request: it may take
 *                       over some private XML namespaces (XEP-0402 §5.3 / XEP-0411: the
 *                       storage:bookmarks element is a view of the PEP bookmarks) and is
 *                       told when an account stores a new vCard (XEP-0398 §3.2).
 * Elements returned are built in the caller's arena; elements passed in are borrowed.
 */
#ifndef MYNA_MOD_PRIVATE_H
#define MYNA_MOD_PRIVATE_H

#include <stdbool.h>

#include "myna/module.h"

#define PRIVATE_SERVICE "private"
#define PRIVATE_SERVICE_VERSION 1

struct private_service {
    unsigned version; /* PRIVATE_SERVICE_VERSION */
    struct myna_module *provider;
    /* The vCard of `bare`, or NULL when none is stored. */
    struct myna_xml *(*vcard_get)(const struct private_service *svc, const char *bare,
                                  struct myna_arena *a);
    /* Stores `vcard` for `bare` (no "private.extension" call: used by converters).
     * Returns 0 or a negative store error. */
    int (*vcard_put)(const struct private_service *svc, const char *bare,
                     const struct myna_xml *vcard);
    /* The element the private module itself stored for (bare, ns), or NULL; and its
     * deletion (for a one-time migration into another store). */
    struct myna_xml *(*stored_get)(const struct private_service *svc, const char *bare,
                                   const char *ns, struct myna_arena *a);
    int (*stored_del)(const struct private_service *svc, const char *bare, const char *ns);
};

#define PRIVATE_EXTENSION_SERVICE "private.extension"
#define PRIVATE_EXTENSION_VERSION 1

struct private_extension {
    unsigned version; /* PRIVATE_EXTENSION_VERSION */
    void *ctx;        /* the provider's state */
    /* True if the extension serves private XML namespace `ns` itself. */
    bool (*owns)(const struct private_extension *x, const char *ns);
    /* XEP-0049 get for an owned namespace: *out = the element (in a), or NULL when there
     * is nothing (the empty element is answered). Returns 0 or PRIVATE_EXT_ERROR(cond). */
    int (*get)(const struct private_extension *x, const struct myna_jid *user,
               const char *ns, struct myna_arena *a, struct myna_xml **out);
    /* XEP-0049 set for an owned namespace. Returns 0 or PRIVATE_EXT_ERROR(condition). */
    int (*set)(const struct private_extension *x, const struct myna_jid *user,
               const struct myna_xml *el);
    /* The account `user` stored `vcard` (already durable in the private store's batch). */
    void (*vcard_changed)(const struct private_extension *x, const struct myna_jid *user,
                          const struct myna_xml *vcard);
};

/* A failure of get/set: the stanza error condition to answer with. */
#define PRIVATE_EXT_ERROR(cond) (-1 - (int)(cond))
#define PRIVATE_EXT_CONDITION(rc) ((enum myna_error)(-1 - (rc)))

#endif
