/* tests/e2e/e2e_adduser.c — test-only stand-in for `mynactl adduser` while mynactl is not
 * built: writes SCRAM credentials for user@host into DATA_DIR's "accounts" table through the
 * same server/store/accounts.c code mynactl uses. The harness prefers mynactl when it exists.
 * Usage: e2e_adduser DATA_DIR MAP_MB user@host password */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/accounts.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DATA_DIR MAP_MB user@host password\n", argv[0]);
        return 2;
    }
    char node[256];
    const char *at = strchr(argv[3], '@');
    if (!at || (size_t)(at - argv[3]) >= sizeof node) {
        fprintf(stderr, "bad JID %s\n", argv[3]);
        return 2;
    }
    memcpy(node, argv[3], (size_t)(at - argv[3]));
    node[at - argv[3]] = '\0';
    struct myna_store_env *env = NULL;
    struct myna_store *accounts = NULL;
    struct account acc;
    if (myna_store_env_open(argv[1], (size_t)atoi(argv[2]), &env) != 0 ||
        myna_store_table(env, "accounts", &accounts) != 0) {
        fprintf(stderr, "cannot open the store in %s\n", argv[1]);
        return 1;
    }
    int rc = account_derive(argv[4], 0, &acc) == 0 ? account_put(accounts, node, at + 1, &acc, false)
                                                : -1;
    if (rc == 0)
        rc = myna_store_env_flush(env);
    myna_store_env_close(env);
    if (rc != 0)
        fprintf(stderr, "adding %s failed (%d)\n", argv[3], rc);
    return rc == 0 ? 0 : 1;
}
