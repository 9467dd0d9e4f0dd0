/* server/store/store_tools.h — storage operations for the server and tools, not modules:
 * hot copies of the whole environment for backups (`mynactl backup`), and settling a
 * request's writes before it is answered. Implemented in server/store/store.c. */
#ifndef MYNA_STORE_TOOLS_H
#define MYNA_STORE_TOOLS_H

#include "myna/store.h"

/* Writes a consistent, compacted copy of the environment into the existing empty
 * directory `dir` (mdb_env_copy2) while others keep reading and writing. */
int store_copy(struct myna_store_env *env, const char *dir);

/* Near the end of the room ("careful" mode, see store.c) and inside the outermost unit (a
 * request): commits the unit's writes so far and the batch now, synced, so that what the
 * request answers next can say whether they are on disk (a commit that fails there fails
 * this unit only, and the answer becomes an error instead of a connection drop). Returns
 * the unit's error (0: all on disk). Elsewhere it only returns the unit's error. */
int store_settle(struct myna_store_env *env);

#endif
