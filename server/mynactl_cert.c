/* server/mynactl_cert.c — certificates (`mynactl cert import`) and hot backups
 * (`mynactl backup`). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "myna/store.h"
#include "server/mynactl.h"
#include "server/store_tools.h"

int cmd_cert(const char *config_path, int argc, char **argv)
{
    fprintf(stderr, "mynactl cert: not built yet\n");
    return EXIT_ERR;
}

/* A consistent copy of the whole database while mynad runs (LMDB readers never block
 * writers): mdb_env_copy2 with compaction into an empty directory. */
int cmd_backup(const char *config_path, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: mynactl backup DIR   (DIR: a new or empty directory)\n");
        return EXIT_ERR;
    }
    struct ctl c;
    if (ctl_open(&c, config_path) != 0) {
        ctl_close(&c);
        return EXIT_ERR;
    }
    int rc = EXIT_ERR;
    if (mkdir(argv[0], 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mynactl: %s: %s\n", argv[0], strerror(errno));
    } else {
        mode_t old = umask(077); /* the copy holds password hashes */
        int err = store_copy(c.env, argv[0]);
        umask(old);
        if (err == -EEXIST)
            fprintf(stderr, "mynactl: %s already holds a database: give an empty directory\n",
                    argv[0]);
        else if (err != 0)
            fprintf(stderr, "mynactl: backup into %s failed: %s\n", argv[0],
                    myna_store_strerror(err));
        else {
            printf("backup written to %s/data.mdb (restore: stop mynad, put it in data_dir)\n",
                   argv[0]);
            rc = EXIT_OK;
        }
    }
    ctl_close(&c);
    return rc;
}
