/* server/modhost/moddesc.h — opening a module's shared object and checking its descriptor (name,
 * ABI version) and options, shared by mynad's loader (server/modhost/module.c) and
 * `mynad --check-modules` (what `mynactl check` runs), so that both refuse the same
 * modules for the same reasons. */
#ifndef MYNA_MODDESC_H
#define MYNA_MODDESC_H

#include <stddef.h>
#include <stdio.h>

#include "myna/module.h"

struct config;

/* Opens DIR/NAME.so with dlopen flags `dlflags` and checks that it is a Myna module built
 * for this ABI whose descriptor is named NAME. On success *handle (dlclose it) and *desc
 * (valid while the handle is open) are set and 0 is returned; on failure err gets one
 * line saying why and -1 is returned. */
int moddesc_open(const char *dir, const char *name, int dlflags, void **handle,
                 const struct myna_module_desc **desc, char *err, size_t errlen);
/* The checks mynad makes before calling load(), for every module a host of `cfg` enables
 * and their dependencies: the shared object opens, is a Myna module of this ABI, and its
 * config section passes its option table. Problems go to `out` as "PROBLEM: module NAME:
 * why" lines, then "config OK (N modules checked)" if there were none. Returns the number
 * of problems. Runs in mynad (`mynad --check-modules`): a module built with immediate
 * binding resolves its myna_* calls when opened, which only mynad can satisfy. */
int moddesc_check_config(const struct config *cfg, FILE *out);

#endif
