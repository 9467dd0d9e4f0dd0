/* server/moddesc.h — opening a module's shared object and checking its descriptor (name,
 * ABI version), shared by mynad's loader (server/module.c) and `mynactl check`, so that
 * both refuse the same modules for the same reasons. */
#ifndef MYNA_MODDESC_H
#define MYNA_MODDESC_H

#include <stddef.h>

#include "myna/module.h"

/* Opens DIR/NAME.so with dlopen flags `dlflags` and checks that it is a Myna module built
 * for this ABI whose descriptor is named NAME. On success *handle (dlclose it) and *desc
 * (valid while the handle is open) are set and 0 is returned; on failure err gets one
 * line saying why and -1 is returned. */
int moddesc_open(const char *dir, const char *name, int dlflags, void **handle,
                 const struct myna_module_desc **desc, char *err, size_t errlen);

#endif
