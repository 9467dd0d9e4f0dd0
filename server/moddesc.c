/* server/moddesc.c — see moddesc.h. A module name is [a-z0-9_]+ so that it can never name
 * a path outside the module directory. */
#include "moddesc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int moddesc_open(const char *dir, const char *name, int dlflags, void **handle,
                 const struct myna_module_desc **desc, char *err, size_t errlen)
{
    if (!*name) {
        snprintf(err, errlen, "empty module name");
        return -1;
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(err, errlen, "invalid module name '%s'", name);
            return -1;
        }
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.so", dir, name) >= sizeof path) {
        snprintf(err, errlen, "module path too long for '%s'", name);
        return -1;
    }
    void *h = dlopen(path, dlflags);
    if (!h) {
        snprintf(err, errlen, "cannot load module '%s': %s", name, dlerror());
        return -1;
    }
    const struct myna_module_desc *d = dlsym(h, "myna_module_desc");
    if (!d) {
        snprintf(err, errlen, "%s: no myna_module_desc symbol (not a Myna module)", path);
    } else if (d->abi != MYNA_ABI_VERSION) {
        snprintf(err, errlen, "%s: built for module ABI %u, this server has ABI %u; rebuild it",
                 path, d->abi, MYNA_ABI_VERSION);
    } else if (!d->name || strcmp(d->name, name) != 0 || !d->load) {
        snprintf(err, errlen, "%s: descriptor name '%s' does not match file name '%s'", path,
                 d->name ? d->name : "(none)", name);
    } else {
        *handle = h;
        *desc = d;
        return 0;
    }
    dlclose(h);
    return -1;
}
