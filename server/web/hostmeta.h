/* server/web/hostmeta.h — XEP-0156 §3: /.well-known/host-meta (XRD) and host-meta.json
 * naming the BOSH and WebSocket endpoints, as clients reach them (http.external_url, or
 * the request's own scheme and Host). */
#ifndef MYNA_HOSTMETA_H
#define MYNA_HOSTMETA_H

#include <stddef.h>

struct http_conn;
struct http_request;
struct server;

/* An http_handler (ud is the server). */
void hostmeta_request(struct http_conn *hc, const struct http_request *req, void *ud);
/* The base URL ("https://host:port" or external_url) clients use for this request, into
 * buf; -1 when the request's Host cannot be used. */
int web_base_url(const struct server *srv, struct http_conn *hc, const struct http_request *req,
                 char *buf, size_t len);

#endif
