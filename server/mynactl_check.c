/* server/mynactl_check.c — `mynactl check`: everything an admin gets wrong, before mynad
 * meets it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/config.h"
#include "server/moddesc.h"
#include "server/mynactl.h"

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

int cmd_check(const char *config_path)
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

