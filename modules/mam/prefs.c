/* modules/mam/prefs.c — archiving preferences (XEP-0441, namespace urn:xmpp:mam:2): the
 * default (always, never, roster) and the always/never JID lists, read and set by the
 * account itself; and the decision, per message, whether a user's archive keeps it.
 * Matching (§2.3): a listed JID with a resource matches the peer's full JID, a bare one
 * the peer's bare JID; 'never' wins over 'always'; 'roster' asks the roster service
 * (myna/roster.h) about the peer's bare JID, and counts the user's own JID as a contact.
 * Stored as 'P', default (0 always, 1 never, 2 roster), then 'a'/'n' + JID + NUL each.
 */
#include <stdlib.h>
#include <string.h>

#include "mam.h"
#include "myna/roster.h"

#define PREFS_MAX 1000 /* JIDs in both lists together */

static const char *const default_names[] = {"always", "never", "roster"};

struct entry {
    char kind; /* 'a' always, 'n' never */
    const char *jid;
};

struct prefs {
    enum mam_default def;
    struct entry *e;
    size_t n;
};

static void prefs_load(struct mam *c, struct myna_arena *a, const char *owner,
                       struct prefs *p)
{
    p->def = c->default_pref;
    p->e = NULL;
    p->n = 0;
    char *k;
    size_t kl = archive_prefix(a, owner, &k);
    void *v;
    size_t len;
    if (kl > KEY_MAX || myna_store_get(c->prefs, k, kl, a, &v, &len) != 0 || len < 2 ||
        ((char *)v)[0] != 'P' || ((unsigned char *)v)[1] > PREF_ROSTER)
        return;
    const char *s = v, *end = s + len;
    p->def = (enum mam_default)s[1];
    size_t cap = 0;
    for (const char *q = s + 2; q < end; q++)
        cap += *q == '\0';
    p->e = myna_arena_alloc(a, (cap ? cap : 1) * sizeof *p->e);
    for (const char *q = s + 2; q + 1 < end && p->n < cap;) {
        const char *nul = memchr(q, '\0', (size_t)(end - q));
        if (!nul)
            break;
        p->e[p->n].kind = q[0];
        p->e[p->n].jid = q + 1;
        p->n++;
        q = nul + 1;
    }
}

static bool matches(const char *listed, const struct myna_jid *peer)
{
    return strchr(listed, '/') ? strcmp(listed, peer->full) == 0
                               : strcmp(listed, peer->bare) == 0;
}

bool prefs_archives(struct mam *c, struct myna_arena *a, const char *owner,
                    const struct myna_jid *peer)
{
    struct prefs p;
    prefs_load(c, a, owner, &p);
    bool always = false;
    for (size_t i = 0; i < p.n; i++) {
        if (!matches(p.e[i].jid, peer))
            continue;
        if (p.e[i].kind == 'n')
            return false;
        always = true;
    }
    if (always)
        return true;
    switch (p.def) {
    case PREF_ALWAYS:
        return true;
    case PREF_NEVER:
        return false;
    case PREF_ROSTER:
        break;
    }
    if (strcmp(peer->bare, owner) == 0)
        return true;
    const struct myna_roster_service *r = myna_service_get(c->m, MYNA_ROSTER_SERVICE);
    return r && r->version >= 1 && r->has_item(r, owner, peer->bare, NULL);
}

/* ---- the iq protocol ---- */

static struct myna_xml *prefs_xml(struct myna_arena *a, const struct prefs *p)
{
    struct myna_xml *x = myna_xml_new(a, NS_MAM, "prefs");
    myna_xml_set_attr(x, "default", default_names[p->def]);
    struct myna_xml *always = myna_xml_add_child(x, NULL, "always");
    struct myna_xml *never = myna_xml_add_child(x, NULL, "never");
    for (size_t i = 0; i < p->n; i++) {
        struct myna_xml *j = myna_xml_add_child(p->e[i].kind == 'n' ? never : always, NULL, "jid");
        myna_xml_add_text(j, p->e[i].jid, strlen(p->e[i].jid));
    }
    return x;
}

static int prefs_get(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct mam *c = data;
    if (!mam_own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    struct prefs p;
    prefs_load(c, st->arena, st->from.bare, &p);
    myna_iq_result(st, prefs_xml(st->arena, &p));
    return 0;
}

/* Reads the <jid/> children of one list into p; returns an error to answer, or -1. */
static int read_list(struct myna_arena *a, const struct myna_xml *list, char kind,
                     struct prefs *p, size_t cap)
{
    if (!list)
        return -1;
    for (struct myna_xml *j = myna_xml_find(list, NS_MAM, "jid"); j;
         j = myna_xml_find_next(j, NS_MAM, "jid")) {
        struct myna_jid jid;
        if (myna_jid_parse(a, myna_xml_text(j), &jid) < 0)
            return MYNA_ERR_JID_MALFORMED;
        if (p->n == cap)
            return MYNA_ERR_POLICY_VIOLATION;
        bool dup = false;
        for (size_t i = 0; i < p->n && !dup; i++)
            dup = strcmp(p->e[i].jid, jid.full) == 0;
        if (dup) /* in both lists: never wins, so drop it from always */
            continue;
        p->e[p->n].kind = kind;
        p->e[p->n].jid = jid.full;
        p->n++;
    }
    return -1;
}

struct pending_prefs {
    struct myna_pending_iq *iq;
    struct myna_arena *a;
    struct myna_xml *answer;
};

static void prefs_durable(void *data, int err)
{
    struct pending_prefs *pp = data;
    if (err == 0)
        myna_pending_result(pp->iq, pp->answer);
    else
        myna_pending_error(pp->iq, MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
    myna_arena_free(pp->a);
    free(pp);
}

static int prefs_set(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct mam *c = data;
    if (!mam_own_request(st)) {
        myna_reply_error(st, MYNA_ERR_FORBIDDEN, NULL);
        return 0;
    }
    const struct myna_xml *x = myna_xml_first_element(st->xml);
    const char *def = myna_xml_attr(x, "default");
    struct prefs p = {PREF_ALWAYS, NULL, 0};
    size_t i = 0;
    while (def && i < 3 && strcmp(def, default_names[i]) != 0)
        i++;
    if (!def || i == 3) {
        myna_reply_error(st, MYNA_ERR_BAD_REQUEST, "default must be always, never or roster");
        return 0;
    }
    p.def = (enum mam_default)i;
    p.e = myna_arena_alloc(st->arena, PREFS_MAX * sizeof *p.e);
    /* never first, so a JID in both lists ends up in never. */
    int err = read_list(st->arena, myna_xml_find(x, NS_MAM, "never"), 'n', &p, PREFS_MAX);
    if (err < 0)
        err = read_list(st->arena, myna_xml_find(x, NS_MAM, "always"), 'a', &p, PREFS_MAX);
    if (err >= 0) {
        myna_reply_error(st, (enum myna_error)err,
                         err == MYNA_ERR_POLICY_VIOLATION ? "too many JIDs" : NULL);
        return 0;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    char head[2] = {'P', (char)p.def};
    myna_buf_append(&b, head, 2);
    for (size_t k = 0; k < p.n; k++) {
        myna_buf_append(&b, &p.e[k].kind, 1);
        myna_buf_append(&b, p.e[k].jid, strlen(p.e[k].jid) + 1);
    }
    char *key;
    size_t kl = archive_prefix(st->arena, st->from.bare, &key);
    int rc = kl <= KEY_MAX ? myna_store_put(c->prefs, key, kl, b.data, b.len) : MYNA_STORE_TOOBIG;
    myna_buf_free(&b);
    if (rc != 0) {
        myna_reply_error(st, rc == MYNA_STORE_FULL ? MYNA_ERR_RESOURCE_CONSTRAINT
                                                    : MYNA_ERR_INTERNAL_SERVER_ERROR, NULL);
        return 0;
    }
    /* Answer once the write is durable; the answer holds the preferences as applied. */
    struct pending_prefs *pp = calloc(1, sizeof *pp);
    if (!pp)
        abort();
    pp->a = myna_arena_new();
    pp->answer = prefs_xml(pp->a, &p);
    pp->iq = myna_iq_defer(st);
    myna_store_on_durable(c->prefs, prefs_durable, pp);
    return 0;
}

int prefs_register(struct mam *c)
{
    struct myna_module *m = c->m;
    if (myna_iq_register(m, MYNA_IQ_GET, NS_MAM, "prefs", MYNA_IQ_TO_USER, prefs_get, c) < 0 ||
        myna_iq_register(m, MYNA_IQ_SET, NS_MAM, "prefs", MYNA_IQ_TO_USER, prefs_set, c) < 0)
        return -1;
    return 0;
}
