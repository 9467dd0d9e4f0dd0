/* modules/extdisco.c — external service discovery (XEP-0215, urn:xmpp:extdisco:2): the
 * STUN/TURN (or other) services of the config, to local users of the host (§2; anyone else
 * gets forbidden).
 *   <services [type]/>        every service, or those of one type (§3.1, §3.2);
 *   <credentials><service host type [port]/></credentials>   credentials for one (§3.3).
 * With `secret` set, TURN services ("turn", "turns") come with time-limited credentials as
 * the TURN REST API convention makes them, which coturn's use-auth-secret checks:
 * username = "EXPIRY:user@host" (EXPIRY in seconds since the epoch, now + ttl),
 * password = base64(HMAC-SHA1(secret, username)), expires = EXPIRY as XEP-0082 UTC.
 * Services are read once at load: "TYPE HOST PORT TRANSPORT" entries, comma separated.
 * Nothing is stored; no pushes (§3.2) are sent.
 */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/module.h"

#define NS_EXTDISCO "urn:xmpp:extdisco:2"
#define MAX_SERVICES 64

static const struct myna_option extdisco_options[] = {
    {"services", MYNA_OPT_STRING, "", 0, 0,
     "\"TYPE HOST PORT TRANSPORT\" entries, comma separated, e.g. "
     "\"stun turn.example.org 3478 udp, turn turn.example.org 3478 udp\""},
    {"secret", MYNA_OPT_STRING, "", 0, 0,
     "shared secret of the TURN server (coturn static-auth-secret); empty = no credentials"},
    {"ttl", MYNA_OPT_INT, "86400", 60, 2592000, "seconds TURN credentials stay valid"},
    {.type = MYNA_OPT_END},
};

struct service {
    char *type, *host, *transport;
    unsigned port;
};

struct extdisco {
    struct service svc[MAX_SERVICES];
    size_t n;
    char *secret;   /* NULL: no credentials */
    long long ttl;
};

static bool with_credentials(const struct extdisco *x, const struct service *s)
{
    return x->secret && (strcmp(s->type, "turn") == 0 || strcmp(s->type, "turns") == 0);
}

/* ---- configuration ---- */

static bool valid_type(const char *t)
{
    if (!*t || strlen(t) > 32)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '-'))
            return false;
    return true;
}

/* A host name (nameprep'd, as a JID domain) or an IP address literal. */
static char *valid_host(const char *h)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1)
        return strdup(h);
    struct myna_arena *a = myna_arena_new();
    const char *p = strchr(h, '@') || strchr(h, '/') ? NULL : myna_jid_nameprep(a, h);
    char *out = p ? strdup(p) : NULL;
    myna_arena_free(a);
    return out;
}

static int parse_entry(struct myna_module *m, struct extdisco *x, char *entry)
{
    char *save = NULL;
    char *f[5];
    size_t n = 0;
    for (char *w = strtok_r(entry, " \t\n", &save); w && n < 5;
         w = strtok_r(NULL, " \t\n", &save))
        f[n++] = w;
    if (n == 0)
        return 0;
    char *end = NULL;
    long port = n == 4 ? strtol(f[2], &end, 10) : 0;
    struct service *s = &x->svc[x->n];
    if (n != 4 || x->n == MAX_SERVICES || !valid_type(f[0]) || !end || *end || port < 1 ||
        port > 65535 || (strcmp(f[3], "udp") != 0 && strcmp(f[3], "tcp") != 0) ||
        !(s->host = valid_host(f[1]))) {
        myna_log(m, MYNA_LOG_ERROR,
                 "extdisco.services: bad entry (want \"TYPE HOST PORT udp|tcp\", at most %d)",
                 MAX_SERVICES);
        return -1;
    }
    s->type = strdup(f[0]);
    s->transport = strdup(f[3]);
    s->port = (unsigned)port;
    x->n++;
    return s->type && s->transport ? 0 : -1;
}

static int parse_services(struct myna_module *m, struct extdisco *x, const char *list)
{
    char *copy = strdup(list ? list : "");
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e && rc == 0; e = strtok_r(NULL, ",", &save))
        rc = parse_entry(m, x, e);
    free(copy);
    return rc;
}

/* ---- answers ---- */

/* TURN REST API credentials for `user` (a bare JID), valid for ttl seconds from now. */
static void add_credentials(const struct extdisco *x, struct myna_xml *el, const char *user)
{
    time_t expiry = time(NULL) + (time_t)x->ttl;
    char *username = myna_arena_printf(el->arena, "%lld:%s", (long long)expiry, user);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(EVP_sha1(), x->secret, (int)strlen(x->secret), (const unsigned char *)username,
         strlen(username), mac, &maclen);
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock(b64, mac, (int)maclen);
    struct tm tm;
    char when[32];
    gmtime_r(&expiry, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    myna_xml_set_attr(el, "username", username);
    myna_xml_set_attr(el, "password", (const char *)b64);
    myna_xml_set_attr(el, "expires", when);
}

static struct myna_xml *add_service(const struct extdisco *x, struct myna_xml *parent,
                                    const struct service *s, const char *user)
{
    struct myna_xml *el = myna_xml_add_child(parent, NS_EXTDISCO, "service");
    myna_xml_set_attr(el, "type", s->type);
    myna_xml_set_attr(el, "host", s->host);
    myna_xml_set_attrf(el, "port", "%u", s->port);
    myna_xml_set_attr(el, "transport", s->transport);
    if (with_credentials(x, s)) {
        myna_xml_set_attr(el, "restricted", "1");
        add_credentials(x, el, user);
    }
    return el;
}

/* §2: only the host's own users learn about its services (and get credentials). */
static bool local_user(struct myna_module *m, const struct myna_stanza *st)
{
    return st->from.node && strcmp(st->from.domain, myna_module_host(m)) == 0;
}

static int services_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    const struct extdisco *x = data;
    if (!local_user(m, st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    const char *type = myna_xml_attr(myna_xml_first_element(st->xml), "type");
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *list = myna_xml_add_child(res, NS_EXTDISCO, "services");
    if (type)
        myna_xml_set_attr(list, "type", type);
    for (size_t i = 0; i < x->n; i++)
        if (!type || strcmp(type, x->svc[i].type) == 0)
            add_service(x, list, &x->svc[i], st->from.bare);
    myna_iq_send_result(st, res);
    return 0;
}

static int credentials_iq(struct myna_module *m, struct myna_stanza *st, void *data)
{
    const struct extdisco *x = data;
    if (!local_user(m, st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    /* §3.3: one <service/> with host and type, optionally port. */
    struct myna_xml *want = myna_xml_find(myna_xml_first_element(st->xml), NS_EXTDISCO,
                                          "service");
    const char *host = want ? myna_xml_attr(want, "host") : NULL;
    const char *type = want ? myna_xml_attr(want, "type") : NULL;
    const char *port = want ? myna_xml_attr(want, "port") : NULL;
    char *end = NULL;
    long pn = port ? strtol(port, &end, 10) : 0;
    if (!host || !type || (port && (!*port || *end || pn < 1 || pn > 65535))) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "a service with host and type is needed");
        return 0;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *cred = myna_xml_add_child(res, NS_EXTDISCO, "credentials");
    size_t found = 0;
    for (size_t i = 0; i < x->n; i++) {
        const struct service *s = &x->svc[i];
        if (strcmp(s->host, host) != 0 || strcmp(s->type, type) != 0 ||
            (port && (unsigned)pn != s->port) || !with_credentials(x, s))
            continue;
        add_service(x, cred, s, st->from.bare);
        found++;
    }
    if (found == 0) {
        myna_reply_error(st, MYNA_ERR_ITEM_NOT_FOUND, "no credentials for that service");
        return 0;
    }
    myna_iq_send_result(st, res);
    return 0;
}

static void extdisco_unload(struct myna_module *m)
{
    struct extdisco *x = myna_module_data(m);
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++) {
        free(x->svc[i].type);
        free(x->svc[i].host);
        free(x->svc[i].transport);
    }
    free(x->secret);
    free(x);
}

static int extdisco_load(struct myna_module *m)
{
    struct extdisco *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    myna_module_set_data(m, x);
    const char *secret = myna_opt_string(m, "secret");
    if (secret && *secret && !(x->secret = strdup(secret)))
        return -1;
    x->ttl = myna_opt_int(m, "ttl");
    if (parse_services(m, x, myna_opt_string(m, "services")) < 0)
        return -1;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_EXTDISCO, "services", MYNA_IQ_TO_HOST, services_iq,
                         x) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS_EXTDISCO, "credentials", MYNA_IQ_TO_HOST,
                         credentials_iq, x) < 0)
        return -1;
    return 0;
}

MYNA_MODULE_DEFINE(.name = "extdisco",
                   .description = "External service discovery (XEP-0215), TURN credentials",
                   .options = extdisco_options, .load = extdisco_load,
                   .unload = extdisco_unload);
