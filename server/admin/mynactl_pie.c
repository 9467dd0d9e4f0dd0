/* server/admin/mynactl_pie.c — `mynactl import` and `mynactl export` (XEP-0227): the client side
 * of the framed control protocol (server/admin/ctlproto.h). mynactl reads and writes the files
 * (as the admin running it, who may read what mynad's user may not) and streams them to
 * the running mynad, or to a mynad --batch it starts when none runs.
 *
 * Inputs: files, directories (their *.xml files in name order), or "-" (stdin). A file's
 * XInclude references (<xi:include href='NAME'/>, as ejabberd's export_piefxis writes:
 * one main file naming one file per host) are sent right after it; only plain names in
 * the same directory are followed, and a file is never sent twice. Exports go to a
 * temporary file renamed into place only when complete, mode 0600 (they hold password
 * hashes).
 */
#include <dirent.h>
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/admin/ctlproto.h"
#include "server/admin/mynactl.h"

#define NS_XINCLUDE "http://www.w3.org/2001/XInclude"
#define SCAN_MAX (16u << 20) /* bytes of a file read for includes before giving up */

/* ---- the list of documents ---- */

struct docs {
    char **paths;       /* real paths, or "-" */
    size_t n;
};

static bool docs_has(const struct docs *d, const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->paths[i], path) == 0)
            return true;
    return false;
}

static void docs_add(struct docs *d, const char *path)
{
    d->paths = realloc(d->paths, (d->n + 1) * sizeof *d->paths);
    if (!d->paths || !(d->paths[d->n] = strdup(path)))
        abort();
    d->n++;
}

struct scan {
    XML_Parser xp;
    char **hrefs;
    size_t n;
    bool bad;           /* a DTD: the file is refused later by mynad anyway */
};

static void XMLCALL scan_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct scan *s = ud;
    const char *sep = strchr(name, '\x01');
    const char *local = sep ? sep + 1 : name;
    if (sep && (size_t)(sep - name) == strlen(NS_XINCLUDE) &&
        strncmp(name, NS_XINCLUDE, (size_t)(sep - name)) == 0 && strcmp(local, "include") == 0) {
        for (; atts[0]; atts += 2) {
            if (strcmp(atts[0], "href") == 0) {
                s->hrefs = realloc(s->hrefs, (s->n + 1) * sizeof *s->hrefs);
                if (!s->hrefs || !(s->hrefs[s->n] = strdup(atts[1])))
                    abort();
                s->n++;
            }
        }
    } else if (strcmp(local, "user") == 0) {
        XML_StopParser(s->xp, XML_FALSE); /* data begins: no includes in this file */
    }
}

static void XMLCALL scan_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                 const XML_Char *pubid, int has_internal_subset)
{
    struct scan *s = ud;
    s->bad = true;
    XML_StopParser(s->xp, XML_FALSE);
}

/* The XInclude hrefs of a file, read up to its first <user/>. */
static void scan_includes(const char *path, struct scan *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    s->xp = XML_ParserCreateNS("UTF-8", '\x01');
    XML_SetUserData(s->xp, s);
    XML_SetStartElementHandler(s->xp, scan_start);
    XML_SetStartDoctypeDeclHandler(s->xp, scan_doctype);
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && total < SCAN_MAX) {
        total += n;
        if (XML_Parse(s->xp, buf, (int)n, XML_FALSE) != XML_STATUS_OK)
            break; /* stopped, or not well-formed (mynad says where) */
    }
    XML_ParserFree(s->xp);
    fclose(f);
}

static int add_file(struct docs *d, const char *path);

/* A file, then the files it includes (plain names next to it only). */
static int add_file(struct docs *d, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (docs_has(d, real))
        return 0;
    docs_add(d, real);
    struct scan s = {0};
    scan_includes(real, &s);
    int rc = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < s.n; i++) {
        const char *h = s.hrefs[i];
        if (rc == 0 && (!*h || strchr(h, '/') || h[0] == '.')) {
            fprintf(stderr, "mynactl: %s includes '%s': only file names in the same "
                            "directory are followed\n", real, h);
            rc = -1;
        } else if (rc == 0) {
            char inc[2 * PATH_MAX];
            snprintf(inc, sizeof inc, "%s/%s", dir, h);
            rc = strlen(inc) < PATH_MAX ? add_file(d, inc) : -1;
        }
        free(s.hrefs[i]);
    }
    free(s.hrefs);
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int only_xml(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0;
}

static int add_path(struct docs *d, const char *path)
{
    if (strcmp(path, "-") == 0) {
        docs_add(d, "-");
        return 0;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(d, path);
    /* Prosody's migrator writes one USER@HOST.xml per user; ejabberd a main file and one
     * per host. Either way: every *.xml file, once. */
    struct dirent **ents;
    int n = scandir(path, &ents, only_xml, by_name);
    if (n < 0) {
        fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, ents[i]->d_name);
        if (rc == 0)
            rc = add_file(d, p);
        free(ents[i]);
    }
    free(ents);
    if (rc == 0 && n == 0)
        fprintf(stderr, "mynactl: %s: no *.xml file in this directory\n", path);
    return rc == 0 && n == 0 ? -1 : rc;
}

/* ---- frames ---- */

/* Moves exactly `len` bytes to (`out`) or from the control socket; -1 if it broke. */
static int transfer_all(int fd, void *data, size_t len, bool out)
{
    char *p = data;
    while (len) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    return transfer_all(fd, (void *)data, len, true);
}

static int read_all(int fd, void *data, size_t len)
{
    return transfer_all(fd, data, len, false);
}

static int send_frame(int fd, enum ctl_frame type, const void *data, size_t len)
{
    unsigned char h[CTL_FRAME_HEAD];
    ctl_frame_head(h, type, len);
    if (write_all(fd, h, sizeof h) != 0)
        return -1;
    return len ? write_all(fd, data, len) : 0;
}

/* Reads frames until the summary: problems to stderr, export bytes to `out` (if any).
 * Returns 0 if mynad reported success, 1 if it reported failure, -1 if the connection
 * broke first. */
static int read_replies(int fd, int out, FILE *summary_to)
{
    static char payload[CTL_FRAME_MAX + 1];
    for (;;) {
        unsigned char h[CTL_FRAME_HEAD];
        if (read_all(fd, h, sizeof h) != 0)
            return -1;
        size_t len = ctl_frame_len(h);
        if (len > CTL_FRAME_MAX || read_all(fd, payload, len) != 0)
            return -1;
        payload[len] = '\0';
        switch (h[0]) {
        case CTL_LINE:
            fprintf(stderr, "mynactl: %s\n", payload);
            break;
        case CTL_BYTES:
            if (out < 0 || write_all(out, payload, len) != 0) {
                fprintf(stderr, "mynactl: cannot write the export: %s\n", strerror(errno));
                return -1;
            }
            break;
        case CTL_SUMMARY:
            if (len >= 2)
                fputs(payload + 2, summary_to);
            return len >= 1 && payload[0] == '0' ? 0 : 1;
        default:
            return -1;
        }
    }
}

/* ---- import ---- */

static int send_doc(int fd, const char *path)
{
    int in = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
    int rc = send_frame(fd, CTL_DOC, name, strlen(name));
    static char buf[CTL_FRAME_MAX];
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "mynactl: %s: %s\n", path, strerror(errno));
            rc = -2;
            break;
        }
        rc = send_frame(fd, CTL_BYTES, buf, (size_t)n);
    }
    if (rc == 0)
        rc = send_frame(fd, CTL_DOC_END, NULL, 0);
    if (in != STDIN_FILENO)
        close(in);
    return rc;
}

int cmd_import(const char *config_path, int argc, char **argv)
{
    bool dry = false;
    struct docs d = {0};
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
            dry = true;
        else
            rc = add_path(&d, argv[i]);
    }
    if (rc == 0 && d.n == 0) {
        fprintf(stderr, "usage: mynactl import [--dry-run] FILE|DIR|-...\n");
        rc = -1;
    }
    struct config cfg;
    if (rc != 0 || load_config(config_path, &cfg) != 0) {
        for (size_t i = 0; i < d.n; i++)
            free(d.paths[i]);
        free(d.paths);
        return EXIT_ERR;
    }
    signal(SIGPIPE, SIG_IGN);
    pid_t child;
    int fd = daemon_or_batch(config_path, &cfg, &child);
    int result = EXIT_ERR;
    if (fd >= 0) {
        const char *cmd = dry ? "import dry-run\n" : "import\n";
        /* A refused document makes mynad stop reading: the writes fail, the summary
         * still comes. */
        int sent = write_all(fd, cmd, strlen(cmd));
        for (size_t i = 0; i < d.n && sent == 0; i++)
            sent = send_doc(fd, d.paths[i]);
        if (sent == 0)
            send_frame(fd, CTL_DONE, NULL, 0);
        if (sent == -2)
            shutdown(fd, SHUT_WR); /* our input failed: mynad reports an early end */
        int r = read_replies(fd, -1, stdout);
        if (r < 0)
            fprintf(stderr, "mynactl: mynad ended the import without a summary (see its log)\n");
        result = r == 0 && sent != -2 ? EXIT_OK : EXIT_ERR;
        close(fd);
        if (child && batch_wait(child) != 0 && result == EXIT_OK)
            result = EXIT_ERR;
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.paths[i]);
    free(d.paths);
    config_free(&cfg);
    return result;
}

/* ---- export ---- */

int cmd_export(const char *config_path, int argc, char **argv)
{
    char cmd[4096] = "export";
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc &&
            strlen(cmd) + strlen(argv[i + 1]) + 2 < sizeof cmd && !strchr(argv[i + 1], '\n')) {
            strcat(cmd, " ");
            strcat(cmd, argv[++i]);
        } else if (!file && argv[i][0] != '-') {
            file = argv[i];
        } else if (!file && strcmp(argv[i], "-") == 0) {
            file = "-";
        } else {
            fprintf(stderr, "usage: mynactl export [--host DOMAIN]... [FILE|-]\n");
            return EXIT_ERR;
        }
    }
    struct config cfg;
    if (load_config(config_path, &cfg) != 0)
        return EXIT_ERR;
    bool to_stdout = !file || strcmp(file, "-") == 0;
    char tmp[PATH_MAX] = "";
    int out = STDOUT_FILENO;
    if (!to_stdout) {
        snprintf(tmp, sizeof tmp, "%s.partial", file);
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0) {
            fprintf(stderr, "mynactl: %s: %s\n", tmp, strerror(errno));
            config_free(&cfg);
            return EXIT_ERR;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    pid_t child;
    int fd = daemon_or_batch(config_path, &cfg, &child);
    int result = EXIT_ERR;
    if (fd >= 0) {
        strcat(cmd, "\n");
        int r = write_all(fd, cmd, strlen(cmd)) == 0 ? read_replies(fd, out, stderr) : -1;
        if (r < 0)
            fprintf(stderr, "mynactl: the export broke off (see mynad's log)\n");
        result = r == 0 ? EXIT_OK : EXIT_ERR;
        close(fd);
        if (child && batch_wait(child) != 0)
            result = EXIT_ERR;
    }
    if (!to_stdout) {
        if (fsync(out) != 0 || close(out) != 0)
            result = EXIT_ERR;
        if (result == EXIT_OK && rename(tmp, file) != 0) {
            fprintf(stderr, "mynactl: %s: %s\n", file, strerror(errno));
            result = EXIT_ERR;
        }
        if (result != EXIT_OK)
            unlink(tmp);
    }
    config_free(&cfg);
    return result;
}
