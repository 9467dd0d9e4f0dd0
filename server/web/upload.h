/* server/web/upload.h — the file store behind HTTP upload (XEP-0363 §4-§5): slots signed
 * with a secret kept in the data directory, PUT of exactly the slot's bytes and content
 * type before the slot expires, GET with the stored Content-Type and a
 * Content-Disposition, files under DATA_DIR/upload/OWNER/SLOT/NAME (OWNER a keyed hash of
 * the uploader's bare JID, SLOT random), old files removed after http.upload_expire
 * seconds. The upload module (modules/upload.c) decides who may upload what
 * (sizes, quotas, types) and asks for slots through the module API. */
#ifndef MYNA_UPLOAD_H
#define MYNA_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct http_conn;
struct http_request;
struct http_body_ops;

/* Most slots one owner may hold granted and not yet stored. */
#define UPLOAD_MAX_HOLDS 64

/* Makes a slot: malloc'd PUT and GET URLs under `base` (http.external_url or the first
 * HTTP listener as https://DOMAIN:PORT). Returns 0; -1 when the file name cannot be
 * stored (empty, a path, starts with '.', control characters, over 200 bytes), -2 when
 * the size is over http.upload_max_size, -3 when no HTTP listener serves uploads, -4 when
 * the owner already holds UPLOAD_MAX_HOLDS slots not yet used. The slot's size counts
 * in upload_usage until its file is stored or it expires (memory only: a restart forgets
 * slots not yet used). */
int upload_slot(struct server *srv, const char *domain, const char *owner, const char *name,
                uint64_t size, const char *content_type, unsigned ttl, char **put_url,
                char **get_url);
/* Bytes stored for `owner` (a bare JID), plus the sizes of its slots not yet used and not
 * expired: slots asked for together cannot pass a quota together. */
uint64_t upload_usage(struct server *srv, const char *owner);
/* Frees the table of slots not yet used (at exit). */
void upload_free(struct server *srv);
/* The http_handler of /upload/ (ud is the server): PUT, GET, HEAD, OPTIONS; PUT bodies
 * stream to a temporary file through upload_body_ops (a streaming route, http.h). */
void upload_request(struct http_conn *hc, const struct http_request *req, void *ud);
extern const struct http_body_ops upload_body_ops;
/* Removes files older than http.upload_expire (at most once a minute). */
void upload_sweep(struct server *srv);

#endif
