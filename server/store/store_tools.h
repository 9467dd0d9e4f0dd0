/* server/store/store_tools.h — storage operations for tools, not modules: hot copies of the
 * whole environment for backups (`mynactl backup`). Implemented in server/store/store.c. */
#ifndef MYNA_STORE_TOOLS_H
#define MYNA_STORE_TOOLS_H

#include "myna/store.h"

/* Writes a consistent, compacted copy of the environment into the existing empty
 * directory `dir` (mdb_env_copy2) while others keep reading and writing. */
int store_copy(struct myna_store_env *env, const char *dir);

#endif
