/* server/admin/mynactl.c — the admin tool: command line, accounts (one at a time or in bulk),
 * and the way to mynad: its control socket for live operations, or mynad --batch when it
 * is not running. Checks, XEP-0227 import/export and certificates are in mynactl_*.c.
 *
 * Account commands open the same LMDB environment as mynad (LMDB allows several
 * processes), make their writes in one batch and commit it (synced) before exiting; run as
 * root they first switch to the config's `user`, so nothing in the data directory ends up
 * owned by root.
 * Exit codes: 0 ok, 1 usage or error, 2 the user exists (adduser) / does not exist.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "myna/jid.h"
#include "myna/store.h"
#include "server/admin/mynactl.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/base/privs.h"
#include "server/store/accounts.h"

#ifndef MYNA_SYSCONFDIR
#define MYNA_SYSCONFDIR "/etc"
#endif
#ifndef MYNA_SBINDIR
#define MYNA_SBINDIR "/usr/local/sbin"
#endif
#define DEFAULT_CONFIG MYNA_SYSCONFDIR "/myna/myna.conf"
#define BULK_CHUNK 10000 /* accounts per transaction in a bulk add */

static void usage(FILE *out)
{
    fputs("usage: mynactl [-c FILE] COMMAND [ARGS]\n"
          "  adduser JID [PASSWORD]  create an account (password read from stdin if omitted)\n"
          "  adduser -f FILE|-       create many accounts, one 'JID PASSWORD' per line\n"
          "  passwd JID [PASSWORD]   change an account's password\n"
          "  deluser JID             delete an account\n"
          "  users DOMAIN            list the accounts of a host, one JID per line\n"
          "  check                   config, modules, certificates, DNS, ports\n"
          "  reload                  make mynad re-read its config (needs the daemon)\n"
          "  stats                   show mynad's counters (needs the daemon)\n"
          "  s2s                     list server-to-server connections (needs the daemon)\n"
          "  s2s close DOMAIN        close the connections with a remote domain\n"
          "  import [--dry-run] PATH...  read XEP-0227 files (or directories of them, or -)\n"
          "  export [--host DOMAIN]... [FILE]  write a XEP-0227 file (default: stdout)\n"
          "  cert import DIR         take certificates from a certbot live directory\n"
          "  backup DIR              hot copy of the database into the empty directory DIR\n"
          "options:\n"
          "  -c FILE   configuration file (default " DEFAULT_CONFIG ")\n"
          "A password given on the command line is visible to other local users (ps):\n"
          "prefer typing it or piping it on stdin.\n"
          "exit status: 0 ok, 1 error, 2 user already exists / not found\n",
          out);
}

int load_config(const char *path, struct config *cfg)
{
    char err[1024];
    if (config_load(path, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "mynactl: %s\n", err);
        return -1;
    }
    return 0;
}

int ctl_drop_privileges(const struct config *cfg)
{
    char err[512];
    if (privs_drop(cfg->user, err, sizeof err) < 0) {
        fprintf(stderr, "mynactl: %s\n", err);
        return -1;
    }
    return 0;
}

int ctl_open(struct ctl *c, const char *config_path)
{
    memset(c, 0, sizeof(*c));
    if (load_config(config_path, &c->cfg) != 0 || ctl_drop_privileges(&c->cfg) != 0)
        return -1;
    c->arena = myna_arena_new();
    int rc = myna_store_env_open(c->cfg.data_dir, c->cfg.store_map_mb, &c->env);
    if (rc == 0)
        rc = myna_store_table(c->env, "accounts", &c->accounts);
    if (rc != 0) {
        fprintf(stderr, "mynactl: cannot open the store in %s: %s\n", c->cfg.data_dir,
                myna_store_strerror(rc));
        return -1;
    }
    return 0;
}

int ctl_close(struct ctl *c)
{
    int rc = 0;
    if (c->env) {
        rc = myna_store_env_flush(c->env);
        if (rc != 0)
            fprintf(stderr, "mynactl: commit failed: %s\n", myna_store_strerror(rc));
        myna_store_env_close(c->env);
    }
    myna_arena_free(c->arena);
    config_free(&c->cfg);
    return rc == 0 ? 0 : -1;
}

/* Parses a user JID: node required, no resource, domain a configured host. */
static int user_jid(struct ctl *c, const char *s, struct myna_jid *j)
{
    if (myna_jid_parse(c->arena, s, j) != 0 || !j->node || j->resource) {
        fprintf(stderr, "mynactl: '%s' is not a valid user JID (user@host)\n", s);
        return -1;
    }
    if (!config_find_host(&c->cfg, j->domain)) {
        fprintf(stderr, "mynactl: %s is not a host of this server (see %s)\n", j->domain,
                c->cfg.path);
        return -1;
    }
    return 0;
}

/* Reads the first line of stdin as the password, without echo on a terminal. */
static char *read_password(void)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO);
    if (tty) {
        fputs("Password: ", stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static int cmd_setpass(struct ctl *c, int argc, char **argv, bool create)
{
    struct myna_jid j;
    if (argc < 1 || argc > 2) {
        usage(stderr);
        return EXIT_ERR;
    }
    if (user_jid(c, argv[0], &j) != 0)
        return EXIT_ERR;
    bool exists = account_exists(c->accounts, j.node, j.domain);
    if (create && exists) {
        fprintf(stderr, "mynactl: %s already exists\n", j.bare);
        return EXIT_USER;
    }
    if (!create && !exists) {
        fprintf(stderr, "mynactl: no such user %s\n", j.bare);
        return EXIT_USER;
    }
    char *password = argc == 2 ? strdup(argv[1]) : read_password();
    if (!password || !*password) {
        fprintf(stderr, "mynactl: empty password\n");
        free(password);
        return EXIT_ERR;
    }
    struct account acc;
    int rc = account_derive(password, c->cfg.scram_iterations, &acc);
    memset(password, 0, strlen(password));
    free(password);
    if (rc != 0) {
        fprintf(stderr, "mynactl: the password contains characters SASLprep prohibits "
                        "(RFC 4013), e.g. control characters\n");
        return EXIT_ERR;
    }
    /* The derivation took a while: another process may have raced us. */
    rc = account_put(c->accounts, j.node, j.domain, &acc, !create);
    if (rc == ACCOUNT_EXISTS) {
        fprintf(stderr, "mynactl: %s already exists\n", j.bare);
        return EXIT_USER;
    }
    if (rc != 0) {
        fprintf(stderr, "mynactl: cannot store %s: %s\n", j.bare, myna_store_strerror(rc));
        return EXIT_ERR;
    }
    if (myna_store_env_flush(c->env) != 0) {
        fprintf(stderr, "mynactl: commit failed: %s not saved\n", j.bare);
        return EXIT_ERR;
    }
    printf("%s %s\n", create ? "created" : "password changed for", j.bare);
    /* A running mynad tells its modules (MYNA_EVENT_USER_CREATED), or ends the sessions
     * opened with the old password. */
    char cmd[2100], reply[256];
    snprintf(cmd, sizeof cmd, "%s %s", create ? "user-created" : "password-changed", j.bare);
    int drc = daemon_request(c->cfg.data_dir, cmd, reply, sizeof reply);
    if (!create) {
        unsigned n = 0;
        if (drc == 0 && sscanf(reply, "ok: %u", &n) == 1)
            printf("%u session(s) of %s ended\n", n, j.bare);
        else if (drc != 0)
            printf("mynad is not running: no session of %s to end\n", j.bare);
        else
            printf("mynad did not end the sessions of %s: %s", j.bare, reply);
    }
    return EXIT_OK;
}

static int cmd_deluser(struct ctl *c, int argc, char **argv)
{
    struct myna_jid j;
    if (argc != 1) {
        usage(stderr);
        return EXIT_ERR;
    }
    if (user_jid(c, argv[0], &j) != 0)
        return EXIT_ERR;
    /* A running mynad does it itself: it ends the user's sessions and tells the modules. */
    char cmd[2100], reply[4096];
    snprintf(cmd, sizeof cmd, "deluser %s", j.bare);
    int drc = daemon_request(c->cfg.data_dir, cmd, reply, sizeof reply);
    if (drc == 0) {
        fputs(reply, strncmp(reply, "error", 5) == 0 ? stderr : stdout);
        return strncmp(reply, "ok", 2) == 0
                   ? EXIT_OK
                   : (strstr(reply, "no such user") ? EXIT_USER : EXIT_ERR);
    }
    int rc = account_purge(c->env, c->accounts, j.node, j.domain);
    if (rc == ACCOUNT_NOTFOUND) {
        fprintf(stderr, "mynactl: no such user %s\n", j.bare);
        return EXIT_USER;
    }
    if (rc != 0) {
        fprintf(stderr, "mynactl: cannot delete %s: %s\n", j.bare, myna_store_strerror(rc));
        return EXIT_ERR;
    }
    /* mynad is not running: the account and every key "user@host\0..." in the other
     * tables (the modules' per-user data) went in the same batch. */
    if (myna_store_env_flush(c->env) != 0) {
        fprintf(stderr, "mynactl: commit failed: %s not deleted\n", j.bare);
        return EXIT_ERR;
    }
    printf("deleted %s\n", j.bare);
    return EXIT_OK;
}

static void print_user(const char *node, void *data)
{
    printf("%s@%s\n", node, (const char *)data);
}

static int cmd_users(struct ctl *c, int argc, char **argv)
{
    if (argc != 1) {
        usage(stderr);
        return EXIT_ERR;
    }
    const char *domain = myna_jid_nameprep(c->arena, argv[0]);
    if (!domain || !config_find_host(&c->cfg, domain)) {
        fprintf(stderr, "mynactl: %s is not a host of this server\n", argv[0]);
        return EXIT_ERR;
    }
    int rc = account_list(c->accounts, domain, print_user, (void *)domain);
    if (rc != 0) {
        fprintf(stderr, "mynactl: cannot list users: %s\n", myna_store_strerror(rc));
        return EXIT_ERR;
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERR;
}

/* ---- adduser -f: many accounts, derived in parallel, committed together ---- */

struct bulk_item {
    char *jid;            /* as written, for messages */
    struct myna_jid j;
    char *password;
    struct account acc;
    int rc;               /* 0 derived, -1 SASLprep refused the password */
};

struct bulk {
    struct bulk_item *items;
    size_t n;
    size_t next;          /* next item to derive (under lock) */
    unsigned iterations;  /* PBKDF2 rounds (the config's scram_iterations) */
    pthread_mutex_t lock;
};

static void *bulk_worker(void *arg)
{
    struct bulk *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n)
            return NULL;
        struct bulk_item *it = &b->items[i];
        it->rc = account_derive(it->password, b->iterations, &it->acc);
        memset(it->password, 0, strlen(it->password));
    }
}

/* PBKDF2 for every item, on as many threads as there are CPUs (at most 8). */
static void bulk_derive(struct bulk *b)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
    pthread_t th[8];
    b->next = 0;
    pthread_mutex_init(&b->lock, NULL);
    size_t started = 0;
    for (; started < nt; started++)
        if (pthread_create(&th[started], NULL, bulk_worker, b) != 0)
            break;
    if (started == 0)
        bulk_worker(b);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&b->lock);
}

static void bulk_clear(struct bulk *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].jid);
        free(b->items[i].password);
    }
    b->n = 0;
}

struct bulk_counts {
    unsigned long created, existed, refused;
};

/* Derives, stores and commits one chunk: one transaction. */
static int bulk_commit(struct ctl *c, struct bulk *b, struct bulk_counts *k, bool daemon)
{
    bulk_derive(b);
    for (size_t i = 0; i < b->n; i++) {
        struct bulk_item *it = &b->items[i];
        int rc = it->rc == 0 ? account_put(c->accounts, it->j.node, it->j.domain, &it->acc,
                                          false) : -1;
        if (rc == ACCOUNT_EXISTS) {
            fprintf(stderr, "mynactl: %s already exists (skipped)\n", it->j.bare);
            k->existed++;
            it->rc = 1;
        } else if (rc != 0) {
            fprintf(stderr, "mynactl: %s not created: %s\n", it->jid,
                    it->rc ? "the password has characters SASLprep refuses (RFC 4013)"
                           : myna_store_strerror(rc));
            k->refused++;
            it->rc = 1;
        }
    }
    if (myna_store_env_flush(c->env) != 0) {
        fprintf(stderr, "mynactl: commit failed: the last %zu accounts were not saved\n", b->n);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].rc != 0)
            continue;
        k->created++;
        if (daemon) {
            char cmd[2100], reply[256];
            snprintf(cmd, sizeof cmd, "user-created %s", b->items[i].j.bare);
            daemon_request(c->cfg.data_dir, cmd, reply, sizeof reply);
        }
    }
    return 0;
}

/* One account per line: "JID PASSWORD" (the password is the rest of the line); blank
 * lines and lines starting with '#' are skipped. A bad line stops before anything is
 * written for its chunk. */
static int cmd_adduser_bulk(struct ctl *c, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
        return EXIT_ERR;
    }
    struct bulk b = {.items = calloc(BULK_CHUNK, sizeof(struct bulk_item)),
                     .iterations = c->cfg.scram_iterations};
    struct bulk_counts k = {0};
    char probe[16];
    bool daemon = daemon_request(c->cfg.data_dir, "stats", probe, sizeof probe) == 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = EXIT_OK;
    while (rc == EXIT_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *s = line + strspn(line, " \t");
        if (!*s || *s == '#')
            continue;
        char *sp = s + strcspn(s, " \t");
        char *pw = *sp ? sp + 1 + strspn(sp + 1, " \t") : sp;
        *sp = '\0';
        struct bulk_item *it = &b.items[b.n];
        memset(it, 0, sizeof *it);
        if (!*pw) {
            fprintf(stderr, "mynactl: %s:%zu: no password after the JID\n", path, lineno);
            rc = EXIT_ERR;
            break;
        }
        if (user_jid(c, s, &it->j) != 0) {
            fprintf(stderr, "mynactl: %s:%zu: line refused\n", path, lineno);
            rc = EXIT_ERR;
            break;
        }
        it->jid = strdup(s);
        it->password = strdup(pw);
        if (!it->jid || !it->password)
            abort();
        if (++b.n == BULK_CHUNK) {
            if (bulk_commit(c, &b, &k, daemon) != 0)
                rc = EXIT_ERR;
            bulk_clear(&b);
        }
    }
    if (rc == EXIT_OK && b.n && bulk_commit(c, &b, &k, daemon) != 0)
        rc = EXIT_ERR;
    bulk_clear(&b);
    free(b.items);
    if (line)
        memset(line, 0, cap);
    free(line);
    if (f != stdin)
        fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("created %lu accounts in %.2f s (%.0f accounts/s); %lu already existed, %lu refused\n",
           k.created, secs, secs > 0 ? (double)k.created / secs : 0.0, k.existed, k.refused);
    if (rc == EXIT_OK && (k.refused || k.existed))
        rc = k.refused ? EXIT_ERR : EXIT_USER;
    return rc;
}

/* ---- the way to mynad ---- */

int daemon_connect(const char *data_dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/mynad.sock", data_dir) >=
        sizeof sa.sun_path)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return e == EACCES || e == EPERM ? -2 : -1;
    }
    return fd;
}

/* Sends one command line to mynad's control socket (DATA_DIR/mynad.sock, see
 * server/admin/control.c) and reads the whole reply. Returns 0, or -1 if mynad is not there. */
int daemon_request(const char *data_dir, const char *cmd, char *reply, size_t len)
{
    int fd = daemon_connect(data_dir);
    if (fd < 0)
        return -1;
    size_t cl = strlen(cmd);
    if (write(fd, cmd, cl) != (ssize_t)cl || write(fd, "\n", 1) != 1) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < len && (r = read(fd, reply + got, len - 1 - got)) > 0)
        got += (size_t)r;
    reply[got] = 0;
    close(fd);
    return 0;
}

void mynad_path(char *out, size_t len)
{
    const char *env = getenv("MYNAD");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    char self[PATH_MAX - 8];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(out, len, "%s/mynad", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, len, "%s/mynad", MYNA_SBINDIR);
}

int daemon_or_batch(const char *config_path, const struct config *cfg, pid_t *child)
{
    *child = 0;
    int fd = daemon_connect(cfg->data_dir);
    if (fd >= 0)
        return fd;
    if (fd == -2) {
        fprintf(stderr, "mynactl: mynad runs but its control socket refuses us: run as root "
                        "or as the user mynad runs as\n");
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("mynactl: socketpair");
        return -1;
    }
    char mynad[PATH_MAX];
    mynad_path(mynad, sizeof mynad);
    pid_t pid = fork();
    if (pid < 0) {
        perror("mynactl: fork");
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        if (dup2(sv[1], STDIN_FILENO) < 0)
            _exit(127);
        execl(mynad, mynad, "-c", config_path, "--batch", (char *)NULL);
        fprintf(stderr, "mynactl: cannot run %s: %s\n", mynad, strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    *child = pid;
    return sv[0];
}

int batch_wait(pid_t child)
{
    int st;
    while (waitpid(child, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    fprintf(stderr, "mynactl: mynad --batch died (signal %d)\n", WTERMSIG(st));
    return 1;
}

static int cmd_daemon(const char *config_path, const char *name)
{
    struct config cfg;
    char err[1024], reply[16384];
    if (config_load(config_path, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "mynactl: %s\n", err);
        return EXIT_ERR;
    }
    int rc = daemon_request(cfg.data_dir, name, reply, sizeof reply);
    config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "mynactl %s: mynad is not running (no control socket in data_dir)\n",
                name);
        return EXIT_ERR;
    }
    bool bad = strncmp(reply, "error", 5) == 0;
    fputs(reply, bad ? stderr : stdout);
    return bad ? EXIT_ERR : EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    int opt;
    while ((opt = getopt(argc, argv, "+c:h")) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_ERR;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_ERR;
    }
    log_init(MYNA_LOG_WARN, false);
    const char *cmd = argv[optind];
    int nargs = argc - optind - 1;
    char **args = argv + optind + 1;

    if (strcmp(cmd, "check") == 0)
        return nargs == 0 ? cmd_check(config_path) : (usage(stderr), EXIT_ERR);
    if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "stats") == 0)
        return nargs == 0 ? cmd_daemon(config_path, cmd) : (usage(stderr), EXIT_ERR);
    if (strcmp(cmd, "s2s") == 0) {
        char line[1100];
        if (nargs == 0)
            return cmd_daemon(config_path, "s2s");
        if (nargs == 2 && strcmp(args[0], "close") == 0 && strlen(args[1]) < 1024 &&
            !strpbrk(args[1], " \n")) {
            snprintf(line, sizeof line, "s2s-close %s", args[1]);
            return cmd_daemon(config_path, line);
        }
        usage(stderr);
        return EXIT_ERR;
    }
    if (strcmp(cmd, "import") == 0)
        return cmd_import(config_path, nargs, args);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(config_path, nargs, args);
    if (strcmp(cmd, "cert") == 0)
        return cmd_cert(config_path, nargs, args);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(config_path, nargs, args);

    static const char *const account_cmds[] = {"adduser", "passwd", "deluser", "users", NULL};
    bool known = false;
    for (const char *const *k = account_cmds; *k; k++)
        known = known || strcmp(cmd, *k) == 0;
    if (!known) {
        fprintf(stderr, "mynactl: unknown command '%s'\n", cmd);
        usage(stderr);
        return EXIT_ERR;
    }

    struct ctl c;
    int rc;
    if (ctl_open(&c, config_path) != 0) {
        ctl_close(&c);
        return EXIT_ERR;
    }
    if (strcmp(cmd, "adduser") == 0 && nargs == 2 && strcmp(args[0], "-f") == 0)
        rc = cmd_adduser_bulk(&c, args[1]);
    else if (strcmp(cmd, "adduser") == 0)
        rc = cmd_setpass(&c, nargs, args, true);
    else if (strcmp(cmd, "passwd") == 0)
        rc = cmd_setpass(&c, nargs, args, false);
    else if (strcmp(cmd, "deluser") == 0)
        rc = cmd_deluser(&c, nargs, args);
    else
        rc = cmd_users(&c, nargs, args);
    if (ctl_close(&c) != 0 && rc == EXIT_OK)
        rc = EXIT_ERR;
    return rc;
}
