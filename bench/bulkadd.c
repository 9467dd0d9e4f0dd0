/* bench/bulkadd.c: myna-bench-adduser, bulk accounts for benchmarks only. Writes
 * PREFIX<from>..PREFIX<to>@HOST with one password into DATA_DIR's "accounts" table through
 * server/store/accounts.c (the code mynactl uses). PBKDF2 runs once: every account shares the
 * same salt, as Prosody's copied account files do in bench/run.sh. Never for real servers.
 * Usage: myna-bench-adduser DATA_DIR MAP_MB HOST PREFIX FROM TO PASSWORD */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "server/store/accounts.h"

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s DATA_DIR MAP_MB HOST PREFIX FROM TO PASSWORD\n", argv[0]);
        return 2;
    }
    unsigned long from = strtoul(argv[5], NULL, 10), to = strtoul(argv[6], NULL, 10);
    struct myna_store_env *env = NULL;
    struct myna_store *accounts = NULL;
    struct account acc;
    if (myna_store_env_open(argv[1], (size_t)atoi(argv[2]), &env) != 0
        || myna_store_table(env, "accounts", &accounts) != 0) {
        fprintf(stderr, "cannot open the store in %s\n", argv[1]);
        return 1;
    }
    int rc = account_derive(argv[7], 0, &acc);
    for (unsigned long i = from; rc == 0 && i <= to; i++) {
        char node[128];
        snprintf(node, sizeof node, "%s%lu", argv[4], i);
        rc = account_put(accounts, node, argv[3], &acc, true);
        if (rc == 0 && i % 1000 == 0)
            rc = myna_store_env_flush(env);
    }
    if (rc == 0)
        rc = myna_store_env_flush(env);
    myna_store_env_close(env);
    if (rc != 0)
        fprintf(stderr, "adding accounts failed (%d)\n", rc);
    return rc == 0 ? 0 : 1;
}
