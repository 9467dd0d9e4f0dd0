/* server/modhost/module.c — module loading (dlopen, ABI check, dependencies, per-host instances)
 * and the registries behind the module API (host.h). Every registration records its
 * owner; module_unload() walks each registry and removes the owner's entries, so a
 * module never unregisters by hand. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/asan.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/loop/pool.h"
#include "server/modhost/host.h"
#include "server/modhost/moddesc.h"
#include "server/modhost/users.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/server.h"
#include "server/stream/component.h"

struct host *server_host(struct server *srv, const char *domain)
{
    return domain ? hashmap_get(srv->host_map, domain) : NULL;
}

/* ---- loading ---- */

static struct module_def *def_open(struct server *srv, const char *name)
{
    struct module_def *d = hashmap_get(srv->module_defs, name);
    if (d)
        return d;
    void *handle;
    const struct myna_module_desc *desc;
    char err[4200];
    if (moddesc_open(srv->cfg.module_path, name, RTLD_NOW | RTLD_LOCAL, &handle, &desc, err,
                     sizeof err) < 0) {
        log_error("module", "%s", err);
        return NULL;
    }
    d = xcalloc(1, sizeof *d);
    d->name = xstrdup(name);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", srv->cfg.module_path, name);
    d->path = xstrdup(path);
    d->handle = handle;
    d->desc = desc;
    hashmap_put(srv->module_defs, d->name, d);
    return d;
}

static void def_release(struct server *srv, struct module_def *d)
{
    if (--d->refs > 0)
        return;
    hashmap_del(srv->module_defs, d->name);
    /* ASan cannot symbolize unloaded code; keep it mapped in sanitizer builds. */
#if !defined(MYNA_ASAN)
    dlclose(d->handle);
#endif
    free(d->name);
    free(d->path);
    free(d);
}

static struct myna_module *host_module(struct host *h, const char *name)
{
    for (struct myna_module *m = h->modules; m; m = m->next)
        if (strcmp(m->def->name, name) == 0)
            return m;
    return NULL;
}

int module_load(struct host *h, const char *name)
{
    struct server *srv = h->srv;
    if (host_module(h, name))
        return 0;
    struct module_def *d = def_open(srv, name);
    if (!d)
        return -1;
    const struct myna_module_desc *desc = d->desc;
    for (const char *const *dep = desc->depends; dep && *dep; dep++) {
        if (module_load(h, *dep) < 0) {
            log_error("module", "%s on %s: dependency '%s' failed to load", name, h->domain, *dep);
            if (d->refs == 0)
                def_release(srv, (d->refs++, d));
            return -1;
        }
    }
    char err[512];
    if (config_module_check(&srv->cfg, name, desc->options, err, sizeof err) < 0) {
        log_error("module", "%s", err);
        if (d->refs == 0)
            def_release(srv, (d->refs++, d));
        return -1;
    }
    struct myna_module *m = xcalloc(1, sizeof *m);
    m->def = d;
    m->host = h;
    m->srv = srv;
    d->refs++;
    /* Link first so registrations made during load() find their host. */
    m->next = h->modules;
    h->modules = m;
    int rc = desc->load(m);
    if (rc < 0) {
        log_error("module", "%s on %s: load failed (%d)", name, h->domain, rc);
        module_unload(m);
        return -1;
    }
    m->loaded = true;
    log_info("module", "loaded %s on %s", name, h->domain);
    return 0;
}

/* Removes every entry of `owner` from a singly linked registry list. */
#define REG_REMOVE(type, head, owner_, freefn)                                              \
    do {                                                                                   \
        for (type **pp = &(head); *pp;) {                                                  \
            if ((*pp)->owner == (owner_)) {                                                \
                type *dead = *pp;                                                          \
                *pp = dead->next;                                                          \
                freefn(dead);                                                              \
            } else {                                                                       \
                pp = &(*pp)->next;                                                         \
            }                                                                              \
        }                                                                                  \
    } while (0)

static void free_iq(struct reg_iq *r)
{
    free(r->ns);
    free(r->name);
    free(r);
}

static void free_str(struct reg_str *r)
{
    free(r->a);
    free(r->b);
    free(r->c);
    free(r);
}

static void free_service(struct reg_service *r)
{
    free(r->name);
    free(r);
}

static void free_migration(struct reg_migration *r)
{
    free(r->ns);
    free(r->name);
    free(r);
}

static void free_nonza(struct reg_nonza *r)
{
    free(r->ns);
    free(r);
}

static void free_form(struct reg_form *r)
{
    myna_arena_free(r->arena);
    free(r);
}

static void free_node(struct reg_node *r)
{
    free(r->node);
    free(r);
}

struct sub_drop {
    struct myna_module *m;
    char *keys[64];
    size_t n;
};

static void collect_sub(const char *key, void *value, void *data)
{
    struct subdomain *sd = value;
    struct sub_drop *d = data;
    if (sd->owner == d->m && d->n < 64)
        d->keys[d->n++] = xstrdup(key);
}

static void drop_slots(struct server *srv, struct myna_module *m)
{
    for (size_t i = 0; i < srv->nsession_slots; i++)
        if (srv->session_slots[i].owner == m)
            srv->session_slots[i].owner = NULL;
    for (size_t i = 0; i < srv->nuser_slots; i++)
        if (srv->user_slots[i].owner == m)
            srv->user_slots[i].owner = NULL;
}

struct slot_sweep {
    struct server *srv;
    struct myna_module *m;
};

static void sweep_session(const char *key, void *value, void *data)
{
    struct myna_session *s = value;
    struct slot_sweep *sw = data;
    for (size_t i = 0; i < s->nslots && i < sw->srv->nsession_slots; i++) {
        struct slot_def *sd = &sw->srv->session_slots[i];
        if (sd->owner == sw->m && s->slots[i]) {
            if (sd->destroy)
                sd->destroy(s->slots[i]);
            s->slots[i] = NULL;
        }
    }
}

static void sweep_user(const char *key, void *value, void *data)
{
    struct user *u = value;
    struct slot_sweep *sw = data;
    for (size_t i = 0; i < u->nslots && i < sw->srv->nuser_slots; i++) {
        struct slot_def *sd = &sw->srv->user_slots[i];
        if (sd->owner == sw->m && u->slots[i]) {
            if (sd->destroy)
                sd->destroy(u->slots[i]);
            u->slots[i] = NULL;
        }
    }
}

void module_unload(struct myna_module *m)
{
    struct host *h = m->host;
    struct server *srv = m->srv;
    /* Durability callbacks may point into the module's code: run them (by committing the
     * batch) while it is still loaded. */
    if (srv->store)
        myna_store_env_flush(srv->store);
    /* Also after a failed load(), so the module can free what it made before failing. */
    if (m->def->desc->unload)
        m->def->desc->unload(m);
    REG_REMOVE(struct reg_iq, h->iqs, m, free_iq);
    for (int i = 0; i < MYNA_HOOK__COUNT; i++)
        REG_REMOVE(struct reg_hook, h->hooks[i], m, free);
    for (int i = 0; i < MYNA_EVENT__COUNT; i++)
        REG_REMOVE(struct reg_event, h->events[i], m, free);
    REG_REMOVE(struct reg_str, h->features, m, free_str);
    REG_REMOVE(struct reg_str, h->identities, m, free_str);
    REG_REMOVE(struct reg_str, h->user_features, m, free_str);
    REG_REMOVE(struct reg_str, h->user_identities, m, free_str);
    REG_REMOVE(struct reg_str, h->items, m, free_str);
    REG_REMOVE(struct reg_feature_fn, h->stream_features, m, free);
    REG_REMOVE(struct reg_nonza, h->nonzas, m, free_nonza);
    REG_REMOVE(struct reg_service, h->services, m, free_service);
    REG_REMOVE(struct reg_migration, h->migrations, m, free_migration);
    REG_REMOVE(struct reg_form, h->disco_forms, m, free_form);
    REG_REMOVE(struct reg_node, h->disco_nodes, m, free_node);
    for (struct reg_timer **pp = &h->timers; *pp;) {
        struct reg_timer *t = *pp;
        if (t->owner == m) {
            *pp = t->next;
            if (srv->loop) /* NULL at shutdown: the loop and its timers are gone */
                loop_timer_cancel(srv->loop, t->loop_id);
            free(t);
        } else {
            pp = &t->next;
        }
    }
    struct sub_drop d = {.m = m};
    hashmap_each(srv->subdomains, collect_sub, &d);
    for (size_t i = 0; i < d.n; i++) {
        struct subdomain *sd = hashmap_del(srv->subdomains, d.keys[i]);
        free(sd->domain);
        free(sd);
        free(d.keys[i]);
    }
    struct slot_sweep sw = {srv, m};
    hashmap_each(srv->sessions, sweep_session, &sw);
    hashmap_each(srv->users, sweep_user, &sw);
    drop_slots(srv, m);
    router_forget_module(srv, m);
    users_forget_module(srv, m);
    for (struct myna_module **pp = &h->modules; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    if (m->loaded)
        log_info("module", "unloaded %s from %s", m->def->name, h->domain);
    def_release(srv, m->def);
    free(m);
}

int hosts_init(struct server *srv)
{
    srv->nhosts = srv->cfg.nhosts;
    srv->hosts = xcalloc(srv->nhosts, sizeof *srv->hosts);
    for (size_t i = 0; i < srv->nhosts; i++) {
        struct host *h = xcalloc(1, sizeof *h);
        h->domain = xstrdup(srv->cfg.hosts[i].domain);
        h->srv = srv;
        h->cfg = &srv->cfg.hosts[i];
        srv->hosts[i] = h;
        hashmap_put(srv->host_map, h->domain, h);
    }
    for (size_t i = 0; i < srv->nhosts; i++) {
        struct host *h = srv->hosts[i];
        for (char **name = h->cfg->modules; name && *name; name++)
            module_load(h, *name); /* a failure is logged; the server keeps going */
    }
    return 0;
}

void hosts_free(struct server *srv)
{
    for (size_t i = 0; i < srv->nhosts; i++) {
        struct host *h = srv->hosts[i];
        while (h->modules)
            module_unload(h->modules);
        hashmap_del(srv->host_map, h->domain);
        free(h->domain);
        free(h);
    }
    free(srv->hosts);
    srv->hosts = NULL;
    srv->nhosts = 0;
}

/* ---- dispatch ---- */

enum myna_verdict hooks_run(struct host *h, enum myna_hook point, struct myna_stanza *st)
{
    for (struct reg_hook *r = h->hooks[point]; r;) {
        struct reg_hook *next = r->next;
        if (r->fn(r->owner, st, r->data) == MYNA_HANDLED)
            return MYNA_HANDLED;
        r = next;
    }
    return MYNA_PASS;
}

void events_emit(struct host *h, const struct myna_event *ev)
{
    if (!h)
        return;
    for (struct reg_event *r = h->events[ev->type]; r;) {
        struct reg_event *next = r->next;
        r->fn(r->owner, ev, r->data);
        r = next;
    }
}

struct reg_iq *iq_handler_find(struct host *h, enum myna_iq_type type, const char *ns,
                               const char *name, unsigned where)
{
    for (struct reg_iq *r = h->iqs; r; r = r->next)
        if (r->type == type && (r->flags & where) && strcmp(r->ns, ns) == 0 &&
            (!r->name || strcmp(r->name, name) == 0))
            return r;
    return NULL;
}

void stream_features_add(struct host *h, struct myna_session *s, struct myna_xml *features)
{
    for (struct reg_feature_fn *r = h->stream_features; r; r = r->next)
        r->fn(r->owner, s, features, r->data);
}

enum myna_verdict nonza_dispatch(struct host *h, struct myna_session *s, struct myna_xml *el)
{
    if (!h)
        return MYNA_PASS;
    for (struct reg_nonza *r = h->nonzas; r; r = r->next)
        if (strcmp(r->ns, el->ns) == 0 && r->fn(r->owner, s, el, r->data) == MYNA_HANDLED)
            return MYNA_HANDLED;
    return MYNA_PASS;
}

/* ---- registration API (myna/module.h) ---- */

const char *myna_module_host(const struct myna_module *m)
{
    return m->host->domain;
}

const char *myna_module_name(const struct myna_module *m)
{
    return m->def->name;
}

void *myna_module_data(const struct myna_module *m)
{
    return m->data;
}

void myna_module_set_data(struct myna_module *m, void *data)
{
    m->data = data;
}

static const struct myna_option *find_opt(const struct myna_module *m, const char *name)
{
    for (const struct myna_option *o = m->def->desc->options; o && o->type != MYNA_OPT_END; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    log_error(m->def->name, "option '%s' is not declared in the module's option table", name);
    return NULL;
}

bool myna_opt_bool(const struct myna_module *m, const char *name)
{
    const struct myna_option *o = find_opt(m, name);
    long long v = 0;
    const char *sv = NULL;
    if (o)
        config_module_get(&m->srv->cfg, m->def->name, o, &v, &sv);
    return v != 0;
}

long long myna_opt_int(const struct myna_module *m, const char *name)
{
    const struct myna_option *o = find_opt(m, name);
    long long v = 0;
    const char *sv = NULL;
    if (o)
        config_module_get(&m->srv->cfg, m->def->name, o, &v, &sv);
    return v;
}

const char *myna_opt_string(const struct myna_module *m, const char *name)
{
    const struct myna_option *o = find_opt(m, name);
    long long v = 0;
    const char *sv = NULL;
    if (o)
        config_module_get(&m->srv->cfg, m->def->name, o, &v, &sv);
    return sv;
}

void myna_log(const struct myna_module *m, enum myna_log_level lvl, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_msg(lvl, m->def->name, "host=%s %s", m->host->domain, buf);
}

void myna_metric_add(struct myna_module *m, const char *name, long long delta)
{
    /* Per process, summed over hosts; `mynactl stats` lists them. */
    char key[256];
    snprintf(key, sizeof key, "%s.%s", m->def->name, name);
    long long *v = hashmap_get(m->srv->metrics, key);
    if (!v) {
        v = xcalloc(1, sizeof *v);
        hashmap_put(m->srv->metrics, key, v);
    }
    *v += delta;
}

int myna_iq_register(struct myna_module *m, enum myna_iq_type type, const char *ns,
                     const char *name, unsigned flags, myna_iq_fn fn, void *data)
{
    if (!ns || !fn || !(flags & (MYNA_IQ_TO_HOST | MYNA_IQ_TO_USER)))
        return -1;
    struct reg_iq *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->type = type;
    r->ns = xstrdup(ns);
    r->name = name ? xstrdup(name) : NULL;
    r->flags = flags;
    r->fn = fn;
    r->data = data;
    r->next = m->host->iqs;
    m->host->iqs = r;
    if ((flags & MYNA_IQ_TO_HOST) && !(flags & MYNA_IQ_NO_FEATURE))
        myna_disco_feature(m, ns);
    return 0;
}

int myna_hook_add(struct myna_module *m, enum myna_hook point, int priority, myna_hook_fn fn,
                  void *data)
{
    if ((unsigned)point >= MYNA_HOOK__COUNT || !fn)
        return -1;
    struct reg_hook *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->priority = priority;
    r->fn = fn;
    r->data = data;
    struct reg_hook **pp = &m->host->hooks[point];
    while (*pp && (*pp)->priority >= priority)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    return 0;
}

int myna_event_subscribe(struct myna_module *m, enum myna_event_type type, myna_event_fn fn,
                         void *data)
{
    if ((unsigned)type >= MYNA_EVENT__COUNT || !fn)
        return -1;
    struct reg_event *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->fn = fn;
    r->data = data;
    struct reg_event **pp = &m->host->events[type];
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

void myna_event_emit(struct myna_module *m, const struct myna_event *ev)
{
    events_emit(m->host, ev);
}

static bool opt_eq(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static bool reg_str_same(const struct reg_str *r, const char *a, const char *b, const char *c)
{
    return strcmp(r->a, a) == 0 && opt_eq(r->b, b) && opt_eq(r->c, c);
}

/* True if an earlier entry of the list says the same (to answer each once). */
static bool reg_str_seen(const struct reg_str *head, const struct reg_str *upto)
{
    for (const struct reg_str *r = head; r && r != upto; r = r->next)
        if (reg_str_same(r, upto->a, upto->b, upto->c))
            return true;
    return false;
}

static int reg_str_add(struct reg_str **head, struct myna_module *m, const char *a,
                       const char *b, const char *c)
{
    /* One entry per owner: several modules may announce the same feature, and it stays
     * while any of them is loaded. Duplicates are skipped when answering. */
    for (struct reg_str *r = *head; r; r = r->next)
        if (r->owner == m && reg_str_same(r, a, b, c))
            return 0;
    struct reg_str *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->a = xstrdup(a);
    r->b = b ? xstrdup(b) : NULL;
    r->c = c ? xstrdup(c) : NULL;
    struct reg_str **pp = head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

int myna_disco_feature(struct myna_module *m, const char *var)
{
    return var ? reg_str_add(&m->host->features, m, var, NULL, NULL) : -1;
}

int myna_disco_identity(struct myna_module *m, const char *category, const char *type,
                        const char *name)
{
    if (!category || !type)
        return -1;
    return reg_str_add(&m->host->identities, m, category, type, name ? name : "");
}

int myna_disco_user_feature(struct myna_module *m, const char *var)
{
    return var ? reg_str_add(&m->host->user_features, m, var, NULL, NULL) : -1;
}

int myna_disco_user_identity(struct myna_module *m, const char *category, const char *type,
                             const char *name)
{
    if (!category || !type)
        return -1;
    return reg_str_add(&m->host->user_identities, m, category, type, name ? name : "");
}

int myna_disco_item(struct myna_module *m, const char *jid, const char *name)
{
    return jid ? reg_str_add(&m->host->items, m, jid, name ? name : "", NULL) : -1;
}

struct myna_xml *myna_disco_info_build(struct myna_module *m, const struct myna_jid *user,
                                       struct myna_arena *a)
{
    struct host *h = m->host;
    struct myna_xml *q = myna_xml_new(a, "http://jabber.org/protocol/disco#info", "query");
    if (user) {
        /* XEP-0030 §3.1: an account answers with identity account/registered, plus what
         * modules serve on accounts (XEP-0163 §6.1: pubsub/pep). */
        struct myna_xml *id = myna_xml_add_child(q, NULL, "identity");
        myna_xml_set_attr(id, "category", "account");
        myna_xml_set_attr(id, "type", "registered");
        for (struct reg_str *r = h->user_identities; r; r = r->next) {
            if (reg_str_seen(h->user_identities, r) ||
                (strcmp(r->a, "account") == 0 && strcmp(r->b, "registered") == 0))
                continue;
            id = myna_xml_add_child(q, NULL, "identity");
            myna_xml_set_attr(id, "category", r->a);
            myna_xml_set_attr(id, "type", r->b);
            if (r->c && *r->c)
                myna_xml_set_attr(id, "name", r->c);
        }
        struct myna_xml *f = myna_xml_add_child(q, NULL, "feature");
        myna_xml_set_attr(f, "var", "http://jabber.org/protocol/disco#info");
        for (struct reg_str *r = h->user_features; r; r = r->next) {
            if (strcmp(r->a, "http://jabber.org/protocol/disco#info") == 0 ||
                reg_str_seen(h->user_features, r))
                continue;
            f = myna_xml_add_child(q, NULL, "feature");
            myna_xml_set_attr(f, "var", r->a);
        }
        return q;
    }
    for (struct reg_str *r = h->identities; r; r = r->next) {
        if (reg_str_seen(h->identities, r))
            continue;
        struct myna_xml *id = myna_xml_add_child(q, NULL, "identity");
        myna_xml_set_attr(id, "category", r->a);
        myna_xml_set_attr(id, "type", r->b);
        if (r->c && *r->c)
            myna_xml_set_attr(id, "name", r->c);
    }
    for (struct reg_str *r = h->features; r; r = r->next) {
        if (reg_str_seen(h->features, r))
            continue;
        struct myna_xml *f = myna_xml_add_child(q, NULL, "feature");
        myna_xml_set_attr(f, "var", r->a);
    }
    /* XEP-0128 §2: extended information after the features. */
    for (struct reg_form *r = h->disco_forms; r; r = r->next)
        myna_xml_add_copy(q, r->form);
    return q;
}

struct myna_xml *myna_disco_items_build(struct myna_module *m, const struct myna_jid *user,
                                        struct myna_arena *a)
{
    struct myna_xml *q = myna_xml_new(a, "http://jabber.org/protocol/disco#items", "query");
    if (user)
        return q;
    for (struct reg_str *r = m->host->items; r; r = r->next) {
        if (reg_str_seen(m->host->items, r))
            continue;
        struct myna_xml *it = myna_xml_add_child(q, NULL, "item");
        myna_xml_set_attr(it, "jid", r->a);
        if (r->b && *r->b)
            myna_xml_set_attr(it, "name", r->b);
    }
    return q;
}

/* The FORM_TYPE of a data form (XEP-0068 §3), or NULL. */
static const char *form_type(const struct myna_xml *form)
{
    for (struct myna_xml *f = myna_xml_find(form, "jabber:x:data", "field"); f;
         f = myna_xml_find_next(f, "jabber:x:data", "field")) {
        const char *var = myna_xml_attr(f, "var");
        if (var && strcmp(var, "FORM_TYPE") == 0)
            return myna_xml_child_text(f, "jabber:x:data", "value");
    }
    return NULL;
}

int myna_disco_extension(struct myna_module *m, const struct myna_xml *form)
{
    const char *type = form ? form_type(form) : NULL;
    if (!type || !myna_xml_is(form, "jabber:x:data", "x"))
        return -1;
    /* XEP-0128 §2: one form per FORM_TYPE; the first one stays. */
    for (struct reg_form *r = m->host->disco_forms; r; r = r->next)
        if (strcmp(form_type(r->form), type) == 0)
            return -1;
    struct reg_form *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->arena = myna_arena_new();
    r->form = myna_xml_copy(r->arena, form);
    struct reg_form **pp = &m->host->disco_forms;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

static struct reg_node *node_find(struct host *h, const char *node)
{
    for (struct reg_node *r = h->disco_nodes; r; r = r->next)
        if (strcmp(r->node, node) == 0)
            return r;
    return NULL;
}

int myna_disco_node(struct myna_module *m, const char *node, myna_disco_node_fn fn,
                    void *data)
{
    if (!node || !fn || node_find(m->host, node))
        return -1;
    struct reg_node *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->node = xstrdup(node);
    r->fn = fn;
    r->data = data;
    r->next = m->host->disco_nodes;
    m->host->disco_nodes = r;
    return 0;
}

int myna_disco_node_build(struct myna_module *m, const struct myna_jid *requester,
                          const char *node, bool items, struct myna_xml *query,
                          enum myna_error *err)
{
    *err = MYNA_ERR_ITEM_NOT_FOUND;
    struct reg_node *r = node ? node_find(m->host, node) : NULL;
    if (!r)
        return -1;
    if (r->fn(r->owner, requester, node, items, query, err, r->data) < 0)
        return -1;
    return 0;
}

int myna_stream_feature(struct myna_module *m, myna_features_fn fn, void *data)
{
    if (!fn)
        return -1;
    struct reg_feature_fn *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->fn = fn;
    r->data = data;
    struct reg_feature_fn **pp = &m->host->stream_features;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

int myna_nonza_register(struct myna_module *m, const char *ns, myna_nonza_fn fn, void *data)
{
    if (!ns || !fn)
        return -1;
    struct reg_nonza *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->ns = xstrdup(ns);
    r->fn = fn;
    r->data = data;
    r->next = m->host->nonzas;
    m->host->nonzas = r;
    return 0;
}

int myna_subdomain_claim(struct myna_module *m, const char *sub, myna_domain_fn fn, void *data)
{
    struct server *srv = m->srv;
    struct myna_arena *a = myna_arena_new();
    const char *dom = sub ? myna_jid_nameprep(a, sub) : NULL;
    /* A configured component's domain is routed to the component first (router.c), so a
     * claim on it would never see a stanza: refuse it like a host's or another claim. */
    if (!dom || !fn || hashmap_get(srv->subdomains, dom) || server_host(srv, dom) ||
        component_is_domain(srv, dom)) {
        log_error(m->def->name, "cannot claim sub-domain '%s' (invalid or taken)",
                  sub ? sub : "(null)");
        myna_arena_free(a);
        return -1;
    }
    struct subdomain *sd = xcalloc(1, sizeof *sd);
    sd->domain = xstrdup(dom);
    sd->owner = m;
    sd->fn = fn;
    sd->data = data;
    hashmap_put(srv->subdomains, sd->domain, sd);
    myna_arena_free(a);
    return 0;
}

/* ---- migration (XEP-0227; the engines are server/admin/pie_export.c, server/admin/pie_import.c) ---- */

int myna_migration_register(struct myna_module *m, const char *ns, const char *name,
                            unsigned flags, myna_export_fn exp, myna_import_fn imp, void *data)
{
    if (!ns || !name || (!exp && !imp) ||
        (flags & ~(MYNA_MIGRATION_HOST | MYNA_MIGRATION_ITEMS)))
        return -1;
    struct reg_migration *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->ns = xstrdup(ns);
    r->name = xstrdup(name);
    r->flags = flags;
    r->exp = exp;
    r->imp = imp;
    r->data = data;
    struct reg_migration **pp = &m->host->migrations;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

bool myna_migration_dry_run(const struct myna_module *m)
{
    return m->srv->migration_dry_run;
}

/* ---- services ---- */

int myna_service_publish(struct myna_module *m, const char *name, const void *table)
{
    if (!name || !table || myna_service_get(m, name))
        return -1;
    struct reg_service *r = xcalloc(1, sizeof *r);
    r->owner = m;
    r->name = xstrdup(name);
    r->table = table;
    r->next = m->host->services;
    m->host->services = r;
    return 0;
}

const void *myna_service_get(struct myna_module *m, const char *name)
{
    for (struct reg_service *r = m->host->services; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r->table;
    return NULL;
}

/* ---- slots ---- */

static int slot_new(struct slot_def **defs, size_t *n, struct myna_module *m,
                    myna_slot_free_fn destroy)
{
    for (size_t i = 0; i < *n; i++) {
        if (!(*defs)[i].owner) {
            (*defs)[i].owner = m;
            (*defs)[i].destroy = destroy;
            return (int)i;
        }
    }
    *defs = xrealloc(*defs, (*n + 1) * sizeof **defs);
    (*defs)[*n].owner = m;
    (*defs)[*n].destroy = destroy;
    return (int)(*n)++;
}

int myna_session_slot(struct myna_module *m, myna_slot_free_fn destroy)
{
    return slot_new(&m->srv->session_slots, &m->srv->nsession_slots, m, destroy);
}

int myna_user_slot(struct myna_module *m, myna_slot_free_fn destroy)
{
    return slot_new(&m->srv->user_slots, &m->srv->nuser_slots, m, destroy);
}

/* The array holds every slot defined so far (`total`), so it is allocated once per session
 * or user, from the pool: it lives as long as they do and must not pin heap pages. */
static void slot_store(void ***slots, size_t *n, size_t total, int slot, void *value,
                       const struct slot_def *defs)
{
    if ((size_t)slot >= *n) {
        void **grown = pool_alloc(total * sizeof *grown);
        if (*n)
            memcpy(grown, *slots, *n * sizeof *grown);
        pool_free(*slots, *n * sizeof **slots);
        *slots = grown;
        *n = total;
    }
    void *old = (*slots)[slot];
    if (old && old != value && defs[slot].destroy)
        defs[slot].destroy(old);
    (*slots)[slot] = value;
}

void *myna_session_get(const struct myna_session *s, int slot)
{
    return slot >= 0 && (size_t)slot < s->nslots ? s->slots[slot] : NULL;
}

void myna_session_set(struct myna_session *s, int slot, void *value)
{
    if (slot < 0 || (size_t)slot >= s->srv->nsession_slots)
        return;
    slot_store(&s->slots, &s->nslots, s->srv->nsession_slots, slot, value,
               s->srv->session_slots);
}

void *myna_user_get(struct myna_module *m, const struct myna_jid *bare, int slot)
{
    struct user *u = user_find(m->srv, bare->bare);
    return u && slot >= 0 && (size_t)slot < u->nslots ? u->slots[slot] : NULL;
}

int myna_user_set(struct myna_module *m, const struct myna_jid *bare, int slot, void *value)
{
    struct user *u = user_find(m->srv, bare->bare);
    if (!u || slot < 0 || (size_t)slot >= m->srv->nuser_slots)
        return -1;
    slot_store(&u->slots, &u->nslots, m->srv->nuser_slots, slot, value, m->srv->user_slots);
    return 0;
}

/* ---- timers ---- */

/* A timer callback is one unit of work (myna/store.h); a failed one is logged. */
static void timer_call(struct myna_module *m, myna_timer_fn fn, void *data)
{
    struct myna_store_env *store = m->srv->store;
    myna_store_env_unit_begin(store);
    fn(m, data);
    int err = myna_store_env_unit_commit(store);
    if (err != 0)
        log_warn(m->def->name, "a timer's writes failed: %s", myna_store_strerror(err));
}

static void module_timer_fire(void *data)
{
    struct reg_timer *t = data;
    struct myna_module *m = t->owner;
    struct host *h = m->host;
    if (t->repeat_ms) {
        t->loop_id = loop_timer_add(m->srv->loop, t->repeat_ms, module_timer_fire, t);
        /* may cancel itself: t is freed then, so touch nothing after */
        timer_call(m, t->fn, t->data);
        return;
    }
    /* One-shot: unlink before calling so the callback may add timers freely. */
    for (struct reg_timer **pp = &h->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    myna_timer_fn fn = t->fn;
    void *d = t->data;
    free(t);
    timer_call(m, fn, d);
}

uint64_t myna_timer_add(struct myna_module *m, unsigned ms, unsigned repeat_ms,
                        myna_timer_fn fn, void *data)
{
    struct reg_timer *t = xcalloc(1, sizeof *t);
    t->owner = m;
    t->id = ++m->srv->next_timer_id;
    t->repeat_ms = repeat_ms;
    t->fn = fn;
    t->data = data;
    t->loop_id = loop_timer_add(m->srv->loop, ms, module_timer_fire, t);
    t->next = m->host->timers;
    m->host->timers = t;
    return t->id;
}

void myna_timer_cancel(struct myna_module *m, uint64_t id)
{
    for (struct reg_timer **pp = &m->host->timers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id && (*pp)->owner == m) {
            struct reg_timer *t = *pp;
            *pp = t->next;
            if (m->srv->loop)
                loop_timer_cancel(m->srv->loop, t->loop_id);
            free(t);
            return;
        }
    }
}

uint64_t myna_now_ms(void)
{
    return loop_clock_ms();
}
