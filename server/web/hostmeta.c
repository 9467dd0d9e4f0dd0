/* server/web/hostmeta.c — see hostmeta.h. Both documents list the same two links
 * (XEP-0156 §3.3: urn:xmpp:alt-connections:xbosh and :websocket); any origin may read
 * them (§3.2.1 recommends CORS), GET and HEAD only. */
#include "server/web/hostmeta.h"

#include <stdio.h>
#include <string.h>

#include "myna/xml.h"
#include "server/base/config.h"
#include "server/net/http.h"
#include "server/server.h"

/* A Host header as a URL authority: letters, digits and . - : [ ] only. */
static bool host_ok(const char *h)
{
    if (!h || !*h || strlen(h) > 255)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return false;
    return true;
}

int web_base_url(const struct server *srv, struct http_conn *hc, const struct http_request *req,
                 char *buf, size_t len)
{
    if (srv->cfg.http.external_url) {
        snprintf(buf, len, "%s", srv->cfg.http.external_url);
        return 0;
    }
    const char *host = http_header(hc, "Host");
    if (!host_ok(host))
        return -1;
    snprintf(buf, len, "%s://%s", req->secure ? "https" : "http", host);
    return 0;
}

void hostmeta_request(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct server *srv = ud;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_respond(hc, 405, "text/plain", "Allow: GET, HEAD\r\n", "405 Method Not Allowed\n",
                     23);
        return;
    }
    bool json = strcmp(req->path, "/.well-known/host-meta.json") == 0;
    if (!json && strcmp(req->path, "/.well-known/host-meta") != 0) {
        http_error(hc, 404);
        return;
    }
    char base[300];
    if (web_base_url(srv, hc, req, base, sizeof base) < 0) {
        http_error(hc, 400);
        return;
    }
    /* ws:// and wss:// name the same place as http:// and https:// (RFC 6455 §3). */
    const char *rest = strstr(base, "://") + 3;
    bool tls = strncmp(base, "https", 5) == 0;
    struct myna_buf b;
    myna_buf_init(&b);
    if (json) {
        myna_buf_printf(&b,
                        "{\"links\":[{\"rel\":\"urn:xmpp:alt-connections:xbosh\",\"href\":"
                        "\"%s/http-bind\"},{\"rel\":\"urn:xmpp:alt-connections:websocket\","
                        "\"href\":\"%s://%s/xmpp-websocket\"}]}\n",
                        base, tls ? "wss" : "ws", rest);
    } else {
        myna_buf_appends(&b, "<?xml version='1.0' encoding='utf-8'?>\n"
                             "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n");
        myna_buf_appends(&b, "  <Link rel='urn:xmpp:alt-connections:xbosh' href='");
        myna_buf_append_escaped(&b, base, strlen(base));
        myna_buf_appends(&b, "/http-bind'/>\n  <Link rel='urn:xmpp:alt-connections:websocket' "
                             "href='");
        myna_buf_appends(&b, tls ? "wss://" : "ws://");
        myna_buf_append_escaped(&b, rest, strlen(rest));
        myna_buf_appends(&b, "/xmpp-websocket'/>\n</XRD>\n");
    }
    http_respond(hc, 200, json ? "application/json" : "application/xrd+xml; charset=utf-8",
                 "Access-Control-Allow-Origin: *\r\n", b.data, b.len);
    myna_buf_free(&b);
}
