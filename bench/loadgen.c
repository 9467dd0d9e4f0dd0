/* loadgen.c: myna-bench main program and scenarios (connections, reconnect, chat, muc, offline, mam;
 * soak in lg_soak.c).
 * Each scenario logs accounts in through lg_conn.c, drives load on a timer, and prints one
 * JSON object on stdout plus a readable table on stderr. Latency is end to end: the sender
 * writes its monotonic clock into the body, the receiver (same process) subtracts.
 * Every loop is bounded in time; only loopback addresses are accepted as targets.
 */
#include "config.h"

#include "bench/loadgen.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- options and shared state ---- */

struct opts {
    const char *scenario;
    const char *label;
    uint32_t first;       /* first account number */
    uint32_t connections; /* connections scenario */
    double rate;          /* logins per second */
    double hold;          /* seconds to hold idle sessions */
    uint32_t pairs;       /* chat */
    double msg_rate;      /* messages per second, all senders together */
    double duration, warmup;
    bool find_max;
    double max_p99_ms, step_factor, max_rate;
    uint32_t occupants, senders; /* muc */
    const char *room, *muc_domain;
    uint32_t messages;    /* offline, mam (messages archived first) */
    uint32_t queries;     /* mam: measured queries */
    uint32_t query_max;   /* mam: RSM <max/> of each query */
    int body_size;
    uint32_t rounds;      /* reconnect: times every connection is cut and comes back */
};

static struct lg G;
static struct opts O;
static struct lg_soak_opts SO = {.duration = 1800, .msg_rate = 50, .offline_rate = 2,
                                 .presence_rate = 10, .roster_rate = 2, .reconnect_rate = 1,
                                 .fin_rate = 0.5, .rst_rate = 0.5, .resume_rate = 1,
                                 .ack_pct = 20, .down_min = 1, .down_max = 5, .settle = 60,
                                 .hold_end = 60};
static struct lg_hist H;      /* latency of messages of the measured phase */
static int cur_phase;         /* phase number written into bodies */
static int measured_phase;    /* phase whose latencies go into H */
static uint64_t delivered_phase;  /* deliveries of measured_phase messages */
static uint64_t delivered_window; /* any deliveries while the window is open */
static bool window_open;
static uint64_t msg_errors;   /* type='error' messages and unparsable bodies */
static int64_t t_last_delivery;
static char pad[4096];

static double now_s(void)
{
    return (double)lg_now_ns() / 1e9;
}

struct sample {
    double srv_cpu_ms;  /* server user+system CPU, ms (0 without --server-pid) */
    long srv_rss_kb;
    long srv_anon_kb; /* RssAnon: RSS without mapped files (Myna's LMDB map, libraries) */
    double gen_cpu_ms;  /* this process */
    long gen_rss_kb;
    double sys_busy_ms; /* whole machine, all cores: to spot other load on the box */
    double t;
};

static double sys_busy_ms(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static long status_kb(int pid, const char *field)
{
    char path[64], line[256];
    long kb = 0;
    snprintf(path, sizeof path, pid ? "/proc/%d/status" : "/proc/self/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            kb = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return kb;
}

static double proc_cpu_ms(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    unsigned long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14)
            ut = strtoul(tok, NULL, 10);
        else if (field == 15) {
            st = strtoul(tok, NULL, 10);
            break;
        }
    }
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static struct sample take_sample(void)
{
    struct sample s = {0};
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s.gen_cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0
                   + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
    s.gen_rss_kb = status_kb(0, "VmRSS");
    if (G.cfg.server_pid) {
        s.srv_cpu_ms = proc_cpu_ms(G.cfg.server_pid);
        s.srv_rss_kb = status_kb(G.cfg.server_pid, "VmRSS");
        s.srv_anon_kb = status_kb(G.cfg.server_pid, "RssAnon");
    }
    if (G.cfg.peer_pid) { /* federation: both servers' CPU and memory */
        s.srv_cpu_ms += proc_cpu_ms(G.cfg.peer_pid);
        s.srv_rss_kb += status_kb(G.cfg.peer_pid, "VmRSS");
    }
    s.sys_busy_ms = sys_busy_ms();
    s.t = now_s();
    return s;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

/* ---- JSON output (stdout) ---- */

static bool json_first = true;

static void jstr(const char *k, const char *v);

static void jstart(void)
{
    printf("{\"scenario\":\"%s\",\"server\":\"%s\",\"host\":\"%s\",\"domain\":\"%s\","
           "\"tls\":\"%s\",\"sasl\":\"%s\"",
           O.scenario, O.label ? O.label : "", G.cfg.host, G.cfg.domain,
           G.cfg.tls == LG_TLS_NONE ? "none" : G.cfg.tls == LG_TLS_DIRECT ? "direct" : "starttls",
           G.cfg.sasl == LG_SASL_PLAIN ? "PLAIN" : G.cfg.sasl == LG_SASL_SCRAM ? "SCRAM-SHA-1" : "auto");
    json_first = false;
    /* What each session did at login (its memory and CPU depend on it): "realistic" is what
     * clients do (bind, roster get, initial presence), "bare" binds only. */
    jstr("session", G.cfg.roster && G.cfg.presence ? "realistic"
                    : G.cfg.roster                 ? "bind+roster"
                    : G.cfg.presence               ? "bind+presence"
                                                   : "bare");
}

static void jnum(const char *k, double v)
{
    if (isnan(v) || isinf(v))
        printf(",\"%s\":null", k);
    else if (v == floor(v) && fabs(v) < 1e15)
        printf(",\"%s\":%.0f", k, v);
    else
        printf(",\"%s\":%.3f", k, v);
}

static void jstr(const char *k, const char *v)
{
    printf(",\"%s\":\"", k);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            putchar('\\');
        if ((unsigned char)*p >= 0x20)
            putchar(*p);
    }
    putchar('"');
}

static void jend(void)
{
    printf("}\n");
    fflush(stdout);
}

static void row(const char *k, int decimals, double v)
{
    fprintf(stderr, "  %-34s %.*f\n", k, decimals, v);
}

/* ---- event loop helpers ---- */

static void pump(double secs)
{
    double end = now_s() + secs;
    double next_to = now_s() + 1;
    while (now_s() < end) {
        double left = (end - now_s()) * 1000;
        lg_poll(&G, left > 20 ? 20 : (left < 1 ? 1 : (int)left));
        if (now_s() > next_to) {
            lg_check_timeouts(&G);
            next_to = now_s() + 1;
        }
    }
}

/* Logs in count accounts (first + i) in slots base + i, at `rate` per second with at most
 * max_pending logins in progress. Returns seconds from first connect to last login. */
static double login_many(uint32_t base, uint32_t count, uint32_t first_user, double rate)
{
    double t0 = now_s();
    uint32_t opened = 0;
    uint64_t done0 = G.ready + G.failed;
    /* Bounded: the paced time, plus 50 ms per login for slow servers, plus the timeout. */
    double limit = count / (rate > 0 ? rate : 1e9) + count * 0.05 + G.cfg.login_timeout + 30;
    double next_to = t0 + 1, last_progress = t0;
    uint64_t last_done = done0;
    while (G.ready + G.failed - done0 < count) {
        double t = now_s();
        if (t - t0 > limit)
            break;
        uint32_t due = rate > 0 ? (uint32_t)fmin(count, (t - t0) * rate + 1) : count;
        while (opened < due && G.pending < (uint32_t)G.cfg.max_pending) {
            lg_open(&G, base + opened, first_user + opened);
            opened++;
        }
        lg_poll(&G, 2);
        if (t > next_to) {
            lg_check_timeouts(&G);
            next_to = t + 1;
        }
        if (G.ready + G.failed != last_done) {
            last_done = G.ready + G.failed;
            last_progress = t;
        } else if (t - last_progress > G.cfg.login_timeout + 5) {
            break;
        }
    }
    double el = now_s() - t0;
    return el;
}

/* ---- message bodies ---- */

static int make_body(char *buf, size_t cap, int phase)
{
    int n = snprintf(buf, cap, "lg %d %lld ", phase, (long long)lg_now_ns());
    int want = O.body_size > n ? O.body_size - n : 0;
    if ((size_t)(n + want) >= cap)
        want = (int)cap - n - 1;
    memcpy(buf + n, pad, (size_t)want);
    buf[n + want] = 0;
    return n + want;
}

/* Records one delivered message: true if it carried a generator body. */
static bool on_message(const char *e, size_t len)
{
    const char *v;
    size_t vl;
    if (lg_attr(e, len, "type", &v, &vl) && vl == 5 && memcmp(v, "error", 5) == 0) {
        msg_errors++;
        return false;
    }
    const char *b = lg_find(e, len, "<body>lg ");
    if (!b) {
        b = lg_find(e, len, ">lg ");
        if (!b || !lg_find(e, len, "<body"))
            return false;
        b -= 5;
    }
    int phase;
    long long ts;
    char tmp[48];
    size_t avail = len - (size_t)(b + 9 - e);
    if (avail > sizeof tmp - 1)
        avail = sizeof tmp - 1;
    memcpy(tmp, b + 9, avail);
    tmp[avail] = 0;
    if (sscanf(tmp, "%d %lld", &phase, &ts) != 2) {
        msg_errors++;
        return false;
    }
    int64_t now = lg_now_ns();
    t_last_delivery = now;
    if (window_open)
        delivered_window++;
    if (phase == measured_phase) {
        delivered_phase++;
        lg_hist_add(&H, (uint64_t)((now - ts) / 1000));
    }
    return true;
}

static void report_latency(void)
{
    jnum("latency_p50_ms", ms(lg_hist_pct(&H, 50)));
    jnum("latency_p90_ms", ms(lg_hist_pct(&H, 90)));
    jnum("latency_p99_ms", ms(lg_hist_pct(&H, 99)));
    jnum("latency_p999_ms", ms(lg_hist_pct(&H, 99.9)));
    jnum("latency_max_ms", ms(H.max_us));
    row("latency p50 (ms)", 2, ms(lg_hist_pct(&H, 50)));
    row("latency p99 (ms)", 2, ms(lg_hist_pct(&H, 99)));
    row("latency max (ms)", 2, ms(H.max_us));
}

/* The first logins: `ok` and `failed` of `want`, in ramp_s. */
static void report_logins(double ramp_s, uint32_t want, uint64_t ok, uint64_t failed)
{
    jnum("logins_wanted", want);
    jnum("logins_ok", (double)ok);
    jnum("logins_failed", (double)failed);
    jnum("login_s", ramp_s);
    jnum("login_rate", ok / (ramp_s > 0 ? ramp_s : 1));
    if (G.first_error[0])
        jstr("first_error", G.first_error);
    fprintf(stderr, "  %-34s %llu/%u in %.2f s (%.0f/s), %llu failed%s%s\n", "logins",
            (unsigned long long)ok, want, ramp_s, ok / (ramp_s > 0 ? ramp_s : 1),
            (unsigned long long)failed, G.first_error[0] ? ": " : "", G.first_error);
}

static void report_login(double ramp_s, uint32_t want)
{
    report_logins(ramp_s, want, G.ready, G.failed);
}

static void report_cpu(const struct sample *a, const struct sample *b, double units, const char *per)
{
    char k[64];
    double srv = b->srv_cpu_ms - a->srv_cpu_ms, gen = b->gen_cpu_ms - a->gen_cpu_ms;
    double wall = b->t - a->t;
    if (G.cfg.server_pid) {
        jnum("server_cpu_ms", srv);
        jnum("server_cpu_pct", wall > 0 ? 100 * srv / 1000 / wall : 0);
        snprintf(k, sizeof k, "server_cpu_ms_per_%s", per);
        jnum(k, units > 0 ? srv / units : NAN);
        fprintf(stderr, "  %-34s %.3f (%.0f%% of one core)\n", k, units > 0 ? srv / units : 0,
                wall > 0 ? 100 * srv / 1000 / wall : 0);
    }
    /* CPU used on the machine by anything but the server and this generator (other jobs,
     * softirq work of loopback TCP): a large value means the numbers are disturbed. */
    double other = (b->sys_busy_ms - a->sys_busy_ms) - srv - gen;
    jnum("other_cpu_pct", wall > 0 ? 100 * (other > 0 ? other : 0) / 1000 / wall : 0);
    fprintf(stderr, "  %-34s %.0f%% of one core\n", "other CPU on the machine",
            wall > 0 ? 100 * (other > 0 ? other : 0) / 1000 / wall : 0);
    jnum("gen_cpu_ms", gen);
    jnum("gen_cpu_pct", wall > 0 ? 100 * gen / 1000 / wall : 0);
    snprintf(k, sizeof k, "gen_cpu_ms_per_%s", per);
    jnum(k, units > 0 ? gen / units : NAN);
    fprintf(stderr, "  %-34s %.3f (%.0f%% of one core)\n", k, units > 0 ? gen / units : 0,
            wall > 0 ? 100 * gen / 1000 / wall : 0);
}

/* ---- connections ---- */

/* --tls-resume: an unmeasured round of full logins collects a session ticket per connection
 * slot; all close, and the measured round offers them (RFC 8446 §2.2 resumption). */
static void resume_prepare(uint32_t n)
{
    login_many(0, n, O.first, O.rate);
    pump(0.5); /* tickets that were still on their way */
    for (uint32_t i = 0; i < n; i++)
        lg_close(&G, &G.conns[i], NULL);
    /* The server closes the sessions (presence, last activity written) before the
     * measured round starts: wait until it is idle (under 5% of a core), at most 30 s. */
    for (int i = 0; i < 60; i++) {
        struct sample a = take_sample();
        pump(0.5);
        struct sample b = take_sample();
        if (!G.cfg.server_pid || b.srv_cpu_ms - a.srv_cpu_ms < 25)
            break;
    }
    G.opened = G.ready = G.failed = G.closed_later = G.resumed = 0;
    G.pending = 0;
    G.first_error[0] = 0;
}

static int scen_connections(void)
{
    uint32_t n = O.connections;
    if (G.cfg.resume)
        resume_prepare(n);
    struct sample s0 = take_sample();
    double ramp = login_many(0, n, O.first, O.rate);
    struct sample s1 = take_sample();
    lg_hist_reset(&H);
    for (uint32_t i = 0; i < n; i++)
        if (G.conns[i].state == LG_S_READY)
            lg_hist_add(&H, (uint64_t)((G.conns[i].t_ready - G.conns[i].t_start) / 1000));
    uint64_t closed0 = G.closed_later;
    pump(O.hold);
    struct sample s2 = take_sample();
    jstart();
    fprintf(stderr, "connections: %s %s:%d, %u sessions\n", O.label ? O.label : "", G.cfg.host,
            G.cfg.port, n);
    report_login(ramp, n);
    jnum("login_p50_ms", ms(lg_hist_pct(&H, 50)));
    jnum("login_p99_ms", ms(lg_hist_pct(&H, 99)));
    row("login time p50 (ms)", 1, ms(lg_hist_pct(&H, 50)));
    row("login time p99 (ms)", 1, ms(lg_hist_pct(&H, 99)));
    jnum("hold_s", O.hold);
    jnum("closed_during_hold", (double)(G.closed_later - closed0));
    jstr("tls_handshakes", G.cfg.resume ? "resumed (session tickets)" : "full");
    jnum("tls_resumed", (double)G.resumed);
    row("TLS handshakes resumed", 0, (double)G.resumed);
    uint64_t alive = 0;
    for (uint32_t i = 0; i < n; i++)
        alive += G.conns[i].state == LG_S_READY;
    jnum("sessions_alive", (double)alive);
    row("sessions alive after hold", 0, (double)alive);
    report_cpu(&s0, &s1, (double)G.ready, "login");
    if (G.cfg.server_pid) {
        jnum("server_rss_before_kb", s0.srv_rss_kb);
        jnum("server_rss_after_kb", s2.srv_rss_kb);
        double per = alive ? (double)(s2.srv_rss_kb - s0.srv_rss_kb) / (double)alive : NAN;
        jnum("server_kib_per_session", per);
        row("server RSS before (MiB)", 1, s0.srv_rss_kb / 1024.0);
        row("server RSS with sessions (MiB)", 1, s2.srv_rss_kb / 1024.0);
        row("server KiB per session", 1, per);
        /* RSS also counts the pages of mapped files the logins read (Myna's accounts in its
         * LMDB map: shared, clean, reclaimable page cache); anonymous memory is what the
         * sessions themselves hold. */
        double anon = alive ? (double)(s2.srv_anon_kb - s0.srv_anon_kb) / (double)alive : NAN;
        jnum("server_anon_kib_per_session", anon);
        row("server anonymous KiB per session", 1, anon);
    }
    jnum("gen_rss_kb", s2.gen_rss_kb);
    jnum("gen_kib_per_session", alive ? (double)(s2.gen_rss_kb - s0.gen_rss_kb) / (double)alive : NAN);
    row("generator KiB per session", 1,
        alive ? (double)(s2.gen_rss_kb - s0.gen_rss_kb) / (double)alive : 0);
    jend();
    return G.ready == n ? 0 : 1;
}

/* ---- chat ---- */

static uint32_t chat_conns;
static uint64_t sent_phase;

static void chat_stanza(struct lg_conn *c, const char *e, size_t len)
{
    if (lg_is(e, len, "message"))
        on_message(e, len);
}

static void send_chat(uint32_t idx)
{
    struct lg_conn *c = &G.conns[idx];
    if (c->state != LG_S_READY)
        return;
    /* Pairs are (i, i + P): connection i sends to its partner's bare JID. */
    uint32_t peer = idx < O.pairs ? idx + O.pairs : idx - O.pairs;
    char body[4200], buf[4600];
    make_body(body, sizeof body, cur_phase);
    int n = snprintf(buf, sizeof buf, "<message to='%s%u@%s' type='chat'><body>%s</body></message>",
                     G.cfg.prefix, O.first + peer, lg_domain(&G, peer), body);
    lg_send(&G, c, buf, (size_t)n);
    sent_phase++;
}

/* Sends at `rate` for `secs` seconds from all connections in turn. Returns messages sent. */
static uint64_t drive(double rate, double secs, void (*one)(uint32_t), uint32_t nsenders)
{
    double t0 = now_s(), next_to = t0 + 1;
    uint64_t sent = 0;
    uint32_t rr = 0;
    while (1) {
        double t = now_s();
        if (t - t0 >= secs)
            break;
        uint64_t due = (uint64_t)((t - t0) * rate);
        /* Never burst more than 50 ms worth: a stalled generator shows as lower offered rate. */
        uint64_t burst_cap = (uint64_t)(rate * 0.05) + 1;
        if (due > sent + burst_cap)
            sent = due - burst_cap;
        while (sent < due) {
            one(rr++ % nsenders);
            sent++;
        }
        /* Sleep until the next message is due (at most 10 ms), not a fixed tick. */
        double wait_ms = ((double)(sent + 1) / rate - (now_s() - t0)) * 1000;
        lg_poll(&G, wait_ms <= 0 ? 0 : wait_ms >= 10 ? 10 : (int)ceil(wait_ms));
        if (t > next_to) {
            lg_check_timeouts(&G);
            next_to = t + 1;
        }
    }
    return sent;
}

/* Waits until deliveries of the measured phase reach `expect` or nothing arrives for 2 s. */
static void drain(uint64_t expect, double max_s)
{
    double t0 = now_s();
    while (delivered_phase < expect && now_s() - t0 < max_s) {
        lg_poll(&G, 10);
        if ((lg_now_ns() - t_last_delivery) > 2000000000LL && now_s() - t0 > 2)
            break;
    }
}

struct step {
    double offered, sent_rate, delivered_rate, p50, p99, srv_cpu_per_msg, gen_pct, srv_pct;
    uint64_t sent, delivered;
};

static struct step chat_step(double rate, double secs, bool quiet)
{
    struct step st = {0};
    cur_phase++;
    measured_phase = cur_phase;
    lg_hist_reset(&H);
    delivered_phase = delivered_window = 0;
    sent_phase = 0;
    struct sample a = take_sample();
    window_open = true;
    drive(rate, secs, send_chat, chat_conns);
    window_open = false;
    struct sample b = take_sample();
    st.sent = sent_phase;
    st.delivered_rate = (double)delivered_window / (b.t - a.t);
    drain(sent_phase, 10);
    struct sample c = take_sample();
    st.delivered = delivered_phase;
    st.offered = rate;
    st.sent_rate = (double)sent_phase / (b.t - a.t);
    st.p50 = ms(lg_hist_pct(&H, 50));
    st.p99 = ms(lg_hist_pct(&H, 99));
    st.srv_cpu_per_msg = delivered_phase ? (c.srv_cpu_ms - a.srv_cpu_ms) / (double)delivered_phase : NAN;
    st.srv_pct = 100 * (b.srv_cpu_ms - a.srv_cpu_ms) / 1000 / (b.t - a.t);
    st.gen_pct = 100 * (b.gen_cpu_ms - a.gen_cpu_ms) / 1000 / (b.t - a.t);
    if (!quiet)
        fprintf(stderr, "  step %8.0f msg/s: sent %8.0f/s delivered %8.0f/s p50 %7.2f ms p99 %8.2f ms "
                        "lost %llu srv %.0f%% gen %.0f%%\n", rate, st.sent_rate, st.delivered_rate,
                st.p50, st.p99, (unsigned long long)(st.sent - st.delivered), st.srv_pct, st.gen_pct);
    return st;
}

static int scen_chat(void)
{
    chat_conns = 2 * O.pairs;
    G.cfg.peer_from = O.pairs; /* with --peer-host: partners on the other server */
    G.cfg.presence = true;
    G.cb.stanza = chat_stanza;
    double ramp = login_many(0, chat_conns, O.first, O.rate);
    jstart();
    fprintf(stderr, "chat: %s %s:%d, %u pairs\n", O.label ? O.label : "", G.cfg.host, G.cfg.port,
            O.pairs);
    report_login(ramp, chat_conns);
    jnum("pairs", O.pairs);
    jnum("body_size", O.body_size);
    if (G.ready < chat_conns) {
        jstr("error", "not all sessions logged in");
        jend();
        return 1;
    }
    pump(0.5); /* presence exchanges settle */
    if (O.warmup > 0) {
        chat_step(O.msg_rate > 0 ? O.msg_rate : 100, O.warmup, true);
        drain(sent_phase, 5);
    }
    if (!O.find_max) {
        struct sample a = take_sample();
        struct step st = chat_step(O.msg_rate, O.duration, true);
        struct sample b = take_sample();
        jnum("offered_rate", O.msg_rate);
        jnum("sent_rate", st.sent_rate);
        jnum("delivered_rate", st.delivered_rate);
        jnum("sent", (double)st.sent);
        jnum("delivered", (double)st.delivered);
        jnum("lost", (double)(st.sent - st.delivered));
        jnum("message_errors", (double)msg_errors);
        jnum("duration_s", O.duration);
        row("offered (msg/s)", 0, O.msg_rate);
        row("sent (msg/s)", 0, st.sent_rate);
        row("delivered (msg/s)", 0, st.delivered_rate);
        row("lost", 0, (double)(st.sent - st.delivered));
        report_latency();
        report_cpu(&a, &b, (double)st.delivered, "msg");
        jend();
        return 0;
    }
    /* Find the highest rate the server follows: delivered >= 95% of offered, nothing lost
     * after draining, and p99 under the bound. */
    double rate = O.msg_rate > 0 ? O.msg_rate : 500, best = 0;
    struct step best_st = {0};
    printf(",\"steps\":[");
    for (int k = 0; k < 40 && rate <= O.max_rate; k++) {
        struct step st = chat_step(rate, O.duration, false);
        printf("%s{\"offered\":%.0f,\"sent_rate\":%.1f,\"delivered_rate\":%.1f,\"lost\":%llu,"
               "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"server_cpu_pct\":%.1f,\"gen_cpu_pct\":%.1f}",
               k ? "," : "", rate, st.sent_rate, st.delivered_rate,
               (unsigned long long)(st.sent - st.delivered), st.p50, st.p99, st.srv_pct, st.gen_pct);
        bool ok = st.delivered_rate >= 0.95 * rate && st.sent - st.delivered <= st.sent / 1000
                  && st.p99 <= O.max_p99_ms && st.sent_rate >= 0.97 * rate;
        if (!ok) {
            if (st.sent_rate < 0.97 * rate)
                fprintf(stderr, "  (generator could not offer %.0f msg/s: limit is the generator)\n", rate);
            break;
        }
        best = rate;
        best_st = st;
        rate *= O.step_factor;
    }
    printf("]");
    jnum("max_sustained_rate", best);
    jnum("max_p99_bound_ms", O.max_p99_ms);
    jnum("at_max_p50_ms", best_st.p50);
    jnum("at_max_p99_ms", best_st.p99);
    jnum("at_max_server_cpu_ms_per_msg", best_st.srv_cpu_per_msg);
    jnum("at_max_gen_cpu_pct", best_st.gen_pct);
    row("max sustained (msg/s)", 0, best);
    row("p99 at max (ms)", 2, best_st.p99);
    jend();
    return 0;
}

/* ---- muc ---- */

static uint32_t muc_joined, muc_join_errors;
static bool muc_created_201;
static uint32_t muc_subject_for = UINT32_MAX; /* connection awaiting the subject */
static bool muc_subject_seen;
static char muc_room[300];

static void muc_stanza(struct lg_conn *c, const char *e, size_t len)
{
    if (lg_is(e, len, "message")) {
        if ((uint32_t)(c - G.conns) == muc_subject_for && lg_find(e, len, "<subject"))
            muc_subject_seen = true;
        on_message(e, len);
        return;
    }
    if (lg_is(e, len, "presence")) {
        const char *from, *type;
        size_t fl, tl;
        char nick[64];
        if (!lg_attr(e, len, "from", &from, &fl))
            return;
        int nl = snprintf(nick, sizeof nick, "/n%u", c->user);
        if (fl < (size_t)nl || memcmp(from + fl - (size_t)nl, nick, (size_t)nl) != 0)
            return;
        if (lg_attr(e, len, "type", &type, &tl) && tl == 5 && memcmp(type, "error", 5) == 0) {
            muc_join_errors++;
            if (!G.first_error[0])
                snprintf(G.first_error, sizeof G.first_error, "MUC join error: %.100s", e);
            return;
        }
        if (c->peer == 0) {
            c->peer = 1; /* joined */
            muc_joined++;
            if (lg_find(e, len, "code='201'") || lg_find(e, len, "code=\"201\""))
                muc_created_201 = true;
        }
    }
}

static void send_muc(uint32_t idx)
{
    struct lg_conn *c = &G.conns[idx];
    if (c->state != LG_S_READY)
        return;
    char body[4200], buf[4700];
    make_body(body, sizeof body, cur_phase);
    int n = snprintf(buf, sizeof buf, "<message to='%s' type='groupchat'><body>%s</body></message>",
                     muc_room, body);
    lg_send(&G, c, buf, (size_t)n);
    sent_phase++;
}

static void muc_join(uint32_t idx)
{
    char buf[500];
    int n = snprintf(buf, sizeof buf,
                     "<presence to='%s/n%u'><x xmlns='http://jabber.org/protocol/muc'>"
                     "<history maxstanzas='0'/></x></presence>", muc_room, G.conns[idx].user);
    lg_send(&G, &G.conns[idx], buf, (size_t)n);
}

static bool wait_for(uint32_t *counter, uint32_t want, double secs)
{
    double t0 = now_s();
    while (*counter < want && now_s() - t0 < secs) {
        lg_poll(&G, 5);
        if (muc_join_errors)
            return false;
    }
    return *counter >= want;
}

/* Runs the loop until the connection muc_subject_for got the room subject (the end of its
 * join, XEP-0045 §7.2.16). */
static void pump_until_subject(double secs)
{
    double t0 = now_s();
    while (!muc_subject_seen && now_s() - t0 < secs)
        lg_poll(&G, 5);
    muc_subject_for = UINT32_MAX;
}

static int scen_muc(void)
{
    uint32_t m = O.occupants;
    G.cb.stanza = muc_stanza;
    char mucdom[256];
    snprintf(mucdom, sizeof mucdom, "%s", O.muc_domain ? O.muc_domain : "");
    if (!mucdom[0])
        snprintf(mucdom, sizeof mucdom, "conference.%s", G.cfg.domain);
    snprintf(muc_room, sizeof muc_room, "%s@%s", O.room, mucdom);
    double ramp = login_many(0, m, O.first, O.rate);
    jstart();
    fprintf(stderr, "muc: %s %s:%d, room %s, %u occupants, %u senders\n", O.label ? O.label : "",
            G.cfg.host, G.cfg.port, muc_room, m, O.senders);
    report_login(ramp, m);
    jnum("occupants", m);
    jnum("senders", O.senders);
    jstr("room", muc_room);
    if (G.ready < m) {
        jstr("error", "not all sessions logged in");
        jend();
        return 1;
    }
    /* The first occupant creates the room; accept the default configuration if the
     * service holds it locked (XEP-0045 §10.1.2 instant room). */
    double tj = now_s();
    muc_join(0);
    if (!wait_for(&muc_joined, 1, 10)) {
        jstr("error", G.first_error[0] ? G.first_error : "room join timed out");
        jstr("status", "not supported");
        jend();
        fprintf(stderr, "  MUC not available: %s\n", G.first_error);
        return 3;
    }
    if (muc_created_201) {
        char buf[400];
        int n = snprintf(buf, sizeof buf,
                         "<iq type='set' to='%s' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                         "<x xmlns='jabber:x:data' type='submit'/></query></iq>", muc_room);
        lg_send(&G, &G.conns[0], buf, (size_t)n);
        pump(0.5);
    }
    for (uint32_t i = 1; i + 1 < m; i++) {
        muc_join(i);
        if (i % 20 == 0)
            lg_poll(&G, 1);
    }
    bool all = wait_for(&muc_joined, m > 1 ? m - 1 : 1, 60);
    /* The last occupant joins alone: its join time covers the presence of every other
     * occupant, its own, the (empty) history and the subject (XEP-0045 §7.2). */
    double last_join_ms = 0;
    if (all && m > 1) {
        double tl = now_s();
        muc_subject_for = m - 1;
        muc_subject_seen = false;
        muc_join(m - 1);
        all = wait_for(&muc_joined, m, 30);
        pump_until_subject(10);
        last_join_ms = (now_s() - tl) * 1000.0;
    }
    double join_s = now_s() - tj;
    jnum("joined", muc_joined);
    jnum("join_s", join_s);
    jnum("last_join_ms", last_join_ms);
    row("joined", 0, muc_joined);
    row("join time, all (s)", 2, join_s);
    row("join time, last occupant (ms)", 1, last_join_ms);
    if (!all) {
        jstr("error", G.first_error[0] ? G.first_error : "not all occupants joined");
        jend();
        return 1;
    }
    pump(0.5);
    if (O.warmup > 0) {
        cur_phase++;
        measured_phase = -1;
        drive(O.msg_rate, O.warmup, send_muc, O.senders);
        pump(1);
    }
    cur_phase++;
    measured_phase = cur_phase;
    lg_hist_reset(&H);
    delivered_phase = delivered_window = sent_phase = 0;
    struct sample a = take_sample();
    window_open = true;
    drive(O.msg_rate, O.duration, send_muc, O.senders);
    window_open = false;
    struct sample b = take_sample();
    drain(sent_phase * m, 10);
    double wall = b.t - a.t;
    jnum("offered_msg_rate", O.msg_rate);
    jnum("sent", (double)sent_phase);
    jnum("deliveries_expected", (double)(sent_phase * m));
    jnum("deliveries", (double)delivered_phase);
    jnum("delivery_rate", (double)delivered_window / wall);
    jnum("lost", (double)(sent_phase * m - delivered_phase));
    jnum("message_errors", (double)msg_errors);
    row("messages sent (msg/s)", 0, (double)sent_phase / wall);
    row("deliveries (/s)", 0, (double)delivered_window / wall);
    row("deliveries lost", 0, (double)(sent_phase * m - delivered_phase));
    report_latency();
    report_cpu(&a, &b, (double)delivered_window, "delivery");
    jend();
    return 0;
}

/* ---- offline ---- */

static uint32_t iq_sync_seen;

static void offline_stanza(struct lg_conn *c, const char *e, size_t len)
{
    if (lg_is(e, len, "message")) {
        if (on_message(e, len))
            c->recv++;
        return;
    }
    const char *v;
    size_t vl;
    if (lg_is(e, len, "iq") && lg_attr(e, len, "id", &v, &vl) && vl == 4 && memcmp(v, "sync", 4) == 0)
        iq_sync_seen++;
}

static int scen_offline(void)
{
    uint32_t m = O.messages;
    G.cb.stanza = offline_stanza;
    G.cfg.presence = true;
    double ramp = login_many(0, 1, O.first, 0);
    jstart();
    fprintf(stderr, "offline: %s %s:%d, %u messages\n", O.label ? O.label : "", G.cfg.host,
            G.cfg.port, m);
    report_login(ramp, 1);
    jnum("messages", m);
    if (G.ready < 1) {
        jstr("error", "sender could not log in");
        jend();
        return 1;
    }
    cur_phase++;
    measured_phase = cur_phase;
    lg_hist_reset(&H);
    struct sample a = take_sample();
    double t0 = now_s();
    uint32_t b_user = O.first + 1;
    for (uint32_t i = 0; i < m; i++) {
        char body[4200], buf[4600];
        make_body(body, sizeof body, cur_phase);
        int n = snprintf(buf, sizeof buf, "<message to='%s%u@%s' type='chat'><body>%s</body></message>",
                         G.cfg.prefix, b_user, G.cfg.domain, body);
        lg_send(&G, &G.conns[0], buf, (size_t)n);
        if (i % 64 == 63)
            lg_poll(&G, 0);
    }
    char ping[300];
    int pn = snprintf(ping, sizeof ping, "<iq type='get' id='sync' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>",
                      G.cfg.domain);
    lg_send(&G, &G.conns[0], ping, (size_t)pn);
    while (!iq_sync_seen && now_s() - t0 < 120 && G.conns[0].state == LG_S_READY)
        lg_poll(&G, 5);
    double store_s = now_s() - t0;
    struct sample b = take_sample();
    uint64_t bounced = msg_errors;
    pump(1);
    /* B logs in with initial presence (RFC 6121 §4.2): offline messages follow it. */
    struct sample c0 = take_sample();
    double tb = now_s();
    lg_open(&G, 1, b_user);
    struct lg_conn *bc = &G.conns[1];
    double last_rx = tb;
    uint32_t last_cnt = 0;
    while (now_s() - tb < 120) {
        lg_poll(&G, 5);
        if (bc->state == LG_S_CLOSED)
            break;
        if (bc->recv != last_cnt) {
            last_cnt = bc->recv;
            last_rx = now_s();
        }
        if (bc->recv >= m)
            break;
        if (bc->state == LG_S_READY && now_s() - last_rx > 5 && now_s() - tb > 5)
            break;
    }
    double t_last = t_last_delivery ? (double)t_last_delivery / 1e9 : now_s();
    struct sample c1 = take_sample();
    double login_s = bc->t_ready ? (double)(bc->t_ready - bc->t_start) / 1e9 : NAN;
    double to_last = bc->recv ? t_last - tb : NAN;
    jnum("store_s", store_s);
    jnum("store_rate", m / store_s);
    jnum("bounced", (double)bounced);
    jnum("received", bc->recv);
    jnum("b_login_s", login_s);
    jnum("login_to_last_s", to_last);
    jnum("delivery_rate", bc->recv && to_last > login_s ? bc->recv / (to_last - login_s) : NAN);
    row("store time (s)", 3, store_s);
    row("store rate (msg/s)", 0, m / store_s);
    row("bounced with error", 0, (double)bounced);
    row("received after login", 0, bc->recv);
    row("login to last message (s)", 3, to_last);
    report_cpu(&a, &b, m, "stored_msg");
    if (G.cfg.server_pid) {
        jnum("server_cpu_ms_delivery", c1.srv_cpu_ms - c0.srv_cpu_ms);
        jnum("server_rss_after_store_kb", b.srv_rss_kb);
    }
    if (bc->recv == 0) {
        jstr("status", bounced ? "not supported" : "no messages delivered");
        jend();
        return 3;
    }
    jend();
    return bc->recv >= m ? 0 : 1;
}

/* ---- mam ---- */

/* XEP-0313 archive: account A sends `messages` chat messages to B (online), in windows
 * closed by a ping so the server is never flooded; then A asks `queries` times for the
 * last `query_max` messages of its archive (RSM <max/> + empty <before/>, the query a
 * client makes when opening a conversation). Latency: iq sent to its result, after all
 * result messages. A server without an archive answers with an error or no results:
 * reported as "not supported". */
static uint32_t mam_results, mam_fins, mam_errors, mam_sync;

static void mam_stanza(struct lg_conn *c, const char *e, size_t len)
{
    const char *v;
    size_t vl;
    if (lg_is(e, len, "message")) {
        if (lg_find(e, len, "urn:xmpp:mam:2"))
            mam_results++;
        else if (on_message(e, len))
            c->recv++;
        return;
    }
    if (!lg_is(e, len, "iq") || !lg_attr(e, len, "id", &v, &vl))
        return;
    if (vl > 4 && memcmp(v, "sync", 4) == 0) {
        mam_sync++;
    } else if (vl > 2 && memcmp(v, "mq", 2) == 0) {
        if (lg_attr(e, len, "type", &v, &vl) && vl == 6 && memcmp(v, "result", 6) == 0)
            mam_fins++;
        else
            mam_errors++;
    }
}

/* Waits until *counter reaches want (or the connection or the time limit goes). */
static bool mam_wait(uint32_t *counter, uint32_t want, double limit_s)
{
    double t0 = now_s();
    while (*counter < want && now_s() - t0 < limit_s && G.conns[0].state == LG_S_READY)
        lg_poll(&G, 2);
    return *counter >= want;
}

/* Sends up to m messages in windows of 1000, each closed by a ping; stops early after 10
 * minutes (a slow archive). Returns how many went through complete windows: a ping left
 * unanswered for 5 minutes (a server busy writing its archive: ejabberd's Mnesia pauses
 * for tens of seconds) ends the fill with the windows completed before it. */
static uint32_t mam_fill(uint32_t m, uint32_t b_user)
{
    const uint32_t window = 1000;
    double t0 = now_s();
    for (uint32_t i = 0; i < m; i++) {
        char body[4200], buf[4600];
        make_body(body, sizeof body, cur_phase);
        int n = snprintf(buf, sizeof buf, "<message to='%s%u@%s' type='chat'><body>%s</body></message>",
                         G.cfg.prefix, b_user, G.cfg.domain, body);
        lg_send(&G, &G.conns[0], buf, (size_t)n);
        if (i % 64 == 63)
            lg_poll(&G, 0);
        if (i % window == window - 1 || i == m - 1) {
            char ping[200];
            int pn = snprintf(ping, sizeof ping, "<iq type='get' id='sync%u' to='%s'>"
                              "<ping xmlns='urn:xmpp:ping'/></iq>", i, G.cfg.domain);
            lg_send(&G, &G.conns[0], ping, (size_t)pn);
            if (!mam_wait(&mam_sync, i / window + 1, 300))
                return i / window * window;
            if (now_s() - t0 > 600)
                return i + 1;
        }
    }
    return m;
}

/* One query for the last `max` messages; latency in us, or 0 if it failed. */
static uint64_t mam_query(uint32_t n, uint32_t max, bool *complete_page)
{
    char q[400];
    int qn = snprintf(q, sizeof q, "<iq type='set' id='mq%u'><query xmlns='urn:xmpp:mam:2' "
                      "queryid='q%u'><set xmlns='http://jabber.org/protocol/rsm'><max>%u</max>"
                      "<before/></set></query></iq>", n, n, max);
    uint32_t r0 = mam_results, f0 = mam_fins, e0 = mam_errors;
    int64_t t0 = lg_now_ns();
    lg_send(&G, &G.conns[0], q, (size_t)qn);
    double limit = now_s() + 30;
    while (mam_fins == f0 && mam_errors == e0 && now_s() < limit &&
           G.conns[0].state == LG_S_READY)
        lg_poll(&G, 1);
    int64_t t1 = lg_now_ns();
    *complete_page = mam_fins > f0 && mam_results - r0 == max;
    return mam_fins > f0 ? (uint64_t)((t1 - t0) / 1000) : 0;
}

static int scen_mam(void)
{
    uint32_t m = O.messages, b_user = O.first + 1;
    G.cb.stanza = mam_stanza;
    G.cfg.presence = true;
    double ramp = login_many(0, 2, O.first, 0);
    jstart();
    fprintf(stderr, "mam: %s %s:%d, %u messages, %u queries for the last %u\n",
            O.label ? O.label : "", G.cfg.host, G.cfg.port, m, O.queries, O.query_max);
    report_login(ramp, 2);
    jnum("messages", m);
    jnum("query_max", O.query_max);
    if (G.ready < 2) {
        jstr("error", "login failed");
        jend();
        return 1;
    }
    cur_phase++;
    struct sample a = take_sample();
    double t0 = now_s();
    uint32_t filled = mam_fill(m, b_user);
    double fill_s = now_s() - t0;
    struct sample b = take_sample();
    pump(1);
    jnum("archived", filled);
    jnum("fill_s", fill_s);
    jnum("fill_rate", filled / fill_s);
    row("messages archived", 0, filled);
    row("fill time (s)", 2, fill_s);
    row("fill rate (msg/s)", 0, filled / fill_s);
    if (G.cfg.server_pid && filled)
        jnum("server_cpu_ms_per_filled_msg", (b.srv_cpu_ms - a.srv_cpu_ms) / filled);
    if (!filled) {
        jstr("error", "filling the archive did not finish");
        jend();
        return 1;
    }
    bool full;
    uint64_t warm = mam_query(0, O.query_max, &full);
    if (!warm || !full) {
        jstr("status", "not supported");
        jnum("query_errors", mam_errors);
        jend();
        return 3;
    }
    for (uint32_t i = 1; i <= 10; i++) /* warm caches; not measured */
        mam_query(i, O.query_max, &full);
    lg_hist_reset(&H);
    uint32_t short_pages = 0, failed = 0;
    struct sample c = take_sample();
    /* Bounded: a server whose query reads the whole archive gets a minute, not Q times
     * its latency; the report says how many ran. */
    uint32_t done = 0;
    double q0 = now_s();
    for (uint32_t i = 0; i < O.queries && now_s() - q0 < 60; i++, done++) {
        uint64_t us = mam_query(100 + i, O.query_max, &full);
        if (!us)
            failed++;
        else
            lg_hist_add(&H, us);
        short_pages += us && !full;
    }
    struct sample d = take_sample();
    jnum("queries", done);
    jnum("query_failed", failed);
    jnum("query_short_pages", short_pages);
    jnum("query_p50_ms", ms(lg_hist_pct(&H, 50)));
    jnum("query_p90_ms", ms(lg_hist_pct(&H, 90)));
    jnum("query_p99_ms", ms(lg_hist_pct(&H, 99)));
    jnum("query_max_ms", ms(H.max_us));
    row("query p50 (ms)", 2, ms(lg_hist_pct(&H, 50)));
    row("query p99 (ms)", 2, ms(lg_hist_pct(&H, 99)));
    row("query max (ms)", 2, ms(H.max_us));
    row("failed / short pages", 0, failed + short_pages);
    row("queries run", 0, done);
    report_cpu(&c, &d, done, "query");
    jend();
    return failed || short_pages ? 1 : 0;
}

/* ---- reconnect ---- */

/* Every connection logs in, then is cut (socket closed: no stream close, no TLS
 * close_notify, as when a phone changes networks) and comes back, `rounds` times: with a
 * full login (SASL, bind, and --roster/--presence), or with --resume by resuming its
 * XEP-0198 session (SASL, <resume/>). Reported: server CPU per reconnect and its latency. */
static int scen_reconnect(void)
{
    uint32_t n = O.connections;
    double ramp = login_many(0, n, O.first, O.rate);
    pump(0.5); /* the first logins' presence and acks settle */
    uint64_t ready0 = G.ready, failed0 = G.failed;
    lg_hist_reset(&H);
    struct sample a = take_sample();
    double t0 = now_s();
    for (uint32_t r = 0; r < O.rounds; r++) {
        for (uint32_t i = 0; i < n; i++)
            lg_close(&G, &G.conns[i], NULL);
        login_many(0, n, O.first, O.rate);
        for (uint32_t i = 0; i < n; i++)
            if (G.conns[i].state == LG_S_READY)
                lg_hist_add(&H, (uint64_t)((G.conns[i].t_ready - G.conns[i].t_start) / 1000));
    }
    double el = now_s() - t0;
    struct sample b = take_sample();
    uint64_t done = G.ready - ready0, resumed = 0;
    for (uint32_t i = 0; i < n; i++)
        resumed += G.conns[i].state == LG_S_READY && G.conns[i].resumed;
    jstart();
    fprintf(stderr, "reconnect: %s %s:%d, %u sessions x %u rounds, %s\n",
            O.label ? O.label : "", G.cfg.host, G.cfg.port, n, O.rounds,
            G.cfg.sm ? "resume (XEP-0198)" : "full login");
    report_logins(ramp, n, ready0, failed0);
    jnum("rounds", O.rounds);
    jnum("resume", G.cfg.sm ? 1 : 0);
    jnum("reconnects", (double)done);
    jnum("reconnect_failures", (double)(G.failed - failed0));
    jnum("resumed_last_round", (double)resumed);
    jnum("reconnects_per_s", el > 0 ? (double)done / el : 0);
    jnum("reconnect_p50_ms", ms(lg_hist_pct(&H, 50)));
    jnum("reconnect_p99_ms", ms(lg_hist_pct(&H, 99)));
    row("reconnects", 0, (double)done);
    row("failed", 0, (double)(G.failed - failed0));
    row("resumed (last round)", 0, (double)resumed);
    row("reconnect time p50 (ms)", 1, ms(lg_hist_pct(&H, 50)));
    row("reconnect time p99 (ms)", 1, ms(lg_hist_pct(&H, 99)));
    report_cpu(&a, &b, (double)done, "reconnect");
    jend();
    return done == (uint64_t)n * O.rounds && G.failed == failed0 ? 0 : 1;
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: myna-bench SCENARIO [options]\n"
        "scenarios: connections | reconnect | chat | muc | offline | mam | soak\n"
        "target:  --host IP (loopback only) --port N (5222) --domain D --label NAME\n"
        "         --server-pid PID   sample this process's CPU and RSS\n"
        "login:   --prefix u --first 1 --password P --resource R --tls starttls|direct|none\n"
        "         --cafile FILE (verify server cert) --sasl plain|scram|auto (auto)\n"
        "         --scram-cache FILE  --roster --presence --login-timeout S (30)\n"
        "         --tls-resume (connections) log in once unmeasured, then measure logins that\n"
        "                    resume those TLS sessions (tickets)\n"
        "         --rate LOGINS/S (500) --max-pending N (200)\n"
        "         --src 127.0.0.2 --src-count 4   source addresses (bind before connect)\n"
        "connections: --connections N --hold S (5)\n"
        "reconnect: --connections N --rounds R (3) [--resume]: cut and log in again, or\n"
        "         resume (XEP-0198) with --resume\n"
        "chat:    --pairs P --msg-rate R --duration S (10) --warmup S (2) --body-size B (100)\n"
        "         --peer-host IP --peer-domain D [--peer-pid PID]: partners log in to a\n"
        "         second server (federation: every message crosses s2s)\n"
        "         --find-max [--max-p99-ms 100 --step-factor 1.3 --max-rate 200000]\n"
        "muc:     --occupants M (100) --senders S (1) --room NAME --muc-domain D --msg-rate R\n"
        "offline: --messages M (10000)\n"
        "mam:     --messages M (10000) archived first, then --queries Q (200, at most 60 s)\n"
        "         for the last --query-max N (50) messages\n"
        "soak:    --connections N --duration S (1800) realistic sessions with XEP-0198, then\n"
        "         mixed traffic, rates per second for this process: --msg-rate (50) chat\n"
        "         between random pairs, --ack-pct (20) of them followed by <r/>,\n"
        "         --offline-rate (2) chat to a contact that is offline, --presence-rate (10),\n"
        "         --roster-rate (2) adds (with subscription) or removes, --reconnect-rate (1)\n"
        "         stream close and full login, --fin-rate (0.5) / --rst-rate (0.5) socket cut\n"
        "         then full login, --resume-rate (1) socket cut then XEP-0198 resume;\n"
        "         --down-min 1 --down-max 5 seconds offline; --settle S (60) for the last\n"
        "         deliveries; --hold-end S (60) sessions kept after the verdict (ends early\n"
        "         when --stats FILE, rewritten every 5 s, is removed); --seed N\n"
        "Each run prints one JSON object on stdout and a table on stderr.\n"
        "Connections are limited by RLIMIT_NOFILE (raised to the hard limit) minus ~16.\n");
}

static bool loopback(const char *ip)
{
    struct in_addr a;
    return inet_pton(AF_INET, ip, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int main(int argc, char **argv)
{
    enum { O_HOST = 256, O_PORT, O_DOMAIN, O_LABEL, O_PID, O_PREFIX, O_FIRST, O_PASSWORD,
           O_RESOURCE, O_TLS, O_CAFILE, O_SASL, O_SCACHE, O_ROSTER, O_TLS_RESUME, O_PRESENCE, O_LTO, O_RATE,
           O_MAXPEND, O_SRC, O_SRCN, O_CONNS, O_HOLD, O_PAIRS, O_MSGRATE, O_DUR, O_WARM,
           O_BODY, O_FINDMAX, O_MAXP99, O_STEP, O_MAXRATE, O_OCC, O_SENDERS, O_ROOM, O_MUCDOM,
           O_MSGS, O_QUERIES, O_QMAX, O_ROUNDS, O_RESUME, O_PHOST, O_PDOMAIN, O_PPID, O_HELP,
           O_SK_OFF, O_SK_PRES, O_SK_ROST, O_SK_RECON, O_SK_FIN, O_SK_RST, O_SK_RES, O_SK_ACK,
           O_SK_DMIN, O_SK_DMAX, O_SK_SETTLE, O_SK_HOLD, O_SK_STATS, O_SK_SEED };
    static const struct option lo[] = {
        {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT}, {"domain", 1, 0, O_DOMAIN},
        {"label", 1, 0, O_LABEL}, {"server-pid", 1, 0, O_PID}, {"prefix", 1, 0, O_PREFIX},
        {"first", 1, 0, O_FIRST}, {"password", 1, 0, O_PASSWORD}, {"resource", 1, 0, O_RESOURCE},
        {"tls", 1, 0, O_TLS}, {"cafile", 1, 0, O_CAFILE}, {"sasl", 1, 0, O_SASL},
        {"scram-cache", 1, 0, O_SCACHE}, {"roster", 0, 0, O_ROSTER}, {"tls-resume", 0, 0, O_TLS_RESUME}, {"presence", 0, 0, O_PRESENCE},
        {"login-timeout", 1, 0, O_LTO}, {"rate", 1, 0, O_RATE}, {"max-pending", 1, 0, O_MAXPEND},
        {"src", 1, 0, O_SRC}, {"src-count", 1, 0, O_SRCN}, {"connections", 1, 0, O_CONNS},
        {"hold", 1, 0, O_HOLD}, {"pairs", 1, 0, O_PAIRS}, {"msg-rate", 1, 0, O_MSGRATE},
        {"duration", 1, 0, O_DUR}, {"warmup", 1, 0, O_WARM}, {"body-size", 1, 0, O_BODY},
        {"find-max", 0, 0, O_FINDMAX}, {"max-p99-ms", 1, 0, O_MAXP99},
        {"step-factor", 1, 0, O_STEP}, {"max-rate", 1, 0, O_MAXRATE},
        {"occupants", 1, 0, O_OCC}, {"senders", 1, 0, O_SENDERS}, {"room", 1, 0, O_ROOM},
        {"muc-domain", 1, 0, O_MUCDOM}, {"messages", 1, 0, O_MSGS},
        {"queries", 1, 0, O_QUERIES}, {"query-max", 1, 0, O_QMAX}, {"rounds", 1, 0, O_ROUNDS},
        {"resume", 0, 0, O_RESUME}, {"help", 0, 0, O_HELP},
        {"peer-host", 1, 0, O_PHOST}, {"peer-domain", 1, 0, O_PDOMAIN},
        {"peer-pid", 1, 0, O_PPID},
        {"offline-rate", 1, 0, O_SK_OFF}, {"presence-rate", 1, 0, O_SK_PRES},
        {"roster-rate", 1, 0, O_SK_ROST}, {"reconnect-rate", 1, 0, O_SK_RECON},
        {"fin-rate", 1, 0, O_SK_FIN}, {"rst-rate", 1, 0, O_SK_RST},
        {"resume-rate", 1, 0, O_SK_RES}, {"ack-pct", 1, 0, O_SK_ACK},
        {"down-min", 1, 0, O_SK_DMIN}, {"down-max", 1, 0, O_SK_DMAX},
        {"settle", 1, 0, O_SK_SETTLE}, {"hold-end", 1, 0, O_SK_HOLD},
        {"stats", 1, 0, O_SK_STATS}, {"seed", 1, 0, O_SK_SEED},
        {0, 0, 0, 0}};
    struct lg_config *cfg = &G.cfg;
    *cfg = (struct lg_config){.host = "127.0.0.1", .port = 5222, .domain = "localhost",
                              .prefix = "u", .password = "benchpass", .resource = "lg",
                              .src_base = "127.0.0.2", .src_count = 4, .tls = LG_TLS_STARTTLS,
                              .sasl = LG_SASL_AUTO, .login_timeout = 30, .max_pending = 200};
    O = (struct opts){.first = 1, .connections = 1000, .rate = 500, .hold = 5, .pairs = 50,
                      .msg_rate = 500, .duration = 10, .warmup = 2, .max_p99_ms = 100,
                      .step_factor = 1.3, .max_rate = 200000, .occupants = 100, .senders = 1,
                      .room = "bench", .messages = 10000, .queries = 200, .query_max = 50,
                      .body_size = 100, .rounds = 3};
    if (argc < 2 || argv[1][0] == '-') {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    O.scenario = argv[1];
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_HOST: cfg->host = optarg; break;
        case O_PORT: cfg->port = atoi(optarg); break;
        case O_DOMAIN: cfg->domain = optarg; break;
        case O_LABEL: O.label = optarg; break;
        case O_PID: cfg->server_pid = atoi(optarg); break;
        case O_PHOST: cfg->peer_host = optarg; break;
        case O_PDOMAIN: cfg->peer_domain = optarg; break;
        case O_PPID: cfg->peer_pid = atoi(optarg); break;
        case O_PREFIX: cfg->prefix = optarg; break;
        case O_FIRST: O.first = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_PASSWORD: cfg->password = optarg; break;
        case O_RESOURCE: cfg->resource = optarg; break;
        case O_TLS:
            cfg->tls = !strcmp(optarg, "none") ? LG_TLS_NONE
                       : !strcmp(optarg, "direct") ? LG_TLS_DIRECT : LG_TLS_STARTTLS;
            break;
        case O_CAFILE: cfg->cafile = optarg; break;
        case O_SASL:
            cfg->sasl = !strcasecmp(optarg, "plain") ? LG_SASL_PLAIN
                        : !strncasecmp(optarg, "scram", 5) ? LG_SASL_SCRAM : LG_SASL_AUTO;
            break;
        case O_SCACHE: cfg->scram_cache = optarg; break;
        case O_ROSTER: cfg->roster = true; break;
        case O_PRESENCE: cfg->presence = true; break;
        case O_TLS_RESUME: cfg->resume = true; break;
        case O_LTO: cfg->login_timeout = atof(optarg); break;
        case O_RATE: O.rate = atof(optarg); break;
        case O_MAXPEND: cfg->max_pending = atoi(optarg); break;
        case O_SRC: cfg->src_base = optarg; break;
        case O_SRCN: cfg->src_count = atoi(optarg); break;
        case O_CONNS: O.connections = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_HOLD: O.hold = atof(optarg); break;
        case O_PAIRS: O.pairs = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_MSGRATE: O.msg_rate = atof(optarg); break;
        case O_DUR: O.duration = atof(optarg); break;
        case O_WARM: O.warmup = atof(optarg); break;
        case O_BODY: O.body_size = atoi(optarg); break;
        case O_FINDMAX: O.find_max = true; break;
        case O_MAXP99: O.max_p99_ms = atof(optarg); break;
        case O_STEP: O.step_factor = atof(optarg); break;
        case O_MAXRATE: O.max_rate = atof(optarg); break;
        case O_OCC: O.occupants = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_SENDERS: O.senders = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_ROOM: O.room = optarg; break;
        case O_MUCDOM: O.muc_domain = optarg; break;
        case O_MSGS: O.messages = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_QUERIES: O.queries = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_QMAX: O.query_max = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_ROUNDS: O.rounds = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_RESUME: cfg->sm = true; break;
        case O_SK_OFF: SO.offline_rate = atof(optarg); break;
        case O_SK_PRES: SO.presence_rate = atof(optarg); break;
        case O_SK_ROST: SO.roster_rate = atof(optarg); break;
        case O_SK_RECON: SO.reconnect_rate = atof(optarg); break;
        case O_SK_FIN: SO.fin_rate = atof(optarg); break;
        case O_SK_RST: SO.rst_rate = atof(optarg); break;
        case O_SK_RES: SO.resume_rate = atof(optarg); break;
        case O_SK_ACK: SO.ack_pct = atof(optarg); break;
        case O_SK_DMIN: SO.down_min = atof(optarg); break;
        case O_SK_DMAX: SO.down_max = atof(optarg); break;
        case O_SK_SETTLE: SO.settle = atof(optarg); break;
        case O_SK_HOLD: SO.hold_end = atof(optarg); break;
        case O_SK_STATS: SO.stats_file = optarg; break;
        case O_SK_SEED: SO.seed = strtoull(optarg, NULL, 10); break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!loopback(cfg->host) || !loopback(cfg->src_base) || cfg->src_count < 1
        || cfg->src_count > 250) {
        fprintf(stderr, "myna-bench: --host and --src must be IPv4 loopback addresses (127.x)\n");
        return 2;
    }
    if (O.step_factor <= 1.0)
        O.step_factor = 1.3;
    if (O.body_size < 0 || O.body_size > 4000)
        O.body_size = 100;
    memset(pad, 'x', sizeof pad);
    /* SSL_write uses write(): a server that dies must not kill the generator. */
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    uint32_t need;
    if (!strcmp(O.scenario, "connections") || !strcmp(O.scenario, "reconnect")
        || !strcmp(O.scenario, "soak"))
        need = O.connections;
    else if (!strcmp(O.scenario, "chat"))
        need = 2 * O.pairs;
    else if (!strcmp(O.scenario, "muc"))
        need = O.occupants;
    else if (!strcmp(O.scenario, "offline") || !strcmp(O.scenario, "mam"))
        need = 2;
    else {
        usage(stderr);
        return 2;
    }
    if (!strcmp(O.scenario, "muc") && (O.senders < 1 || O.senders > O.occupants))
        O.senders = 1;
    if (need == 0 || need + 16 > rl.rlim_cur) {
        fprintf(stderr, "myna-bench: %u connections need %u file descriptors; the limit is %llu "
                        "(run several processes with --first to go further)\n",
                need, need + 16, (unsigned long long)rl.rlim_cur);
        return 2;
    }
    int rc = lg_init(&G, need);
    if (rc < 0) {
        fprintf(stderr, "myna-bench: setup failed (%s)\n", strerror(-rc));
        return 2;
    }
    if (!strcmp(O.scenario, "connections"))
        rc = scen_connections();
    else if (!strcmp(O.scenario, "reconnect"))
        rc = scen_reconnect();
    else if (!strcmp(O.scenario, "chat"))
        rc = scen_chat();
    else if (!strcmp(O.scenario, "muc"))
        rc = scen_muc();
    else if (!strcmp(O.scenario, "mam"))
        rc = scen_mam();
    else if (!strcmp(O.scenario, "soak")) {
        SO.connections = O.connections;
        SO.first = O.first;
        SO.rate = O.rate;
        if (O.duration != 10) /* --duration given (the chat default is 10) */
            SO.duration = O.duration;
        if (O.msg_rate != 500)
            SO.msg_rate = O.msg_rate;
        if (SO.down_max < SO.down_min)
            SO.down_max = SO.down_min;
        rc = lg_soak_run(&G, &SO);
    }
    else
        rc = scen_offline();
    lg_free(&G);
    return rc;
}
