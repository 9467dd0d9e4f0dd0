/* server/admin/mynactl_cert.c — certificates from certbot (`mynactl cert import`) and hot
 * backups (`mynactl backup`): the two file-handling chores of running a server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "myna/store.h"
#include "server/admin/mynactl.h"
#include "server/store/store_tools.h"

/* ---- cert import ----
 * certbot keeps DIR/NAME/fullchain.pem and DIR/NAME/privkey.pem per certificate (symlinks
 * into ../../archive). For each host of the config the best match is taken: the entry
 * named after the host, else any whose certificate is valid for the host, the latest
 * expiry first. It is written over the host's configured certificate and key (a temporary
 * file renamed into place, owner and mode of the file it replaces kept; a new key is
 * root:GROUP 0640 with the group of `user`, so mynad can read it after giving up root),
 * and a running mynad is told to reload, which new connections see. */

struct cand {
    char dir[PATH_MAX];
    X509 *cert;
    EVP_PKEY *key;
};

X509 *ctl_read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return c;
}

EVP_PKEY *ctl_read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

/* The certificate directory in `live` for `domain`, or false. */
static bool find_cand(const char *live, const char *domain, struct cand *best)
{
    DIR *d = opendir(live);
    if (!d)
        return false;
    bool found = false, exact = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct cand c;
        char path[PATH_MAX + 32];
        snprintf(c.dir, sizeof c.dir, "%s/%s", live, e->d_name);
        snprintf(path, sizeof path, "%s/fullchain.pem", c.dir);
        c.cert = ctl_read_cert(path);
        if (!c.cert)
            continue;
        bool named = strcmp(e->d_name, domain) == 0;
        bool better = X509_check_host(c.cert, domain, 0, 0, NULL) == 1 &&
                      X509_cmp_current_time(X509_get0_notAfter(c.cert)) > 0 &&
                      (!found || (named && !exact) ||
                       (named == exact && ASN1_TIME_compare(X509_get0_notAfter(c.cert),
                                                            X509_get0_notAfter(best->cert)) > 0));
        if (better) {
            if (found)
                X509_free(best->cert);
            *best = c;
            found = true;
            exact = named;
        } else {
            X509_free(c.cert);
        }
    }
    closedir(d);
    if (found) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/privkey.pem", best->dir);
        best->key = ctl_read_key(path);
    }
    return found;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 4096 > cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 16384)))
            abort();
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0 && n < (16u << 20));
    fclose(f);
    *len = n;
    return buf;
}

/* Writes `data` over `dest` atomically, keeping the owner and mode of what it replaces.
 * 1 written, 0 already identical, -1 error. */
static int replace_file(const char *dest, const char *data, size_t len, mode_t mode, uid_t uid,
                        gid_t gid)
{
    size_t oldlen;
    char *old = slurp(dest, &oldlen);
    if (old && oldlen == len && memcmp(old, data, len) == 0) {
        free(old);
        return 0;
    }
    free(old);
    struct stat st;
    if (stat(dest, &st) == 0) {
        mode = st.st_mode & 07777;
        uid = st.st_uid;
        gid = st.st_gid;
    }
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.new", dest);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "mynactl: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    bool ok = write(fd, data, len) == (ssize_t)len && fchown(fd, uid, gid) == 0 &&
              fchmod(fd, mode) == 0 && fsync(fd) == 0;
    if (close(fd) != 0 || !ok || rename(tmp, dest) != 0) {
        fprintf(stderr, "mynactl: cannot write %s: %s\n", dest, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 1;
}

int cmd_cert(const char *config_path, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "import") != 0) {
        fprintf(stderr, "usage: mynactl cert import DIR   (a certbot live directory, e.g. "
                        "/etc/letsencrypt/live)\n");
        return EXIT_ERR;
    }
    const char *live = argv[1];
    struct config cfg;
    if (load_config(config_path, &cfg) != 0)
        return EXIT_ERR;
    gid_t key_gid = getgid();
    struct passwd *pw = cfg.user ? getpwnam(cfg.user) : NULL;
    if (pw)
        key_gid = pw->pw_gid;
    int changed = 0, failed = 0, missing = 0;
    for (size_t i = 0; i < cfg.nhosts; i++) {
        const struct config_host *h = &cfg.hosts[i];
        struct cand c;
        if (!find_cand(live, h->domain, &c)) {
            printf("host %s: no valid certificate for it in %s: left as it is\n", h->domain,
                   live);
            missing++;
            continue;
        }
        char path[PATH_MAX + 32];
        size_t clen = 0, klen = 0;
        snprintf(path, sizeof path, "%s/fullchain.pem", c.dir);
        char *cdata = slurp(path, &clen);
        snprintf(path, sizeof path, "%s/privkey.pem", c.dir);
        char *kdata = slurp(path, &klen);
        int rc1 = -1, rc2 = -1;
        if (!c.key || X509_check_private_key(c.cert, c.key) != 1 || !cdata || !kdata) {
            fprintf(stderr, "mynactl: %s: privkey.pem is missing, unreadable or does not "
                            "match fullchain.pem\n", c.dir);
        } else {
            /* The key first: a certificate never sits next to a key it does not match
             * for longer than between the two renames. */
            rc2 = replace_file(h->key, kdata, klen, 0640, 0, key_gid);
            rc1 = rc2 < 0 ? -1 : replace_file(h->certificate, cdata, clen, 0644, 0, 0);
        }
        if (kdata)
            OPENSSL_cleanse(kdata, klen);
        free(cdata);
        free(kdata);
        X509_free(c.cert);
        EVP_PKEY_free(c.key);
        if (rc1 < 0 || rc2 < 0) {
            failed++;
        } else if (rc1 || rc2) {
            changed++;
            printf("host %s: certificate and key taken from %s\n", h->domain, c.dir);
        } else {
            printf("host %s: unchanged (same as %s)\n", h->domain, c.dir);
        }
    }
    if (changed) {
        char reply[1200];
        if (daemon_request(cfg.data_dir, "reload", reply, sizeof reply) == 0)
            printf("mynad: %s", reply);
        else
            printf("mynad is not running: it reads them when it starts\n");
    }
    bool none = missing == (int)cfg.nhosts;
    config_free(&cfg);
    return failed || none ? EXIT_ERR : EXIT_OK;
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
