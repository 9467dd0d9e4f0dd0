/* tests/modules/strophe_roster.c — roster, subscriptions and presence as libstrophe sees
 * them: alice adds bob (RFC 6121 §2.3), both subscribe and approve (§3.1) until both items
 * are 'both', with every push checked on both sides and each other's available presence
 * (§4.2-4.3); bob's logout reaches alice as unavailable (§4.5.2); carol, a control account,
 * sees nothing. Roster versioning (§2.6, XEP-0237): ver='' gets the roster with a ver, the
 * current ver gets an empty result, pushes to a versioning resource carry the new ver, and a
 * change made by another resource while alice is offline comes back in full with a new ver.
 * Run through tests/modules/modharness.py (roster module enabled). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e_strophe.h"

#define NS_ROSTER "jabber:iq:roster"
#define MAX_SEEN 64
#define MAX_ITEMS 16
#define WAIT_SECONDS 10.0

struct item {
    char jid[256];
    char sub[16];  /* subscription attribute ("" when absent) */
    char ask[16];  /* ask attribute ("" when absent) */
    char name[64]; /* name attribute ("" when absent) */
    char ver[32];  /* for pushes: the query's ver attribute */
    bool has_ver;
};

struct pres {
    char type[24]; /* "available" when the attribute is absent */
    char from[256];
};

/* A client and what it received. */
struct peer {
    struct e2e_client c;
    int user;
    struct item pushes[MAX_SEEN];
    int npushes;
    struct pres presences[MAX_SEEN];
    int npresences;
    const char *failure; /* set by a handler; checked by every wait */
};

struct roster {
    bool has_query;
    bool has_ver;
    char ver[32];
    struct item items[MAX_ITEMS];
    int n;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_attr(char *dst, size_t len, xmpp_stanza_t *st, const char *name)
{
    const char *v = xmpp_stanza_get_attribute(st, name);
    snprintf(dst, len, "%s", v ? v : "");
}

static void parse_item(xmpp_stanza_t *it, struct item *out)
{
    memset(out, 0, sizeof *out);
    copy_attr(out->jid, sizeof out->jid, it, "jid");
    copy_attr(out->sub, sizeof out->sub, it, "subscription");
    copy_attr(out->ask, sizeof out->ask, it, "ask");
    copy_attr(out->name, sizeof out->name, it, "name");
}

static int on_push(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct peer *p = ud;
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(st, "query", NS_ROSTER);
    const char *from = xmpp_stanza_get_from(st);
    if (q == NULL)
        return 1;
    /* RFC 6121 §2.1.6: a push comes from the account itself (no from, or the bare JID). */
    if (from != NULL && strcmp(from, e2e_bare(p->user)) != 0) {
        p->failure = "roster push from a foreign JID";
        return 1;
    }
    xmpp_stanza_t *it = xmpp_stanza_get_child_by_name(q, "item");
    if (it == NULL || xmpp_stanza_get_next(it) != NULL) {
        p->failure = "roster push without exactly one item";
        return 1;
    }
    if (p->npushes == MAX_SEEN) {
        p->failure = "too many roster pushes";
        return 1;
    }
    struct item *rec = &p->pushes[p->npushes++];
    parse_item(it, rec);
    const char *ver = xmpp_stanza_get_attribute(q, "ver");
    rec->has_ver = ver != NULL;
    snprintf(rec->ver, sizeof rec->ver, "%s", ver ? ver : "");
    xmpp_stanza_t *res = xmpp_iq_new(e2e_ctx, "result", xmpp_stanza_get_id(st));
    if (from != NULL)
        xmpp_stanza_set_to(res, from);
    xmpp_send(conn, res);
    xmpp_stanza_release(res);
    return 1;
}

static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct peer *p = ud;
    (void)conn;
    if (p->npresences == MAX_SEEN) {
        p->failure = "too many presence stanzas";
        return 1;
    }
    struct pres *rec = &p->presences[p->npresences++];
    const char *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st);
    snprintf(rec->type, sizeof rec->type, "%s", type ? type : "available");
    snprintf(rec->from, sizeof rec->from, "%s", from ? from : "");
    return 1;
}

static void peer_connect(struct peer *p, const char *name, int user, const char *resource)
{
    memset(p, 0, sizeof *p);
    p->user = user;
    e2e_client_connect(&p->c, name, user, resource, NULL, E2E_STARTTLS);
    char what[128];
    snprintf(what, sizeof what, "%s login", name);
    e2e_wait(&p->c.connected, 15, what);
    xmpp_handler_add(p->c.conn, on_push, NS_ROSTER, "iq", "set", p);
    xmpp_handler_add(p->c.conn, on_presence, NULL, "presence", NULL, p);
}

static void send_presence(struct peer *p, const char *type, const char *to)
{
    xmpp_stanza_t *pr = xmpp_presence_new(e2e_ctx);
    if (type != NULL)
        xmpp_stanza_set_type(pr, type);
    if (to != NULL)
        xmpp_stanza_set_to(pr, to);
    xmpp_send(p->c.conn, pr);
    xmpp_stanza_release(pr);
}

/* Runs the loop until `cond` holds; fails after WAIT_SECONDS or when a handler failed. */
#define WAIT_UNTIL(cond, ...)                                                                 \
    do {                                                                                      \
        double end_ = now() + WAIT_SECONDS;                                                   \
        while (!(cond)) {                                                                     \
            if (now() > end_) {                                                               \
                char what_[512];                                                              \
                snprintf(what_, sizeof what_, __VA_ARGS__);                                   \
                e2e_fail("timed out waiting for %s", what_);                                  \
            }                                                                                 \
            xmpp_run_once(e2e_ctx, 20);                                                       \
        }                                                                                     \
    } while (0)

static void check_failures(struct peer *const *peers, int n)
{
    for (int i = 0; i < n; i++)
        if (peers[i]->failure != NULL)
            e2e_fail("%s: %s", peers[i]->c.name, peers[i]->failure);
}

/* Index of the first push at or after `start` about `jid` with this subscription and ask
 * ("" = no ask), or -1. */
static int find_push(const struct peer *p, int start, const char *jid, const char *sub,
                     const char *ask)
{
    for (int i = start; i < p->npushes; i++)
        if (strcmp(p->pushes[i].jid, jid) == 0 && strcmp(p->pushes[i].sub, sub) == 0 &&
            strcmp(p->pushes[i].ask, ask) == 0)
            return i;
    return -1;
}

static const struct item *wait_push(struct peer *p, int start, const char *jid,
                                    const char *sub, const char *ask)
{
    WAIT_UNTIL(find_push(p, start, jid, sub, ask) >= 0 || p->failure != NULL,
               "%s: roster push %s subscription=%s ask=%s (%d pushes so far)", p->c.name, jid,
               sub, *ask ? ask : "(none)", p->npushes - start);
    if (p->failure != NULL)
        e2e_fail("%s: %s", p->c.name, p->failure);
    return &p->pushes[find_push(p, start, jid, sub, ask)];
}

/* A presence of `type` at or after `start` from `from` (a full JID, or a bare JID matching
 * any resource); returns its from. */
static int find_presence(const struct peer *p, int start, const char *type, const char *from)
{
    size_t bl = strlen(from);
    for (int i = start; i < p->npresences; i++) {
        const struct pres *r = &p->presences[i];
        if (strcmp(r->type, type) != 0)
            continue;
        if (strcmp(r->from, from) == 0 ||
            (strncmp(r->from, from, bl) == 0 && r->from[bl] == '/'))
            return i;
    }
    return -1;
}

static const char *wait_presence(struct peer *p, int start, const char *type, const char *from)
{
    WAIT_UNTIL(find_presence(p, start, type, from) >= 0, "%s: presence type=%s from %s",
               p->c.name, type, from);
    return p->presences[find_presence(p, start, type, from)].from;
}

/* Roster get; ver NULL = without versioning. */
static void roster_get(struct peer *p, const char *ver, struct roster *out)
{
    char payload[128];
    if (ver != NULL)
        snprintf(payload, sizeof payload, "<query xmlns='%s' ver='%s'/>", NS_ROSTER, ver);
    else
        snprintf(payload, sizeof payload, "<query xmlns='%s'/>", NS_ROSTER);
    xmpp_stanza_t *r = e2e_iq(&p->c, "get", NULL, payload);
    const char *type = xmpp_stanza_get_type(r);
    if (strcmp(type, "result") != 0)
        e2e_fail("%s: roster get (ver %s) answered %s (%s)", p->c.name, ver ? ver : "none",
                 type, e2e_error_condition(r) ? e2e_error_condition(r) : "?");
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(r, "query", NS_ROSTER);
    if (q != NULL) {
        out->has_query = true;
        const char *v = xmpp_stanza_get_attribute(q, "ver");
        out->has_ver = v != NULL;
        snprintf(out->ver, sizeof out->ver, "%s", v ? v : "");
        for (xmpp_stanza_t *it = xmpp_stanza_get_child_by_name(q, "item"); it;
             it = xmpp_stanza_get_next(it)) {
            if (!xmpp_stanza_is_tag(it) || strcmp(xmpp_stanza_get_name(it), "item") != 0)
                continue;
            if (out->n == MAX_ITEMS)
                e2e_fail("%s: roster too long", p->c.name);
            parse_item(it, &out->items[out->n++]);
        }
    }
    xmpp_stanza_release(r);
}

static const struct item *roster_find(const struct roster *r, const char *jid)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->items[i].jid, jid) == 0)
            return &r->items[i];
    return NULL;
}

static void roster_set(struct peer *p, const char *item_xml)
{
    char payload[512];
    snprintf(payload, sizeof payload, "<query xmlns='%s'>%s</query>", NS_ROSTER, item_xml);
    xmpp_stanza_t *r = e2e_iq(&p->c, "set", NULL, payload);
    if (strcmp(xmpp_stanza_get_type(r), "result") != 0)
        e2e_fail("%s: roster set %s refused (%s)", p->c.name, item_xml,
                 e2e_error_condition(r) ? e2e_error_condition(r) : "?");
    xmpp_stanza_release(r);
}

/* Expects exactly one item `jid` with this subscription, no ask, and nothing else. */
static void expect_only(const struct peer *p, const struct roster *r, const char *jid,
                        const char *sub)
{
    const struct item *it = roster_find(r, jid);
    if (r->n != 1 || it == NULL || strcmp(it->sub, sub) != 0 || it->ask[0] != '\0')
        e2e_fail("%s: roster should hold only %s with subscription=%s, has %d items "
                 "(%s: subscription=%s ask=%s)",
                 p->c.name, jid, sub, r->n, it ? it->jid : "missing", it ? it->sub : "-",
                 it ? it->ask : "-");
}

int main(void)
{
    e2e_init();
    struct peer a, b, x;
    struct peer *all[] = {&a, &b, &x};
    const char *aj = e2e_bare(0), *bj = e2e_bare(1), *xj = e2e_bare(2);
    peer_connect(&a, "alice", 0, "strophe");
    peer_connect(&b, "bob", 1, "strophe");
    peer_connect(&x, "carol", 2, "control");

    /* Versioning: ver='' gets the (empty) roster and a ver; that ver gets an empty result. */
    struct roster r;
    roster_get(&a, "", &r);
    if (!r.has_query || !r.has_ver || r.ver[0] == '\0' || r.n != 0)
        e2e_fail("alice: roster get ver='' gave query=%d ver='%s' items=%d (expected an "
                 "empty roster with a ver)", r.has_query, r.ver, r.n);
    char ver0[32];
    snprintf(ver0, sizeof ver0, "%s", r.ver);
    roster_get(&a, ver0, &r);
    if (r.has_query)
        e2e_fail("alice: roster get with the current ver '%s' returned a query (%d items)",
                 ver0, r.n);
    e2e_pass("versioning: ver='' -> ver '%s'; the same ver -> empty result", ver0);
    roster_get(&b, NULL, &r);
    if (!r.has_query || r.n != 0)
        e2e_fail("bob: plain roster get: query=%d items=%d", r.has_query, r.n);
    roster_get(&x, NULL, &r);
    for (int i = 0; i < 3; i++)
        send_presence(all[i], NULL, NULL);
    e2e_spin(0.3);

    /* RFC 6121 §2.3: add bob -> push (with ver for alice, who uses versioning). */
    int na = a.npushes, nb = b.npushes, pa, pb;
    char xml[512];
    snprintf(xml, sizeof xml, "<item jid='%s' name='Bob'><group>Friends</group></item>", bj);
    roster_set(&a, xml);
    const struct item *it = wait_push(&a, na, bj, "none", "");
    if (strcmp(it->name, "Bob") != 0 || !it->has_ver || strcmp(it->ver, ver0) == 0)
        e2e_fail("alice: push for the new item: name='%s' ver='%s' (had ver %d; old '%s')",
                 it->name, it->ver, it->has_ver, ver0);
    e2e_pass("roster set: push with name, subscription none, new ver '%s'", it->ver);

    /* §3.1.2: alice subscribes -> push with ask; bob gets the request from alice's bare JID */
    na = a.npushes, pb = b.npresences;
    send_presence(&a, "subscribe", bj);
    wait_push(&a, na, bj, "none", "subscribe");
    const char *from = wait_presence(&b, pb, "subscribe", aj);
    if (strcmp(from, aj) != 0)
        e2e_fail("bob: subscription request from '%s', expected the bare JID '%s'", from, aj);
    e2e_pass("subscribe: alice's push has ask='subscribe', bob got the request");

    /* §3.1.5: bob approves -> bob: 'from'; alice: 'to', 'subscribed', bob's presence. */
    na = a.npushes, nb = b.npushes, pa = a.npresences;
    send_presence(&b, "subscribed", aj);
    wait_push(&b, nb, aj, "from", "");
    it = wait_push(&a, na, bj, "to", "");
    if (strcmp(it->name, "Bob") != 0)
        e2e_fail("alice: the name was lost in the 'to' push ('%s')", it->name);
    wait_presence(&a, pa, "subscribed", bj);
    from = wait_presence(&a, pa, "available", bj);
    if (strcmp(from, xmpp_conn_get_bound_jid(b.c.conn)) != 0)
        e2e_fail("alice: bob's presence from '%s'", from);
    e2e_pass("subscribed: alice 'to', bob 'from', alice sees bob available");

    /* Bob subscribes back, alice approves: 'both' on both sides, bob sees alice. */
    na = a.npushes, nb = b.npushes, pa = a.npresences, pb = b.npresences;
    send_presence(&b, "subscribe", aj);
    wait_push(&b, nb, aj, "from", "subscribe");
    wait_presence(&a, pa, "subscribe", bj);
    na = a.npushes, nb = b.npushes;
    send_presence(&a, "subscribed", bj);
    it = wait_push(&a, na, bj, "both", "");
    char ver_both[32];
    snprintf(ver_both, sizeof ver_both, "%s", it->ver);
    wait_push(&b, nb, aj, "both", "");
    from = wait_presence(&b, pb, "available", aj);
    if (strcmp(from, xmpp_conn_get_bound_jid(a.c.conn)) != 0)
        e2e_fail("bob: alice's presence from '%s'", from);
    roster_get(&a, NULL, &r);
    expect_only(&a, &r, bj, "both");
    roster_get(&b, NULL, &r);
    expect_only(&b, &r, aj, "both");
    e2e_pass("both: pushes and roster gets agree on both sides, both see each other");

    /* Versioning after the handshake: the last push's ver is current; an old ver gets all. */
    roster_get(&a, ver_both, &r);
    if (r.has_query)
        e2e_fail("alice: get with the last pushed ver '%s' returned %d items", ver_both, r.n);
    roster_get(&a, ver0, &r);
    if (!r.has_query || strcmp(r.ver, ver_both) != 0)
        e2e_fail("alice: get with old ver '%s': query=%d ver='%s', expected ver '%s'", ver0,
                 r.has_query, r.ver, ver_both);
    expect_only(&a, &r, bj, "both");
    e2e_pass("versioning: the last pushed ver '%s' is current; an old ver gets the roster",
             ver_both);

    /* §4.5.2: bob logs out -> alice gets unavailable from bob's full JID. */
    char bfull[256];
    snprintf(bfull, sizeof bfull, "%s", xmpp_conn_get_bound_jid(b.c.conn));
    pa = a.npresences;
    e2e_client_close(&b.c);
    wait_presence(&a, pa, "unavailable", bfull);
    e2e_pass("logout: alice got unavailable from %s", bfull);

    /* A change while alice is offline (made by another resource) comes back in full with a
     * new ver when she logs in with her last ver; that new ver then gets an empty result. */
    e2e_client_close(&a.c);
    struct peer a2;
    peer_connect(&a2, "alice/laptop", 0, "laptop");
    snprintf(xml, sizeof xml, "<item jid='%s' name='Carol'/>", xj);
    roster_set(&a2, xml);
    e2e_client_close(&a2.c);
    peer_connect(&a, "alice", 0, "strophe");
    roster_get(&a, ver_both, &r);
    const struct item *ci = roster_find(&r, xj), *bi = roster_find(&r, bj);
    if (!r.has_query || r.n != 2 || ci == NULL || bi == NULL || strcmp(ci->sub, "none") != 0 ||
        strcmp(ci->name, "Carol") != 0 || strcmp(bi->sub, "both") != 0)
        e2e_fail("alice: after an offline change, get with ver '%s' gave query=%d items=%d "
                 "carol=%s bob=%s", ver_both, r.has_query, r.n, ci ? ci->sub : "missing",
                 bi ? bi->sub : "missing");
    if (!r.has_ver || strcmp(r.ver, ver_both) == 0)
        e2e_fail("alice: the changed roster came with ver '%s' (old '%s')", r.ver, ver_both);
    char ver_new[32];
    snprintf(ver_new, sizeof ver_new, "%s", r.ver);
    roster_get(&a, ver_new, &r);
    if (r.has_query)
        e2e_fail("alice: get with the new ver '%s' returned %d items", ver_new, r.n);
    e2e_pass("versioning: offline change returned in full with ver '%s', then empty", ver_new);

    /* The control account saw none of alice's or bob's presence and no pushes. */
    for (int i = 0; i < x.npresences; i++)
        if (find_presence(&x, i, x.presences[i].type, aj) == i ||
            find_presence(&x, i, x.presences[i].type, bj) == i)
            e2e_fail("carol got presence %s from %s", x.presences[i].type,
                     x.presences[i].from);
    if (x.npushes != 0)
        e2e_fail("carol got %d roster pushes", x.npushes);
    check_failures(all, 3);
    e2e_pass("control account saw nothing");

    e2e_client_close(&a.c);
    e2e_client_close(&x.c);
    e2e_shutdown();
    return 0;
}
