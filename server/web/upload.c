/* server/web/upload.c — see upload.h.
 * PUT /upload/OWNER/SLOT/NAME?v=EXPIRY-SIZE-SIG, SIG = hex HMAC-SHA256(secret,
 * "OWNER/SLOT/NAME SIZE TYPE EXPIRY"): a wrong signature, another Content-Type than the
 * slot's (XEP-0363 §5) or a past EXPIRY is 403, a body of another size 400, a slot
 * already used 409, success 201. GET/HEAD of a stored file: 200 with
 * its type, `inline` for images, audio and video and `attachment` otherwise, nosniff and
 * a CSP that runs nothing. Any other path (traversal included: only [0-9a-f]{32} for
 * OWNER and SLOT, NAME without '/', NUL or a leading '.') is 404.
 * A PUT is judged on its headers, before its body is read: signature, expiry, type, and a
 * Content-Length equal to the signed size (411 without one). The body then streams to
 * DATA_DIR/upload/.tmp/SLOT (never held in memory), which is fsynced and renamed into
 * place when complete, and removed when the request ends any other way; so a GET never
 * sees half a file. The fsyncs and the rename run on a worker thread of their own (a large
 * file's fsync can take seconds): the loop answers 201 when they are done. GET sends the
 * file a window at a time as the client reads it. */
#include "server/web/upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "myna/xml.h"
#include "server/base/config.h"
#include "server/base/log.h"
#include "server/loop/hashmap.h"
#include "server/loop/jobs.h"
#include "server/loop/loop.h"
#include "server/net/http.h"
#include "server/server.h"

#define SECRET_LEN 32
#define NAME_MAX_BYTES 200

/* The slots one owner was granted and has not used yet (srv->upload_holds, keyed by the
 * owner's hash; made on the first grant, freed when the last goes). */
struct upload_hold {
    char slot[33];
    uint64_t size;
    time_t expiry;
};
struct upload_holds {
    unsigned n;
    struct upload_hold h[UPLOAD_MAX_HOLDS];
};

static const unsigned char *secret(struct server *srv)
{
    if (srv->upload_secret_ok)
        return srv->upload_secret;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/upload", srv->cfg.data_dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/.secret", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        srv->upload_secret_ok = read(fd, srv->upload_secret, SECRET_LEN) == SECRET_LEN;
        close(fd);
    }
    if (!srv->upload_secret_ok) {
        RAND_bytes(srv->upload_secret, SECRET_LEN);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            srv->upload_secret_ok = write(fd, srv->upload_secret, SECRET_LEN) == SECRET_LEN &&
                                    fsync(fd) == 0;
            close(fd);
        }
        if (!srv->upload_secret_ok)
            log_error("upload", "cannot keep the upload secret in %s", path);
    }
    return srv->upload_secret;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void owner_hash(struct server *srv, const char *owner, char out[33])
{
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret(srv), SECRET_LEN, (const unsigned char *)owner, strlen(owner),
         mac, &len);
    hex(mac, 16, out);
}

static void sign(struct server *srv, const char *path, uint64_t size, const char *type,
                 uint64_t expiry, char out[65])
{
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_printf(&b, "%s %llu %s %llu", path, (unsigned long long)size, type,
                    (unsigned long long)expiry);
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret(srv), SECRET_LEN, (const unsigned char *)b.data, b.len, mac,
         &len);
    hex(mac, 32, out);
    myna_buf_free(&b);
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_BYTES || name[0] == '.')
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return false;
    return true;
}

static void url_encode(struct myna_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            myna_buf_append(b, p, 1);
        else
            myna_buf_printf(b, "%%%02X", *p);
    }
}

static int base_url(struct server *srv, const char *domain, char *buf, size_t len)
{
    if (srv->cfg.http.external_url) {
        snprintf(buf, len, "%s", srv->cfg.http.external_url);
        return 0;
    }
    for (size_t i = 0; i < srv->cfg.nlistens; i++) {
        const struct config_listen *l = &srv->cfg.listens[i];
        if (l->type != LISTEN_HTTP)
            continue;
        snprintf(buf, len, "%s://%s:%d", l->tls == TLS_DIRECT ? "https" : "http", domain,
                 l->port);
        return 0;
    }
    return -1;
}

/* ---- slots granted, not yet used ---- */

static void holds_prune(struct upload_holds *hs, time_t now)
{
    unsigned k = 0;
    for (unsigned i = 0; i < hs->n; i++)
        if (hs->h[i].expiry >= now)
            hs->h[k++] = hs->h[i];
    hs->n = k;
}

/* The owner's holds, pruned; NULL when none (and the entry gone). */
static struct upload_holds *holds_of(struct server *srv, const char *oh)
{
    struct upload_holds *hs = srv->upload_holds ? hashmap_get(srv->upload_holds, oh) : NULL;
    if (hs) {
        holds_prune(hs, time(NULL));
        if (!hs->n) {
            free(hashmap_del(srv->upload_holds, oh));
            hs = NULL;
        }
    }
    return hs;
}

static uint64_t holds_bytes(struct server *srv, const char *oh)
{
    struct upload_holds *hs = holds_of(srv, oh);
    uint64_t total = 0;
    for (unsigned i = 0; hs && i < hs->n; i++)
        total += hs->h[i].size;
    return total;
}

/* The slot's file is stored: its size now counts from the disk. */
static void hold_release(struct server *srv, const char *oh, const char *slot)
{
    struct upload_holds *hs = holds_of(srv, oh);
    for (unsigned i = 0; hs && i < hs->n; i++)
        if (strcmp(hs->h[i].slot, slot) == 0) {
            hs->h[i] = hs->h[--hs->n];
            break;
        }
    holds_of(srv, oh); /* drops the entry when that was the last */
}

static void holds_expired(const char *key, void *value, void *data)
{
    struct upload_holds *hs = value;
    holds_prune(hs, time(NULL));
    if (!hs->n) {
        const char **k = data;
        for (int i = 0; i < 16; i++)
            if (!k[i]) {
                k[i] = key;
                break;
            }
    }
}

/* Drops owners whose slots all expired (up to 16 a sweep; the rest go when looked up). */
static void holds_sweep(struct server *srv)
{
    if (!srv->upload_holds)
        return;
    const char *keys[17] = {0};
    hashmap_each(srv->upload_holds, holds_expired, keys);
    char copy[16][33];
    int n = 0;
    for (; n < 16 && keys[n]; n++)
        snprintf(copy[n], sizeof copy[n], "%s", keys[n]);
    for (int i = 0; i < n; i++)
        free(hashmap_del(srv->upload_holds, copy[i]));
}

static void hold_free(const char *key, void *value, void *data)
{
    (void)key;
    (void)data;
    free(value);
}

int upload_slot(struct server *srv, const char *domain, const char *owner, const char *name,
                uint64_t size, const char *content_type, unsigned ttl, char **put_url,
                char **get_url)
{
    char base[1024];
    if (!name_ok(name))
        return -1;
    if (size > srv->cfg.http.upload_max_size)
        return -2;
    if (base_url(srv, domain, base, sizeof base) < 0)
        return -3;
    char oh[33], slot[33], sig[65];
    unsigned char rnd[16];
    RAND_bytes(rnd, sizeof rnd);
    hex(rnd, sizeof rnd, slot);
    owner_hash(srv, owner, oh);
    uint64_t expiry = (uint64_t)time(NULL) + ttl;
    struct upload_holds *hs = holds_of(srv, oh);
    if (hs && hs->n == UPLOAD_MAX_HOLDS)
        return -4;
    if (!hs) {
        if (!srv->upload_holds)
            srv->upload_holds = hashmap_new();
        hs = xcalloc(1, sizeof *hs);
        hashmap_put(srv->upload_holds, oh, hs);
    }
    struct upload_hold *h = &hs->h[hs->n++];
    memcpy(h->slot, slot, sizeof h->slot);
    h->size = size;
    h->expiry = (time_t)expiry;
    struct myna_buf path;
    myna_buf_init(&path);
    myna_buf_printf(&path, "%s/%s/%s", oh, slot, name);
    sign(srv, path.data, size, content_type, expiry, sig);
    struct myna_buf u;
    myna_buf_init(&u);
    myna_buf_printf(&u, "%s/upload/%s/%s/", base, oh, slot);
    url_encode(&u, name);
    *get_url = strndup(u.data, u.len);
    myna_buf_printf(&u, "?v=%llu-%llu-%s", (unsigned long long)expiry,
                    (unsigned long long)size, sig);
    *put_url = strndup(u.data, u.len);
    myna_buf_free(&u);
    myna_buf_free(&path);
    return 0;
}

/* ---- the files ---- */

/* DATA_DIR/upload/OWNER[/SLOT[/NAME]]; false when it does not fit. */
static bool file_path(struct server *srv, const char *owner, const char *slot, const char *name,
                      char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/upload/%s%s%s%s%s", srv->cfg.data_dir, owner,
                     slot ? "/" : "", slot ? slot : "", name ? "/" : "", name ? name : "");
    return n > 0 && (size_t)n < len;
}


static uint64_t dir_bytes(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    char p[4600];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct stat sb;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p || stat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth > 0)
            total += dir_bytes(p, depth - 1);
        else if (S_ISREG(sb.st_mode))
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return total;
}

uint64_t upload_usage(struct server *srv, const char *owner)
{
    char oh[33], dir[4200];
    owner_hash(srv, owner, oh);
    uint64_t held = holds_bytes(srv, oh);
    if (!file_path(srv, oh, NULL, NULL, dir, sizeof dir))
        return held;
    return dir_bytes(dir, 1) + held;
}

static bool is_hex32(const char *s, size_t n)
{
    if (n != 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                 : -1;
}

/* Splits "/upload/OWNER/SLOT/NAME" (NAME percent-decoded into name). */
static bool parse_path(const char *path, char owner[33], char slot[33], char *name,
                       size_t namelen)
{
    if (strncmp(path, "/upload/", 8) != 0)
        return false;
    const char *o = path + 8, *s = strchr(o, '/');
    if (!s || !is_hex32(o, (size_t)(s - o)))
        return false;
    const char *n = strchr(s + 1, '/');
    if (!n || !is_hex32(s + 1, (size_t)(n - s - 1)))
        return false;
    memcpy(owner, o, 32);
    owner[32] = '\0';
    memcpy(slot, s + 1, 32);
    slot[32] = '\0';
    size_t k = 0;
    for (const char *p = n + 1; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = unhex(p[1]), l = h >= 0 ? unhex(p[2]) : -1;
            if (l < 0)
                return false;
            c = h * 16 + l;
            p += 2;
        }
        if (c == 0 || k + 1 >= namelen)
            return false;
        name[k++] = (char)c;
    }
    name[k] = '\0';
    return name_ok(name);
}

static const char *cors_headers(void)
{
    return "Access-Control-Allow-Origin: *\r\n";
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One PUT being received (the sink of the /upload/ route), then made durable. */
struct upload_put {
    struct server *srv;
    int fd;
    uint64_t size, got;
    char owner[33], slot[33];
    char name[NAME_MAX_BYTES + 1];
    char type[128];
    char tmp[4300];
    /* Once the body is complete, while the worker makes it durable (srv->upload_syncing): */
    struct upload_put *next;
    struct http_conn *hc;  /* NULL once the connection went away */
    uint64_t request_id;
    char final[4700], tpath[4700], dir[4600], peer[64];
    bool stored;           /* set by the worker; read on the loop after it posted */
    int err;
};

static void tmp_path(struct server *srv, const char *slot, char *buf, size_t len)
{
    snprintf(buf, len, "%s/upload/.tmp%s%s", srv->cfg.data_dir, slot ? "/" : "",
             slot ? slot : "");
}

static void put_free(struct upload_put *up, bool keep_slot)
{
    char dir[4600];
    if (up->fd >= 0)
        close(up->fd);
    unlink(up->tmp);
    if (!keep_slot && file_path(up->srv, up->owner, up->slot, NULL, dir, sizeof dir))
        rmdir(dir); /* the slot may be used again */
    free(up);
}

/* The headers of a PUT: 0 with *sink set, or the status that refuses its body. */
static int put_begin(struct server *srv, const struct http_request *req, const char *type,
                     const char *owner, const char *slot, const char *name, void **sink)
{
    unsigned long long expiry = 0, size = 0;
    char sig[65] = "", want[65], path[4600];
    int used = 0;
    if (strncmp(req->query, "v=", 2) != 0 ||
        sscanf(req->query + 2, "%llu-%llu-%64[0-9a-f]%n", &expiry, &size, sig, &used) != 3 ||
        req->query[2 + used] != '\0')
        return 403;
    if (!type || strlen(type) >= sizeof ((struct upload_put *)0)->type)
        type = "";
    snprintf(path, sizeof path, "%s/%s/%s", owner, slot, name);
    /* The type is signed too: a PUT with another type than the slot's fails here. */
    sign(srv, path, size, type, expiry, want);
    if (CRYPTO_memcmp(sig, want, 64) != 0 || (uint64_t)time(NULL) > expiry)
        return 403;
    if (req->content_length == UINT64_MAX)
        return 411; /* the signed size is checked before the body is accepted */
    if (req->content_length != size)
        return 400;
    char dir[4600];
    if (!file_path(srv, owner, NULL, NULL, dir, sizeof dir))
        return 500;
    mkdir(dir, 0700);
    file_path(srv, owner, slot, NULL, dir, sizeof dir);
    if (mkdir(dir, 0700) != 0)
        return errno == EEXIST ? 409 : 500;
    struct upload_put *up = xcalloc(1, sizeof *up);
    up->srv = srv;
    up->size = size;
    snprintf(up->owner, sizeof up->owner, "%s", owner);
    snprintf(up->slot, sizeof up->slot, "%s", slot);
    snprintf(up->name, sizeof up->name, "%s", name);
    snprintf(up->type, sizeof up->type, "%s", type);
    tmp_path(srv, NULL, up->tmp, sizeof up->tmp);
    mkdir(up->tmp, 0700);
    tmp_path(srv, slot, up->tmp, sizeof up->tmp);
    up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (up->fd < 0) {
        log_warn("upload", "cannot create %s: %s", up->tmp, strerror(errno));
        put_free(up, false);
        return 500;
    }
    *sink = up;
    return 0;
}

static int put_data(void *sink, const char *buf, size_t len)
{
    struct upload_put *up = sink;
    if (up->got + len > up->size)
        return 400;
    if (!write_all(up->fd, buf, len)) {
        log_warn("upload", "cannot write %s: %s", up->tmp, strerror(errno));
        return 500;
    }
    up->got += len;
    return 0;
}

static void put_abort(void *sink)
{
    struct upload_put *up = sink;
    log_info("upload", "PUT of %s/%s ended after %llu of %llu bytes", up->slot, up->name,
             (unsigned long long)up->got, (unsigned long long)up->size);
    put_free(up, false);
}

/* Worker thread: the file, its type and the rename durable, in that order (no protocol
 * state, no logging here). */
static void put_sync(void *data)
{
    struct upload_put *up = data;
    bool ok = fsync(up->fd) == 0;
    ok = close(up->fd) == 0 && ok;
    up->fd = -1;
    int tfd = ok ? open(up->tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    ok = ok && tfd >= 0 && write_all(tfd, up->type, strlen(up->type)) && fsync(tfd) == 0;
    if (tfd >= 0)
        close(tfd);
    ok = ok && rename(up->tmp, up->final) == 0;
    up->err = ok ? 0 : errno;
    up->stored = ok;
    /* The rename itself, then the slot's entry in the owner's directory (made by the PUT). */
    for (int level = 0; ok && level < 2; level++) {
        char *slash = level ? strrchr(up->dir, '/') : NULL;
        if (slash)
            *slash = '\0';
        int dfd = open(up->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        if (slash)
            *slash = '/';
    }
}

static void syncing_unlink(struct upload_put *up)
{
    for (struct upload_put **pp = &up->srv->upload_syncing; *pp; pp = &(*pp)->next)
        if (*pp == up) {
            *pp = up->next;
            break;
        }
}

/* Loop: answer the PUT (if its connection is still there) and let the slot go or stay. */
static void put_synced(void *data)
{
    struct upload_put *up = data;
    struct server *srv = up->srv;
    struct http_conn *hc = up->hc;
    syncing_unlink(up);
    if (hc)
        http_on_gone(hc, NULL, NULL);
    bool answer = hc && http_waiting(hc, up->request_id);
    if (!up->stored) {
        log_warn("upload", "cannot store %s/%s: %s", up->slot, up->name, strerror(up->err));
        unlink(up->tpath);
        put_free(up, false);
        if (answer)
            http_error(hc, 500);
        return;
    }
    log_info("upload", "peer=%s stored %s/%s (%llu bytes)%s", up->peer, up->slot, up->name,
             (unsigned long long)up->size, hc ? "" : "; the uploader had gone");
    hold_release(srv, up->owner, up->slot);
    put_free(up, true);
    if (answer)
        http_respond(hc, 201, "text/plain", cors_headers(), "201 Created\n", 12);
}

static void put_gone(void *data)
{
    ((struct upload_put *)data)->hc = NULL;
}

/* The whole body is in the temporary file: durable first (on the worker), then visible. */
static void put_complete(struct http_conn *hc, const struct http_request *req,
                         struct upload_put *up)
{
    struct server *srv = up->srv;
    if (up->got != up->size || !file_path(srv, up->owner, up->slot, up->name, up->final,
                                          sizeof up->final) ||
        !file_path(srv, up->owner, up->slot, ".type", up->tpath, sizeof up->tpath) ||
        !file_path(srv, up->owner, up->slot, NULL, up->dir, sizeof up->dir)) {
        put_free(up, false);
        http_error(hc, 400);
        return;
    }
    snprintf(up->peer, sizeof up->peer, "%s", req->peer);
    up->hc = hc;
    up->request_id = http_request_id(hc);
    http_on_gone(hc, put_gone, up);
    up->next = srv->upload_syncing;
    srv->upload_syncing = up;
    if (!srv->upload_jobs)
        srv->upload_jobs = jobs_new(srv->loop, 1);
    jobs_submit(srv->upload_jobs, put_sync, put_synced, up);
}

static bool inline_type(const char *t)
{
    return strncmp(t, "image/", 6) == 0 || strncmp(t, "audio/", 6) == 0 ||
           strncmp(t, "video/", 6) == 0;
}

static void get(struct server *srv, struct http_conn *hc, const char *owner, const char *slot,
                const char *name)
{
    char path[4700], tpath[4700], type[128] = "application/octet-stream";
    int fd = file_path(srv, owner, slot, name, path, sizeof path) &&
                     file_path(srv, owner, slot, ".type", tpath, sizeof tpath)
                 ? open(path, O_RDONLY | O_CLOEXEC)
                 : -1;
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_error(hc, 404);
        return;
    }
    int tfd = open(tpath, O_RDONLY | O_CLOEXEC);
    if (tfd >= 0) {
        ssize_t n = read(tfd, type, sizeof type - 1);
        type[n > 0 ? n : 0] = '\0';
        close(tfd);
        if (n <= 0 || strpbrk(type, "\r\n"))
            snprintf(type, sizeof type, "application/octet-stream");
    }
    struct myna_buf h;
    myna_buf_init(&h);
    /* RFC 6266 with the name percent-encoded (RFC 8187), so no byte of it can end the
     * header; the plain filename= is the ASCII-safe fallback. */
    myna_buf_printf(&h, "Content-Disposition: %s; filename*=UTF-8''",
                    inline_type(type) ? "inline" : "attachment");
    url_encode(&h, name);
    myna_buf_appends(&h, "\r\nX-Content-Type-Options: nosniff\r\n"
                         "Content-Security-Policy: default-src 'none'; sandbox\r\n"
                         "Cache-Control: public, max-age=31536000, immutable\r\n");
    myna_buf_appends(&h, cors_headers());
    http_respond_file(hc, 200, type, h.data, fd, (uint64_t)sb.st_size); /* takes fd */
    myna_buf_free(&h);
}

static int upload_begin(struct http_conn *hc, const struct http_request *req, void *ud, void **sink)
{
    char owner[33], slot[33], name[NAME_MAX_BYTES + 1];
    if (strcmp(req->method, "PUT") != 0)
        return 0; /* answered by upload_request once complete */
    if (!parse_path(req->path, owner, slot, name, sizeof name))
        return 404;
    return put_begin(ud, req, http_header(hc, "Content-Type"), owner, slot, name, sink);
}

const struct http_body_ops upload_body_ops = {
    .begin = upload_begin,
    .data = put_data,
    .abort = put_abort,
};

void upload_request(struct http_conn *hc, const struct http_request *req, void *ud)
{
    struct server *srv = ud;
    if (req->sink) {
        put_complete(hc, req, req->sink);
        return;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        http_respond(hc, 200, "text/plain",
                     "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, HEAD, "
                     "PUT, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type\r\n"
                     "Access-Control-Max-Age: 86400\r\n",
                     "", 0);
        return;
    }
    char owner[33], slot[33], name[NAME_MAX_BYTES + 1];
    if (!parse_path(req->path, owner, slot, name, sizeof name)) {
        http_error(hc, 404);
        return;
    }
    if (strcmp(req->method, "PUT") == 0)
        http_error(hc, 500); /* upload_begin took it or refused it */
    else if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        get(srv, hc, owner, slot, name);
    else
        http_respond(hc, 405, "text/plain", "Allow: GET, HEAD, PUT, OPTIONS\r\n",
                     "405 Method Not Allowed\n", 23);
}

/* ---- expiry ---- */

static void remove_slot(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4700];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Temporary files no PUT writes to any more (left by a crash: a live PUT that stalls is
 * refused within seconds and removes its own). */
static void sweep_tmp(struct server *srv)
{
    char dir[4300], p[4600];
    tmp_path(srv, NULL, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t cutoff = time(NULL) - 600;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (is_hex32(e->d_name, strlen(e->d_name)) &&
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p &&
            stat(p, &sb) == 0 && sb.st_mtime < cutoff)
            unlink(p);
    }
    closedir(d);
}

void upload_sweep(struct server *srv)
{
    uint64_t expire = srv->cfg.http.upload_expire;
    uint64_t now = loop_now(srv->loop);
    uint64_t every = expire && expire * 1000 / 2 < 60000 ? expire * 1000 / 2 : 60000;
    if (srv->upload_swept && now - srv->upload_swept < every)
        return;
    srv->upload_swept = now ? now : 1;
    sweep_tmp(srv);
    holds_sweep(srv);
    if (!expire)
        return;
    char top[4200], odir[4400], sdir[4500];
    snprintf(top, sizeof top, "%s/upload", srv->cfg.data_dir);
    DIR *d = opendir(top);
    if (!d)
        return;
    time_t cutoff = time(NULL) - (time_t)expire;
    struct dirent *o;
    while ((o = readdir(d))) {
        if (!is_hex32(o->d_name, strlen(o->d_name)))
            continue;
        if (snprintf(odir, sizeof odir, "%s/%s", top, o->d_name) >= (int)sizeof odir)
            continue;
        DIR *od = opendir(odir);
        if (!od)
            continue;
        struct dirent *s;
        while ((s = readdir(od))) {
            struct stat sb;
            int n = snprintf(sdir, sizeof sdir, "%s/%s", odir, s->d_name);
            if (n < (int)sizeof sdir && is_hex32(s->d_name, strlen(s->d_name)) &&
                stat(sdir, &sb) == 0 &&
                sb.st_mtime < cutoff) {
                remove_slot(sdir);
                log_info("upload", "expired %s/%s", o->d_name, s->d_name);
            }
        }
        closedir(od);
        rmdir(odir); /* only when empty */
    }
    closedir(d);
}

void upload_free(struct server *srv)
{
    /* Exit: the worker finishes the file it is on; PUTs it had not started are dropped
     * (their temporary files go, their slots stay free), as a PUT cut short would be. */
    jobs_free(srv->upload_jobs);
    srv->upload_jobs = NULL;
    while (srv->upload_syncing) {
        struct upload_put *up = srv->upload_syncing;
        srv->upload_syncing = up->next;
        if (!up->stored)
            unlink(up->tpath);
        put_free(up, up->stored);
    }
    if (!srv->upload_holds)
        return;
    hashmap_each(srv->upload_holds, hold_free, NULL);
    hashmap_free(srv->upload_holds);
    srv->upload_holds = NULL;
}
