/* server/mynactl.c — the admin tool: accounts, config and certificate checks.
 *
 * Works while mynad runs: it opens the same LMDB environment (LMDB allows several
 * processes), makes its writes in one short batch and commits it (synced) before exiting.
 * Live operations (reload, stats, and deluser while mynad runs) go through mynad's control
 * socket.
 * Exit codes: 0 ok, 1 usage or error, 2 the user exists (adduser) / does not exist.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "myna/jid.h"
#include "myna/store.h"
#include "server/accounts.h"
#include "server/config.h"
#include "server/log.h"
#include "server/moddesc.h"

#ifndef MYNA_SYSCONFDIR
#define MYNA_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG MYNA_SYSCONFDIR "/myna/myna.conf"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USER = 2 };

/* What every account command needs: the config, the store, and an arena for JIDs. */
struct ctl {
    struct config cfg;
    struct myna_store_env *env;
    struct myna_store *accounts;
    struct myna_arena *arena;
};

static void usage(FILE *out)
{
    fputs("usage: mynactl [-c FILE] COMMAND [ARGS]\n"
          "  adduser JID [PASSWORD]  create an account (password read from stdin if omitted)\n"
          "  passwd JID [PASSWORD]   change an account's password\n"
          "  deluser JID             delete an account\n"
          "  users DOMAIN            list the accounts of a host, one JID per line\n"
          "  check                   validate the config, module options, certificates, keys\n"
          "  reload                  make mynad re-read its config (needs the daemon)\n"
          "  stats                   show mynad's counters (needs the daemon)\n"
          "options:\n"
          "  -c FILE   configuration file (default " DEFAULT_CONFIG ")\n"
          "A password given on the command line is visible to other local users (ps):\n"
          "prefer typing it or piping it on stdin.\n"
          "exit status: 0 ok, 1 error, 2 user already exists / not found\n",
          out);
}

static int load_config(const char *path, struct config *cfg)
{
    char err[1024];
    if (config_load(path, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "mynactl: %s\n", err);
        return -1;
    }
    return 0;
}

static int ctl_open(struct ctl *c, const char *config_path)
{
    memset(c, 0, sizeof(*c));
    if (load_config(config_path, &c->cfg) != 0)
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

/* Commits everything (synced) and releases; returns -1 if the commit failed. */
static int ctl_close(struct ctl *c)
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

/* adduser and passwd: derive credentials and store them. */
static int daemon_request(const char *data_dir, const char *cmd, char *reply, size_t len);

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
    int rc = account_derive(password, &acc);
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
    if (create) {
        /* Let a running mynad tell its modules (MYNA_EVENT_USER_CREATED). */
        char cmd[2100], reply[256];
        snprintf(cmd, sizeof cmd, "user-created %s", j.bare);
        daemon_request(c->cfg.data_dir, cmd, reply, sizeof reply);
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

/* Prints the first OpenSSL error (if any) after `what`. */
static void ssl_problem(const char *domain, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "host %s: %s%s%s\n", domain, what, e ? ": " : "", buf);
    ERR_clear_error();
}

/* Checks one host's certificate: loadable, key matches, valid now, names the domain. */
static int check_host(const struct config_host *h)
{
    int problems = 0;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    FILE *f = fopen(h->certificate, "r");
    if (!f || !(cert = PEM_read_X509(f, NULL, NULL, NULL))) {
        ssl_problem(h->domain, "cannot load certificate");
        problems++;
    }
    if (f)
        fclose(f);
    f = fopen(h->key, "r");
    if (!f || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
        ssl_problem(h->domain, "cannot load private key (it must be PEM and unencrypted)");
        problems++;
    }
    if (f)
        fclose(f);
    if (cert && key && X509_check_private_key(cert, key) != 1) {
        ssl_problem(h->domain, "the key does not match the certificate");
        problems++;
    }
    if (cert) {
        if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
            fprintf(stderr, "host %s: certificate not valid yet\n", h->domain);
            problems++;
        }
        if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
            fprintf(stderr, "host %s: certificate expired\n", h->domain);
            problems++;
        }
        /* RFC 6125 rules as OpenSSL implements them (SAN dNSName, wildcards). */
        if (X509_check_host(cert, h->domain, 0, 0, NULL) != 1) {
            fprintf(stderr, "host %s: certificate is not valid for %s\n", h->domain,
                    h->domain);
            problems++;
        }
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    if (problems == 0)
        printf("host %s: certificate OK\n", h->domain);
    return problems;
}

/* Modules already checked by check_module (each once, whatever the number of hosts). */
struct checked {
    char **names;
    size_t n;
};

/* Runs the checks mynad makes before calling a module's load(): the shared object opens,
 * is a Myna module of this ABI, and its config section passes its option table; then the
 * same for its dependencies. Symbols are resolved lazily: the module's calls into mynad
 * are never made here. */
static int check_module(const struct config *cfg, const char *name, struct checked *done,
                        int depth)
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
    if (moddesc_open(cfg->module_path, name, RTLD_LAZY | RTLD_LOCAL, &handle, &desc, err,
                     sizeof err) < 0) {
        fprintf(stderr, "module %s: %s\n", name, err);
        return 1;
    }
    int problems = 0;
    if (config_module_check(cfg, name, desc->options, err, sizeof err) < 0) {
        fprintf(stderr, "module %s: %s\n", name, err);
        problems++;
    }
    for (const char *const *dep = desc->depends; dep && *dep && depth < 16; dep++)
        problems += check_module(cfg, *dep, done, depth + 1);
    dlclose(handle);
    return problems;
}

static int cmd_check(const char *config_path)
{
    struct config cfg;
    if (load_config(config_path, &cfg) != 0)
        return EXIT_ERR;
    int problems = 0;
    struct checked done = {NULL, 0};
    for (size_t i = 0; i < cfg.nhosts; i++)
        for (char **m = cfg.hosts[i].modules; m && *m; m++)
            problems += check_module(&cfg, *m, &done, 0);
    for (size_t i = 0; i < done.n; i++)
        free(done.names[i]);
    free(done.names);
    if (problems == 0)
        printf("config OK (%zu modules checked)\n", done.n);
    for (size_t i = 0; i < cfg.nhosts; i++)
        problems += check_host(&cfg.hosts[i]);
    config_free(&cfg);
    return problems ? EXIT_ERR : EXIT_OK;
}

/* Sends one command line to mynad's control socket (DATA_DIR/mynad.sock, see
 * server/control.c) and reads the whole reply. Returns 0, or -1 if mynad is not there. */
static int daemon_request(const char *data_dir, const char *cmd, char *reply, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/mynad.sock", data_dir) >=
        sizeof sa.sun_path)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
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
    if (strcmp(cmd, "adduser") == 0)
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
