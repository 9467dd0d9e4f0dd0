/* server/admin/pie_import.c — the streaming XEP-0227 importer (server/admin/pie.h).
 *
 * The document is walked with xml/reader.c: <server-data> (or a lone <host>, as in
 * ejabberd's included files), <host jid>, <user name password>, and below a user only
 * whole elements: the core's <scram-credentials/> (urn:xmpp:pie:0#scram, as Prosody and
 * ejabberd write them) and whatever a module registered; anything else is skipped and
 * counted. Memory is one user's small state plus one element tree at a time. An account
 * is created just before the user's first module element (or at </user>), from the
 * plaintext password (hashed) or the stored SCRAM keys, and never over an existing one:
 * existing users are skipped whole. Work is cut into slices of about SLICE_MS so a running
 * server keeps serving; each slice is a unit of work whose writes join the loop's batch
 * (one transaction), or, for a dry run, are discarded at the end of the slice; each
 * imported element and account is a unit of its own inside it, so a failed write (a full
 * store) refuses that element only.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/admin/pie.h"
#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/server.h"
#include "server/store/accounts.h"

#define SLICE_MS 20
#define REPORT_MAX 200
#define NAMES_MAX 32
#define ITERATIONS_MAX 1000000 /* PBKDF2 rounds taken from a file: more would stall logins */
#define DEPTH_KINDS 8

enum kind { K_NONE, K_SERVER_DATA, K_HOST, K_USER };

/* Counts per element kind a module took, e.g. "jabber:iq:roster query". */
struct tally {
    char *what;
    bool items;          /* counts the children of the element (MYNA_MIGRATION_ITEMS) */
    unsigned long ok, refused;
};

struct pie_import {
    struct server *srv;
    bool dry_run;
    pie_report_fn report;
    void *ud;
    struct xml_reader *reader;
    char *doc;                     /* current document's name */
    enum kind kinds[DEPTH_KINDS];  /* what each descended element at that depth is */
    uint64_t slice_start;
    bool failed;                   /* a document was refused */
    char fatal[512];
    /* the host being read */
    struct host *host;
    /* the user being read */
    bool in_user, user_created, user_refused;
    struct myna_arena *ua;         /* the user's JID and strings */
    struct myna_jid user;
    char *password;                /* plaintext from the file, wiped after use */
    struct account creds;          /* from <scram-credentials/> */
    /* counts */
    unsigned long users, existing, refused_users, hosts_skipped, includes, too_big;
    struct tally *tallies;
    size_t ntallies;
    char *unknown[NAMES_MAX];
    unsigned long unknown_n[NAMES_MAX];
    size_t nunknown;
    unsigned reports;
};

static void report(struct pie_import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct pie_import *im, const char *fmt, ...)
{
    if (++im->reports > REPORT_MAX) {
        if (im->reports == REPORT_MAX + 1 && im->report)
            im->report(im->ud, "(more problems are not shown one by one; see the counts)");
        return;
    }
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: ", im->doc ? im->doc : "?");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (im->report)
        im->report(im->ud, line);
}

static bool is_pie(const struct myna_xml *el, const char *name)
{
    return strcmp(el->name, name) == 0 &&
           (strcmp(el->ns, PIE_NS) == 0 || strcmp(el->ns, PIE_NS_OLD) == 0);
}

static struct tally *tally_of(struct pie_import *im, const struct myna_xml *el, bool items)
{
    char what[600];
    snprintf(what, sizeof what, "<%s xmlns='%s'>", el->name, el->ns);
    for (size_t i = 0; i < im->ntallies; i++)
        if (strcmp(im->tallies[i].what, what) == 0)
            return &im->tallies[i];
    im->tallies = xrealloc(im->tallies, (im->ntallies + 1) * sizeof *im->tallies);
    im->tallies[im->ntallies] = (struct tally){xstrdup(what), items, 0, 0};
    return &im->tallies[im->ntallies++];
}

/* An element no one takes: counted by name, shown in the summary. */
static void unknown(struct pie_import *im, const struct myna_xml *el)
{
    char what[600];
    snprintf(what, sizeof what, "<%s xmlns='%s'>", el->name, el->ns);
    for (size_t i = 0; i < im->nunknown; i++) {
        if (strcmp(im->unknown[i], what) == 0) {
            im->unknown_n[i]++;
            return;
        }
    }
    if (im->nunknown < NAMES_MAX) {
        im->unknown[im->nunknown] = xstrdup(what);
        im->unknown_n[im->nunknown++] = 1;
    }
}

/* The module registration for `el` on the current host, in user or host context. */
static struct reg_migration *find_reg(struct pie_import *im, const struct myna_xml *el,
                                      bool host_level)
{
    if (!im->host)
        return NULL;
    /* Older files use the pre-1.0 namespace for the XEP's own elements (offline-messages). */
    const char *ns = strcmp(el->ns, PIE_NS_OLD) == 0 ? PIE_NS : el->ns;
    for (struct reg_migration *r = im->host->migrations; r; r = r->next)
        if (r->imp && !(r->flags & MYNA_MIGRATION_HOST) == !host_level &&
            strcmp(r->ns, ns) == 0 && strcmp(r->name, el->name) == 0)
            return r;
    return NULL;
}

static void time_check(struct pie_import *im)
{
    if (loop_clock_ms() - im->slice_start >= SLICE_MS)
        xml_reader_pause(im->reader);
}

/* ---- accounts ---- */

/* Decodes base64 text (surrounding white space allowed) into out; length or -1. */
static int b64(const char *text, size_t len, unsigned char *out, size_t cap)
{
    while (len && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t'))
        text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\r' ||
                   text[len - 1] == '\t'))
        len--;
    if (len == 0 || len / 4 * 3 > cap + 3)
        return -1;
    unsigned char tmp[512];
    if (len > sizeof tmp)
        return -1;
    int n = base64_decode(text, len, tmp, sizeof tmp);
    if (n < 0 || (size_t)n > cap)
        return -1;
    memcpy(out, tmp, (size_t)n);
    return n;
}

/* A key of hl bytes. ejabberd 23.01 writes the base64 text of the base64 strings it
 * stores (encoded twice); the key length tells, and *twice records it for the salt. */
static bool key_decode(const char *text, size_t hl, unsigned char *out, int *twice)
{
    unsigned char once[256];
    int n = text ? b64(text, strlen(text), once, sizeof once) : -1;
    if (n == (int)hl && *twice != 1) {
        memcpy(out, once, hl);
        *twice = 0;
        return true;
    }
    if (n > 0 && *twice != 0 && b64((const char *)once, (size_t)n, out, hl) == (int)hl) {
        *twice = 1;
        return true;
    }
    return false;
}

/* <scram-credentials mechanism='SCRAM-SHA-1'><iter-count/><salt/><server-key/>
 * <stored-key/></scram-credentials>, values in base64. */
static void take_scram(struct pie_import *im, const struct myna_xml *el)
{
    const char *mech = myna_xml_attr(el, "mechanism");
    enum scram_hash h;
    if (mech && strcmp(mech, "SCRAM-SHA-1") == 0) {
        h = SCRAM_SHA1;
    } else if (mech && strcmp(mech, "SCRAM-SHA-256") == 0) {
        h = SCRAM_SHA256;
    } else {
        unknown(im, el); /* e.g. SCRAM-SHA-512: Myna has no such mechanism */
        return;
    }
    struct scram_credentials c = {.hash = h};
    const char *iter = myna_xml_child_text(el, PIE_NS_SCRAM, "iter-count");
    const char *salt = myna_xml_child_text(el, PIE_NS_SCRAM, "salt");
    char *end = NULL;
    unsigned long it = iter ? strtoul(iter, &end, 10) : 0;
    int twice = -1;
    size_t hl = scram_hash_len(h);
    bool ok = iter && end != iter && *end == '\0' && it >= 1 && it <= ITERATIONS_MAX &&
              key_decode(myna_xml_child_text(el, PIE_NS_SCRAM, "server-key"), hl,
                         c.server_key, &twice) &&
              key_decode(myna_xml_child_text(el, PIE_NS_SCRAM, "stored-key"), hl,
                         c.stored_key, &twice) && salt;
    if (ok) {
        unsigned char once[SCRAM_SALT_MAX * 2];
        int n = b64(salt, strlen(salt), once, sizeof once);
        if (twice == 1 && n > 0)
            n = b64((const char *)once, (size_t)n, c.salt, sizeof c.salt);
        else if (n > 0 && (size_t)n <= sizeof c.salt)
            memcpy(c.salt, once, (size_t)n);
        else
            n = -1;
        ok = n > 0;
        c.salt_len = ok ? (size_t)n : 0;
    }
    if (!ok) {
        report(im, "user %s: unusable %s credentials (iteration count 1..%d and base64 "
                   "salt and keys of the hash's length expected)",
               im->user.bare, mech, ITERATIONS_MAX);
        if (!im->user_created && !im->user_refused) {
            im->user_refused = true;
            im->refused_users++;
        }
        return;
    }
    c.iterations = (unsigned)it;
    if (h == SCRAM_SHA1)
        im->creds.sha1 = c;
    else
        im->creds.sha256 = c;
    im->creds.hashes |= ACCOUNT_HAS(h);
}

static void wipe_password(struct pie_import *im)
{
    if (im->password) {
        OPENSSL_cleanse(im->password, strlen(im->password));
        free(im->password);
        im->password = NULL;
    }
}

/* Creates the account, once, before any of the user's data. False if it cannot be. */
static bool ensure_account(struct pie_import *im)
{
    if (im->user_created)
        return true;
    if (im->user_refused)
        return false;
    struct account acc;
    const char *why = NULL;
    if (im->password) {
        /* A plaintext password is hashed like mynactl adduser does; both hashes. */
        if (account_derive(im->password, im->srv->cfg.scram_iterations, &acc) != 0)
            why = "the password has characters SASLprep refuses (RFC 4013)";
    } else if (im->creds.hashes) {
        acc = im->creds;
    } else {
        why = "no password and no usable SCRAM credentials before its data";
    }
    wipe_password(im);
    int rc = -1;
    if (!why && (rc = myna_store_env_unit_begin(im->srv->store)) == 0) {
        rc = account_put(im->srv->accounts, im->user.node, im->user.domain, &acc, false);
        int err = myna_store_env_unit_commit(im->srv->store);
        if (rc == 0)
            rc = err;
    }
    if (rc == ACCOUNT_EXISTS) {
        im->existing++;
        im->user_refused = true;
        return false;
    }
    if (rc != 0) {
        report(im, "user %s refused: %s", im->user.bare, why ? why : myna_store_strerror(rc));
        im->refused_users++;
        im->user_refused = true;
        return false;
    }
    im->user_created = true;
    im->users++;
    if (!im->dry_run) {
        struct myna_event ev = {.type = MYNA_EVENT_USER_CREATED, .user = &im->user};
        events_emit(im->host, &ev);
    }
    return true;
}

/* ---- the walk ---- */

static enum xml_read_take host_start(struct pie_import *im, unsigned depth,
                                     const struct myna_xml *el)
{
    const char *jid = myna_xml_attr(el, "jid");
    struct myna_arena *a = myna_arena_new();
    const char *dom = jid ? myna_jid_nameprep(a, jid) : NULL;
    im->host = dom ? server_host(im->srv, dom) : NULL;
    if (!im->host) {
        report(im, "host '%s' is not a host of this server: its data is skipped (add it to "
                   "the config first)", jid ? jid : "(no jid)");
        im->hosts_skipped++;
    }
    myna_arena_free(a);
    if (!im->host)
        return XML_TAKE_SKIP;
    im->kinds[depth] = K_HOST;
    return XML_TAKE_DESCEND;
}

static enum xml_read_take user_start(struct pie_import *im, unsigned depth,
                                     const struct myna_xml *el)
{
    const char *name = myna_xml_attr(el, "name");
    im->ua = myna_arena_new();
    if (!name || myna_jid_make(im->ua, name, im->host->domain, NULL, &im->user) != 0 ||
        !im->user.node) {
        report(im, "user '%s' on %s refused: not a valid JID node", name ? name : "(no name)",
               im->host->domain);
        im->refused_users++;
        myna_arena_free(im->ua);
        im->ua = NULL;
        return XML_TAKE_SKIP;
    }
    if (account_exists(im->srv->accounts, im->user.node, im->user.domain)) {
        im->existing++;
        myna_arena_free(im->ua);
        im->ua = NULL;
        return XML_TAKE_SKIP;
    }
    im->in_user = true;
    im->user_created = im->user_refused = false;
    memset(&im->creds, 0, sizeof im->creds);
    const char *pw = myna_xml_attr(el, "password");
    im->password = pw && *pw ? xstrdup(pw) : NULL;
    im->kinds[depth] = K_USER;
    return XML_TAKE_DESCEND;
}

static void user_end(struct pie_import *im)
{
    if (!im->user_created && !im->user_refused)
        ensure_account(im);
    wipe_password(im);
    OPENSSL_cleanse(&im->creds, sizeof im->creds);
    myna_arena_free(im->ua);
    im->ua = NULL;
    im->in_user = false;
    time_check(im);
}

static enum xml_read_take on_start(void *ud, unsigned depth, struct myna_xml *el)
{
    struct pie_import *im = ud;
    enum kind parent = depth == 0 ? K_NONE : im->kinds[depth - 1];
    if (depth < DEPTH_KINDS)
        im->kinds[depth] = K_NONE;
    if (depth == 0) {
        if (is_pie(el, "server-data")) {
            im->kinds[0] = K_SERVER_DATA;
            return XML_TAKE_DESCEND;
        }
        if (is_pie(el, "host"))
            return host_start(im, depth, el);
        xml_reader_abort(im->reader, "not a XEP-0227 document (its root is neither "
                                     "<server-data/> nor <host/> in urn:xmpp:pie:0)");
        return XML_TAKE_SKIP;
    }
    if (parent == K_SERVER_DATA) {
        if (is_pie(el, "host"))
            return host_start(im, depth, el);
        if (strcmp(el->ns, PIE_NS_XINCLUDE) == 0 && strcmp(el->name, "include") == 0)
            im->includes++; /* mynactl sends the included files after this one */
        else
            unknown(im, el);
        return XML_TAKE_SKIP;
    }
    if (parent == K_HOST) {
        if (is_pie(el, "user"))
            return user_start(im, depth, el);
        struct reg_migration *r = find_reg(im, el, true);
        if (r)
            return (r->flags & MYNA_MIGRATION_ITEMS) ? XML_TAKE_ITEMS : XML_TAKE_TREE;
        unknown(im, el);
        return XML_TAKE_SKIP;
    }
    if (parent == K_USER) {
        if (im->user_refused)
            return XML_TAKE_SKIP;
        if (strcmp(el->ns, PIE_NS_SCRAM) == 0 && strcmp(el->name, "scram-credentials") == 0)
            return XML_TAKE_TREE;
        struct reg_migration *r = find_reg(im, el, false);
        if (!r) {
            unknown(im, el);
            return XML_TAKE_SKIP;
        }
        if (!ensure_account(im))
            return XML_TAKE_SKIP;
        return (r->flags & MYNA_MIGRATION_ITEMS) ? XML_TAKE_ITEMS : XML_TAKE_TREE;
    }
    return XML_TAKE_SKIP;
}

static void on_tree(void *ud, struct myna_xml *list, struct myna_xml *el)
{
    struct pie_import *im = ud;
    if (im->in_user && !list && strcmp(el->ns, PIE_NS_SCRAM) == 0 &&
        strcmp(el->name, "scram-credentials") == 0) {
        take_scram(im, el);
        return;
    }
    const struct myna_xml *key = list ? list : el;
    struct reg_migration *r = find_reg(im, key, !im->in_user);
    if (!r)
        return;
    struct tally *t = tally_of(im, key, list != NULL);
    /* Each element is a unit of work: a write that fails (a full store) fails it alone. */
    int rc = myna_store_env_unit_begin(im->srv->store);
    if (rc == 0) {
        rc = r->imp(r->owner, im->in_user ? &im->user : NULL, list, el, r->data);
        int err = myna_store_env_unit_commit(im->srv->store);
        if (err != 0 && rc == 0) {
            report(im, "%s %s: <%s xmlns='%s'> not stored: %s", im->in_user ? "user" : "host",
                   im->in_user ? im->user.bare : im->host->domain, key->name, key->ns,
                   myna_store_strerror(err));
            rc = err;
        }
    }
    if (rc == 0)
        t->ok++;
    else
        t->refused++;
    time_check(im);
}

static void on_end(void *ud, unsigned depth, struct myna_xml *el)
{
    struct pie_import *im = ud;
    if (depth >= DEPTH_KINDS)
        return;
    enum kind k = im->kinds[depth];
    im->kinds[depth] = K_NONE;
    if (k == K_USER)
        user_end(im);
    else if (k == K_HOST)
        im->host = NULL;
}

static void on_too_big(void *ud, struct myna_xml *list, struct myna_xml *el)
{
    struct pie_import *im = ud;
    im->too_big++;
    if (el && (list || !im->in_user || strcmp(el->ns, PIE_NS_SCRAM) != 0))
        tally_of(im, list ? list : el, list != NULL)->refused++;
    report(im, "%s%s: one <%s xmlns='%s'> is over 4 MiB: skipped", im->in_user ? "user " : "host ",
           im->in_user ? im->user.bare : im->host ? im->host->domain : "?", el->name, el->ns);
}

static const struct xml_reader_callbacks reader_cbs = {on_start, on_tree, on_end, on_too_big};

/* ---- slices ---- */

struct pie_import *pie_import_new(struct server *srv, bool dry_run, pie_report_fn fn, void *ud)
{
    struct pie_import *im = xcalloc(1, sizeof *im);
    im->srv = srv;
    im->dry_run = dry_run;
    im->report = fn;
    im->ud = ud;
    return im;
}

static void doc_reset(struct pie_import *im)
{
    if (im->in_user) {
        wipe_password(im);
        myna_arena_free(im->ua);
        im->ua = NULL;
        im->in_user = false;
    }
    xml_reader_free(im->reader);
    im->reader = NULL;
    im->host = NULL;
    memset(im->kinds, 0, sizeof im->kinds);
}

void pie_import_begin(struct pie_import *im, const char *name)
{
    doc_reset(im);
    free(im->doc);
    im->doc = xstrdup(name && *name ? name : "(stdin)");
    im->reader = xml_reader_new(NULL, &reader_cbs, im);
}

/* A slice runs in a unit of work of its own: a dry run aborts it at the end, so nothing
 * it wrote remains; a real import commits it into the loop's batch. False when the unit
 * cannot be opened: then nothing may run. */
static bool slice_begin(struct pie_import *im)
{
    im->slice_start = loop_clock_ms();
    if (myna_store_env_unit_begin(im->srv->store) != 0) {
        xml_reader_abort(im->reader, "cannot open a unit of work in the store");
        return false;
    }
    im->srv->migration_dry_run = im->dry_run;
    return true;
}

static enum xml_read_status slice_end(struct pie_import *im, bool begun,
                                      enum xml_read_status st)
{
    if (begun && im->dry_run) {
        myna_store_env_unit_abort(im->srv->store);
    } else if (begun) {
        int err = myna_store_env_unit_commit(im->srv->store);
        if (err != 0 && st != XML_READ_ERROR && im->reader) {
            /* The slice's writes are lost: stop rather than go on with a hole. */
            char why[200];
            snprintf(why, sizeof why, "the store refused the writes: %s",
                     myna_store_strerror(err));
            xml_reader_abort(im->reader, why);
            st = XML_READ_ERROR;
        }
    }
    im->srv->migration_dry_run = false;
    if (st == XML_READ_ERROR && !im->failed) {
        im->failed = true;
        snprintf(im->fatal, sizeof im->fatal, "%s: %s", im->doc,
                 im->reader ? xml_reader_error(im->reader) : "no document");
        if (im->report)
            im->report(im->ud, im->fatal);
    }
    return st;
}

enum xml_read_status pie_import_feed(struct pie_import *im, const char *data, size_t len)
{
    if (!im->reader || im->failed)
        return XML_READ_ERROR;
    bool begun = slice_begin(im);
    return slice_end(im, begun, begun ? xml_reader_feed(im->reader, data, len) : XML_READ_ERROR);
}

enum xml_read_status pie_import_resume(struct pie_import *im)
{
    if (!im->reader || im->failed)
        return XML_READ_ERROR;
    bool begun = slice_begin(im);
    return slice_end(im, begun, begun ? xml_reader_resume(im->reader) : XML_READ_ERROR);
}

enum xml_read_status pie_import_end(struct pie_import *im)
{
    if (!im->reader || im->failed)
        return XML_READ_ERROR;
    bool begun = slice_begin(im);
    enum xml_read_status st =
        slice_end(im, begun, begun ? xml_reader_finish(im->reader) : XML_READ_ERROR);
    if (st == XML_READ_OK)
        doc_reset(im);
    return st;
}

bool pie_import_summary(const struct pie_import *im, struct myna_buf *out)
{
    myna_buf_printf(out, "%s\n", im->dry_run ? "dry run: nothing was written" : "import done");
    if (im->failed)
        myna_buf_printf(out, "STOPPED: %s (what came before it %s)\n", im->fatal,
                        im->dry_run ? "was checked" : "was imported");
    myna_buf_printf(out, "users: %lu imported, %lu already existed (skipped), %lu refused\n",
                    im->users, im->existing, im->refused_users);
    for (size_t i = 0; i < im->ntallies; i++)
        myna_buf_printf(out, "  %s%s: %lu imported, %lu refused\n", im->tallies[i].what,
                        im->tallies[i].items ? " items" : "", im->tallies[i].ok,
                        im->tallies[i].refused);
    if (im->hosts_skipped)
        myna_buf_printf(out, "hosts not served here (skipped): %lu\n", im->hosts_skipped);
    if (im->too_big)
        myna_buf_printf(out, "elements over 4 MiB (skipped): %lu\n", im->too_big);
    for (size_t i = 0; i < im->nunknown; i++)
        myna_buf_printf(out, "not imported (no module here takes it): %lu x %s\n",
                        im->unknown_n[i], im->unknown[i]);
    return !im->failed;
}

void pie_import_free(struct pie_import *im)
{
    if (!im)
        return;
    doc_reset(im);
    free(im->doc);
    for (size_t i = 0; i < im->ntallies; i++)
        free(im->tallies[i].what);
    free(im->tallies);
    for (size_t i = 0; i < im->nunknown; i++)
        free(im->unknown[i]);
    free(im);
}
