/* server/admin/mynactl_check.c — `mynactl check`: what an admin gets wrong, found before mynad
 * meets it. In order: the config and every module's options (the validation mynad runs),
 * then per host the certificate (readable as the user mynad runs as, key matching, valid
 * now and for 30 more days, naming the host and every sub-domain its modules claim), the
 * DNS SRV records (RFC 6120 §3.2.1, XEP-0368) when a resolver answers, and the listening
 * ports when mynad is not running. Problems make the exit status 1; warnings (a
 * certificate close to expiry, missing SRV records, an unreachable resolver) do not.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/admin/mynactl.h"
#include "server/base/config.h"

#define EXPIRY_WARN_DAYS 30
#define DNS_TIMEOUT_S 2

struct findings {
    int problems;
    int warnings;
};

static void problem(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct findings *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("PROBLEM: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    f->problems++;
}

static void warning(struct findings *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("warning: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    f->warnings++;
}

/* The first OpenSSL error, or "". */
static const char *ssl_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ---- modules ---- */

/* mynad --check-modules: the option validation mynad runs, in mynad's process (see
 * moddesc_check_config). Its lines are passed on; returns the number of problems. */
static int check_modules(const char *config_path)
{
    char mynad[PATH_MAX];
    mynad_path(mynad, sizeof mynad);
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(mynad, mynad, "-c", config_path, "--check-modules", (char *)NULL);
        printf("PROBLEM: cannot run %s to check the modules: %s\n", mynad, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    int problems = 0;
    FILE *in = fdopen(fds[0], "r");
    char line[8192];
    while (in && fgets(line, sizeof line, in)) {
        fputs(line, stdout);
        problems += strncmp(line, "PROBLEM: ", 9) == 0;
    }
    if (in)
        fclose(in);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
        (WEXITSTATUS(st) != 0 && problems == 0))
        problems++;
    return problems;
}

/* ---- sub-domains ---- */

/* The sub-domains modules claim ("HOST SUBDOMAIN" lines), from the running mynad or from a
 * mynad --batch that loads the modules without listening. NULL if neither answers. */
static char *claimed_subdomains(const char *config_path, const struct config *cfg)
{
    pid_t child;
    int fd = daemon_or_batch(config_path, cfg, &child);
    if (fd < 0)
        return NULL;
    char *out = NULL;
    size_t len = 0, cap = 0;
    if (write(fd, "subdomains\n", 11) == 11) {
        for (;;) {
            if (len + 4096 > cap) {
                cap = cap ? cap * 2 : 8192;
                out = realloc(out, cap);
                if (!out)
                    abort();
            }
            ssize_t r = read(fd, out + len, cap - len - 1);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
    }
    close(fd);
    if (child)
        batch_wait(child);
    if (out)
        out[len] = '\0';
    if (out && strncmp(out, "error", 5) == 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* ---- certificates ---- */

/* One host's certificate, for the host and the sub-domains in `subs` claimed on it. */
static void check_cert(struct findings *f, const struct config_host *h, const char *subs)
{
    char err[256];
    X509 *cert = ctl_read_cert(h->certificate);
    if (!cert)
        problem(f, "host %s: cannot read the certificate %s%s%s (as user %s: %s)", h->domain,
                h->certificate, *ssl_error(err, sizeof err) ? ": " : "", err,
                getuid() == 0 ? "root" : "the current user", strerror(errno));
    EVP_PKEY *key = ctl_read_key(h->key);
    if (!key)
        problem(f, "host %s: cannot read the private key %s (it must be PEM, unencrypted, "
                   "readable by the user mynad runs as)%s%s", h->domain, h->key,
                *ssl_error(err, sizeof err) ? ": " : "", err);
    if (cert && key && X509_check_private_key(cert, key) != 1)
        problem(f, "host %s: the key does not match the certificate", h->domain);
    if (cert) {
        int days = 0, secs = 0;
        ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert));
        if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
            problem(f, "host %s: the certificate is not valid yet", h->domain);
        if (days < 0 || (days == 0 && secs <= 0))
            problem(f, "host %s: the certificate expired %d days ago", h->domain, -days);
        else if (days < EXPIRY_WARN_DAYS)
            warning(f, "host %s: the certificate expires in %d days", h->domain, days);
        /* RFC 6125 rules as OpenSSL implements them (SAN dNSName, wildcards). */
        int bad = 0;
        if (X509_check_host(cert, h->domain, 0, 0, NULL) != 1) {
            problem(f, "host %s: the certificate is not valid for %s", h->domain, h->domain);
            bad++;
        }
        size_t hl = strlen(h->domain);
        for (const char *p = subs; p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char line[1100];
            snprintf(line, sizeof line, "%.*s", (int)(n < 1099 ? n : 1099), p);
            p = nl ? nl + 1 : p + n;
            if (strncmp(line, h->domain, hl) != 0 || line[hl] != ' ')
                continue;
            const char *sub = line + hl + 1;
            if (X509_check_host(cert, sub, 0, 0, NULL) != 1) {
                problem(f, "host %s: the certificate is not valid for %s (claimed by a module "
                           "on this host): add it or *.%s to the certificate", h->domain, sub,
                        h->domain);
                bad++;
            } else {
                printf("host %s: certificate also valid for %s\n", h->domain, sub);
            }
        }
        if (!bad && days >= 0)
            printf("host %s: certificate OK (%d days left)\n", h->domain, days);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* ---- DNS ---- */

enum srv_result { SRV_FOUND, SRV_NONE, SRV_NO_RESOLVER };

/* Looks up one SRV name; prints what it finds. */
static enum srv_result srv_lookup(struct findings *f, struct __res_state *rs, const char *name,
                                  const struct config *cfg, bool client_port)
{
    unsigned char ans[4096];
    int n = res_nquery(rs, name, ns_c_in, ns_t_srv, ans, sizeof ans);
    if (n < 0)
        return rs->res_h_errno == HOST_NOT_FOUND || rs->res_h_errno == NO_DATA
                   ? SRV_NONE : SRV_NO_RESOLVER;
    ns_msg msg;
    if (ns_initparse(ans, n, &msg) != 0)
        return SRV_NO_RESOLVER;
    int count = 0;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        unsigned prio = ns_get16(rd), weight = ns_get16(rd + 2), port = ns_get16(rd + 4);
        char target[NS_MAXDNAME];
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof target) < 0)
            continue;
        count++;
        printf("dns: %s -> %s port %u (priority %u, weight %u)\n", name, target, port, prio,
               weight);
        bool listened = false;
        for (size_t l = 0; l < cfg->nlistens; l++)
            if (cfg->listens[l].type == LISTEN_C2S && cfg->listens[l].port == (int)port)
                listened = true;
        if (client_port && !listened && strcmp(target, ".") != 0)
            warning(f, "%s points to port %u, where no c2s listener of this config is", name,
                    port);
    }
    return count ? SRV_FOUND : SRV_NONE;
}

/* SRV records of each host; never a problem: DNS may be someone else's to fix, or absent
 * on purpose (clients then try the host name on port 5222). */
static void check_dns(struct findings *f, const struct config *cfg)
{
    struct __res_state rs;
    memset(&rs, 0, sizeof rs);
    if (res_ninit(&rs) != 0) {
        printf("dns: no resolver configured: SRV records not checked\n");
        return;
    }
    rs.retrans = DNS_TIMEOUT_S;
    rs.retry = 1;
    static const struct { const char *prefix; bool client; } kinds[] = {
        {"_xmpp-client._tcp.", true}, {"_xmpps-client._tcp.", true},
        {"_xmpp-server._tcp.", false}};
    for (size_t i = 0; i < cfg->nhosts; i++) {
        bool any = false;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char name[1100];
            snprintf(name, sizeof name, "%s%s", kinds[k].prefix, cfg->hosts[i].domain);
            enum srv_result r = srv_lookup(f, &rs, name, cfg, kinds[k].client);
            if (r == SRV_NO_RESOLVER) {
                printf("dns: the resolver does not answer (offline?): SRV records not "
                       "checked\n");
                res_nclose(&rs);
                return;
            }
            any = any || r == SRV_FOUND;
        }
        if (!any)
            warning(f, "host %s: no SRV records (_xmpp-client._tcp, _xmpps-client._tcp, "
                       "_xmpp-server._tcp): clients and servers will try %s port 5222/5269",
                    cfg->hosts[i].domain, cfg->hosts[i].domain);
    }
    res_nclose(&rs);
}

/* ---- ports ---- */

static void check_ports(struct findings *f, const struct config *cfg)
{
    for (size_t i = 0; i < cfg->nlistens; i++) {
        const struct config_listen *l = &cfg->listens[i];
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, l->address, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons((uint16_t)l->port);
            sl = sizeof *sin;
        } else if (inet_pton(AF_INET6, l->address, &sin6->sin6_addr) == 1) {
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons((uint16_t)l->port);
            sl = sizeof *sin6;
        } else {
            problem(f, "listener %s port %d: not an IP address", l->address, l->port);
            continue;
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1) != 0) {
            int e = errno;
            if (e == EADDRINUSE)
                problem(f, "listener %s port %d: in use by another program", l->address,
                        l->port);
            else if (e == EACCES)
                warning(f, "listener %s port %d: a port below 1024 needs root or "
                           "CAP_NET_BIND_SERVICE (the systemd unit grants it)", l->address,
                        l->port);
            else
                problem(f, "listener %s port %d: %s", l->address, l->port, strerror(e));
        } else {
            printf("listener %s port %d: free\n", l->address, l->port);
        }
        if (fd >= 0)
            close(fd);
    }
}

int cmd_check(const char *config_path)
{
    struct config cfg;
    if (load_config(config_path, &cfg) != 0)
        return EXIT_ERR;
    /* Files as the user mynad runs as see them. */
    if (ctl_drop_privileges(&cfg) != 0) {
        config_free(&cfg);
        return EXIT_ERR;
    }
    struct findings f = {0, 0};
    int modproblems = check_modules(config_path);
    f.problems += modproblems;

    char probe[16];
    bool running = daemon_request(cfg.data_dir, "stats", probe, sizeof probe) == 0;
    char *subs = modproblems == 0 ? claimed_subdomains(config_path, &cfg) : NULL;
    if (!subs && modproblems == 0)
        warning(&f, "could not ask the modules which sub-domains they claim: certificates "
                    "checked for the hosts only");
    for (size_t i = 0; i < cfg.nhosts; i++)
        check_cert(&f, &cfg.hosts[i], subs);
    free(subs);
    check_dns(&f, &cfg);
    if (running)
        printf("mynad is running: listening ports not checked\n");
    else
        check_ports(&f, &cfg);
    printf("%d problem%s, %d warning%s\n", f.problems, f.problems == 1 ? "" : "s", f.warnings,
           f.warnings == 1 ? "" : "s");
    config_free(&cfg);
    return f.problems ? EXIT_ERR : EXIT_OK;
}
