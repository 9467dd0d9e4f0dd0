/* server/stream/sasl.c — see sasl.h. States: IDLE (waiting for <auth/>) -> EXCHANGE
 * (a challenge is out, waiting for <response/>) or BUSY (a password check on the job pool,
 * or a failure held back by authfail) -> IDLE again after a <failure/>, DONE after
 * <success/>. A job or delay holds a reference on the stream, and the owner frees the
 * struct sasl only when the stream is freed or after DONE, so neither outlives it. */
#include "server/stream/sasl.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/jid.h"
#include "server/base/log.h"
#include "server/base/plain.h"
#include "server/base/scram.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/server.h"
#include "server/store/accounts.h"
#include "server/stream/authfail.h"
#include "server/stream/preauth.h"
#include "server/stream/stream.h"

#define SASL_MAX_FAILURES 5  /* password failures on one stream */
#define SASL_MAX_OTHER 16    /* failures that checked no password (mechanism probing) */
#define SASL_MAX_PAYLOAD 8192

enum sasl_state { SASL_IDLE, SASL_EXCHANGE, SASL_BUSY, SASL_DONE };

struct sasl_mech;
/* The first client message (the initial response, or the first <response/>). */
typedef void (*sasl_start_fn)(struct sasl *s, const struct sasl_mech *m,
                              const unsigned char *msg, size_t len);
/* Each further <response/>. */
typedef void (*sasl_step_fn)(struct sasl *s, const unsigned char *msg, size_t len);

struct sasl_mech {
    const char *name;
    unsigned use;          /* SASL_C2S, SASL_S2S */
    bool needs_tls;        /* offered only under TLS */
    bool needs_cb;         /* -PLUS: offered only where the transport has channel binding */
    bool scram;            /* offered only where every account has keys for `hash` */
    bool external;         /* offered only when the peer's certificate names its domain */
    enum scram_hash hash;  /* SCRAM mechanisms */
    sasl_start_fn start;
    sasl_step_fn step;
};

struct sasl {
    struct stream *st;                /* borrowed: it outlives this */
    unsigned use;
    sasl_done_fn done;
    enum sasl_state state;
    const struct sasl_mech *pending;  /* chosen without initial response */
    const struct sasl_mech *mech;     /* the exchange running */
    struct scram_server *scram;
    char *user;                       /* the account named (prepared node), a candidate */
    const char *mech_name;            /* of the last <auth/>, for logs (static) */
    unsigned failures;                /* password failures */
    unsigned other_failures;          /* failures that checked no password */
    char *preauth_key;                /* the stream's preauth.c slot, or NULL */
    char *peer_domain;                /* SASL_S2S: the domain the peer's header claims */
};

/* ---- answers ---- */

static void send_data(struct sasl *s, const char *el, const unsigned char *data, size_t len)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<%s xmlns='%s'>", el, MYNA_NS_SASL);
    if (data && len) {
        char *enc = xmalloc(len * 4 / 3 + 8);
        int n = base64_encode(data, len, enc, len * 4 / 3 + 8);
        if (n > 0)
            myna_buf_append(&b, enc, (size_t)n);
        free(enc);
    } else if (data) {
        myna_buf_appends(&b, "="); /* RFC 6120 §6.4.2: empty data */
    }
    myna_buf_printf(&b, "</%s>", el);
    stream_write(s->st, b.data, b.len);
    myna_buf_free(&b);
}

static void end_exchange(struct sasl *s)
{
    s->pending = NULL;
    s->mech = NULL;
    scram_server_free(s->scram);
    s->scram = NULL;
}

/* Every failure is logged with its mechanism and reason (a client that probes mechanisms
 * it cannot complete shows up in the log, and so does guessing). */
static void log_failure(struct sasl *s, const char *cond, const char *user, bool checked)
{
    struct stream *st = s->st;
    const char *peer = stream_peer(st);
    log_info(st->kind->name,
             "conn=%llu peer=%s user=%s@%s SASL failure mechanism=%s reason=%s%s",
             (unsigned long long)stream_conn_id(st), peer ? peer : "-", user ? user : "?",
             st->domain ? st->domain : "?", s->mech_name ? s->mech_name : "-", cond,
             checked ? "" : " (no password checked, not throttled)");
}

/* <failure/> now (RFC 6120 §6.4.5), with an optional <text/>. The client may try again,
 * up to SASL_MAX_FAILURES password failures (`checked`) and SASL_MAX_OTHER others. */
static void failure_send(struct sasl *s, const char *cond, const char *text, bool checked)
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "<failure xmlns='%s'><%s/>", MYNA_NS_SASL, cond);
    if (text)
        myna_buf_printf(&b, "<text xml:lang='en'>%s</text>", text);
    myna_buf_appends(&b, "</failure>");
    stream_write(s->st, b.data, b.len);
    myna_buf_free(&b);
    s->state = SASL_IDLE;
    end_exchange(s);
    if (checked ? ++s->failures >= SASL_MAX_FAILURES : ++s->other_failures >= SASL_MAX_OTHER)
        stream_error(s->st, STREAM_ERR_POLICY_VIOLATION, "Too many authentication failures");
}

/* A failure where no password was checked: logged, answered at once, never throttled. */
static void failure_now(struct sasl *s, const char *cond)
{
    log_failure(s, cond, s->user, false);
    failure_send(s, cond, NULL, false);
}

/* The address or the account is locked out (authfail.c): refused without a check. */
static void failure_locked(struct sasl *s, const char *user)
{
    log_failure(s, "temporary-auth-failure", user, false);
    log_info(s->st->kind->name, "conn=%llu: too many failed logins from this address or "
             "for this account; refused for now", (unsigned long long)stream_conn_id(s->st));
    failure_send(s, "temporary-auth-failure", "Too many failed logins; try again later",
                 false);
}

struct delayed_failure {
    struct sasl *s;
    const char *cond;
};

static void delayed_failure_fire(void *data)
{
    struct delayed_failure *d = data;
    struct stream *st = d->s->st;
    if (stream_writable(st) && d->s->state == SASL_BUSY)
        failure_send(d->s, d->cond, NULL, true);
    stream_unref(st);
    free(d);
}

/* A wrong password or an unknown account: counted, and answered after a delay. */
static void fail(struct sasl *s, const char *cond, const char *user)
{
    struct stream *st = s->st;
    const char *peer = stream_peer(st);
    uint64_t delay = authfail_failed(st->srv, peer, user, st->domain);
    st->srv->stats.login_failures++;
    log_failure(s, cond, user, true);
    struct delayed_failure *d = xmalloc(sizeof *d);
    d->s = s;
    d->cond = cond;
    stream_ref(st);
    s->state = SASL_BUSY;
    loop_timer_add(st->srv->loop, delay, delayed_failure_fire, d);
}

static void success(struct sasl *s, const char *user, const unsigned char *data, size_t len)
{
    struct stream *st = s->st;
    authfail_succeeded(st->srv, stream_peer(st), user, st->domain);
    st->srv->stats.logins++;
    end_exchange(s);
    if (s->use & SASL_C2S)
        log_info(st->kind->name, "conn=%llu peer=%s authenticated as %s@%s",
                 (unsigned long long)stream_conn_id(st), stream_peer(st), user, st->domain);
    else
        log_info(st->kind->name, "conn=%llu peer=%s authenticated as %s (to %s)",
                 (unsigned long long)stream_conn_id(st), stream_peer(st), user, st->domain);
    send_data(s, "success", data, len);
    s->state = SASL_DONE;
    s->done(st, user);
}

/* ---- account mechanisms (SASL_C2S): the account is user@domain of the stream ---- */

/* authzid must be empty or the account's own bare JID (RFC 6120 §6.3.8). */
static bool authzid_ok(struct sasl *s, const char *user, const char *authzid)
{
    if (!authzid || !*authzid)
        return true;
    struct myna_arena *a = myna_arena_new();
    struct myna_jid j, self;
    bool ok = myna_jid_parse(a, authzid, &j) == 0 &&
              myna_jid_make(a, user, s->st->domain, NULL, &self) == 0 && !j.resource &&
              myna_jid_equal(&j, &self);
    myna_arena_free(a);
    return ok;
}

struct plain_job {
    struct sasl *s;
    struct account acc;
    struct account completed; /* acc plus the hashes it lacked, when `upgrade` */
    char *password;
    char user[MYNA_JID_PART_MAX + 1];
    bool ok;
    bool upgrade;
};

static void plain_work(void *data)
{
    struct plain_job *j = data;
    j->ok = account_check_password(&j->acc, j->password);
    /* An imported account with one hash gets the other now that the password is known. */
    j->completed = j->acc;
    j->upgrade = j->ok && account_complete(&j->completed, j->password);
    OPENSSL_cleanse(j->password, strlen(j->password));
}

static void plain_done(void *data)
{
    struct plain_job *j = data;
    struct stream *st = j->s->st;
    if (j->upgrade && st->domain &&
        account_upgrade(st->srv->accounts, j->user, st->domain, &j->acc, &j->completed) == 0)
        log_info(st->kind->name, "%s@%s: SCRAM credentials completed at PLAIN login", j->user,
                 st->domain);
    if (stream_writable(st) && j->s->state == SASL_BUSY) {
        if (j->ok)
            success(j->s, j->user, NULL, 0);
        else
            fail(j->s, "not-authorized", j->user);
    }
    free(j->password);
    free(j);
    stream_unref(st);
}

/* RFC 4616: [authzid] NUL authcid NUL passwd; the password is checked on the job pool. */
static void plain_start(struct sasl *s, const struct sasl_mech *m, const unsigned char *msg,
                        size_t len)
{
    const char *authzid, *authcid, *passwd;
    if (sasl_plain_parse(msg, len, &authzid, &authcid, &passwd) != 0) {
        failure_now(s, "malformed-request");
        return;
    }
    struct myna_arena *a = myna_arena_new();
    const char *user = myna_jid_nodeprep(a, authcid);
    struct account acc;
    if (!user || !*user) {
        myna_arena_free(a);
        fail(s, "not-authorized", NULL);
        return;
    }
    if (!authzid_ok(s, user, authzid)) {
        myna_arena_free(a);
        failure_now(s, "invalid-authzid");
        return;
    }
    if (authfail_locked(s->st->srv, NULL, user, s->st->domain)) {
        failure_locked(s, user);
        myna_arena_free(a);
        return;
    }
    if (account_get(s->st->srv->accounts, user, s->st->domain, &acc) != 0) {
        fail(s, "not-authorized", user);
        myna_arena_free(a);
        return;
    }
    struct plain_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->acc = acc;
    j->password = xstrdup(passwd);
    snprintf(j->user, sizeof j->user, "%s", user);
    myna_arena_free(a);
    stream_ref(s->st);
    s->state = SASL_BUSY;
    jobs_submit(s->st->srv->jobs, plain_work, plain_done, j);
}

/* The channel-binding type the client asked for in its GS2 header ("p=type,..."). */
static const char *gs2_cb_type(const unsigned char *msg, size_t len, char *buf, size_t buflen)
{
    if (len < 3 || msg[0] != 'p' || msg[1] != '=')
        return NULL;
    size_t i = 2, o = 0;
    while (i < len && msg[i] != ',' && o + 1 < buflen)
        buf[o++] = (char)msg[i++];
    buf[o] = 0;
    return buf;
}

/* client-first-message: the server-first-message goes out as a challenge. */
static void scram_start(struct sasl *s, const struct sasl_mech *m, const unsigned char *msg,
                        size_t len)
{
    struct stream *st = s->st;
    unsigned char cb[64];
    int cblen = -1;
    char typebuf[32];
    const char *type = NULL;
    if (st->secured) {
        type = m->needs_cb ? gs2_cb_type(msg, len, typebuf, sizeof typebuf) : NULL;
        if (!type)
            type = stream_channel_binding_types(st)[0];
        cblen = type ? stream_channel_binding(st, type, cb, sizeof cb) : -1;
    }
    if (m->needs_cb && cblen < 0) {
        failure_now(s, "malformed-request");
        return;
    }
    s->scram = scram_server_new(m->hash, m->needs_cb, cblen >= 0 ? type : NULL,
                                cblen >= 0 ? cb : NULL, cblen >= 0 ? (size_t)cblen : 0);
    const char *username = NULL, *authzid = NULL;
    enum scram_step_result r = scram_server_start(s->scram, (const char *)msg, len, &username,
                                                  &authzid);
    if (r != SCRAM_CONTINUE) {
        failure_now(s, r == SCRAM_FAIL_AUTHZID ? "invalid-authzid" : "malformed-request");
        return;
    }
    struct myna_arena *a = myna_arena_new();
    const char *user = myna_jid_nodeprep(a, username);
    if (user && !authzid_ok(s, user, authzid)) {
        myna_arena_free(a);
        failure_now(s, "invalid-authzid");
        return;
    }
    if (user && authfail_locked(st->srv, NULL, user, st->domain)) {
        failure_locked(s, user);
        myna_arena_free(a);
        return;
    }
    struct account acc;
    bool found = user && account_get(st->srv->accounts, user, st->domain, &acc) == 0;
    if (found && !account_cred(&acc, m->hash)) {
        /* Only when the features predate an import: the mechanism is no longer offered.
         * No password was checked, so nothing counts against the user. */
        myna_arena_free(a);
        failure_now(s, "temporary-auth-failure");
        return;
    }
    char out[512];
    r = scram_server_challenge(s->scram, found ? account_cred(&acc, m->hash) : NULL, out,
                               sizeof out);
    free(s->user);
    s->user = user ? xstrdup(user) : NULL; /* authenticated only on success */
    myna_arena_free(a);
    if (r != SCRAM_CONTINUE) {
        failure_now(s, "temporary-auth-failure");
        return;
    }
    send_data(s, "challenge", (const unsigned char *)out, strlen(out));
    s->mech = m;
    s->state = SASL_EXCHANGE;
}

/* client-final-message: the proof decides. */
static void scram_step(struct sasl *s, const unsigned char *msg, size_t len)
{
    char out[512];
    enum scram_step_result r = scram_server_finish(s->scram, (const char *)msg, len, out,
                                                   sizeof out);
    switch (r) {
    case SCRAM_SUCCESS:
        if (!s->user) {
            fail(s, "not-authorized", NULL);
            return;
        }
        success(s, s->user, (const unsigned char *)out, strlen(out));
        return;
    case SCRAM_FAIL_MALFORMED:
        failure_now(s, "malformed-request");
        return;
    case SCRAM_FAIL_AUTHZID:
        failure_now(s, "invalid-authzid");
        return;
    default:
        end_exchange(s);
        fail(s, "not-authorized", s->user);
        return;
    }
}

/* ---- EXTERNAL (RFC 4422 App. A, XEP-0178): a peer server's certificate ---- */

/* The authorization identity is the peer's domain: the one its header named, or the one
 * it asks for; either way its certificate must name it (XEP-0178 §3, RFC 6120 §13.7). */
static void external_start(struct sasl *s, const struct sasl_mech *m, const unsigned char *msg,
                           size_t len)
{
    (void)m;
    struct myna_arena *a = myna_arena_new();
    char *authzid = len ? myna_arena_strndup(a, (const char *)msg, len) : NULL;
    const char *id = authzid ? myna_jid_nameprep(a, authzid) : s->peer_domain;
    if (!id || (s->peer_domain && strcmp(id, s->peer_domain) != 0)) {
        myna_arena_free(a);
        failure_now(s, "invalid-authzid");
        return;
    }
    if (!stream_peer_verified(s->st, id)) {
        myna_arena_free(a);
        failure_now(s, "not-authorized");
        return;
    }
    char *user = xstrdup(id);
    myna_arena_free(a);
    success(s, user, NULL, 0);
    free(user);
}

void sasl_set_peer_domain(struct sasl *s, const char *domain)
{
    free(s->peer_domain);
    s->peer_domain = domain ? xstrdup(domain) : NULL;
}

/* ---- the registry, in the order features offer them (strongest first) ---- */

#define SCRAM(name_, hash_, plus)                                                          \
    {.name = name_, .use = SASL_C2S, .needs_tls = plus, .needs_cb = plus, .scram = true,     \
     .hash = hash_, .start = scram_start, .step = scram_step}

static const struct sasl_mech mechs[] = {
    SCRAM("SCRAM-SHA-256-PLUS", SCRAM_SHA256, true),
    SCRAM("SCRAM-SHA-1-PLUS", SCRAM_SHA1, true),
    SCRAM("SCRAM-SHA-256", SCRAM_SHA256, false),
    SCRAM("SCRAM-SHA-1", SCRAM_SHA1, false),
    {.name = "PLAIN", .use = SASL_C2S, .needs_tls = true, .start = plain_start},
    {.name = "EXTERNAL", .use = SASL_S2S, .needs_tls = true, .external = true,
     .start = external_start},
};

static bool has_cb(const struct sasl *s)
{
    return s->st->secured && stream_channel_binding_types(s->st)[0];
}

/* The SCRAM hashes the stream's host offers (ACCOUNT_HAS bits): only those every account
 * has keys for, so no client is offered a mechanism its account cannot complete (accounts
 * imported from Prosody 0.12 have SHA-1 keys only, until their first PLAIN login). */
static unsigned scram_hashes(const struct sasl *s)
{
    const struct stream *st = s->st;
    return st->domain ? account_host_hashes(st->srv->accounts, st->domain) : ACCOUNT_ALL;
}

/* `hashes`: scram_hashes(s). */
static bool offered(const struct sasl *s, const struct sasl_mech *m, unsigned hashes)
{
    return (m->use & s->use) && (!m->needs_tls || s->st->secured) &&
           (!m->needs_cb || has_cb(s)) && (!m->scram || (hashes & ACCOUNT_HAS(m->hash))) &&
           (!m->external || (s->peer_domain && stream_peer_verified(s->st, s->peer_domain)));
}

static const struct sasl_mech *mech_find(const struct sasl *s, const char *name)
{
    unsigned hashes = scram_hashes(s);
    for (size_t i = 0; name && i < sizeof mechs / sizeof mechs[0]; i++)
        if (strcmp(mechs[i].name, name) == 0 && offered(s, &mechs[i], hashes))
            return &mechs[i];
    return NULL;
}

void sasl_features(const struct sasl *s, struct myna_buf *b)
{
    unsigned hashes = scram_hashes(s);
    myna_buf_printf(b, "<mechanisms xmlns='%s'>", MYNA_NS_SASL);
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (offered(s, &mechs[i], hashes))
            myna_buf_printf(b, "<mechanism>%s</mechanism>", mechs[i].name);
    myna_buf_appends(b, "</mechanisms>");
    if (has_cb(s)) {
        /* XEP-0440: which channel-binding types this connection supports. */
        myna_buf_appends(b, "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
        for (const char *const *t = stream_channel_binding_types(s->st); *t; t++)
            myna_buf_printf(b, "<channel-binding type='%s'/>", *t);
        myna_buf_appends(b, "</sasl-channel-binding>");
    }
}

/* ---- the exchange ---- */

/* Decodes the base64 text of <auth/> or <response/>; "=" and empty mean no data. */
static int decode(const struct myna_xml *el, unsigned char *out, size_t outlen, size_t *len)
{
    const char *t = myna_xml_text(el);
    size_t tl = strlen(t);
    *len = 0;
    if (tl == 0 || strcmp(t, "=") == 0)
        return 0;
    if (tl > SASL_MAX_PAYLOAD)
        return -1;
    int n = base64_decode(t, tl, out, outlen - 1);
    if (n < 0)
        return -1;
    out[n] = 0;
    *len = (size_t)n;
    return 0;
}

/* The payload of el into msg (SASL_MAX_PAYLOAD bytes); bad base64 is answered with
 * <incorrect-encoding/> (RFC 6120 §6.4.5) and gives false. */
static bool payload(struct sasl *s, const struct myna_xml *el, unsigned char *msg, size_t *len)
{
    if (decode(el, msg, SASL_MAX_PAYLOAD, len) == 0)
        return true;
    failure_now(s, "incorrect-encoding");
    return false;
}

static void on_auth(struct sasl *s, struct myna_xml *el)
{
    if (stream_tls_pending(s->st)) {
        failure_now(s, "encryption-required");
        return;
    }
    unsigned char msg[SASL_MAX_PAYLOAD];
    size_t len;
    if (!payload(s, el, msg, &len))
        return;
    const struct sasl_mech *m = mech_find(s, myna_xml_attr(el, "mechanism"));
    s->mech_name = m ? m->name : "(not offered)";
    if (!m) {
        failure_now(s, "invalid-mechanism");
        return;
    }
    if (authfail_locked(s->st->srv, stream_peer(s->st), NULL, NULL)) {
        failure_locked(s, NULL);
        return;
    }
    if (len == 0) {
        /* No initial response: ask for it with an empty challenge (RFC 6120 §6.4.2). */
        s->pending = m;
        send_data(s, "challenge", (const unsigned char *)"", 0);
        s->state = SASL_EXCHANGE;
        return;
    }
    m->start(s, m, msg, len);
}

static void on_response(struct sasl *s, struct myna_xml *el)
{
    unsigned char msg[SASL_MAX_PAYLOAD];
    size_t len;
    if (!payload(s, el, msg, &len))
        return;
    if (s->pending) {
        /* The first message of a mechanism started without initial response. */
        const struct sasl_mech *m = s->pending;
        s->pending = NULL;
        m->start(s, m, msg, len);
    } else if (s->mech && s->mech->step) {
        s->mech->step(s, msg, len);
    } else {
        failure_now(s, "malformed-request");
    }
}

void sasl_element(struct sasl *s, struct myna_xml *el)
{
    if (strcmp(el->name, "auth") == 0 && s->state == SASL_IDLE)
        on_auth(s, el);
    else if (strcmp(el->name, "response") == 0 && s->state == SASL_EXCHANGE)
        on_response(s, el);
    else if (strcmp(el->name, "abort") == 0 && s->state == SASL_EXCHANGE)
        failure_now(s, "aborted");
    else
        failure_now(s, "malformed-request");
}

bool sasl_idle(const struct sasl *s)
{
    return s->state == SASL_IDLE;
}

bool sasl_busy(const struct sasl *s)
{
    return s->state == SASL_BUSY;
}

struct sasl *sasl_new(struct stream *st, unsigned use, sasl_done_fn done)
{
    struct sasl *s = xcalloc(1, sizeof *s);
    s->st = st;
    s->use = use;
    s->done = done;
    return s;
}

void sasl_hold_preauth(struct sasl *s, const char *key)
{
    s->preauth_key = xstrdup(key);
}

void sasl_free(struct sasl *s)
{
    if (!s)
        return;
    if (s->preauth_key) {
        preauth_release(s->st->srv, s->preauth_key);
        free(s->preauth_key);
    }
    end_exchange(s);
    free(s->user);
    free(s->peer_domain);
    free(s);
}
