/* server/modhost/host.h — virtual hosts and what modules registered on them: IQ handlers, hooks,
 * events, disco data, stream features, nonza handlers, timers. Every registration names
 * the module instance that made it, so unloading removes exactly what it added. */
#ifndef MYNA_HOST_H
#define MYNA_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myna/module.h"
#include "server/base/config.h"

struct server;

struct module_def {
    char *name;
    char *path;
    void *handle;                        /* dlopen handle */
    const struct myna_module_desc *desc;
    unsigned refs;                       /* instances using it */
};

struct myna_module {
    struct module_def *def;
    struct host *host;
    struct server *srv;
    void *data;
    struct myna_module *next;            /* in host->modules */
    bool loaded;                         /* load() returned 0 */
};

struct reg_iq {
    struct myna_module *owner;
    enum myna_iq_type type;
    char *ns, *name;
    unsigned flags;
    myna_iq_fn fn;
    void *data;
    struct reg_iq *next;
};

struct reg_hook {
    struct myna_module *owner;
    int priority;
    myna_hook_fn fn;
    void *data;
    struct reg_hook *next;               /* sorted by priority, highest first */
};

struct reg_event {
    struct myna_module *owner;
    myna_event_fn fn;
    void *data;
    struct reg_event *next;
};

struct reg_str {                         /* features, identities, items */
    struct myna_module *owner;
    char *a, *b, *c;
    struct reg_str *next;
};

struct reg_feature_fn {
    struct myna_module *owner;
    myna_features_fn fn;
    void *data;
    struct reg_feature_fn *next;
};

struct reg_nonza {
    struct myna_module *owner;
    char *ns;
    myna_nonza_fn fn;
    void *data;
    struct reg_nonza *next;
};

struct reg_timer {
    struct myna_module *owner;
    uint64_t id;                         /* public id */
    uint64_t loop_id;                    /* current loop timer */
    unsigned repeat_ms;
    myna_timer_fn fn;
    void *data;
    struct reg_timer *next;
};

struct reg_service {
    struct myna_module *owner;
    char *name;
    const void *table;
    struct reg_service *next;
};

/* A module's XEP-0227 export/import registration (myna_migration_register). */
struct reg_migration {
    struct myna_module *owner;
    char *ns, *name;
    unsigned flags;                      /* MYNA_MIGRATION_HOST, MYNA_MIGRATION_ITEMS */
    myna_export_fn exp;
    myna_import_fn imp;
    void *data;
    struct reg_migration *next;          /* in registration order */
};

struct reg_form {                        /* XEP-0128 forms of the host's disco#info */
    struct myna_module *owner;
    struct myna_arena *arena;            /* owns form */
    struct myna_xml *form;
    struct reg_form *next;
};

struct reg_node {                        /* disco nodes of the host (myna_disco_node) */
    struct myna_module *owner;
    char *node;
    myna_disco_node_fn fn;
    void *data;
    struct reg_node *next;
};

struct subdomain {
    char *domain;
    struct myna_module *owner;
    myna_domain_fn fn;
    void *data;
};

struct slot_def {
    struct myna_module *owner;           /* NULL when free */
    myna_slot_free_fn destroy;
};

struct host {
    char *domain;
    struct server *srv;
    const struct config_host *cfg;
    struct myna_module *modules;
    struct reg_iq *iqs;
    struct reg_hook *hooks[MYNA_HOOK__COUNT];
    struct reg_event *events[MYNA_EVENT__COUNT];
    struct reg_str *features, *identities, *user_features, *user_identities, *items;
    struct reg_feature_fn *stream_features;
    struct reg_nonza *nonzas;
    struct reg_timer *timers;
    struct reg_service *services;
    struct reg_migration *migrations;
    struct reg_form *disco_forms;
    struct reg_node *disco_nodes;
};

/* Creates the hosts and loads every enabled module on each. A module that fails to load
 * is logged and skipped; the server keeps running. */
int hosts_init(struct server *srv);
void hosts_free(struct server *srv);
/* Loads / unloads one module on one host. */
int module_load(struct host *h, const char *name);
void module_unload(struct myna_module *m);

/* Dispatch helpers used by the router and c2s. */
enum myna_verdict hooks_run(struct host *h, enum myna_hook point, struct myna_stanza *st);
void events_emit(struct host *h, const struct myna_event *ev);
struct reg_iq *iq_handler_find(struct host *h, enum myna_iq_type type, const char *ns,
                               const char *name, unsigned where);
void stream_features_add(struct host *h, struct myna_session *s, struct myna_xml *features);
enum myna_verdict nonza_dispatch(struct host *h, struct myna_session *s, struct myna_xml *el);

#endif
