/* server/web/metrics.h — /metrics in the Prometheus text format (version 0.0.4) and
 * /health, served only on HTTP listeners with `metrics = true` (off unless configured; a
 * listener of its own can keep them on a private address). What is counted: sessions by
 * transport, connections, logins and failures, stanzas in and out by kind, storage
 * commits (latency histogram, failures, size), queued bytes, BOSH sessions, and every
 * module counter (myna_metric_add, as `mynactl stats` shows them). */
#ifndef MYNA_METRICS_H
#define MYNA_METRICS_H

struct http_conn;
struct http_request;
struct server;

/* An http_handler for /metrics and /health (ud is the server). */
void metrics_request(struct http_conn *hc, const struct http_request *req, void *ud);
/* One storage commit took `seconds`. */
void metrics_commit_timed(struct server *srv, double seconds);

#endif
