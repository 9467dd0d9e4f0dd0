/* modules/muc/room.c — a room's life (XEP-0045 §10.1 creation, §10.9 destruction, §4.2
 * temporary rooms vanish with their last occupant) and its affiliation list (§5.2). A room
 * owns its occupants, affiliations and configuration; the service owns the rooms.
 * Invariant: an occupant is in by_nick once and in by_real once per session. */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

static const char *const role_names[] = {"none", "visitor", "participant", "moderator"};
static const char *const aff_names[] = {"outcast", "none", "member", "admin", "owner"};

const char *muc_role_name(enum muc_role r)
{
    return role_names[r];
}

const char *muc_aff_name(enum muc_aff a)
{
    return aff_names[a];
}

int muc_role_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

int muc_aff_parse(const char *s)
{
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, aff_names[i]) == 0)
            return i;
    return -1;
}

static char *xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

void room_default_config(struct muc *svc, struct muc_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = xstrdup("");
    c->desc = xstrdup("");
    c->password = xstrdup("");
    c->public_room = true;
    c->change_subject = false;
    c->allow_invites = false;
    c->allow_pm = PM_ANYONE;
    c->history_len = svc->history_max < 20 ? svc->history_max : 20;
    /* Logging means a XEP-0313 archive (history.c), so it is on by default only where
     * the mam module offers one. */
    c->logging = svc->log_default && history_can_archive(svc);
}

void room_config_free(struct muc_config *c)
{
    free(c->name);
    free(c->desc);
    free(c->password);
    c->name = c->desc = c->password = NULL;
}

struct room *room_find(struct muc *svc, const char *node)
{
    return muc_map_get(&svc->rooms, node);
}

struct room *room_create(struct muc *svc, const char *node)
{
    struct room *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->svc = svc;
    r->node = xstrdup(node);
    size_t n = strlen(node) + strlen(svc->domain) + 2;
    r->jid = malloc(n);
    if (!r->jid)
        abort();
    strcpy(r->jid, node);
    strcat(r->jid, "@");
    strcat(r->jid, svc->domain);
    room_default_config(svc, &r->cfg);
    muc_map_put(&svc->rooms, node, r);
    return r;
}

static void free_aff(const char *key, void *val, void *d)
{
    (void)key, (void)d;
    struct muc_aff_row *row = val;
    free(row->nick);
    free(row->reason);
    free(row);
}

static void free_bucket(const char *key, void *val, void *d)
{
    (void)key, (void)d;
    free(val);
}

void room_free(struct room *r)
{
    muc_map_del(&r->svc->rooms, r->node);
    muc_map_each(&r->affs, free_aff, NULL);
    muc_map_free(&r->affs);
    muc_map_each(&r->joins, free_bucket, NULL);
    muc_map_free(&r->joins);
    muc_map_free(&r->by_nick);
    muc_map_free(&r->by_real);
    room_config_free(&r->cfg);
    free(r->rcpt);
    free(r->subject);
    free(r->subject_by);
    free(r->creator);
    free(r->node);
    free(r->jid);
    free(r);
}

void room_destroy(struct room *r, const struct myna_xml *destroy)
{
    struct occ_why why = {.destroy = destroy};
    while (r->head)
        occ_remove(r->head, &why);
    store_delete(r);
    history_clear(r);
    room_free(r);
}

void room_maybe_vanish(struct room *r)
{
    if (r->nocc == 0 && (!r->cfg.persistent || r->locked)) {
        if (r->locked)
            store_delete(r);
        history_clear(r);
        room_free(r);
    }
}

enum muc_aff room_aff(const struct room *r, const char *bare)
{
    if (muc_is_admin(r->svc, bare))
        return AFF_OWNER;
    struct muc_aff_row *row = muc_map_get(&r->affs, bare);
    return row ? row->aff : AFF_NONE;
}

struct muc_aff_row *room_aff_row(struct room *r, const char *bare)
{
    return muc_map_get(&r->affs, bare);
}

void room_set_aff(struct room *r, const char *bare, enum muc_aff aff, const char *reason)
{
    struct muc_aff_row *row = muc_map_get(&r->affs, bare);
    if (aff == AFF_NONE && (!row || !row->nick)) {
        if (row)
            free_aff(bare, muc_map_del(&r->affs, bare), NULL);
        store_save(r);
        return;
    }
    if (!row) {
        row = calloc(1, sizeof *row);
        if (!row)
            abort();
        muc_map_put(&r->affs, bare, row);
    }
    row->aff = aff;
    free(row->reason);
    row->reason = reason && *reason ? xstrdup(reason) : NULL;
    if (aff == AFF_OUTCAST) { /* a banned user keeps no reserved nick */
        free(row->nick);
        row->nick = NULL;
    }
    store_save(r);
}

struct nick_find {
    const char *nick;
    const char *owner;
};

static void find_nick(const char *key, void *val, void *d)
{
    struct nick_find *f = d;
    struct muc_aff_row *row = val;
    if (row->nick && strcmp(row->nick, f->nick) == 0)
        f->owner = key;
}

const char *room_nick_owner(const struct room *r, const char *nick)
{
    struct nick_find f = {.nick = nick};
    muc_map_each(&r->affs, find_nick, &f);
    return f.owner;
}

struct owned {
    const char *bare;
    size_t n;
};

static void count_owned(const char *key, void *val, void *d)
{
    (void)key;
    struct room *r = val;
    struct owned *o = d;
    struct muc_aff_row *row = muc_map_get(&r->affs, o->bare);
    if ((row && row->aff == AFF_OWNER) || (r->creator && strcmp(r->creator, o->bare) == 0))
        o->n++;
}

size_t room_count_owned(struct muc *svc, const char *bare)
{
    struct owned o = {.bare = bare};
    muc_map_each(&svc->rooms, count_owned, &o);
    return o.n;
}

unsigned room_max_users(const struct room *r)
{
    unsigned cap = r->svc->max_occupants;
    return r->cfg.max_users && r->cfg.max_users < cap ? r->cfg.max_users : cap;
}

const struct myna_jid *room_recipients(struct room *r, size_t *n)
{
    if (!r->rcpt_valid) {
        size_t count = 0;
        for (struct occupant *o = r->head; o; o = o->next)
            for (struct muc_conn *c = o->conns; c; c = c->next)
                count++;
        free(r->rcpt);
        r->rcpt = malloc((count ? count : 1) * sizeof *r->rcpt);
        if (!r->rcpt)
            abort();
        size_t i = 0;
        for (struct occupant *o = r->head; o; o = o->next)
            for (struct muc_conn *c = o->conns; c; c = c->next)
                r->rcpt[i++] = c->jid;
        r->nrcpt = count;
        r->rcpt_valid = true;
    }
    *n = r->nrcpt;
    return r->rcpt;
}
