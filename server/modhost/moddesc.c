/* server/modhost/moddesc.c — see moddesc.h. A module name is [a-z0-9_]+ so that it can never name
 * a path outside the module directory. */
#include "server/modhost/moddesc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/config.h"

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

/* Modules already checked (each once, whatever the number of hosts). */
struct checked {
    char **names;
    size_t n;
};

static int check_module(const struct config *cfg, const char *name, struct checked *done,
                        int depth, FILE *out)
{
    for (size_t i = 0; i < done->n; i++)
        if (strcmp(done->names[i], name) == 0)
            return 0;
    done->names = realloc(done->names, (done->n + 1) * sizeof *done->names);
    if (!done->names)
        abort();
    done->names[done->n++] = strdup(name);
    void *handle;
    const struct myna_module_desc *desc;
    char err[4200];
    /* Lazy binding where the module allows it: its calls into mynad are never made. */
    if (moddesc_open(cfg->module_path, name, RTLD_LAZY | RTLD_LOCAL, &handle, &desc, err,
                     sizeof err) < 0) {
        fprintf(out, "PROBLEM: module %s: %s\n", name, err);
        return 1;
    }
    int problems = 0;
    if (config_module_check(cfg, name, desc->options, err, sizeof err) < 0) {
        fprintf(out, "PROBLEM: module %s: %s\n", name, err);
        problems++;
    }
    for (const char *const *dep = desc->depends; dep && *dep && depth < 16; dep++)
        problems += check_module(cfg, *dep, done, depth + 1, out);
    dlclose(handle);
    return problems;
}

int moddesc_check_config(const struct config *cfg, FILE *out)
{
    struct checked done = {NULL, 0};
    int problems = 0;
    for (size_t i = 0; i < cfg->nhosts; i++)
        for (char **m = cfg->hosts[i].modules; m && *m; m++)
            problems += check_module(cfg, *m, &done, 0, out);
    for (size_t i = 0; i < done.n; i++)
        free(done.names[i]);
    free(done.names);
    if (problems == 0)
        fprintf(out, "config OK (%zu modules checked)\n", done.n);
    fflush(out);
    return problems;
}
