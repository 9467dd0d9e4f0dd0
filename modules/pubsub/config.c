/* modules/pubsub/config.c — node configuration: the defaults of XEP-0163 §5 (PEP: access
 * model presence, last item on subscription and presence) and of a generic service, the
 * pubsub#node_config form of XEP-0060 §8.2 / §16.4.4 (get, set, create-and-configure,
 * §8.3 defaults), publish-options preconditions (XEP-0060 §7.1.5, XEP-0223 §3) and node
 * meta-data (§5.4). One table lists the fields this service supports; a field outside it
 * is refused, as §7.1.5 requires for preconditions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

enum field_kind { K_BOOL, K_LIST, K_MAX, K_TEXT, K_GROUPS };

struct field_def {
    const char *var;
    enum field_kind kind;
    const char *label;
    const char *const *options; /* K_LIST: the allowed values, NULL-terminated */
};

static const char *const access_values[] = {"open", "presence", "roster", "whitelist", NULL};
static const char *const publish_values[] = {"publishers", "subscribers", "open", NULL};
static const char *const send_last_values[] = {"never", "on_sub", "on_sub_and_presence", NULL};
static const char *const notification_values[] = {"normal", "headline", NULL};

static const struct field_def fields[] = {
    {"pubsub#title", K_TEXT, "A friendly name for the node", NULL},
    {"pubsub#description", K_TEXT, "A description of the node", NULL},
    {"pubsub#type", K_TEXT, "The type of node data, usually specified by the namespace",
     NULL},
    {"pubsub#access_model", K_LIST, "Who may subscribe and retrieve items", access_values},
    {"pubsub#roster_groups_allowed", K_GROUPS, "Roster groups allowed to subscribe", NULL},
    {"pubsub#publish_model", K_LIST, "Who may publish items", publish_values},
    {"pubsub#max_items", K_MAX, "Maximum number of items to persist", NULL},
    {"pubsub#persist_items", K_BOOL, "Persist items to storage", NULL},
    {"pubsub#deliver_notifications", K_BOOL, "Deliver event notifications", NULL},
    {"pubsub#deliver_payloads", K_BOOL, "Deliver payloads with event notifications", NULL},
    {"pubsub#notify_retract", K_BOOL, "Notify subscribers when items are removed", NULL},
    {"pubsub#notify_delete", K_BOOL, "Notify subscribers when the node is deleted", NULL},
    {"pubsub#notify_config", K_BOOL, "Notify subscribers when the configuration changes",
     NULL},
    {"pubsub#send_last_published_item", K_LIST, "When to send the last published item",
     send_last_values},
    {"pubsub#notification_type", K_LIST, "Message type of event notifications",
     notification_values},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const char *access_name(enum ps_access a)
{
    return access_values[a];
}

static const struct field_def *field_find(const char *var)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].var, var) == 0)
            return &fields[i];
    return NULL;
}

static int list_index(const char *const *values, const char *v)
{
    for (int i = 0; values[i]; i++)
        if (v && strcmp(values[i], v) == 0)
            return i;
    return -1;
}

void config_default(struct ps_ctx *c, const struct ps_service *svc, struct ps_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    /* XEP-0163 §5: presence access, notifications with payloads, last item on presence. */
    cfg->access = svc->pep ? PS_ACCESS_PRESENCE : PS_ACCESS_OPEN;
    cfg->publish_model = PS_PUBLISH_PUBLISHERS;
    cfg->send_last = svc->pep ? PS_SEND_ON_SUB_AND_PRESENCE : PS_SEND_NEVER;
    cfg->max_items = svc->pep ? 1 : c->max_items < 10 ? c->max_items : 10;
    cfg->persist_items = true;
    cfg->deliver_notifications = true;
    cfg->deliver_payloads = true;
    cfg->notify_retract = true;
    cfg->notify_delete = true;
    cfg->notify_config = false;
    cfg->headline = true;
}

/* The current value(s) of a field as text, in a. */
static const char *field_text(struct ps_ctx *c, struct myna_arena *a, const struct field_def *d,
                              const struct ps_config *cfg)
{
    const char *v = d->var + strlen("pubsub#");
    if (strcmp(v, "title") == 0)
        return cfg->title;
    if (strcmp(v, "description") == 0)
        return cfg->description;
    if (strcmp(v, "type") == 0)
        return cfg->payload_type;
    if (strcmp(v, "access_model") == 0)
        return access_values[cfg->access];
    if (strcmp(v, "publish_model") == 0)
        return publish_values[cfg->publish_model];
    if (strcmp(v, "send_last_published_item") == 0)
        return send_last_values[cfg->send_last];
    if (strcmp(v, "notification_type") == 0)
        return cfg->headline ? "headline" : "normal";
    if (strcmp(v, "max_items") == 0)
        return myna_arena_printf(a, "%lld", cfg->max_items);
    bool b = false;
    if (strcmp(v, "persist_items") == 0)
        b = cfg->persist_items;
    else if (strcmp(v, "deliver_notifications") == 0)
        b = cfg->deliver_notifications;
    else if (strcmp(v, "deliver_payloads") == 0)
        b = cfg->deliver_payloads;
    else if (strcmp(v, "notify_retract") == 0)
        b = cfg->notify_retract;
    else if (strcmp(v, "notify_delete") == 0)
        b = cfg->notify_delete;
    else if (strcmp(v, "notify_config") == 0)
        b = cfg->notify_config;
    return b ? "true" : "false";
}

static bool *bool_slot(struct ps_config *cfg, const char *var)
{
    const char *v = var + strlen("pubsub#");
    if (strcmp(v, "persist_items") == 0)
        return &cfg->persist_items;
    if (strcmp(v, "deliver_notifications") == 0)
        return &cfg->deliver_notifications;
    if (strcmp(v, "deliver_payloads") == 0)
        return &cfg->deliver_payloads;
    if (strcmp(v, "notify_retract") == 0)
        return &cfg->notify_retract;
    if (strcmp(v, "notify_delete") == 0)
        return &cfg->notify_delete;
    return &cfg->notify_config;
}

/* "max" or 1..limit (XEP-0060 §16.4.4, integer-or-max of §12.22). */
static int parse_max(struct ps_ctx *c, const char *v, long long *out)
{
    if (!v)
        return -1;
    if (strcmp(v, "max") == 0) {
        *out = c->max_items;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || n < 1 || n > c->max_items || errno == ERANGE)
        return -1;
    *out = n;
    return 0;
}

static int apply_one(struct ps_ctx *c, struct myna_arena *a, const struct field_def *d,
                     const struct df_field *f, struct ps_config *cfg)
{
    const char *v = f->nvalues ? f->values[0] : NULL;
    int i;
    switch (d->kind) {
    case K_BOOL:
        return df_parse_bool(v, bool_slot(cfg, d->var)) ? 0 : -1;
    case K_MAX:
        return parse_max(c, v, &cfg->max_items);
    case K_TEXT: {
        const char *s = v && *v ? myna_arena_strdup(a, v) : NULL;
        if (strcmp(d->var, "pubsub#title") == 0)
            cfg->title = s;
        else if (strcmp(d->var, "pubsub#description") == 0)
            cfg->description = s;
        else
            cfg->payload_type = s;
        return 0;
    }
    case K_GROUPS: {
        const char **g = myna_arena_alloc(a, (f->nvalues ? f->nvalues : 1) * sizeof *g);
        for (size_t k = 0; k < f->nvalues; k++)
            g[k] = myna_arena_strdup(a, f->values[k]);
        cfg->groups = g;
        cfg->ngroups = f->nvalues;
        return 0;
    }
    case K_LIST:
        i = list_index(d->options, v);
        if (i < 0)
            return -1;
        if (d->options == access_values)
            cfg->access = (enum ps_access)i;
        else if (d->options == publish_values)
            cfg->publish_model = (enum ps_publish_model)i;
        else if (d->options == send_last_values)
            cfg->send_last = (enum ps_send_last)i;
        else
            cfg->headline = i == 1;
        return 0;
    }
    return -1;
}

int config_apply(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                 struct ps_config *cfg, const char **bad)
{
    struct ps_config next = *cfg;
    for (const struct df_field *x = f->fields; x; x = x->next) {
        if (!x->var)
            continue; /* fixed fields carry no setting */
        const struct field_def *d = field_find(x->var);
        if (!d || apply_one(c, a, d, x, &next) < 0) {
            *bad = x->var;
            return -1;
        }
    }
    *cfg = next;
    return 0;
}

void config_load(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                 struct ps_config *cfg)
{
    for (const struct df_field *x = f->fields; x; x = x->next) {
        const struct field_def *d = x->var ? field_find(x->var) : NULL;
        if (d && apply_one(c, a, d, x, cfg) < 0 && d->kind == K_MAX)
            cfg->max_items = c->max_items; /* the limit was lowered since */
    }
}

static bool groups_equal(const struct df_field *f, const struct ps_config *cfg)
{
    if (f->nvalues != cfg->ngroups)
        return false;
    for (size_t i = 0; i < f->nvalues; i++) {
        size_t k = 0;
        while (k < cfg->ngroups && strcmp(cfg->groups[k], f->values[i]) != 0)
            k++;
        if (k == cfg->ngroups)
            return false;
    }
    return true;
}

int config_preconditions(struct ps_ctx *c, struct myna_arena *a, const struct dataform *f,
                         const struct ps_config *cfg, const char **bad)
{
    for (const struct df_field *x = f->fields; x; x = x->next) {
        if (!x->var)
            continue;
        const struct field_def *d = field_find(x->var);
        *bad = x->var;
        if (!d)
            return -1;
        if (d->kind == K_GROUPS) {
            if (!groups_equal(x, cfg))
                return -1;
            continue;
        }
        /* Compare by applying the wanted value to a copy: "1" equals "true", "max"
         * equals the service maximum. */
        struct ps_config want = *cfg;
        if (apply_one(c, a, d, x, &want) < 0)
            return -1;
        const char *have = field_text(c, a, d, cfg), *asked = field_text(c, a, d, &want);
        if ((have == NULL) != (asked == NULL) || (have && strcmp(have, asked) != 0))
            return -1;
    }
    *bad = NULL;
    return 0;
}

struct myna_xml *config_form(struct ps_ctx *c, struct myna_arena *a, struct myna_xml *parent,
                             const struct ps_config *cfg, const char *type)
{
    bool labelled = strcmp(type, "form") == 0;
    struct myna_xml *x = parent ? df_new(parent, type, NS_PUBSUB_CONFIG, NULL)
                                : df_new_root(a, type, NS_PUBSUB_CONFIG, NULL);
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field_def *d = &fields[i];
        static const char *const kind_type[] = {"boolean", "list-single", "text-single",
                                                "text-single", "list-multi"};
        struct myna_xml *f = df_add_field(x, d->var, labelled ? kind_type[d->kind] : NULL,
                                            labelled ? d->label : NULL, NULL);
        if (d->kind == K_GROUPS) {
            for (size_t k = 0; k < cfg->ngroups; k++)
                df_add_value(f, cfg->groups[k]);
            continue;
        }
        const char *v = field_text(c, a, d, cfg);
        if (v)
            df_add_value(f, v);
        if (labelled && d->kind == K_LIST)
            for (size_t k = 0; d->options[k]; k++)
                df_add_option(f, NULL, d->options[k]);
    }
    return x;
}

void config_meta_form(struct myna_xml *parent, const struct ps_service *svc,
                      const struct ps_node *n)
{
    struct myna_xml *x = df_new(parent, "result", NS_PUBSUB_META, NULL);
    df_add_field(x, "pubsub#access_model", "list-single", NULL, access_values[n->cfg.access]);
    if (n->cfg.title)
        df_add_field(x, "pubsub#title", "text-single", NULL, n->cfg.title);
    if (n->cfg.description)
        df_add_field(x, "pubsub#description", "text-single", NULL, n->cfg.description);
    if (n->cfg.payload_type)
        df_add_field(x, "pubsub#type", "text-single", NULL, n->cfg.payload_type);
    if (svc->pep)
        df_add_field(x, "pubsub#owner", "jid-multi", NULL, svc->jid);
}
