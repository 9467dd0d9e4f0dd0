/* server/stream/authfail.c — see authfail.h. Keys are "ip:ADDRESS" (the port cut off; an
 * IPv6 address reduced to its /64, which one attacker usually holds whole) and
 * "user:NODE@DOMAIN"; values are struct authfail, owned by the table. When the table is
 * full, expired entries go first, then the entries with the fewest failures that are not
 * locked, so a flood of new names cannot push a locked address out. */
#include "server/stream/authfail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/loop.h"
#include "server/server.h"
#include "server/stream/preauth.h"

#define AUTHFAIL_FORGET_MS (10 * 60 * 1000)

struct authfail {
    unsigned count;
    uint64_t last;         /* loop ms of the last failure */
    uint64_t locked_until; /* loop ms; 0 = not locked */
};

static uint64_t lockout_ms(const struct server *srv)
{
    return (uint64_t)srv->cfg.auth_lockout * 1000;
}

static bool expired(const struct server *srv, const struct authfail *f, uint64_t now)
{
    return now >= f->locked_until && now - f->last > AUTHFAIL_FORGET_MS &&
           now - f->last > lockout_ms(srv);
}

struct sweep {
    struct server *srv;
    uint64_t now;
    unsigned below;  /* also drop unlocked entries with fewer failures than this */
    char **keys;
    size_t n, cap;
};

static void collect(const char *key, void *value, void *data)
{
    struct sweep *sw = data;
    const struct authfail *f = value;
    bool drop = expired(sw->srv, f, sw->now) ||
                (f->count < sw->below && sw->now >= f->locked_until);
    if (!drop)
        return;
    if (sw->n == sw->cap) {
        sw->cap = sw->cap ? sw->cap * 2 : 64;
        sw->keys = xrealloc(sw->keys, sw->cap * sizeof *sw->keys);
    }
    sw->keys[sw->n++] = xstrdup(key);
}

static void drop_collected(struct sweep *sw)
{
    for (size_t i = 0; i < sw->n; i++) {
        free(hashmap_del(sw->srv->authfail, sw->keys[i]));
        free(sw->keys[i]);
    }
    free(sw->keys);
    sw->keys = NULL;
    sw->n = sw->cap = 0;
}

static void sweep(struct server *srv, unsigned below)
{
    struct sweep sw = {.srv = srv, .now = loop_now(srv->loop), .below = below};
    hashmap_each(srv->authfail, collect, &sw);
    drop_collected(&sw);
}

void authfail_sweep(struct server *srv)
{
    sweep(srv, 0);
}

/* Room for one more entry: expired ones first, then the least suspicious. */
static void make_room(struct server *srv)
{
    size_t max = srv->cfg.auth_table_size;
    if (hashmap_count(srv->authfail) < max)
        return;
    sweep(srv, 0);
    for (unsigned below = 2; hashmap_count(srv->authfail) > max - max / 4; below *= 2) {
        sweep(srv, below);
        if (below > (1u << 30))
            break;
    }
    if (hashmap_count(srv->authfail) >= max)
        log_warn("auth", "login failure table full (%zu entries, all locked)", max);
}

/* Counts a failure under `key`; locks the key at `limit` failures. */
static unsigned bump(struct server *srv, const char *key, unsigned limit)
{
    struct authfail *f = hashmap_get(srv->authfail, key);
    uint64_t now = loop_now(srv->loop);
    if (!f) {
        make_room(srv);
        if (hashmap_count(srv->authfail) >= srv->cfg.auth_table_size)
            return limit;
        f = xcalloc(1, sizeof *f);
        hashmap_put(srv->authfail, key, f);
    }
    if (now - f->last > AUTHFAIL_FORGET_MS || (f->locked_until && now >= f->locked_until)) {
        f->count = 0;
        f->locked_until = 0;
    }
    f->count++;
    f->last = now;
    if (f->count >= limit && !f->locked_until) {
        f->locked_until = now + lockout_ms(srv);
        log_warn("auth", "%s: %u failed logins, refused for %u s", key, f->count,
                 srv->cfg.auth_lockout);
    }
    return f->count;
}

static void ip_key(const char *peer, char *key, size_t len)
{
    peer_address_key(peer, key, len);
}

static bool is_locked(struct server *srv, const char *key)
{
    const struct authfail *f = hashmap_get(srv->authfail, key);
    return f && f->locked_until && loop_now(srv->loop) < f->locked_until;
}

bool authfail_locked(struct server *srv, const char *peer, const char *user,
                     const char *domain)
{
    char key[600];
    if (peer) {
        ip_key(peer, key, sizeof key);
        if (is_locked(srv, key))
            return true;
    }
    if (user && domain) {
        snprintf(key, sizeof key, "user:%s@%s", user, domain);
        if (is_locked(srv, key))
            return true;
    }
    return false;
}

uint64_t authfail_failed(struct server *srv, const char *peer, const char *user,
                         const char *domain)
{
    char key[600];
    unsigned n = 0;
    if (peer) {
        ip_key(peer, key, sizeof key);
        n = bump(srv, key, srv->cfg.auth_failures_address);
    }
    if (user && domain) {
        snprintf(key, sizeof key, "user:%s@%s", user, domain);
        unsigned m = bump(srv, key, srv->cfg.auth_failures_account);
        n = m > n ? m : n;
    }
    unsigned shift = n > 6 ? 5 : (n ? n - 1 : 0);
    return 250u << shift;
}

void authfail_succeeded(struct server *srv, const char *peer, const char *user,
                        const char *domain)
{
    char key[600];
    snprintf(key, sizeof key, "user:%s@%s", user, domain);
    free(hashmap_del(srv->authfail, key));
    /* A success from an address halves its count: people behind one address who mistype
     * are not slowed for long, while guessing across many accounts still adds up. */
    if (!peer)
        return;
    ip_key(peer, key, sizeof key);
    struct authfail *f = hashmap_get(srv->authfail, key);
    if (f && !f->locked_until)
        f->count /= 2;
}

static void free_entry(const char *key, void *value, void *data)
{
    (void)key;
    (void)data;
    free(value);
}

void authfail_free(struct server *srv)
{
    hashmap_each(srv->authfail, free_entry, NULL);
}
