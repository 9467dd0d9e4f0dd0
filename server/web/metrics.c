/* server/web/metrics.c — see metrics.h. Every value is read when scraped (no sampling
 * thread); the exposition names follow Prometheus conventions (_total for counters,
 * base units: bytes and seconds). /health is 200 while the store takes writes, 503 when
 * it is full or nearly so. */
#include "server/web/metrics.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "myna/store.h"
#include "myna/xml.h"
#include "server/loop/hashmap.h"
#include "server/net/http.h"
#include "server/net/transport.h"
#include "server/server.h"
#include "server/stream/s2s.h"
#include "server/stream/stream.h"

static const double commit_le[STAT_COMMIT_BUCKETS - 1] = {0.0005, 0.001, 0.002, 0.005,
                                                          0.010,  0.025, 0.100};

void metrics_commit_timed(struct server *srv, double seconds)
{
    unsigned i = 0;
    while (i < STAT_COMMIT_BUCKETS - 1 && seconds > commit_le[i])
        i++;
    srv->stats.commit_le[i]++;
    srv->stats.commit_count++;
    srv->stats.commit_seconds += seconds;
}

static void metric(struct myna_buf *b, const char *name, const char *type, const char *help)
{
    myna_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A module counter "module.name": names are the modules' own, so only [a-zA-Z0-9_] pass
 * into the label (others become '_'); the label value is quoted anyway. */
static void module_counter(const char *key, void *value, void *data)
{
    struct myna_buf *b = data;
    char clean[128];
    size_t i = 0;
    for (; key[i] && i < sizeof clean - 1; i++)
        clean[i] = (key[i] == '"' || key[i] == '\\' || key[i] == '\n') ? '_' : key[i];
    clean[i] = '\0';
    char *dot = strchr(clean, '.');
    if (dot)
        *dot = '\0';
    myna_buf_printf(b, "myna_module_counter{module=\"%s\",name=\"%s\"} %lld\n", clean,
                    dot ? dot + 1 : "", *(long long *)value);
}

static void sessions(struct server *srv, struct myna_buf *b)
{
    size_t n[3] = {0}, queued = 0;
    for (struct stream *st = srv->streams; st; st = st->next) {
        queued += stream_queued(st);
        if (!st->tr || strcmp(st->kind->name, "c2s") != 0 || !st->established)
            continue;
        unsigned f = st->tr->ops->framing;
        if (f < 3)
            n[f]++;
    }
    metric(b, "myna_sessions", "gauge", "Bound client sessions by transport.");
    myna_buf_printf(b, "myna_sessions{transport=\"tcp\"} %zu\n", n[FRAMING_TCP]);
    myna_buf_printf(b, "myna_sessions{transport=\"websocket\"} %zu\n", n[FRAMING_WEBSOCKET]);
    myna_buf_printf(b, "myna_sessions{transport=\"bosh\"} %zu\n", n[FRAMING_BOSH]);
    metric(b, "myna_stream_queued_bytes", "gauge",
           "Bytes written to streams and not yet sent to their peers.");
    myna_buf_printf(b, "myna_stream_queued_bytes %zu\n", queued);
}

static void render(struct server *srv, struct myna_buf *b)
{
    const struct server_stats *s = &srv->stats;
    sessions(srv, b);
    metric(b, "myna_connections", "gauge", "Open TCP connections (clients, components, HTTP).");
    myna_buf_printf(b, "myna_connections %zu\n", srv->nconns);
    metric(b, "myna_users_online", "gauge", "Accounts with at least one session.");
    myna_buf_printf(b, "myna_users_online %zu\n", hashmap_count(srv->users));
    metric(b, "myna_bosh_sessions", "gauge", "BOSH sessions (XEP-0124), bound or not.");
    myna_buf_printf(b, "myna_bosh_sessions %zu\n", hashmap_count(srv->bosh_sids));
    size_t s2s_in = 0, s2s_out = 0;
    s2s_count(srv, &s2s_in, &s2s_out); /* as `mynactl stats` shows them */
    metric(b, "myna_s2s_connections", "gauge",
           "Server-to-server connections by direction, authenticated or not.");
    myna_buf_printf(b, "myna_s2s_connections{direction=\"in\"} %zu\n", s2s_in);
    myna_buf_printf(b, "myna_s2s_connections{direction=\"out\"} %zu\n", s2s_out);
    metric(b, "myna_logins_total", "counter", "Successful SASL authentications.");
    myna_buf_printf(b, "myna_logins_total %llu\n", (unsigned long long)s->logins);
    metric(b, "myna_login_failures_total", "counter", "Failed SASL authentications.");
    myna_buf_printf(b, "myna_login_failures_total %llu\n", (unsigned long long)s->login_failures);
    static const char *const kinds[STAT__KINDS] = {"message", "presence", "iq"};
    metric(b, "myna_stanzas_in_total", "counter", "Stanzas received from clients by kind.");
    for (unsigned k = 0; k < STAT__KINDS; k++)
        myna_buf_printf(b, "myna_stanzas_in_total{kind=\"%s\"} %llu\n", kinds[k],
                        (unsigned long long)s->stanzas_in[k]);
    metric(b, "myna_stanzas_out_total", "counter", "Stanzas written to clients by kind.");
    for (unsigned k = 0; k < STAT__KINDS; k++)
        myna_buf_printf(b, "myna_stanzas_out_total{kind=\"%s\"} %llu\n", kinds[k],
                        (unsigned long long)s->stanzas_out[k]);
    metric(b, "myna_store_commit_seconds", "histogram", "Time of each storage commit (sync).");
    uint64_t cum = 0;
    for (unsigned i = 0; i < STAT_COMMIT_BUCKETS - 1; i++) {
        cum += s->commit_le[i];
        myna_buf_printf(b, "myna_store_commit_seconds_bucket{le=\"%g\"} %llu\n", commit_le[i],
                        (unsigned long long)cum);
    }
    myna_buf_printf(b, "myna_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)s->commit_count);
    myna_buf_printf(b, "myna_store_commit_seconds_sum %.6f\n", s->commit_seconds);
    myna_buf_printf(b, "myna_store_commit_seconds_count %llu\n",
                    (unsigned long long)s->commit_count);
    struct myna_store_stats st;
    myna_store_env_stats(srv->store, &st);
    metric(b, "myna_store_commits_total", "counter", "Storage batches committed.");
    myna_buf_printf(b, "myna_store_commits_total %llu\n", (unsigned long long)st.commits);
    metric(b, "myna_store_commit_failures_total", "counter",
           "Storage batches whose commit failed.");
    myna_buf_printf(b, "myna_store_commit_failures_total %llu\n",
                    (unsigned long long)st.commit_failures);
    metric(b, "myna_store_write_failures_total", "counter", "Units of work failed by a write.");
    myna_buf_printf(b, "myna_store_write_failures_total %llu\n",
                    (unsigned long long)st.write_failures);
    metric(b, "myna_store_full_total", "counter", "Writes refused: the database map is full.");
    myna_buf_printf(b, "myna_store_full_total %llu\n", (unsigned long long)st.full);
    metric(b, "myna_store_used_bytes", "gauge", "Database pages in use.");
    myna_buf_printf(b, "myna_store_used_bytes %llu\n", (unsigned long long)st.used_bytes);
    metric(b, "myna_store_map_bytes", "gauge", "Database map size (reserved on disk, at most store_map_mb).");
    myna_buf_printf(b, "myna_store_map_bytes %llu\n", (unsigned long long)st.map_bytes);
    struct mallinfo2 mi = mallinfo2();
    metric(b, "myna_heap_used_bytes", "gauge", "Heap in use (malloc).");
    myna_buf_printf(b, "myna_heap_used_bytes %zu\n", mi.uordblks);
    metric(b, "myna_module_counter", "counter", "Counters of modules (mynactl stats).");
    hashmap_each(srv->metrics, module_counter, b);
}

void metrics_request(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct server *srv = ud;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_respond(hc, 405, "text/plain", "Allow: GET, HEAD\r\n", "405 Method Not Allowed\n",
                     23);
        return;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    if (strcmp(req->path, "/health") == 0) {
        struct myna_store_stats st;
        myna_store_env_stats(srv->store, &st);
        bool ok = !st.careful && !srv->stopping;
        myna_buf_printf(&b, "{\"status\":\"%s\",\"store\":\"%s\",\"connections\":%zu}\n",
                        ok ? "ok" : "degraded", st.careful ? "nearly full" : "ok", srv->nconns);
        http_respond(hc, ok ? 200 : 503, "application/json", "Cache-Control: no-store\r\n",
                     b.data, b.len);
    } else if (strcmp(req->path, "/metrics") == 0) {
        render(srv, &b);
        http_respond(hc, 200, "text/plain; version=0.0.4; charset=utf-8",
                     "Cache-Control: no-store\r\n", b.data, b.len);
    } else {
        http_error(hc, 404);
    }
    myna_buf_free(&b);
}
