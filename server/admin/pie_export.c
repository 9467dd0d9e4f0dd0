/* server/admin/pie_export.c — the XEP-0227 exporter (server/admin/pie.h) and the writer modules use
 * (myna_export_write/_begin/_end, include/myna/module.h).
 *
 * Output: <server-data xmlns='urn:xmpp:pie:0'>, per host <host jid>, per account
 * <user name> with one <scram-credentials/> per stored hash (the stored keys, as Prosody
 * writes them, so Prosody and Myna can read them back), then each module's elements, and
 * after the users each module's host data. One step writes one user: the account table is
 * walked by key (never a cursor kept across loop turns), so memory does not grow with the
 * number of users, and a running server serves between steps.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/admin/pie.h"
#include "server/base/log.h"
#include "server/modhost/host.h"
#include "server/server.h"
#include "server/store/accounts.h"

#define OPEN_MAX 16

struct myna_export {
    struct pie_export *x;
    struct myna_buf buf;           /* serialized, not yet given to the sink */
    char *open_name[OPEN_MAX];     /* elements opened by myna_export_begin() */
    char *open_ns[OPEN_MAX];
    int nopen;
    const char *base_ns;           /* default namespace around the module's elements */
    int err;
};

enum phase { P_HEAD, P_USERS, P_HOST_DATA, P_TAIL, P_DONE };

struct pie_export {
    struct server *srv;
    char **hosts;                  /* domains to export */
    size_t nhosts, ihost;
    enum phase phase;
    char *last;                    /* key of the last exported account of this host */
    pie_sink_fn sink;
    void *ud;
    unsigned long users, failed_modules;
    int err;
    struct myna_export out;
};

/* ---- the writer modules see ---- */

static int flush_out(struct myna_export *o)
{
    if (o->err)
        return o->err;
    if (o->buf.len) {
        int rc = o->x->sink(o->x->ud, o->buf.data, o->buf.len);
        o->buf.len = 0;
        if (rc < 0)
            o->err = rc;
    }
    return o->err;
}

static const char *scope_ns(const struct myna_export *o)
{
    return o->nopen ? o->open_ns[o->nopen - 1] : o->base_ns;
}

int myna_export_write(struct myna_export *out, const struct myna_xml *el)
{
    if (out->err)
        return out->err;
    myna_xml_serialize(el, scope_ns(out), &out->buf);
    return out->buf.len >= 65536 ? flush_out(out) : 0;
}

int myna_export_begin(struct myna_export *out, const struct myna_xml *el)
{
    if (out->err)
        return out->err;
    if (out->nopen == OPEN_MAX)
        return out->err = -1;
    /* The start tag is the element serialized without children, its "/>" made ">". */
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *shell = myna_xml_new(a, el->ns, el->name);
    for (const struct myna_xml_attr *at = el->attrs; at; at = at->next)
        if (!at->ns)
            myna_xml_set_attr(shell, at->name, at->value);
    size_t start = out->buf.len;
    myna_xml_serialize(shell, scope_ns(out), &out->buf);
    if (out->buf.len - start >= 2 && out->buf.data[out->buf.len - 2] == '/') {
        out->buf.len -= 2;
        myna_buf_append(&out->buf, ">", 1);
    }
    myna_arena_free(a);
    out->open_name[out->nopen] = xstrdup(el->name);
    out->open_ns[out->nopen] = xstrdup(el->ns);
    out->nopen++;
    return 0;
}

int myna_export_end(struct myna_export *out)
{
    if (out->nopen == 0)
        return out->err = -1;
    out->nopen--;
    myna_buf_printf(&out->buf, "</%s>", out->open_name[out->nopen]);
    free(out->open_name[out->nopen]);
    free(out->open_ns[out->nopen]);
    return out->err;
}

/* Closes what was opened past `depth` (a failed module must not break the document). */
static void close_to(struct myna_export *o, int depth)
{
    while (o->nopen > depth)
        myna_export_end(o);
}

/* ---- the exporter ---- */

struct pie_export *pie_export_new(struct server *srv, char **hosts, pie_sink_fn sink, void *ud)
{
    struct pie_export *x = xcalloc(1, sizeof *x);
    x->srv = srv;
    x->sink = sink;
    x->ud = ud;
    size_t n = 0;
    if (hosts)
        while (hosts[n])
            n++;
    else
        n = srv->nhosts;
    x->hosts = xcalloc(n + 1, sizeof *x->hosts);
    for (size_t i = 0; i < n; i++)
        x->hosts[i] = xstrdup(hosts ? hosts[i] : srv->hosts[i]->domain);
    x->nhosts = n;
    x->out.x = x;
    x->out.base_ns = PIE_NS;
    myna_buf_init(&x->out.buf);
    return x;
}

/* Calls each module's export function of this host (user NULL: host data). */
static void export_modules(struct pie_export *x, struct host *h, const struct myna_jid *user)
{
    for (struct reg_migration *r = h->migrations; r && !x->out.err; r = r->next) {
        if (!r->exp || !(r->flags & MYNA_MIGRATION_HOST) != (user != NULL))
            continue;
        int depth = x->out.nopen;
        int rc = r->exp(r->owner, user, &x->out, r->data);
        close_to(&x->out, depth);
        if (rc < 0 && !x->out.err) {
            x->failed_modules++;
            log_error("export", "module %s failed to export %s", r->owner->def->name,
                      user ? user->bare : h->domain);
        }
    }
}

static void put_b64(struct myna_xml *parent, const char *name, const unsigned char *d, size_t n)
{
    char text[SCRAM_SALT_MAX * 2 + 8];
    int len = base64_encode(d, n, text, sizeof text);
    if (len > 0)
        myna_xml_add_text(myna_xml_add_child(parent, NULL, name), text, (size_t)len);
}

/* <scram-credentials/> as Prosody writes it (XEP-0227 §4.3 with the #scram extension). */
static void export_credentials(struct pie_export *x, struct myna_arena *a,
                               const struct account *acc)
{
    for (int h = SCRAM_SHA1; h <= SCRAM_SHA256; h++) {
        const struct scram_credentials *c = account_cred(acc, (enum scram_hash)h);
        if (!c)
            continue;
        struct myna_xml *s = myna_xml_new(a, PIE_NS_SCRAM, "scram-credentials");
        myna_xml_set_attr(s, "mechanism", scram_mech_name((enum scram_hash)h, false));
        const char *iter = myna_arena_printf(a, "%u", c->iterations);
        myna_xml_add_text(myna_xml_add_child(s, NULL, "iter-count"), iter, strlen(iter));
        put_b64(s, "salt", c->salt, c->salt_len);
        put_b64(s, "server-key", c->server_key, scram_hash_len(c->hash));
        put_b64(s, "stored-key", c->stored_key, scram_hash_len(c->hash));
        myna_export_write(&x->out, s);
    }
}

struct next_user {
    const char *host;
    size_t hlen;
    const char *after;   /* key to go past, or NULL */
    char *found;         /* node of the next account (heap) */
};

static int next_user_cb(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct next_user *nu = data;
    const char *k = key;
    const char *at = memchr(k, '@', klen);
    if (!at || at == k)
        return 0; /* "@host": the host's counters, not an account */
    if (nu->after && klen == strlen(nu->after) && memcmp(k, nu->after, klen) == 0)
        return 0;
    if ((size_t)(k + klen - at - 1) != nu->hlen || memcmp(at + 1, nu->host, nu->hlen) != 0)
        return 0;
    size_t n = (size_t)(at - k);
    nu->found = xmalloc(n + 1);
    memcpy(nu->found, k, n);
    nu->found[n] = '\0';
    return 1;
}

/* Writes the next user of the current host; false when there is none left. */
static bool export_next_user(struct pie_export *x, struct host *h)
{
    struct next_user nu = {h->domain, strlen(h->domain), x->last, NULL};
    myna_store_iter(x->srv->accounts, NULL, 0, x->last, x->last ? strlen(x->last) : 0, false, 0,
                    next_user_cb, &nu);
    if (!nu.found)
        return false;
    free(x->last);
    size_t klen = strlen(nu.found) + 1 + strlen(h->domain) + 1;
    x->last = xmalloc(klen);
    snprintf(x->last, klen, "%s@%s", nu.found, h->domain);
    struct myna_arena *a = myna_arena_new();
    struct myna_jid user;
    struct account acc;
    if (myna_jid_make(a, nu.found, h->domain, NULL, &user) == 0 &&
        account_get(x->srv->accounts, nu.found, h->domain, &acc) == 0) {
        struct myna_xml *u = myna_xml_new(a, PIE_NS, "user");
        myna_xml_set_attr(u, "name", nu.found);
        myna_export_begin(&x->out, u);
        export_credentials(x, a, &acc);
        export_modules(x, h, &user);
        myna_export_end(&x->out);
        x->users++;
    }
    OPENSSL_cleanse(&acc, sizeof acc);
    myna_arena_free(a);
    free(nu.found);
    return true;
}

int pie_export_step(struct pie_export *x)
{
    if (x->err || x->out.err)
        return x->err ? x->err : x->out.err;
    struct host *h = x->ihost < x->nhosts ? server_host(x->srv, x->hosts[x->ihost]) : NULL;
    switch (x->phase) {
    case P_HEAD:
        myna_buf_appends(&x->out.buf, "<?xml version='1.0' encoding='UTF-8'?>\n"
                                      "<server-data xmlns='" PIE_NS "'>\n");
        x->phase = P_USERS;
        break;
    case P_USERS:
        if (x->ihost >= x->nhosts) {
            x->phase = P_TAIL;
            break;
        }
        if (!h) {
            log_warn("export", "%s is not a host of this server; skipped", x->hosts[x->ihost]);
            x->ihost++;
            break;
        }
        if (!x->last)
            myna_buf_printf(&x->out.buf, "<host jid='%s'>\n", h->domain);
        if (export_next_user(x, h))
            myna_buf_appends(&x->out.buf, "\n");
        else
            x->phase = P_HOST_DATA;
        break;
    case P_HOST_DATA:
        export_modules(x, h, NULL);
        myna_buf_appends(&x->out.buf, "</host>\n");
        free(x->last);
        x->last = NULL;
        x->ihost++;
        x->phase = P_USERS;
        break;
    case P_TAIL:
        myna_buf_appends(&x->out.buf, "</server-data>\n");
        x->phase = P_DONE;
        break;
    case P_DONE:
        return 0;
    }
    int rc = flush_out(&x->out);
    if (rc < 0)
        return x->err = rc;
    return x->phase == P_DONE ? 0 : 1;
}

void pie_export_summary(const struct pie_export *x, struct myna_buf *out)
{
    if (x->err || x->out.err)
        myna_buf_printf(out, "export FAILED after %lu users (the output could not be "
                             "written)\n", x->users);
    else
        myna_buf_printf(out, "exported %lu users of %zu hosts%s\n", x->users, x->nhosts,
                        x->failed_modules ? " (some module data failed: see mynad's log)" : "");
}

void pie_export_free(struct pie_export *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nhosts; i++)
        free(x->hosts[i]);
    free(x->hosts);
    free(x->last);
    close_to(&x->out, 0);
    myna_buf_free(&x->out.buf);
    free(x);
}
