/* server/base/config.c — reads and validates the configuration (server/base/config.h, contrib/myna.conf,
 * docs/configuration.md).
 *
 * Everything is checked before the server sees it: unknown keys, types, ranges, readable
 * certificate files, valid domains (nameprep), listener types. The first problem is
 * reported as "FILE:LINE: message" (the file may be an @include'd one). Relative paths are
 * made absolute against the config file's directory. Top-level groups named after a module
 * that some host enables are module sections, checked later by config_module_check(); the
 * section of an installed module that no host enables is kept and ignored (disabling a
 * module is removing it from the list), while any other unknown group is an error.
 */
#include "server/base/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "myna/jid.h"
#include "server/base/log.h"

#ifndef MYNA_MODULE_DIR
#define MYNA_MODULE_DIR "/usr/local/lib/myna/modules"
#endif

/* Defaults (also documented in docs/configuration.md). */
#define DEF_DATA_DIR "data"
#define DEF_MAP_MB 1024
#define DEF_STANZA_SIZE 262144
#define DEF_MAX_DEPTH 64
#define DEF_MAX_ATTRS 64
#define DEF_AUTH_TIMEOUT 30
#define DEF_MAX_SESSIONS 19000
#define DEF_AUTH_FAILURES_ADDRESS 10 /* password failures from one address before it waits */
#define DEF_AUTH_FAILURES_ACCOUNT 30 /* password failures for one account before it waits */
#define DEF_AUTH_LOCKOUT 300         /* seconds either waits */
#define DEF_AUTH_TABLE_SIZE 65536    /* entries of the failure table */
#define DEF_PREAUTH_STANZA_SIZE 10240
#define DEF_PREAUTH_PER_ADDRESS 16   /* unauthenticated connections from one address */
#define DEF_PREAUTH_TOTAL 2000       /* unauthenticated connections in all */
#define DEF_SESSIONS_PER_ACCOUNT 64  /* bound resources of one account */
#define DEF_COMPONENT_RATE (10LL << 20) /* bytes/s a component may send */
#define DEF_REGISTRATION_INTERVAL 300  /* seconds between registrations from an address */
#define DEF_SCRAM_ITERATIONS 4096    /* RFC 7677 §4: at least 4096 */
#define DEF_C2S_RATE (1LL << 20)   /* bytes/s a client may send, averaged */
#define DEF_C2S_BURST (4LL << 20)  /* bytes it may send at once above the rate */
#define DEF_SM_RESUME_TIMEOUT 300     /* seconds a broken XEP-0198 session waits */
#define DEF_SM_MAX_UNACKED 5000        /* stanzas a client may leave unacknowledged */
#define DEF_SM_MAX_UNACKED_BYTES (4LL << 20) /* and their bytes */
#define MODULE_NAME_MAX 64

static const char *const default_modules[] = {"disco",  "ping",   "version", "time",
                                              "roster", "blocking", "carbons", "offline",
                                              "private", "muc", "pubsub", "mam", "last",
                                              "contact_info", "extdisco", NULL};

static const char *const core_keys[] = {
    "data_dir", "store_map_mb", "log", "hosts", "listen", "modules", "limits",
    "allow_registration", "components", "tls_record_layer", "user", "scram_iterations",
    "registration_allow", "http", "s2s", NULL,
};

/* Strings made by config_module_get() for int/bool values; freed with the config. */
struct strcache {
    char **s;
    size_t n;
};

struct ctx {
    struct config *c;
    const char *path; /* as given, for messages about the file as a whole */
    char *dir;        /* directory of the config file, absolute */
    char *err;
    size_t errlen;
};

/* ---- Errors ------------------------------------------------------------------------ */

static void verr(char *err, size_t errlen, const char *file, int line, const char *fmt,
                 va_list ap)
{
    int n;
    if (!err || errlen == 0)
        return;
    if (line > 0)
        n = snprintf(err, errlen, "%s:%d: ", file, line);
    else
        n = snprintf(err, errlen, "%s: ", file);
    if (n < 0 || (size_t)n >= errlen)
        return;
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

static const char *setting_file(const config_setting_t *s, const char *fallback)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    return f ? f : fallback;
}

/* Reports a problem at setting s (or the whole file when s is NULL); returns -1. An
 * @include'd file's name is relative to the main file's directory: make it absolute. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct ctx *x,
                                                         const config_setting_t *s,
                                                         const char *fmt, ...)
{
    const char *main_path = x->c->path ? x->c->path : x->path;
    const char *file = setting_file(s, main_path);
    char joined[PATH_MAX];
    const char *slash = strrchr(main_path, '/');
    if (file[0] != '/' && main_path[0] == '/' && slash) {
        snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - main_path), main_path, file);
        file = joined;
    }
    va_list ap;
    va_start(ap, fmt);
    verr(x->err, x->errlen, file, s ? (int)config_setting_source_line(s) : 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Typed getters ----------------------------------------------------------------- */

static const char *type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP:
        return "a group { ... }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "true or false";
    case CONFIG_TYPE_ARRAY:
        return "an array [ ... ]";
    case CONFIG_TYPE_LIST:
        return "a list ( ... )";
    default:
        return "a setting";
    }
}

static int want_type(struct ctx *x, const config_setting_t *s, int type)
{
    int t = config_setting_type(s);
    if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
        return 0;
    return fail_at(x, s, "'%s' must be %s", config_setting_name(s) ? config_setting_name(s)
                                                                     : "value",
                   type_name(type));
}

/* Reads integer `name` of group g into *out if present, checking [min, max]. */
static int get_int(struct ctx *x, const config_setting_t *g, const char *name, long long min,
                   long long max, long long *out)
{
    config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
    if (!s)
        return 0;
    if (want_type(x, s, CONFIG_TYPE_INT) != 0)
        return -1;
    long long v = config_setting_get_int64(s);
    if (v < min || v > max)
        return fail_at(x, s, "'%s' must be between %lld and %lld (got %lld)", name, min, max,
                       v);
    *out = v;
    return 0;
}

static int get_bool(struct ctx *x, const config_setting_t *g, const char *name, bool *out)
{
    config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
    if (!s)
        return 0;
    if (want_type(x, s, CONFIG_TYPE_BOOL) != 0)
        return -1;
    *out = config_setting_get_bool(s) != 0;
    return 0;
}

/* *out gets the string (owned by the libconfig tree) or stays unchanged when absent. */
static int get_string(struct ctx *x, const config_setting_t *g, const char *name,
                      const char **out)
{
    config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
    if (!s)
        return 0;
    if (want_type(x, s, CONFIG_TYPE_STRING) != 0)
        return -1;
    *out = config_setting_get_string(s);
    return 0;
}

/* Rejects members of group g not listed in `known`. */
static int check_members(struct ctx *x, const config_setting_t *g, const char *const *known,
                         const char *where)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = name && strcmp(name, *k) == 0;
        if (!ok)
            return fail_at(x, m, "unknown setting '%s' in %s", name ? name : "?", where);
    }
    return 0;
}

/* The group `name` at top level, or NULL; error if present with another type. */
static int get_group(struct ctx *x, const config_setting_t *root, const char *name,
                     config_setting_t **out)
{
    *out = config_setting_get_member(root, name);
    if (*out && want_type(x, *out, CONFIG_TYPE_GROUP) != 0)
        return -1;
    return 0;
}

/* ---- Paths ------------------------------------------------------------------------- */

static char *resolve_path(const struct ctx *x, const char *p)
{
    if (p[0] == '/')
        return xstrdup(p);
    size_t dl = strlen(x->dir), pl = strlen(p);
    char *r = xmalloc(dl + 1 + pl + 1);
    memcpy(r, x->dir, dl);
    r[dl] = '/';
    memcpy(r + dl + 1, p, pl + 1);
    return r;
}

static int readable_file(struct ctx *x, const config_setting_t *s, const char *what,
                         const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail_at(x, s, "cannot read %s %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* ---- Sections ---------------------------------------------------------------------- */

static bool module_name_valid(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > MODULE_NAME_MAX)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    for (const char *const *k = core_keys; *k; k++)
        if (strcmp(n, *k) == 0)
            return false;
    return true;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static char **strv_copy(char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **r = xcalloc(n + 1, sizeof(*r));
    for (size_t i = 0; i < n; i++)
        r[i] = xstrdup(v[i]);
    return r;
}

/* websocket_origins: "*" or RFC 6454 origins ("https://host[:port]"), lower-case. */
static int parse_origins(struct ctx *x, const config_setting_t *s, char ***out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(x, s, "'websocket_origins' must be an array of origins "
                             "[ \"https://chat.example.org\", ... ] or [ \"*\" ]");
    int n = config_setting_length(s);
    char **v = xcalloc((size_t)n + 1, sizeof(*v));
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *o = config_setting_get_string(e);
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !o ||
            (strcmp(o, "*") != 0 && strcmp(o, "null") != 0 &&
             ((strncmp(o, "http://", 7) != 0 && strncmp(o, "https://", 8) != 0) ||
              strchr(strstr(o, "://") + 3, '/')))) {
            strv_free(v);
            return fail_at(x, e, "an origin is \"*\" or scheme://host[:port] without a path "
                                 "(got '%s')", o ? o : "?");
        }
        v[i] = xstrdup(o);
        for (char *p = v[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    *out = v;
    return 0;
}

/* A module list: an array (or list) of distinct valid module names. */
static int parse_module_list(struct ctx *x, const config_setting_t *s, char ***out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(x, s, "'%s' must be an array of module names [ \"ping\", ... ]",
                       config_setting_name(s));
    int n = config_setting_length(s);
    char **v = xcalloc((size_t)n + 1, sizeof(*v));
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_get_string(e);
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !name) {
            strv_free(v);
            return fail_at(x, e, "module names must be strings");
        }
        if (!module_name_valid(name)) {
            strv_free(v);
            return fail_at(x, e, "invalid module name '%s' (lowercase letters, digits, '_')",
                           name);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(v[j], name) == 0) {
                strv_free(v);
                return fail_at(x, e, "module '%s' listed twice", name);
            }
        }
        v[i] = xstrdup(name);
    }
    *out = v;
    return 0;
}

/* "ADDRESS[/BITS]" into a range; false if it is not one. */
static bool parse_range(const char *s, struct config_range *r)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof addr)
        return false;
    memcpy(addr, s, n);
    addr[n] = 0;
    memset(r, 0, sizeof *r);
    if (inet_pton(AF_INET, addr, r->addr) == 1)
        r->family = 4;
    else if (inet_pton(AF_INET6, addr, r->addr) == 1)
        r->family = 6;
    else
        return false;
    unsigned max = r->family == 4 ? 32 : 128;
    r->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || (unsigned long)b > max)
            return false;
        r->bits = (unsigned)b;
    }
    return true;
}

/* registration_allow: IP ranges ("192.0.2.0/24", "2001:db8::/32", "::1") and host
 * domains (one of `hosts`) where in-band registration is open. */
static int parse_registration_allow(struct ctx *x, const config_setting_t *root)
{
    config_setting_t *s = config_setting_get_member(root, "registration_allow");
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(x, s, "'registration_allow' must be an array of IP ranges and host "
                             "domains [ \"192.0.2.0/24\", \"example.org\" ]");
    int n = config_setting_length(s);
    x->c->reg_ranges = xcalloc((size_t)n + 1, sizeof *x->c->reg_ranges);
    x->c->reg_hosts = xcalloc((size_t)n + 1, sizeof *x->c->reg_hosts);
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !v)
            return fail_at(x, e, "registration_allow entries must be strings");
        struct config_range r;
        if (parse_range(v, &r)) {
            x->c->reg_ranges[x->c->nreg_ranges++] = r;
        } else if (config_find_host(x->c, v)) {
            x->c->reg_hosts[x->c->nreg_hosts++] = xstrdup(v);
        } else {
            return fail_at(x, e, "'%s' in registration_allow is neither an IP range "
                                 "(ADDRESS or ADDRESS/BITS) nor one of the hosts", v);
        }
    }
    return 0;
}

static int parse_log(struct ctx *x, const config_setting_t *root)
{
    static const char *const keys[] = {"level", "syslog", NULL};
    config_setting_t *g;
    const char *level = NULL;
    if (get_group(x, root, "log", &g) != 0)
        return -1;
    x->c->log_level = MYNA_LOG_INFO;
    if (!g)
        return 0;
    if (check_members(x, g, keys, "log") != 0 || get_string(x, g, "level", &level) != 0 ||
        get_bool(x, g, "syslog", &x->c->log_syslog) != 0)
        return -1;
    if (level) {
        int l = log_level_parse(level);
        if (l < 0)
            return fail_at(x, config_setting_get_member(g, "level"),
                           "unknown log level '%s' (error, warn, info, debug)", level);
        x->c->log_level = (enum myna_log_level)l;
    }
    return 0;
}

static int parse_modules(struct ctx *x, const config_setting_t *root, char ***global)
{
    static const char *const keys[] = {"path", "enabled", NULL};
    config_setting_t *g, *en;
    const char *path = "";
    if (get_group(x, root, "modules", &g) != 0)
        return -1;
    if (g && (check_members(x, g, keys, "modules") != 0 ||
              get_string(x, g, "path", &path) != 0))
        return -1;
    x->c->module_path = *path ? resolve_path(x, path) : xstrdup(MYNA_MODULE_DIR);
    en = g ? config_setting_get_member(g, "enabled") : NULL;
    if (en)
        return parse_module_list(x, en, global);
    *global = strv_copy((char *const *)default_modules);
    return 0;
}

static int parse_host(struct ctx *x, config_setting_t *h, char **global,
                      struct config_host *out)
{
    static const char *const keys[] = {"domain", "certificate", "key", "modules",
                                       "sm_location", NULL};
    const char *domain = NULL, *cert = NULL, *key = NULL, *loc = NULL;
    if (want_type(x, h, CONFIG_TYPE_GROUP) != 0 || check_members(x, h, keys, "host") != 0 ||
        get_string(x, h, "domain", &domain) != 0 ||
        get_string(x, h, "certificate", &cert) != 0 || get_string(x, h, "key", &key) != 0 ||
        get_string(x, h, "sm_location", &loc) != 0)
        return -1;
    out->sm_location = loc && *loc ? xstrdup(loc) : NULL;
    if (!domain)
        return fail_at(x, h, "host without 'domain'");
    struct myna_arena *a = myna_arena_new();
    const char *prepped = myna_jid_nameprep(a, domain);
    if (prepped)
        out->domain = xstrdup(prepped);
    myna_arena_free(a);
    if (!out->domain)
        return fail_at(x, config_setting_get_member(h, "domain"), "invalid domain name '%s'",
                       domain);
    if (!cert)
        return fail_at(x, h, "host %s has no 'certificate'", out->domain);
    if (!key)
        return fail_at(x, h, "host %s has no 'key'", out->domain);
    out->certificate = resolve_path(x, cert);
    out->key = resolve_path(x, key);
    if (readable_file(x, config_setting_get_member(h, "certificate"), "certificate",
                      out->certificate) != 0 ||
        readable_file(x, config_setting_get_member(h, "key"), "key", out->key) != 0)
        return -1;
    config_setting_t *mods = config_setting_get_member(h, "modules");
    if (mods)
        return parse_module_list(x, mods, &out->modules);
    out->modules = strv_copy(global);
    return 0;
}

static int parse_hosts(struct ctx *x, const config_setting_t *root, char **global)
{
    config_setting_t *hs = config_setting_get_member(root, "hosts");
    if (!hs)
        return fail_at(x, NULL, "no 'hosts' defined: at least one host is required");
    if (want_type(x, hs, CONFIG_TYPE_LIST) != 0)
        return -1;
    int n = config_setting_length(hs);
    if (n == 0)
        return fail_at(x, hs, "'hosts' is empty: at least one host is required");
    x->c->hosts = xcalloc((size_t)n, sizeof(*x->c->hosts));
    for (int i = 0; i < n; i++) {
        config_setting_t *h = config_setting_get_elem(hs, (unsigned)i);
        struct config_host *ch = &x->c->hosts[i];
        x->c->nhosts = (size_t)i + 1; /* so config_free releases a half-made host too */
        if (parse_host(x, h, global, ch) != 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(x->c->hosts[j].domain, ch->domain) == 0)
                return fail_at(x, h, "host %s defined twice", ch->domain);
    }
    return 0;
}

/* External components (XEP-0114): ( { domain = "bot.example.org"; secret = "..."; } ). */
static int parse_components(struct ctx *x, const config_setting_t *root)
{
    static const char *const keys[] = {"domain", "secret", NULL};
    config_setting_t *cs = config_setting_get_member(root, "components");
    if (!cs)
        return 0;
    if (want_type(x, cs, CONFIG_TYPE_LIST) != 0)
        return -1;
    int n = config_setting_length(cs);
    x->c->components = xcalloc((size_t)n + 1, sizeof(*x->c->components));
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
        struct config_component *cc = &x->c->components[i];
        const char *domain = NULL, *secret = NULL;
        x->c->ncomponents = (size_t)i + 1;
        if (want_type(x, e, CONFIG_TYPE_GROUP) != 0 ||
            check_members(x, e, keys, "component") != 0 ||
            get_string(x, e, "domain", &domain) != 0 || get_string(x, e, "secret", &secret) != 0)
            return -1;
        if (!domain || !secret || !*secret)
            return fail_at(x, e, "component needs 'domain' and a non-empty 'secret'");
        struct myna_arena *a = myna_arena_new();
        const char *prepped = myna_jid_nameprep(a, domain);
        cc->domain = prepped ? xstrdup(prepped) : NULL;
        myna_arena_free(a);
        if (!cc->domain)
            return fail_at(x, e, "invalid component domain '%s'", domain);
        cc->secret = xstrdup(secret);
        for (size_t h = 0; h < x->c->nhosts; h++)
            if (strcmp(x->c->hosts[h].domain, cc->domain) == 0)
                return fail_at(x, e, "component domain %s is also a host", cc->domain);
        for (int j = 0; j < i; j++)
            if (strcmp(x->c->components[j].domain, cc->domain) == 0)
                return fail_at(x, e, "component %s defined twice", cc->domain);
    }
    return 0;
}

struct name_map {
    const char *name;
    int value;
};

static int lookup_name(const struct name_map *m, const char *s)
{
    for (; m->name; m++)
        if (strcmp(m->name, s) == 0)
            return m->value;
    return -1;
}

static const struct name_map record_layers[] = {
    {"compact", TLS_RECORDS_COMPACT}, {"openssl", TLS_RECORDS_OPENSSL}, {NULL, 0},
};

/* "tls_record_layer" in group g (top level or a listener); *out keeps its value if unset. */
static int parse_record_layer(struct ctx *x, const config_setting_t *g,
                              enum tls_record_layer *out)
{
    const char *v = NULL;
    if (get_string(x, g, "tls_record_layer", &v) != 0)
        return -1;
    if (!v)
        return 0;
    int r = lookup_name(record_layers, v);
    if (r < 0)
        return fail_at(x, config_setting_get_member(g, "tls_record_layer"),
                       "unknown tls_record_layer '%s' (compact, openssl)", v);
    *out = (enum tls_record_layer)r;
    return 0;
}

static bool is_loopback(const char *address)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, address, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, address, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int parse_listener(struct ctx *x, config_setting_t *l, struct config_listen *out)
{
    static const char *const keys[] = {"type", "address", "port", "tls", "tls_record_layer",
                                       "insecure", "web", "metrics", "sm_location", NULL};
    static const struct name_map types[] = {
        {"c2s", LISTEN_C2S}, {"s2s", LISTEN_S2S}, {"component", LISTEN_COMPONENT},
        {"http", LISTEN_HTTP}, {NULL, 0},
    };
    static const struct name_map tlss[] = {
        {"starttls", TLS_STARTTLS}, {"direct", TLS_DIRECT}, {"none", TLS_NONE}, {NULL, 0},
    };
    const char *type = NULL, *address = NULL, *tls = NULL, *loc = NULL;
    long long port = -1;
    if (want_type(x, l, CONFIG_TYPE_GROUP) != 0 || check_members(x, l, keys, "listener") != 0 ||
        get_string(x, l, "type", &type) != 0 || get_string(x, l, "address", &address) != 0 ||
        get_string(x, l, "tls", &tls) != 0 || get_int(x, l, "port", 1, 65535, &port) != 0 ||
        get_bool(x, l, "insecure", &out->insecure) != 0 ||
        get_string(x, l, "sm_location", &loc) != 0)
        return -1;
    if (!type)
        return fail_at(x, l, "listener without 'type' (c2s, s2s, component, http)");
    int t = lookup_name(types, type);
    if (t < 0)
        return fail_at(x, config_setting_get_member(l, "type"),
                       "unknown listener type '%s' (c2s, s2s, component, http)", type);
    /* Components authenticate with a shared secret over plaintext: local by default. */
    if (!address)
        address = t == LISTEN_COMPONENT ? "127.0.0.1" : "0.0.0.0";
    out->type = (enum listen_type)t;
    out->sm_location = loc && *loc ? xstrdup(loc) : NULL;
    if (port < 0)
        return fail_at(x, l, "listener without 'port'");
    out->port = (int)port;
    unsigned char bin[16];
    if (inet_pton(AF_INET, address, bin) != 1 && inet_pton(AF_INET6, address, bin) != 1)
        return fail_at(x, config_setting_get_member(l, "address"),
                       "'address' must be an IPv4 or IPv6 address (got '%s')", address);
    out->address = xstrdup(address);
    if (!tls)
        tls = (t == LISTEN_C2S || t == LISTEN_S2S) ? "starttls" : "none";
    int s = lookup_name(tlss, tls);
    if (s < 0)
        return fail_at(x, config_setting_get_member(l, "tls"),
                       "unknown tls mode '%s' (starttls, direct, none)", tls);
    if (s == TLS_STARTTLS && (t == LISTEN_COMPONENT || t == LISTEN_HTTP))
        return fail_at(x, config_setting_get_member(l, "tls"),
                       "tls = \"starttls\" is only for c2s and s2s listeners");
    out->tls = (enum listen_tls)s;
    /* Without TLS a client's password crosses the network in the clear (PLAIN is never
     * offered, but SCRAM without channel binding can be relayed) and its messages too. */
    if (t == LISTEN_C2S && s == TLS_NONE && (!out->insecure || !is_loopback(address)))
        return fail_at(x, config_setting_get_member(l, "tls"),
                       "a c2s listener without TLS is only allowed on a loopback address "
                       "(127.0.0.0/8, ::1) and with insecure = true");
    out->web = true;
    if (get_bool(x, l, "web", &out->web) != 0 || get_bool(x, l, "metrics", &out->metrics) != 0)
        return -1;
    if (t != LISTEN_HTTP && (config_setting_get_member(l, "web") ||
                             config_setting_get_member(l, "metrics")))
        return fail_at(x, l, "'web' and 'metrics' are for http listeners");
    /* WebSocket and BOSH carry client streams: the same rule as for c2s (behind a reverse
     * proxy that ends TLS, the listener is on loopback). Metrics alone need no TLS. */
    if (t == LISTEN_HTTP && out->web && s == TLS_NONE &&
        (!out->insecure || !is_loopback(address)))
        return fail_at(x, config_setting_get_member(l, "tls"),
                       "an http listener without TLS serving clients (web = true) is only "
                       "allowed on a loopback address (127.0.0.0/8, ::1) and with "
                       "insecure = true");
    out->record_layer = x->c->tls_record_layer;
    return parse_record_layer(x, l, &out->record_layer);
}

static int parse_listeners(struct ctx *x, const config_setting_t *root)
{
    config_setting_t *ls = config_setting_get_member(root, "listen");
    if (!ls) {
        /* Default: clients on the standard port, STARTTLS (RFC 6120 §5). */
        x->c->listens = xcalloc(1, sizeof(*x->c->listens));
        x->c->listens[0] = (struct config_listen){LISTEN_C2S, TLS_STARTTLS, xstrdup("0.0.0.0"),
                                                  5222, x->c->tls_record_layer, false, true,
                                                  false, NULL};
        x->c->nlistens = 1;
        return 0;
    }
    if (want_type(x, ls, CONFIG_TYPE_LIST) != 0)
        return -1;
    int n = config_setting_length(ls);
    x->c->listens = xcalloc((size_t)n + 1, sizeof(*x->c->listens));
    for (int i = 0; i < n; i++) {
        config_setting_t *l = config_setting_get_elem(ls, (unsigned)i);
        struct config_listen *cl = &x->c->listens[i];
        x->c->nlistens = (size_t)i + 1;
        if (parse_listener(x, l, cl) != 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (x->c->listens[j].port == cl->port &&
                strcmp(x->c->listens[j].address, cl->address) == 0)
                return fail_at(x, l, "two listeners on %s port %d", cl->address, cl->port);
    }
    return 0;
}

/* trusted_proxies: IP ranges ("127.0.0.1", "10.0.0.0/8", "fd00::/8"); unset: loopback. */
static int parse_trusted_proxies(struct ctx *x, const config_setting_t *s,
                                 struct config_http *h)
{
    if (!s) {
        h->trusted_proxies = xcalloc(2, sizeof *h->trusted_proxies);
        parse_range("127.0.0.0/8", &h->trusted_proxies[0]);
        parse_range("::1", &h->trusted_proxies[1]);
        h->ntrusted_proxies = 2;
        return 0;
    }
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(x, s, "'trusted_proxies' must be an array of IP ranges "
                             "[ \"127.0.0.1\", \"10.0.0.0/8\" ] (or [ ] for none)");
    int n = config_setting_length(s);
    h->trusted_proxies = xcalloc((size_t)n + 1, sizeof *h->trusted_proxies);
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !v ||
            !parse_range(v, &h->trusted_proxies[h->ntrusted_proxies]))
            return fail_at(x, e, "a trusted proxy is an address or ADDRESS/BITS (got '%s')",
                           v ? v : "?");
        h->ntrusted_proxies++;
    }
    return 0;
}

/* "http": what the HTTP listeners serve beyond WebSocket (BOSH, CORS). */
static int parse_http(struct ctx *x, const config_setting_t *root)
{
    static const char *const keys[] = {"bosh", "bosh_max_wait", "bosh_max_hold",
                                       "bosh_inactivity", "bosh_polling", "cors_origin",
                                       "external_url", "upload_max_size", "upload_expire",
                                       "max_header_size", "max_body_size", "request_timeout",
                                       "idle_timeout", "rate_per_connection",
                                       "rate_per_address", "connections_per_address",
                                       "websocket_origins", "bosh_max_pause",
                                       "trusted_proxies", NULL};
    config_setting_t *g;
    long long wait = 60, hold = 1, inactivity = 60, polling = 2, maxpause = 120;
    long long upmax = 64LL << 20, upexpire = 30LL * 86400;
    long long hdr = 8192, body = 1LL << 20, reqto = 10, idle = 60, rconn = 20, raddr = 0,
              caddr = 0;
    const char *origin = NULL, *url = NULL;
    struct config_http *h = &x->c->http;
    h->bosh = true;
    h->upload_max_size = (uint64_t)upmax;
    h->upload_expire = (uint64_t)upexpire;
    if (get_group(x, root, "http", &g) != 0)
        return -1;
    if (g && (check_members(x, g, keys, "http") != 0 || get_bool(x, g, "bosh", &h->bosh) != 0 ||
              get_int(x, g, "bosh_max_wait", 1, 3600, &wait) != 0 ||
              get_int(x, g, "bosh_max_hold", 0, 8, &hold) != 0 ||
              get_int(x, g, "bosh_inactivity", 1, 3600, &inactivity) != 0 ||
              get_int(x, g, "bosh_polling", 0, 600, &polling) != 0 ||
              get_int(x, g, "bosh_max_pause", 0, 86400, &maxpause) != 0 ||
              get_string(x, g, "cors_origin", &origin) != 0 ||
              get_string(x, g, "external_url", &url) != 0 ||
              get_int(x, g, "upload_max_size", 1, 1LL << 32, &upmax) != 0 ||
              get_int(x, g, "upload_expire", 0, 100LL * 365 * 86400, &upexpire) != 0 ||
              get_int(x, g, "max_header_size", 1024, 1LL << 20, &hdr) != 0 ||
              get_int(x, g, "max_body_size", 1024, 1LL << 32, &body) != 0 ||
              get_int(x, g, "request_timeout", 1, 3600, &reqto) != 0 ||
              get_int(x, g, "idle_timeout", 1, 86400, &idle) != 0 ||
              get_int(x, g, "rate_per_connection", 0, 1000000, &rconn) != 0 ||
              get_int(x, g, "rate_per_address", 0, 1000000, &raddr) != 0 ||
              get_int(x, g, "connections_per_address", 0, 10000000, &caddr) != 0))
        return -1;
    h->max_header_size = (unsigned)hdr;
    h->max_body_size = (uint64_t)body;
    h->request_timeout = (unsigned)reqto;
    h->idle_timeout = (unsigned)idle;
    h->rate_per_connection = (unsigned)rconn;
    h->rate_per_address = (unsigned)raddr;
    h->connections_per_address = (unsigned)caddr;
    config_setting_t *origins = g ? config_setting_get_member(g, "websocket_origins") : NULL;
    if (origins && parse_origins(x, origins, &h->websocket_origins) != 0)
        return -1;
    if (parse_trusted_proxies(x, g ? config_setting_get_member(g, "trusted_proxies") : NULL,
                              h) != 0)
        return -1;
    h->upload_max_size = (uint64_t)upmax;
    h->upload_expire = (uint64_t)upexpire;
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return fail_at(x, config_setting_get_member(g, "external_url"),
                       "'external_url' must start with http:// or https:// (got '%s')", url);
    if (url) {
        h->external_url = xstrdup(url);
        size_t n = strlen(h->external_url);
        while (n > 0 && h->external_url[n - 1] == '/')
            h->external_url[--n] = '\0'; /* paths are appended to it */
    }
    h->bosh_max_wait = (unsigned)wait;
    h->bosh_max_hold = (unsigned)hold;
    h->bosh_inactivity = (unsigned)inactivity;
    h->bosh_polling = (unsigned)polling;
    h->bosh_max_pause = (unsigned)maxpause;
    h->cors_origin = origin && *origin ? xstrdup(origin) : NULL;
    return 0;
}

static int parse_limits(struct ctx *x, const config_setting_t *root)
{
    static const char *const keys[] = {"c2s_stanza_size", "c2s_max_depth", "c2s_max_attrs",
                                       "auth_timeout", "max_sessions", "c2s_rate",
                                       "c2s_burst", "auth_failures_address",
                                       "auth_failures_account", "auth_lockout",
                                       "auth_table_size", "preauth_stanza_size",
                                       "preauth_per_address", "preauth_total",
                                       "sessions_per_account", "component_rate",
                                       "registration_interval", "sm_resume_timeout",
                                       "sm_max_unacked", "sm_max_unacked_bytes", NULL};
    config_setting_t *g;
    long long size = DEF_STANZA_SIZE, depth = DEF_MAX_DEPTH, attrs = DEF_MAX_ATTRS;
    long long timeout = DEF_AUTH_TIMEOUT, sessions = DEF_MAX_SESSIONS;
    long long rate = DEF_C2S_RATE, burst = DEF_C2S_BURST;
    long long fail_addr = DEF_AUTH_FAILURES_ADDRESS, fail_acct = DEF_AUTH_FAILURES_ACCOUNT;
    long long lockout = DEF_AUTH_LOCKOUT, table = DEF_AUTH_TABLE_SIZE;
    long long pre_size = DEF_PREAUTH_STANZA_SIZE, pre_addr = DEF_PREAUTH_PER_ADDRESS;
    long long pre_total = DEF_PREAUTH_TOTAL, per_account = DEF_SESSIONS_PER_ACCOUNT;
    long long comp_rate = DEF_COMPONENT_RATE, reg_interval = DEF_REGISTRATION_INTERVAL;
    long long resume = DEF_SM_RESUME_TIMEOUT, unacked = DEF_SM_MAX_UNACKED;
    long long unacked_bytes = DEF_SM_MAX_UNACKED_BYTES;
    if (get_group(x, root, "limits", &g) != 0)
        return -1;
    if (g && (check_members(x, g, keys, "limits") != 0 ||
              get_int(x, g, "c2s_stanza_size", 10000, 64LL << 20, &size) != 0 ||
              get_int(x, g, "c2s_max_depth", 2, 1024, &depth) != 0 ||
              get_int(x, g, "c2s_max_attrs", 1, 1024, &attrs) != 0 ||
              get_int(x, g, "auth_timeout", 1, 3600, &timeout) != 0 ||
              get_int(x, g, "max_sessions", 1, 10000000, &sessions) != 0 ||
              get_int(x, g, "c2s_rate", 1024, 1LL << 40, &rate) != 0 ||
              get_int(x, g, "c2s_burst", 1024, 1LL << 40, &burst) != 0 ||
              get_int(x, g, "auth_failures_address", 1, 1000000, &fail_addr) != 0 ||
              get_int(x, g, "auth_failures_account", 1, 1000000, &fail_acct) != 0 ||
              get_int(x, g, "auth_lockout", 1, 86400, &lockout) != 0 ||
              get_int(x, g, "auth_table_size", 64, 100000000, &table) != 0 ||
              get_int(x, g, "preauth_stanza_size", 4096, 64LL << 20, &pre_size) != 0 ||
              get_int(x, g, "preauth_per_address", 1, 10000000, &pre_addr) != 0 ||
              get_int(x, g, "preauth_total", 1, 10000000, &pre_total) != 0 ||
              get_int(x, g, "sessions_per_account", 1, 10000000, &per_account) != 0 ||
              get_int(x, g, "component_rate", 1024, 1LL << 40, &comp_rate) != 0 ||
              get_int(x, g, "registration_interval", 0, 86400 * 365, &reg_interval) != 0 ||
              get_int(x, g, "sm_resume_timeout", 0, 86400, &resume) != 0 ||
              get_int(x, g, "sm_max_unacked", 10, 10000000, &unacked) != 0 ||
              get_int(x, g, "sm_max_unacked_bytes", 65536, 1LL << 32, &unacked_bytes) != 0))
        return -1;
    x->c->auth_failures_address = (unsigned)fail_addr;
    x->c->auth_failures_account = (unsigned)fail_acct;
    x->c->auth_lockout = (unsigned)lockout;
    x->c->auth_table_size = (size_t)table;
    x->c->preauth_stanza_size = (size_t)pre_size;
    x->c->preauth_per_address = (unsigned)pre_addr;
    x->c->preauth_total = (unsigned)pre_total;
    x->c->sessions_per_account = (unsigned)per_account;
    x->c->component_rate = (uint64_t)comp_rate;
    x->c->registration_interval = (unsigned)reg_interval;
    x->c->c2s_stanza_size = (size_t)size;
    x->c->c2s_max_depth = (unsigned)depth;
    x->c->c2s_max_attrs = (unsigned)attrs;
    x->c->auth_timeout = (unsigned)timeout;
    x->c->max_sessions = (unsigned)sessions;
    x->c->c2s_rate = (uint64_t)rate;
    x->c->c2s_burst = (uint64_t)burst;
    x->c->sm_resume_timeout = (unsigned)resume;
    x->c->sm_max_unacked = (unsigned)unacked;
    x->c->sm_max_unacked_bytes = (size_t)unacked_bytes;
    return 0;
}

static const struct name_map s2s_policies[] = {
    {"verify", S2S_VERIFY}, {"dialback", S2S_DIALBACK}, {"deny", S2S_DENY}, {NULL, 0}};

static int get_policy(struct ctx *x, const config_setting_t *g, enum s2s_policy *out)
{
    const char *v = NULL;
    if (get_string(x, g, "policy", &v) != 0)
        return -1;
    if (!v)
        return 0;
    int p = lookup_name(s2s_policies, v);
    if (p < 0)
        return fail_at(x, config_setting_get_member(g, "policy"),
                       "unknown s2s policy '%s' (verify, dialback, deny)", v);
    *out = (enum s2s_policy)p;
    return 0;
}

/* s2s.domains: ( { domain = "peer.example"; policy = "dialback"; host = "10.0.0.2";
 * port = 5269; direct_tls = false; } ). */
static int parse_s2s_domain(struct ctx *x, config_setting_t *e, struct config_s2s_domain *d)
{
    static const char *const keys[] = {"domain", "policy", "host", "port", "direct_tls",
                                       NULL};
    const char *domain = NULL, *host = NULL;
    long long port = 5269;
    d->policy = x->c->s2s.policy;
    if (want_type(x, e, CONFIG_TYPE_GROUP) != 0 || check_members(x, e, keys, "s2s domain") != 0 ||
        get_string(x, e, "domain", &domain) != 0 || get_policy(x, e, &d->policy) != 0 ||
        get_string(x, e, "host", &host) != 0 || get_int(x, e, "port", 1, 65535, &port) != 0 ||
        get_bool(x, e, "direct_tls", &d->direct_tls) != 0)
        return -1;
    if (!domain)
        return fail_at(x, e, "s2s domain entry without 'domain'");
    struct myna_arena *a = myna_arena_new();
    const char *prepped = myna_jid_nameprep(a, domain);
    d->domain = prepped ? xstrdup(prepped) : NULL;
    myna_arena_free(a);
    if (!d->domain)
        return fail_at(x, e, "invalid s2s domain '%s'", domain);
    if (host && !*host)
        return fail_at(x, e, "'host' is empty");
    d->host = host ? xstrdup(host) : NULL;
    d->port = (int)port;
    return 0;
}

/* s2s.dns_servers: [ "192.0.2.53", "192.0.2.54:5353", "2001:db8::53", "[2001:db8::53]:53" ]
 * into c-ares' "ip:port,..." form. */
static int parse_dns_servers(struct ctx *x, config_setting_t *s, char **out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(x, s, "'dns_servers' must be an array of addresses [ \"192.0.2.53\" ]");
    struct myna_buf b;
    myna_buf_init(&b);
    for (int i = 0; i < config_setting_length(s); i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        char host[64] = "";
        long port = 53;
        unsigned char addr[16];
        bool ok = v && strlen(v) < sizeof host;
        if (ok && v[0] == '[') { /* [v6]:port */
            const char *end = strchr(v, ']');
            ok = end && end[1] == ':' && (size_t)(end - v - 1) < sizeof host;
            if (ok) {
                memcpy(host, v + 1, (size_t)(end - v - 1));
                char *rest;
                port = strtol(end + 2, &rest, 10);
                ok = *rest == 0 && inet_pton(AF_INET6, host, addr) == 1;
            }
        } else if (ok && inet_pton(AF_INET6, v, addr) == 1) {
            snprintf(host, sizeof host, "%s", v);
        } else if (ok) {
            snprintf(host, sizeof host, "%s", v);
            char *colon = strchr(host, ':'), *rest = NULL;
            if (colon) {
                *colon = 0;
                port = strtol(colon + 1, &rest, 10);
            }
            ok = (!rest || *rest == 0) && inet_pton(AF_INET, host, addr) == 1;
        }
        if (!ok || port < 1 || port > 65535) {
            myna_buf_free(&b);
            return fail_at(x, e, "dns_servers: '%s' is not an address (\"IP\", \"IPv4:PORT\" "
                                 "or \"[IPv6]:PORT\")", v ? v : "?");
        }
        myna_buf_printf(&b, "%s%s%s%s:%ld", b.len ? "," : "", strchr(host, ':') ? "[" : "",
                        host, strchr(host, ':') ? "]" : "", port);
    }
    if (b.len) {
        free(*out);
        *out = xstrdup(b.data);
    }
    myna_buf_free(&b);
    return 0;
}

static int parse_s2s(struct ctx *x, const config_setting_t *root)
{
    static const char *const keys[] = {"enabled", "ca_file", "ca_path", "policy", "domains",
                                       "connect_timeout", "auth_timeout", "idle_timeout",
                                       "keepalive", "retries", "retry_delay", "max_incoming",
                                       "max_incoming_per_ip", "stanza_size", "rate", "bidi",
                                       "flood_grace", "dns_servers", NULL};
    struct config_s2s *s = &x->c->s2s;
    config_setting_t *g;
    long long connect = 10, auth = 30, idle = 600, keepalive = 60, retries = 2, delay = 2;
    long long max_in = 1000, per_ip = 20, size = 262144, rate = 10LL << 20, grace = 30;
    const char *ca_file = NULL, *ca_path = NULL;
    s->enabled = true;
    s->bidi = true;
    s->policy = S2S_VERIFY;
    if (get_group(x, root, "s2s", &g) != 0)
        return -1;
    if (g && (check_members(x, g, keys, "s2s") != 0 || get_bool(x, g, "enabled", &s->enabled) || get_bool(x, g, "bidi", &s->bidi) ||
              get_string(x, g, "ca_file", &ca_file) != 0 ||
              get_string(x, g, "ca_path", &ca_path) != 0 || get_policy(x, g, &s->policy) != 0 ||
              get_int(x, g, "connect_timeout", 1, 600, &connect) != 0 ||
              get_int(x, g, "auth_timeout", 1, 3600, &auth) != 0 ||
              get_int(x, g, "idle_timeout", 1, 1000000, &idle) != 0 ||
              get_int(x, g, "keepalive", 0, 86400, &keepalive) != 0 ||
              get_int(x, g, "retries", 0, 100, &retries) != 0 ||
              get_int(x, g, "retry_delay", 0, 3600, &delay) != 0 ||
              get_int(x, g, "max_incoming", 1, 10000000, &max_in) != 0 ||
              get_int(x, g, "max_incoming_per_ip", 1, 10000000, &per_ip) != 0 ||
              get_int(x, g, "stanza_size", 10000, 64LL << 20, &size) != 0 ||
              get_int(x, g, "rate", 1024, 1LL << 40, &rate) != 0 ||
              get_int(x, g, "flood_grace", 0, 86400, &grace) != 0))
        return -1;
    if (ca_file) {
        s->ca_file = resolve_path(x, ca_file);
        if (readable_file(x, config_setting_get_member(g, "ca_file"), "CA file", s->ca_file))
            return -1;
    }
    s->ca_path = ca_path ? resolve_path(x, ca_path) : NULL;
    s->connect_timeout = (unsigned)connect;
    s->auth_timeout = (unsigned)auth;
    s->idle_timeout = (unsigned)idle;
    s->keepalive = (unsigned)keepalive;
    s->retries = (unsigned)retries;
    s->retry_delay = (unsigned)delay;
    s->max_incoming = (unsigned)max_in;
    s->max_incoming_per_ip = (unsigned)per_ip;
    s->stanza_size = (size_t)size;
    s->rate = (uint64_t)rate;
    s->flood_grace = (unsigned)grace;
    config_setting_t *dns = g ? config_setting_get_member(g, "dns_servers") : NULL;
    if (dns && parse_dns_servers(x, dns, &s->dns_servers) != 0)
        return -1;
    config_setting_t *ds = g ? config_setting_get_member(g, "domains") : NULL;
    if (!ds)
        return 0;
    if (want_type(x, ds, CONFIG_TYPE_LIST) != 0)
        return -1;
    int n = config_setting_length(ds);
    s->domains = xcalloc((size_t)n + 1, sizeof *s->domains);
    for (int i = 0; i < n; i++) {
        s->ndomains = (size_t)i + 1;
        if (parse_s2s_domain(x, config_setting_get_elem(ds, (unsigned)i), &s->domains[i]) != 0)
            return -1;
    }
    return 0;
}

/* True if `name` appears in the module list `s` (array or list of strings). */
static bool list_has(const config_setting_t *s, const char *name)
{
    if (!s)
        return false;
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
        if (v && strcmp(v, name) == 0)
            return true;
    }
    return false;
}

/* Is `name` enabled anywhere (the global list, its default, or a host's list)? Read from
 * the raw tree, so it works before the lists are validated. */
static bool module_named(const config_setting_t *root, const char *name)
{
    const config_setting_t *mods = config_setting_get_member(root, "modules");
    const config_setting_t *en =
        mods && config_setting_is_group(mods) ? config_setting_get_member(mods, "enabled")
                                              : NULL;
    if (en ? list_has(en, name) : false)
        return true;
    if (!en)
        for (const char *const *d = default_modules; *d; d++)
            if (strcmp(*d, name) == 0)
                return true;
    const config_setting_t *hs = config_setting_get_member(root, "hosts");
    if (hs && config_setting_is_list(hs))
        for (int i = 0; i < config_setting_length(hs); i++) {
            config_setting_t *h = config_setting_get_elem(hs, (unsigned)i);
            if (config_setting_is_group(h) && list_has(config_setting_get_member(h, "modules"), name))
                return true;
        }
    return false;
}

/* Whether module_path holds NAME.so (a module that is installed but not enabled). */
static bool module_installed(const struct ctx *x, const char *name)
{
    if (!x->c->module_path || strchr(name, '/') || name[0] == '.')
        return false;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s.so", x->c->module_path, name);
    return n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0;
}

/* Top-level keys: core settings, or module sections (groups) of enabled or installed
 * modules. */
static int check_top_level(struct ctx *x, const config_setting_t *root)
{
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(m);
        bool core = false;
        for (const char *const *k = core_keys; *k && !core; k++)
            core = strcmp(name, *k) == 0;
        if (core)
            continue;
        if (!module_named(root, name) &&
            !(config_setting_is_group(m) && module_installed(x, name)))
            return fail_at(x, m, "unknown setting '%s' (not a core setting nor a module's "
                                 "section)",
                           name);
        if (!config_setting_is_group(m))
            return fail_at(x, m, "module section '%s' must be a group { ... }", name);
    }
    return 0;
}

/* Absolute directory of the (absolute) file path. */
static char *dir_of(const char *abs)
{
    const char *slash = strrchr(abs, '/');
    size_t n = slash && slash != abs ? (size_t)(slash - abs) : 1;
    char *d = xmalloc(n + 1);
    memcpy(d, abs, n);
    d[n] = '\0';
    return d;
}

int config_load(const char *path, struct config *out, char *err, size_t errlen)
{
    struct ctx x = {out, path, NULL, err, errlen};
    char **global = NULL;
    char abs[PATH_MAX];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!realpath(path, abs) || access(abs, R_OK) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    out->path = xstrdup(abs);
    x.dir = dir_of(abs);

    config_t *cfg = xcalloc(1, sizeof(*cfg));
    config_init(cfg);
    config_set_include_dir(cfg, x.dir);
    out->cfg = cfg;
    if (config_read_file(cfg, abs) != CONFIG_TRUE) {
        const char *f = config_error_file(cfg);
        if (err && errlen)
            snprintf(err, errlen, "%s:%d: %s", f ? f : abs, config_error_line(cfg),
                     config_error_text(cfg));
        goto done;
    }
    config_setting_t *root = config_root_setting(cfg);
    const char *data_dir = DEF_DATA_DIR, *user = NULL;
    long long map_mb = DEF_MAP_MB, iterations = DEF_SCRAM_ITERATIONS;
    /* The module path first: the top-level check looks for installed modules there. */
    if (parse_modules(&x, root, &global) != 0 || check_top_level(&x, root) != 0 ||
        get_string(&x, root, "data_dir", &data_dir) != 0 ||
        get_string(&x, root, "user", &user) != 0 ||
        get_int(&x, root, "store_map_mb", 1, 16LL << 20, &map_mb) != 0 ||
        get_int(&x, root, "scram_iterations", 4096, 10000000, &iterations) != 0 ||
        get_bool(&x, root, "allow_registration", &out->allow_registration) != 0 ||
        parse_log(&x, root) != 0 || parse_hosts(&x, root, global) != 0 || parse_components(&x, root) != 0 ||
        parse_record_layer(&x, root, &out->tls_record_layer) != 0 ||
        parse_listeners(&x, root) != 0 ||
        parse_limits(&x, root) != 0 || parse_registration_allow(&x, root) != 0 ||
        parse_http(&x, root) != 0 || parse_s2s(&x, root) != 0)
        goto done;
    if (!*data_dir) {
        fail_at(&x, config_setting_get_member(root, "data_dir"), "'data_dir' is empty");
        goto done;
    }
    if (user && !*user) {
        fail_at(&x, config_setting_get_member(root, "user"), "'user' is empty");
        goto done;
    }
    out->user = user ? xstrdup(user) : NULL;
    out->data_dir = resolve_path(&x, data_dir);
    out->store_map_mb = (size_t)map_mb;
    out->scram_iterations = (unsigned)iterations;
    rc = 0;
done:
    strv_free(global);
    free(x.dir);
    if (rc != 0)
        config_free(out);
    return rc;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].domain);
        free(c->hosts[i].certificate);
        free(c->hosts[i].key);
        free(c->hosts[i].sm_location);
        strv_free(c->hosts[i].modules);
    }
    free(c->hosts);
    for (size_t i = 0; c->reg_hosts && i < c->nreg_hosts; i++)
        free(c->reg_hosts[i]);
    free(c->reg_hosts);
    free(c->reg_ranges);
    for (size_t i = 0; i < c->nlistens; i++) {
        free(c->listens[i].address);
        free(c->listens[i].sm_location);
    }
    free(c->listens);
    for (size_t i = 0; i < c->ncomponents; i++) {
        free(c->components[i].domain);
        free(c->components[i].secret);
    }
    free(c->components);
    free(c->http.cors_origin);
    free(c->http.external_url);
    strv_free(c->http.websocket_origins);
    free(c->http.trusted_proxies);
    for (size_t i = 0; i < c->s2s.ndomains; i++) {
        free(c->s2s.domains[i].domain);
        free(c->s2s.domains[i].host);
    }
    free(c->s2s.domains);
    free(c->s2s.ca_file);
    free(c->s2s.dns_servers);
    free(c->s2s.ca_path);
    free(c->path);
    free(c->data_dir);
    free(c->user);
    free(c->module_path);
    if (c->cfg) {
        config_destroy(c->cfg);
        free(c->cfg);
    }
    struct strcache *sc = c->strings;
    if (sc) {
        for (size_t i = 0; i < sc->n; i++)
            free(sc->s[i]);
        free(sc->s);
        free(sc);
    }
    memset(c, 0, sizeof(*c));
}

const struct config_host *config_find_host(const struct config *c, const char *domain)
{
    for (size_t i = 0; i < c->nhosts; i++)
        if (strcmp(c->hosts[i].domain, domain) == 0)
            return &c->hosts[i];
    return NULL;
}

const struct config_s2s_domain *config_s2s_domain(const struct config *c, const char *domain)
{
    for (size_t i = 0; i < c->s2s.ndomains; i++)
        if (strcmp(c->s2s.domains[i].domain, domain) == 0)
            return &c->s2s.domains[i];
    return NULL;
}

enum s2s_policy config_s2s_policy(const struct config *c, const char *domain)
{
    const struct config_s2s_domain *d = config_s2s_domain(c, domain);
    return d ? d->policy : c->s2s.policy;
}

/* ---- Module sections ------------------------------------------------------------------ */

static config_setting_t *module_section(const struct config *c, const char *module)
{
    if (!c->cfg)
        return NULL;
    config_setting_t *s = config_setting_get_member(config_root_setting((config_t *)c->cfg),
                                                    module);
    return s && config_setting_is_group(s) ? s : NULL;
}

static const struct myna_option *find_option(const struct myna_option *opts, const char *name)
{
    for (; opts && opts->type != MYNA_OPT_END; opts++)
        if (strcmp(opts->name, name) == 0)
            return opts;
    return NULL;
}

int config_module_check(const struct config *c, const char *module,
                        const struct myna_option *opts, char *err, size_t errlen)
{
    struct ctx x = {(struct config *)c, c->path, NULL, err, errlen};
    config_setting_t *g = module_section(c, module);
    if (!g)
        return 0;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct myna_option *o = find_option(opts, name);
        if (!o)
            return fail_at(&x, s, "unknown option '%s' for module %s", name, module);
        switch (o->type) {
        case MYNA_OPT_BOOL:
            if (want_type(&x, s, CONFIG_TYPE_BOOL) != 0)
                return -1;
            break;
        case MYNA_OPT_STRING:
            if (want_type(&x, s, CONFIG_TYPE_STRING) != 0)
                return -1;
            break;
        case MYNA_OPT_INT: {
            if (want_type(&x, s, CONFIG_TYPE_INT) != 0)
                return -1;
            long long v = config_setting_get_int64(s);
            if ((o->min != 0 || o->max != 0) && (v < o->min || v > o->max))
                return fail_at(&x, s, "'%s' must be between %lld and %lld (got %lld)", name,
                               o->min, o->max, v);
            break;
        }
        default:
            return fail_at(&x, s, "option '%s' of module %s has no type", name, module);
        }
    }
    return 0;
}

/* Keeps s alive as long as the config; returns it. */
static const char *cache_string(const struct config *c, char *s)
{
    struct config *mc = (struct config *)c;
    struct strcache *sc = mc->strings;
    if (!sc)
        sc = mc->strings = xcalloc(1, sizeof(*sc));
    sc->s = xrealloc(sc->s, (sc->n + 1) * sizeof(*sc->s));
    sc->s[sc->n++] = s;
    return s;
}

int config_module_get(const struct config *c, const char *module,
                      const struct myna_option *opt, long long *ival, const char **sval)
{
    config_setting_t *g = module_section(c, module);
    config_setting_t *s = g ? config_setting_get_member(g, opt->name) : NULL;
    const char *text = NULL;
    long long iv = 0;
    char buf[32];

    if (s) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_BOOL:
            iv = config_setting_get_bool(s) != 0;
            text = iv ? "true" : "false";
            break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
            iv = config_setting_get_int64(s);
            snprintf(buf, sizeof(buf), "%lld", iv);
            text = cache_string(c, xstrdup(buf));
            break;
        case CONFIG_TYPE_STRING:
            text = config_setting_get_string(s);
            break;
        default:
            break;
        }
    } else if (opt->def) {
        text = opt->def;
        if (opt->type == MYNA_OPT_BOOL)
            iv = strcmp(opt->def, "true") == 0 || strcmp(opt->def, "1") == 0;
        else if (opt->type == MYNA_OPT_INT)
            iv = strtoll(opt->def, NULL, 0);
    }
    if (ival)
        *ival = iv;
    if (sval)
        *sval = text;
    return text ? 0 : -1;
}
