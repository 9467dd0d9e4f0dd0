/* modules/upload.c — HTTP File Upload (XEP-0363, urn:xmpp:http:upload:0) on upload.HOST:
 * who may upload what. Local users of the host ask the service for a slot (§4):
 *   <request filename size [content-type]/>  ->  <slot><put url/><get url/></slot>
 * within `max_size` per file (larger: not-acceptable with <file-too-large/> and the
 * limit, §4.2), `quota` bytes per user, stored or held by slots not yet used (over it:
 * resource-constraint; myna_upload_usage counts both since API 1.2), and the
 * `types` allowed (others: not-acceptable). The server stores the files and serves the
 * signed URLs on its HTTP listeners (myna_upload_slot, since API 1.1); the service is in
 * disco (§3: identity store/file, the feature, max-file-size in a form) and in the host's
 * disco#items. Anyone else gets forbidden. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "myna/module.h"

#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_DATA "jabber:x:data"

static const struct myna_option upload_options[] = {
    {"domain", MYNA_OPT_STRING, "", 0, 0, "the service's JID (default upload.HOST)"},
    {"max_size", MYNA_OPT_INT, "10485760", 1, 1LL << 32,
     "bytes of one file (at most the server's http.upload_max_size)"},
    {"quota", MYNA_OPT_INT, "104857600", 0, 1LL << 40,
     "bytes a user may have stored at once, slots not yet used included (0 = no limit)"},
    {"types", MYNA_OPT_STRING, "", 0, 0,
     "content types allowed, comma separated, \"image/*\" for a family (empty = any)"},
    {"slot_ttl", MYNA_OPT_INT, "300", 1, 86400, "seconds a slot's PUT URL stays valid"},
    {.type = MYNA_OPT_END},
};

struct upload {
    char *domain;
    long long max_size, quota, ttl;
    char *types; /* "text/plain,image/" + "*" without spaces, or NULL for any */
};

static bool type_allowed(const struct upload *u, const char *type)
{
    if (!u->types)
        return true;
    size_t tl = strlen(type);
    for (const char *p = u->types; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= 2 && p[n - 1] == '*' && p[n - 2] == '/') {
            if (tl > n - 1 && strncasecmp(type, p, n - 1) == 0)
                return true;
        } else if (n == tl && strncasecmp(type, p, n) == 0) {
            return true;
        }
        p += n + (e ? 1 : 0);
    }
    return false;
}

static void service_info(const struct upload *u, struct myna_stanza *st)
{
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *q = myna_xml_add_child(res, NS_DISCO_INFO, "query");
    struct myna_xml *id = myna_xml_add_child(q, NULL, "identity");
    myna_xml_set_attr(id, "category", "store");
    myna_xml_set_attr(id, "type", "file");
    myna_xml_set_attr(id, "name", "HTTP File Upload");
    myna_xml_set_attr(myna_xml_add_child(q, NULL, "feature"), "var", NS_DISCO_INFO);
    myna_xml_set_attr(myna_xml_add_child(q, NULL, "feature"), "var", NS_UPLOAD);
    /* §3: the largest file, in a form clients read before they ask. */
    struct myna_xml *x = myna_xml_add_child(q, NS_DATA, "x");
    myna_xml_set_attr(x, "type", "result");
    struct myna_xml *f = myna_xml_add_child(x, NULL, "field");
    myna_xml_set_attr(f, "var", "FORM_TYPE");
    myna_xml_set_attr(f, "type", "hidden");
    struct myna_xml *v = myna_xml_add_child(f, NULL, "value");
    myna_xml_add_text(v, NS_UPLOAD, strlen(NS_UPLOAD));
    f = myna_xml_add_child(x, NULL, "field");
    myna_xml_set_attr(f, "var", "max-file-size");
    char n[32];
    snprintf(n, sizeof n, "%lld", u->max_size);
    v = myna_xml_add_child(f, NULL, "value");
    myna_xml_add_text(v, n, strlen(n));
    myna_iq_send_result(st, res);
}

static void too_large(struct myna_module *m, const struct upload *u, struct myna_stanza *st)
{
    struct myna_xml *r = myna_error_reply(st, MYNA_ERR_NOT_ACCEPTABLE, "File too large");
    if (!r)
        return;
    struct myna_xml *err = myna_xml_find(r, NULL, "error");
    if (err) {
        struct myna_xml *ftl = myna_xml_add_child(err, NS_UPLOAD, "file-too-large");
        struct myna_xml *mx = myna_xml_add_child(ftl, NS_UPLOAD, "max-file-size");
        char n[32];
        snprintf(n, sizeof n, "%lld", u->max_size);
        myna_xml_add_text(mx, n, strlen(n));
    }
    myna_send(m, r);
}

static void slot_request(struct myna_module *m, struct upload *u, struct myna_stanza *st,
                         struct myna_xml *req)
{
    if (strcmp(st->from.domain, myna_module_host(m)) != 0 || !st->from.node) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, "Only local users may upload");
        return;
    }
    const char *name = myna_xml_attr(req, "filename");
    const char *size_s = myna_xml_attr(req, "size");
    const char *type = myna_xml_attr(req, "content-type");
    char *end = NULL;
    long long size = size_s ? strtoll(size_s, &end, 10) : -1;
    if (!name || !size_s || !*size_s || *end || size < 0) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "filename and size are required");
        return;
    }
    if (size > u->max_size) {
        too_large(m, u, st);
        return;
    }
    if (!type_allowed(u, type ? type : "")) {
        myna_reply_error(st, MYNA_ERR_NOT_ACCEPTABLE, "This content type is not accepted");
        return;
    }
    if (u->quota && (long long)myna_upload_usage(m, st->from.bare) + size > u->quota) {
        myna_reply_error(st, MYNA_ERR_RESOURCE_CONSTRAINT, "Upload quota exceeded");
        return;
    }
    char *put = NULL, *get = NULL;
    int r = myna_upload_slot(m, st->from.bare, name, (uint64_t)size, type ? type : "",
                             (unsigned)u->ttl, &put, &get);
    if (r == MYNA_UPLOAD_BADNAME) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "This file name cannot be stored");
        return;
    }
    if (r == MYNA_UPLOAD_TOOBIG) {
        too_large(m, u, st);
        return;
    }
    if (r == MYNA_UPLOAD_TOOMANY) {
        myna_reply_error(st, MYNA_ERR_RESOURCE_CONSTRAINT,
                         "Too many upload slots not used yet");
        return;
    }
    if (r < 0) {
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, "No HTTP listener");
        return;
    }
    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *slot = myna_xml_add_child(res, NS_UPLOAD, "slot");
    myna_xml_set_attr(myna_xml_add_child(slot, NULL, "put"), "url", put);
    myna_xml_set_attr(myna_xml_add_child(slot, NULL, "get"), "url", get);
    myna_log(m, MYNA_LOG_INFO, "slot for %s: %s (%lld bytes)", st->from.bare, name, size);
    free(put);
    free(get);
    myna_iq_send_result(st, res);
}

static void on_stanza(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct upload *u = data;
    if (st->kind != MYNA_IQ) {
        if (st->kind == MYNA_MESSAGE)
            myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    if (strcmp(st->type, "get") != 0 && strcmp(st->type, "set") != 0)
        return; /* results and errors: nothing asked them */
    struct myna_xml *p = myna_xml_first_element(st->xml);
    bool get = strcmp(st->type, "get") == 0;
    if (st->to.node || st->to.resource) {
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
    } else if (get && p && myna_xml_is(p, NS_UPLOAD, "request")) {
        slot_request(m, u, st, p);
    } else if (get && p && myna_xml_is(p, NS_DISCO_INFO, "query") && !myna_xml_attr(p, "node")) {
        service_info(u, st);
    } else if (get && p && myna_xml_is(p, NS_DISCO_ITEMS, "query")) {
        struct myna_xml *res = myna_iq_result_new(st);
        myna_xml_add_child(res, NS_DISCO_ITEMS, "query");
        myna_iq_send_result(st, res);
    } else {
        myna_reply_error(st, MYNA_ERR_SERVICE_UNAVAILABLE, NULL);
    }
}

static void upload_unload(struct myna_module *m)
{
    struct upload *u = myna_module_data(m);
    if (!u)
        return;
    free(u->domain);
    free(u->types);
    free(u);
}

static char *strip_spaces(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            *o++ = *s;
    *o = '\0';
    return out;
}

static int upload_load(struct myna_module *m)
{
    struct upload *u = calloc(1, sizeof *u);
    if (!u)
        return -1;
    myna_module_set_data(m, u);
    const char *dom = myna_opt_string(m, "domain");
    if (dom && *dom) {
        u->domain = strdup(dom);
    } else {
        size_t n = strlen("upload.") + strlen(myna_module_host(m)) + 1;
        if ((u->domain = malloc(n)))
            snprintf(u->domain, n, "upload.%s", myna_module_host(m));
    }
    const char *types = myna_opt_string(m, "types");
    if (types && *types && !(u->types = strip_spaces(types)))
        return -1;
    u->max_size = myna_opt_int(m, "max_size");
    if ((uint64_t)u->max_size > myna_upload_max_size(m))
        u->max_size = (long long)myna_upload_max_size(m); /* the server takes no more */
    u->quota = myna_opt_int(m, "quota");
    u->ttl = myna_opt_int(m, "slot_ttl");
    if (!u->domain || myna_subdomain_claim(m, u->domain, on_stanza, u) < 0)
        return -1;
    myna_disco_item(m, u->domain, "HTTP File Upload");
    return 0;
}

MYNA_MODULE_DEFINE(.name = "upload", .description = "HTTP File Upload (XEP-0363) on upload.HOST",
                   .options = upload_options, .load = upload_load, .unload = upload_unload);
