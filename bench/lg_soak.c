/* lg_soak.c: the soak scenario of myna-bench (`myna-bench soak`). Holds N realistic sessions
 * (TLS, SCRAM, bind, roster get, initial presence, XEP-0198 with resumption) and drives a
 * steady mix for a fixed time: chat between random pairs (some followed by an XEP-0198 <r/>),
 * presence changes, roster adds (with RFC 6121 §3 subscriptions) and removes, clean
 * reconnects (stream close, full login), abrupt disconnects (FIN or RST) followed by a full
 * login or an XEP-0198 §5 resume, and messages to contacts that are offline right now.
 * Every chat message is tracked by sequence number: one that went to a session that stayed
 * online must arrive exactly once; the others are counted as delivered at the next login.
 * Counters go to --stats FILE every 5 s (one key=value line) for bench/soak.sh.
 */
#include "config.h"

#include "bench/loadgen.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum phase { P_IDLE = 0, P_LOGIN, P_UP, P_CLOSING, P_DOWN };

#define MAX_CONTACTS 6

/* Scenario state of one connection slot (same index as g->conns). */
struct sess {
    uint8_t phase;       /* enum phase */
    uint8_t resume_next; /* P_DOWN: come back with <resume/> (else a full login) */
    uint8_t away;
    uint8_t ncontacts;
    uint32_t gen;        /* times this slot went down; a message is tied to one generation */
    double t_next;       /* P_DOWN: time of the next login; P_CLOSING: deadline */
    double t_sent;       /* last stanza this session sent (no abrupt cut right after) */
    uint32_t contacts[MAX_CONTACTS]; /* slots whose account this one added to its roster */
    float *ends;         /* ends[g]: seconds into the run when generation g went down */
};

/* One chat message. online: the recipient was logged in when it was sent; in_gen:
 * deliveries to that same login; late: deliveries to a later one. */
struct msgrec {
    uint32_t to, gen;
    float t;             /* seconds into the run when it was sent */
    uint8_t online, delivered, in_gen, late;
    uint8_t twice_in_login; /* two copies arrived on one login of the recipient: a real dup */
    uint32_t last_gen;      /* the recipient's login the last copy arrived on */
};

/* A recipient "stayed online" for a message when its login outlived the send by this much:
 * far more than any delivery takes, even on a busy machine. */
#define STAYED_S 10.0

struct counters {
    uint64_t logins, login_fail, clean_reconnects, drops_fin, drops_rst, resumes_asked,
        resumed, full_relogins, sent, received, offline_sent, acks_asked, acks_got,
        presence_sent, roster_add, roster_remove, roster_results, subs_approved,
        unexpected_close, stanza_errors, close_timeouts, unknown_msgs, dup_on_resume;
};

static struct lg *G;
static const struct lg_soak_opts *O;
static struct sess *S;
static struct msgrec *M;
static size_t m_n, m_cap;
static struct counters C;
static char first_err[200];
static uint64_t rng = 88172645463325252ull;
static volatile sig_atomic_t stop_now;
static double t_run0;

static double now_s(void)
{
    return (double)lg_now_ns() / 1e9;
}

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static float run_s(void)
{
    return (float)(now_s() - t_run0);
}

/* Slot i's current login ends (it went down): the generation moves on. */
static void gen_end(uint32_t i)
{
    struct sess *s = &S[i];
    if ((s->gen & (s->gen - 1)) == 0 || s->gen == 0) { /* grow at powers of two */
        float *e = realloc(s->ends, (s->gen ? 2 * s->gen : 1) * sizeof *e);
        if (!e)
            abort();
        s->ends = e;
    }
    s->ends[s->gen++] = run_s();
}

static double frand(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static void error_note(const char *what, const char *detail, size_t dlen)
{
    if (!first_err[0])
        snprintf(first_err, sizeof first_err, "%s: %.*s", what, (int)(dlen > 120 ? 120 : dlen),
                 detail);
}

static uint32_t idx_of(const struct lg_conn *c)
{
    return (uint32_t)(c - G->conns);
}

static void send_str(uint32_t i, const char *s, int n)
{
    lg_send(G, &G->conns[i], s, (size_t)n);
    S[i].t_sent = now_s();
}

/* ---- callbacks ---- */

#define CAPS "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' " \
             "node='https://myna.im/bench' ver='PUxmIvWeecOpfjAehUMv6SzbyXQ='/>"
#define AWAY "<presence><show>away</show><status>soak</status>" CAPS "</presence>"

static void on_ready(struct lg_conn *c)
{
    uint32_t i = idx_of(c);
    struct sess *s = &S[i];
    s->phase = P_UP;
    C.logins++;
    if (c->resumed) {
        C.resumed++;
        return; /* the session kept its presence */
    }
    /* Half the sessions come back "away" (clients restore the last status), so the mix of
     * presences the server keeps is the same from the first login to the last sample and
     * memory can be judged flat from the start of the traffic. */
    s->away = frand() < 0.5;
    if (s->away) {
        send_str(i, AWAY, (int)strlen(AWAY));
        C.presence_sent++;
    }
}

static void on_closed(struct lg_conn *c, const char *why)
{
    uint32_t i = idx_of(c);
    struct sess *s = &S[i];
    if (s->phase == P_CLOSING) {
        /* Our stream close answered: come back with a full login after a pause. */
        s->phase = P_DOWN;
        gen_end(i);
        s->resume_next = 0;
        s->t_next = now_s() + O->down_min + frand() * (O->down_max - O->down_min);
        return;
    }
    if (s->phase == P_LOGIN)
        C.login_fail++;
    else
        C.unexpected_close++;
    error_note(s->phase == P_LOGIN ? "login failed" : "session closed by the server", why,
               strlen(why));
    s->phase = P_DOWN;
    gen_end(i);
    s->resume_next = 0;
    s->t_next = now_s() + O->down_max;
}

/* <body>sk SEQ</body>: one tracked chat message arrived on slot i. */
static void got_message(uint32_t i, const char *e, size_t len)
{
    const char *v;
    size_t vl;
    if (lg_attr(e, len, "type", &v, &vl) && vl == 5 && memcmp(v, "error", 5) == 0) {
        C.stanza_errors++;
        return error_note("message error", e, len);
    }
    const char *b = lg_find(e, len, "<body>sk ");
    if (!b) {
        C.unknown_msgs++;
        return;
    }
    unsigned long long seq = strtoull(b + 9, NULL, 10);
    if (seq >= m_n || M[seq].to != i) {
        C.unknown_msgs++;
        return error_note("message with an unknown sequence number", e, len);
    }
    struct msgrec *m = &M[seq];
    if (m->delivered && m->last_gen == S[i].gen)
        m->twice_in_login = 1;
    m->last_gen = S[i].gen;
    if (m->delivered < 255)
        m->delivered++;
    /* A resumed stream repeats only what our <resume h=.../> did not count (XEP-0198 §5);
     * after a full login the server may hand unacknowledged stanzas on again. */
    if (m->delivered == 2 && G->conns[i].resumed)
        C.dup_on_resume++;
    if (S[i].gen != m->gen || !m->online)
        m->late++;
    else if (m->in_gen < 255)
        m->in_gen++;
    C.received++;
}

static void on_stanza(struct lg_conn *c, const char *e, size_t len)
{
    uint32_t i = idx_of(c);
    const char *v, *from;
    size_t vl, fl;
    if (lg_is(e, len, "message"))
        return got_message(i, e, len);
    if (lg_is(e, len, "a")) {
        C.acks_got++;
        return;
    }
    bool err = lg_attr(e, len, "type", &v, &vl) && vl == 5 && memcmp(v, "error", 5) == 0;
    if (lg_is(e, len, "presence")) {
        if (err) {
            C.stanza_errors++;
            return error_note("presence error", e, len);
        }
        /* Approve every subscription request (RFC 6121 §3.1.4), as a user would. */
        if (lg_attr(e, len, "type", &v, &vl) && vl == 9 && memcmp(v, "subscribe", 9) == 0
            && lg_attr(e, len, "from", &from, &fl) && fl < 300) {
            char buf[400];
            int n = snprintf(buf, sizeof buf, "<presence to='%.*s' type='subscribed'/>", (int)fl,
                             from);
            send_str(i, buf, n);
            C.subs_approved++;
        }
        return;
    }
    if (lg_is(e, len, "iq")) {
        if (err) {
            C.stanza_errors++;
            return error_note("iq error", e, len);
        }
        if (lg_attr(e, len, "type", &v, &vl) && vl == 6 && memcmp(v, "result", 6) == 0)
            C.roster_results++;
    }
}

/* ---- actions ---- */

/* A random slot in phase ph (never i_not), or UINT32_MAX. Down slots are few: scan. */
static uint32_t pick(uint8_t ph, uint32_t i_not)
{
    uint32_t n = O->connections;
    for (int t = 0; t < 16; t++) {
        uint32_t i = (uint32_t)(rnd() % n);
        if (S[i].phase == ph && i != i_not)
            return i;
    }
    uint32_t start = (uint32_t)(rnd() % n);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (start + k) % n;
        if (S[i].phase == ph && i != i_not)
            return i;
    }
    return UINT32_MAX;
}

static int jid_of(uint32_t i, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%s%u@%s", G->cfg.prefix, O->first + i, G->cfg.domain);
}

static void send_chat(uint32_t from, uint32_t to)
{
    if (m_n == m_cap) {
        m_cap = m_cap ? m_cap * 2 : 65536;
        M = realloc(M, m_cap * sizeof *M);
        if (!M)
            abort();
    }
    uint64_t seq = m_n++;
    M[seq] = (struct msgrec){.to = to, .gen = S[to].gen, .t = run_s(),
                             .online = S[to].phase == P_UP};
    char jid[200], buf[700];
    jid_of(to, jid, sizeof jid);
    bool ack = frand() * 100 < O->ack_pct;
    int n = snprintf(buf, sizeof buf,
                     "<message to='%s' type='chat' id='m%llu'><body>sk %llu %s</body>"
                     "<active xmlns='http://jabber.org/protocol/chatstates'/></message>%s",
                     jid, (unsigned long long)seq, (unsigned long long)seq,
                     "soak soak soak soak soak soak soak soak soak soak soak soak",
                     ack ? "<r xmlns='urn:xmpp:sm:3'/>" : "");
    send_str(from, buf, n);
    C.sent++;
    C.acks_asked += ack;
    if (!M[seq].online)
        C.offline_sent++;
}

static void act_chat(void)
{
    uint32_t a = pick(P_UP, UINT32_MAX), b = a == UINT32_MAX ? a : pick(P_UP, a);
    if (b != UINT32_MAX)
        send_chat(a, b);
}

static void act_offline(void)
{
    uint32_t b = pick(P_DOWN, UINT32_MAX), a = b == UINT32_MAX ? b : pick(P_UP, b);
    if (a != UINT32_MAX)
        send_chat(a, b);
}

static void act_presence(void)
{
    uint32_t a = pick(P_UP, UINT32_MAX);
    if (a == UINT32_MAX)
        return;
    S[a].away = !S[a].away;
    const char *p = S[a].away ? AWAY : "<presence>" CAPS "</presence>";
    send_str(a, p, (int)strlen(p));
    C.presence_sent++;
}

/* Adds (with a subscription request) and removes alternate, so rosters stay small. */
static void act_roster(void)
{
    static bool remove_next;
    uint32_t a = UINT32_MAX;
    for (int t = 0; remove_next && t < 64 && a == UINT32_MAX; t++) {
        uint32_t i = pick(P_UP, UINT32_MAX);
        if (i != UINT32_MAX && S[i].ncontacts)
            a = i;
    }
    bool add = a == UINT32_MAX;
    if (add)
        a = pick(P_UP, UINT32_MAX);
    if (a == UINT32_MAX)
        return;
    struct sess *s = &S[a];
    char jid[200], buf[800];
    int n;
    if (add && s->ncontacts == MAX_CONTACTS)
        return;
    if (add) {
        uint32_t b = (uint32_t)(rnd() % O->connections);
        for (int k = 0; k < s->ncontacts; k++)
            if (s->contacts[k] == b)
                return;
        if (b == a)
            return;
        jid_of(b, jid, sizeof jid);
        n = snprintf(buf, sizeof buf,
                     "<iq type='set' id='ra%llu'><query xmlns='jabber:iq:roster'><item jid='%s' "
                     "name='soak %u'><group>Soak</group></item></query></iq>"
                     "<presence to='%s' type='subscribe'/>",
                     (unsigned long long)C.roster_add, jid, b, jid);
        s->contacts[s->ncontacts++] = b;
        C.roster_add++;
    } else {
        int k = (int)(rnd() % s->ncontacts);
        jid_of(s->contacts[k], jid, sizeof jid);
        n = snprintf(buf, sizeof buf,
                     "<iq type='set' id='rr%llu'><query xmlns='jabber:iq:roster'><item jid='%s' "
                     "subscription='remove'/></query></iq>",
                     (unsigned long long)C.roster_remove, jid);
        s->contacts[k] = s->contacts[--s->ncontacts];
        C.roster_remove++;
    }
    remove_next = !remove_next;
    send_str(a, buf, n);
}

/* A session that sent nothing for 2 s (so the server has read all it sent: an RST would
 * discard unread bytes) and has nothing queued. */
static uint32_t pick_quiet(void)
{
    double t = now_s();
    for (int k = 0; k < 32; k++) {
        uint32_t a = pick(P_UP, UINT32_MAX);
        if (a == UINT32_MAX)
            return a;
        if (t - S[a].t_sent > 2 && G->conns[a].out_len == 0)
            return a;
    }
    return UINT32_MAX;
}

static void act_clean_reconnect(void)
{
    uint32_t a = pick_quiet();
    if (a == UINT32_MAX)
        return;
    send_str(a, "</stream:stream>", 16);
    S[a].phase = P_CLOSING;
    S[a].t_next = now_s() + 15;
    C.clean_reconnects++;
}

/* The socket goes away without a stream close: FIN, or RST (SO_LINGER 0) as when a NAT
 * forgets the connection. resume: come back with <resume/>, else a full login. */
static void drop(bool rst, bool resume)
{
    uint32_t a = pick_quiet();
    if (a == UINT32_MAX)
        return;
    struct lg_conn *c = &G->conns[a];
    if (rst) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    lg_close(G, c, NULL);
    struct sess *s = &S[a];
    s->phase = P_DOWN;
    gen_end(a);
    s->resume_next = resume && c->smid;
    s->t_next = now_s() + O->down_min + frand() * (O->down_max - O->down_min);
    if (rst)
        C.drops_rst++;
    else
        C.drops_fin++;
    if (resume)
        C.resumes_asked++;
}

static void login(uint32_t i)
{
    struct lg_conn *c = &G->conns[i];
    if (!S[i].resume_next && c->smid) {
        free(c->smid);
        c->smid = NULL;
    }
    if (S[i].gen && !S[i].resume_next)
        C.full_relogins++;
    S[i].phase = P_LOGIN;
    lg_open(G, i, O->first + i);
}

/* ---- stats file ---- */

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0
           + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static long rss_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static uint32_t count_phase(uint8_t ph)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < O->connections; i++)
        n += S[i].phase == ph;
    return n;
}

static uint64_t errors(void)
{
    return C.login_fail + C.unexpected_close + C.stanza_errors + C.close_timeouts
           + C.unknown_msgs + C.dup_on_resume;
}

static void write_stats(const char *state)
{
    if (!O->stats_file)
        return;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", O->stats_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f,
            "state=%s up=%u down=%u login=%u sent=%llu received=%llu errors=%llu logins=%llu "
            "reconnects=%llu clean=%llu fin=%llu rst=%llu resumed=%llu offline_sent=%llu "
            "acks_asked=%llu acks_got=%llu presence=%llu roster_add=%llu roster_remove=%llu "
            "subs_approved=%llu gen_cpu_ms=%.0f gen_rss_kb=%ld\n",
            state, count_phase(P_UP), count_phase(P_DOWN) + count_phase(P_CLOSING),
            count_phase(P_LOGIN), (unsigned long long)C.sent, (unsigned long long)C.received,
            (unsigned long long)errors(), (unsigned long long)C.logins,
            (unsigned long long)(C.clean_reconnects + C.drops_fin + C.drops_rst),
            (unsigned long long)C.clean_reconnects, (unsigned long long)C.drops_fin,
            (unsigned long long)C.drops_rst, (unsigned long long)C.resumed,
            (unsigned long long)C.offline_sent, (unsigned long long)C.acks_asked,
            (unsigned long long)C.acks_got, (unsigned long long)C.presence_sent,
            (unsigned long long)C.roster_add, (unsigned long long)C.roster_remove,
            (unsigned long long)C.subs_approved, cpu_ms(), rss_kb());
    fclose(f);
    rename(tmp, O->stats_file);
}

/* ---- the run ---- */

/* Once a second: logins due, stream closes the server never answered, login timeouts. */
static void housekeeping(double t, bool relogin)
{
    lg_check_timeouts(G);
    for (uint32_t i = 0; i < O->connections; i++) {
        struct sess *s = &S[i];
        if (s->phase == P_DOWN && relogin && t >= s->t_next && G->pending < (uint32_t)G->cfg.max_pending)
            login(i);
        else if (s->phase == P_CLOSING && t >= s->t_next) {
            C.close_timeouts++;
            error_note("stream close not answered", "", 0);
            lg_close(G, &G->conns[i], NULL);
            s->phase = P_DOWN;
            gen_end(i);
            s->t_next = t;
        }
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

/* Logs every slot in at o->rate per second; false if not all made it in time. */
static bool ramp(void)
{
    double t0 = now_s(), next_hk = t0 + 1;
    uint32_t opened = 0, n = O->connections;
    while (!stop_now) {
        double t = now_s();
        uint32_t due = (uint32_t)fmin(n, (t - t0) * O->rate + 1);
        while (opened < due && G->pending < (uint32_t)G->cfg.max_pending)
            login(opened++);
        lg_poll(G, 5);
        if (t > next_hk) {
            housekeeping(t, true);
            write_stats("ramp");
            next_hk = t + 1;
        }
        if (opened == n && count_phase(P_UP) == n)
            return true;
        if (t - t0 > n / O->rate + G->cfg.login_timeout + 60)
            return false;
    }
    return false;
}

struct action {
    double rate;
    void (*fn)(void);
    double done;
};

static void act_fin_full(void) { drop(false, false); }
static void act_rst_full(void) { drop(true, false); }
static void act_resume(void) { drop(frand() < 0.5, true); }

static void traffic(double secs)
{
    struct action acts[] = {
        {O->msg_rate, act_chat, 0},        {O->offline_rate, act_offline, 0},
        {O->presence_rate, act_presence, 0}, {O->roster_rate, act_roster, 0},
        {O->reconnect_rate, act_clean_reconnect, 0}, {O->fin_rate, act_fin_full, 0},
        {O->rst_rate, act_rst_full, 0},    {O->resume_rate, act_resume, 0},
    };
    double t0 = now_s(), next_hk = t0 + 1, next_stats = t0;
    while (!stop_now) {
        double t = now_s();
        if (t - t0 >= secs)
            break;
        for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
            double due = (t - t0) * acts[k].rate;
            /* Stalled: never burst more than 1 s (at least one action, for rates below 1/s). */
            double cap = acts[k].rate > 1 ? acts[k].rate : 1;
            if (due > acts[k].done + cap)
                acts[k].done = due - cap;
            while (acts[k].done + 1 <= due) {
                acts[k].fn();
                acts[k].done += 1;
            }
        }
        lg_poll(G, 5);
        if (t > next_hk) {
            housekeeping(t, true);
            next_hk = t + 1;
        }
        if (t >= next_stats) {
            write_stats("traffic");
            next_stats = t + 5;
        }
    }
}

/* Everyone back online; then deliveries settle (nothing new for 5 s, at most max_s). */
static void settle(double max_s)
{
    double t0 = now_s(), next_hk = t0;
    uint64_t last = C.received;
    double t_last = t0;
    while (now_s() - t0 < max_s && !stop_now) {
        double t = now_s();
        lg_poll(G, 10);
        if (t > next_hk) {
            for (uint32_t i = 0; i < O->connections; i++)
                if (S[i].phase == P_DOWN)
                    S[i].t_next = 0; /* come back now */
            housekeeping(t, true);
            write_stats("settle");
            next_hk = t + 1;
        }
        if (C.received != last) {
            last = C.received;
            t_last = t;
        }
        if (count_phase(P_UP) == O->connections && t - t_last > 5)
            break;
    }
}

struct verdict {
    uint64_t online_ok, online_lost, online_dup, online_again; /* recipient stayed online */
    uint64_t left_once, left_late, left_dup, left_lost; /* recipient went away soon after */
    uint64_t off_once, off_dup, off_lost;             /* recipient offline when sent */
    /* Messages to recipients that left or were offline: a second copy on a later login is a
     * stanza delivered but not acknowledged before a cut, handed on again (XEP-0198 §4); only
     * two copies on one login are duplicates. */
    uint64_t left_again, off_again;
};

/* stayed online: the recipient's login outlived the send by STAYED_S (or the run). Such a
 * message must arrive exactly once on that login; a second copy after the recipient's
 * next login (an XEP-0198 stanza it never acknowledged, handed on after the cut) is
 * counted apart. */
static struct verdict judge(void)
{
    struct verdict v = {0};
    for (size_t k = 0; k < m_n; k++) {
        const struct msgrec *m = &M[k];
        const struct sess *s = &S[m->to];
        bool stayed = m->online && (s->gen == m->gen || s->ends[m->gen] - m->t > STAYED_S);
        if (stayed) {
            v.online_ok += m->in_gen == 1;
            v.online_lost += m->delivered == 0;
            v.online_dup += m->in_gen > 1 || (m->in_gen == 0 && m->delivered > 0);
            v.online_again += m->in_gen == 1 && m->late > 0;
        } else if (m->online) {
            v.left_once += m->delivered == 1;
            v.left_late += m->delivered >= 1 && m->late;
            v.left_dup += m->twice_in_login;
            v.left_again += m->delivered > 1 && !m->twice_in_login;
            v.left_lost += m->delivered == 0;
        } else {
            v.off_once += m->delivered == 1;
            v.off_dup += m->twice_in_login;
            v.off_again += m->delivered > 1 && !m->twice_in_login;
            v.off_lost += m->delivered == 0;
        }
    }
    return v;
}

/* Clean logout of every session (stream close), so the server ends with none. */
static void logout_all(double max_s)
{
    for (uint32_t i = 0; i < O->connections; i++)
        if (S[i].phase == P_UP) {
            lg_send(G, &G->conns[i], "</stream:stream>", 16);
            S[i].phase = P_CLOSING;
        }
    double t0 = now_s();
    while (count_phase(P_CLOSING) && now_s() - t0 < max_s)
        lg_poll(G, 10);
    for (uint32_t i = 0; i < O->connections; i++)
        if (S[i].phase != P_IDLE && G->conns[i].fd >= 0)
            lg_close(G, &G->conns[i], NULL);
}

static void jnum(const char *k, double v)
{
    printf(",\"%s\":%.0f", k, v);
}

int lg_soak_run(struct lg *g, const struct lg_soak_opts *o)
{
    G = g;
    O = o;
    t_run0 = now_s();
    rng ^= o->seed ? o->seed : (uint64_t)getpid() * 2654435761u;
    S = calloc(o->connections, sizeof *S);
    if (!S)
        return 2;
    g->cfg.roster = g->cfg.presence = g->cfg.sm = true;
    g->cb.ready = on_ready;
    g->cb.stanza = on_stanza;
    g->cb.closed = on_closed;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    double t0 = now_s(), c0 = cpu_ms();
    bool all_in = ramp();
    double ramp_s = now_s() - t0, ramp_cpu = cpu_ms() - c0;
    fprintf(stderr, "soak: %u sessions logged in in %.1f s%s\n", count_phase(P_UP), ramp_s,
            all_in ? "" : " (NOT ALL)");
    double c1 = cpu_ms(), t1 = now_s();
    if (all_in)
        traffic(o->duration);
    double traffic_s = now_s() - t1, traffic_cpu = cpu_ms() - c1;
    settle(o->settle);
    struct verdict v = judge();
    uint32_t up = count_phase(P_UP);
    write_stats("done");
    printf("{\"scenario\":\"soak\",\"sessions\":%u", o->connections);
    jnum("sessions_up_at_end", up);
    jnum("ramp_s", ramp_s);
    jnum("ramp_gen_cpu_ms", ramp_cpu);
    jnum("traffic_s", traffic_s);
    jnum("traffic_gen_cpu_ms", traffic_cpu);
    jnum("gen_rss_kb", (double)rss_kb());
    jnum("sent", (double)C.sent);
    jnum("received", (double)C.received);
    jnum("offline_sent", (double)C.offline_sent);
    jnum("logins", (double)C.logins);
    jnum("full_relogins", (double)C.full_relogins);
    jnum("clean_reconnects", (double)C.clean_reconnects);
    jnum("drops_fin", (double)C.drops_fin);
    jnum("drops_rst", (double)C.drops_rst);
    jnum("resumes_asked", (double)C.resumes_asked);
    jnum("resumed", (double)C.resumed);
    jnum("acks_asked", (double)C.acks_asked);
    jnum("acks_got", (double)C.acks_got);
    jnum("presence_changes", (double)C.presence_sent);
    jnum("roster_adds", (double)C.roster_add);
    jnum("roster_removes", (double)C.roster_remove);
    jnum("roster_results", (double)C.roster_results);
    jnum("subscriptions_approved", (double)C.subs_approved);
    jnum("errors", (double)errors());
    jnum("login_failures", (double)C.login_fail);
    jnum("unexpected_closes", (double)C.unexpected_close);
    jnum("stanza_errors", (double)C.stanza_errors);
    jnum("close_timeouts", (double)C.close_timeouts);
    jnum("unknown_messages", (double)C.unknown_msgs);
    jnum("duplicated_on_resume", (double)C.dup_on_resume);
    jnum("online_delivered_once", (double)v.online_ok);
    jnum("online_lost", (double)v.online_lost);
    jnum("online_duplicated", (double)v.online_dup);
    jnum("online_repeated_after_cut", (double)v.online_again);
    jnum("left_delivered_once", (double)v.left_once);
    jnum("left_delivered_after_relogin", (double)v.left_late);
    jnum("left_duplicated", (double)v.left_dup);
    jnum("left_repeated_after_cut", (double)v.left_again);
    jnum("left_lost", (double)v.left_lost);
    jnum("offline_delivered_once", (double)v.off_once);
    jnum("offline_duplicated", (double)v.off_dup);
    jnum("offline_repeated_after_cut", (double)v.off_again);
    jnum("offline_lost", (double)v.off_lost);
    if (first_err[0]) {
        printf(",\"first_error\":\"");
        for (const char *p = first_err; *p; p++)
            if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                putchar(*p);
        putchar('"');
    }
    printf("}\n");
    fflush(stdout);
    fprintf(stderr,
            "soak: sent %llu received %llu; online: %llu once (%llu again after a cut), %llu lost, "
            "%llu duplicated; "
            "recipient left: %llu once (%llu after its next login), %llu again after a cut, %llu dup, "
            "%llu lost; offline: %llu once, %llu again after a cut, %llu dup, %llu lost; errors %llu%s%s\n",
            (unsigned long long)C.sent, (unsigned long long)C.received,
            (unsigned long long)v.online_ok, (unsigned long long)v.online_again,
            (unsigned long long)v.online_lost,
            (unsigned long long)v.online_dup, (unsigned long long)v.left_once,
            (unsigned long long)v.left_late, (unsigned long long)v.left_again,
            (unsigned long long)v.left_dup, (unsigned long long)v.left_lost,
            (unsigned long long)v.off_once, (unsigned long long)v.off_again,
            (unsigned long long)v.off_dup, (unsigned long long)v.off_lost,
            (unsigned long long)errors(), first_err[0] ? ": " : "", first_err);
    /* The driver samples descriptors with every session live, then we log out. */
    double th = now_s();
    while (now_s() - th < o->hold_end && !stop_now) {
        lg_poll(G, 50);
        if (o->stats_file && access(o->stats_file, F_OK) != 0)
            break; /* the driver took its sample and removed the file */
    }
    logout_all(30);
    bool ok = all_in && errors() == 0 && v.online_lost == 0 && v.online_dup == 0
              && v.left_lost == 0 && v.off_lost == 0 && up == o->connections;
    for (uint32_t i = 0; i < o->connections; i++)
        free(S[i].ends);
    free(S);
    free(M);
    return ok ? 0 : 1;
}
