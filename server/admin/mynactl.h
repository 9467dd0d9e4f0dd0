/* server/admin/mynactl.h — what the parts of mynactl share: the config and store handle of
 * account commands, mynad's control socket (live operations) or mynad --batch in its
 * place, and the commands implemented in their own files (mynactl_check.c,
 * mynactl_pie.c, mynactl_cert.c). Exit codes: 0 ok, 1 usage or error, 2 the user exists
 * (adduser) / does not exist. */
#ifndef MYNA_MYNACTL_H
#define MYNA_MYNACTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/types.h>

#include "myna/jid.h"
#include "myna/store.h"
#include "server/base/config.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USER = 2 };

/* What every account command needs: the config, the store, and an arena for JIDs. */
struct ctl {
    struct config cfg;
    struct myna_store_env *env;
    struct myna_store *accounts;
    struct myna_arena *arena;
};

int load_config(const char *path, struct config *cfg);
/* Loads the config, gives up root (to `user`), opens the store. */
int ctl_open(struct ctl *c, const char *config_path);
/* Commits everything (synced) and releases; -1 if the commit failed. */
int ctl_close(struct ctl *c);
/* Gives up root for the config's `user` (before touching the data directory). */
int ctl_drop_privileges(const struct config *cfg);

/* A connection to mynad's control socket; -1 when mynad is not running there (errno:
 * ECONNREFUSED/ENOENT), or -2 when it runs but refuses us (permissions). */
int daemon_connect(const char *data_dir);
/* Sends one command line and reads the whole reply. 0, or -1 if mynad is not there. */
int daemon_request(const char *data_dir, const char *cmd, char *reply, size_t len);
/* A connection to mynad: the running one, or a mynad --batch started for this command
 * (*child gets its pid, else 0). -1 with a message printed on failure. */
int daemon_or_batch(const char *config_path, const struct config *cfg, pid_t *child);
/* The mynad next to this mynactl (a build tree, or the installed sbin directory), or
 * $MYNAD. */
void mynad_path(char *out, size_t len);
/* Waits for a batch mynad; returns its exit status (or 1 if it died). */
int batch_wait(pid_t child);

/* A PEM certificate or private key from a file; NULL if unreadable (mynactl_cert.c). */
X509 *ctl_read_cert(const char *path);
EVP_PKEY *ctl_read_key(const char *path);

int cmd_check(const char *config_path);
int cmd_import(const char *config_path, int argc, char **argv);
int cmd_export(const char *config_path, int argc, char **argv);
int cmd_cert(const char *config_path, int argc, char **argv);
int cmd_backup(const char *config_path, int argc, char **argv);

#endif
