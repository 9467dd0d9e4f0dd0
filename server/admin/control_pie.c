/* server/admin/control_pie.c — a control connection in import or export mode: `mynactl import`
 * and `mynactl export` (XEP-0227, server/admin/pie.h) over the framed protocol of
 * server/admin/ctlproto.h, on the running server's control socket or on mynad --batch's stdin.
 *
 * Invariants: the connection never blocks the loop for input (reads are non-blocking and
 * stop while the importer is paused); output is queued and written when the socket takes
 * it, except that an export waits (poll) once more than OUT_HIGH bytes are queued, so its
 * memory stays bounded whatever one user holds. The summary frame is always the last; the
 * connection closes once it is written (after draining the input of a refused import).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/admin/control.h"
#include "server/admin/ctlproto.h"
#include "server/admin/pie.h"
#include "server/base/log.h"
#include "server/loop/loop.h"
#include "server/server.h"

#define IN_CAP (CTL_FRAME_HEAD + CTL_FRAME_MAX)
#define OUT_LOW (256 * 1024)     /* an export produces more only below this */
#define OUT_HIGH (4 * 1024 * 1024)
#define DRAIN_MAX (1u << 20)     /* input read and dropped after a refusal, at most */

struct pie_conn {
    struct server *srv;
    int fd;
    struct pie_import *imp;      /* import mode */
    struct pie_export *exp;      /* export mode */
    unsigned char in[IN_CAP];    /* input not yet handled: at most one frame */
    size_t inlen;
    struct myna_buf out;         /* frames not yet written */
    size_t outoff;
    bool paused;                 /* the importer waits for its resume timer */
    uint64_t timer;
    bool in_eof;                 /* the peer closed its side */
    bool finished;               /* the summary is queued */
    size_t drained;
    bool ok;
    struct pie_conn *next;       /* in srv->pie_conns */
};

static void conn_io(void *data, unsigned events);
static void report_line(void *ud, const char *line);

static void conn_free(struct pie_conn *p)
{
    struct server *srv = p->srv;
    for (struct pie_conn **pp = &srv->pie_conns; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->timer)
        loop_timer_cancel(srv->loop, p->timer);
    loop_unwatch(srv->loop, p->fd);
    close(p->fd);
    pie_import_free(p->imp);
    pie_export_free(p->exp);
    myna_buf_free(&p->out);
    if (srv->batch)
        srv->batch_ok = p->ok;
    free(p);
    control_conn_ended(srv);
}

static void queue_frame(struct pie_conn *p, enum ctl_frame type, const void *data, size_t len)
{
    unsigned char h[CTL_FRAME_HEAD];
    ctl_frame_head(h, type, len);
    myna_buf_append(&p->out, h, sizeof h);
    if (len)
        myna_buf_append(&p->out, data, len);
}

/* Writes what the socket takes now; with `wait`, until at most OUT_LOW is left (export). */
static int flush(struct pie_conn *p, bool wait)
{
    while (p->outoff < p->out.len) {
        ssize_t w = write(p->fd, p->out.data + p->outoff, p->out.len - p->outoff);
        if (w > 0) {
            p->outoff += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            if (!wait || p->out.len - p->outoff <= OUT_LOW)
                break;
            struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
            if (poll(&pfd, 1, 30000) <= 0)
                return -1; /* mynactl stopped reading for 30 s */
            continue;
        }
        return -1;
    }
    if (p->outoff == p->out.len) {
        p->out.len = p->outoff = 0;
    } else if (p->outoff > OUT_LOW) {
        memmove(p->out.data, p->out.data + p->outoff, p->out.len - p->outoff);
        p->out.len -= p->outoff;
        p->outoff = 0;
    }
    return 0;
}

static size_t pending_out(const struct pie_conn *p)
{
    return p->out.len - p->outoff;
}

static void finish(struct pie_conn *p)
{
    if (p->finished)
        return;
    /* The summary goes straight to the socket: what it reports must be on disk first. */
    if (p->imp && myna_store_env_dirty(p->srv->store)) {
        int err = myna_store_env_flush(p->srv->store);
        if (err != 0)
            report_line(p, myna_store_strerror(err));
    }
    struct myna_buf s;
    myna_buf_init(&s);
    myna_buf_appends(&s, "x\n");
    if (p->imp)
        p->ok = pie_import_summary(p->imp, &s);
    else {
        p->ok = true;
        pie_export_summary(p->exp, &s);
        p->ok = strstr(s.data + 2, "FAILED") == NULL;
    }
    s.data[0] = p->ok ? '0' : '1';
    queue_frame(p, CTL_SUMMARY, s.data, s.len);
    myna_buf_free(&s);
    p->finished = true;
    p->inlen = 0;
}

static void update_watch(struct pie_conn *p)
{
    unsigned ev = 0;
    if (!p->paused && !p->in_eof && (p->imp || p->finished))
        ev |= LOOP_READ; /* an export reads nothing; a finished one watches for the close */
    if (pending_out(p) || (p->exp && !p->finished))
        ev |= LOOP_WRITE;
    loop_modify(p->srv->loop, p->fd, ev);
}

/* ---- import ---- */

static void report_line(void *ud, const char *line)
{
    queue_frame(ud, CTL_LINE, line, strlen(line));
}

static void resume_fire(void *data);

/* Handles complete frames until input runs out, the importer pauses, or it is over. */
static void import_process(struct pie_conn *p)
{
    while (!p->paused && !p->finished && p->inlen >= CTL_FRAME_HEAD) {
        size_t len = ctl_frame_len(p->in);
        if (len > CTL_FRAME_MAX) {
            report_line(p, "protocol error: frame too long");
            finish(p);
            break;
        }
        if (p->inlen < CTL_FRAME_HEAD + len)
            break;
        enum xml_read_status st = XML_READ_OK;
        const char *payload = (const char *)p->in + CTL_FRAME_HEAD;
        switch (p->in[0]) {
        case CTL_DOC: {
            char name[1024];
            snprintf(name, sizeof name, "%.*s", (int)(len < 1000 ? len : 1000), payload);
            pie_import_begin(p->imp, name);
            break;
        }
        case CTL_BYTES:
            st = pie_import_feed(p->imp, payload, len);
            break;
        case CTL_DOC_END:
            st = pie_import_end(p->imp);
            break;
        case CTL_DONE:
            finish(p);
            break;
        default:
            report_line(p, "protocol error: unknown frame");
            finish(p);
            break;
        }
        if (!p->finished) {
            memmove(p->in, p->in + CTL_FRAME_HEAD + len, p->inlen - CTL_FRAME_HEAD - len);
            p->inlen -= CTL_FRAME_HEAD + len;
        }
        if (st == XML_READ_ERROR) {
            finish(p);
        } else if (st == XML_READ_PAUSED) {
            p->paused = true;
            p->timer = loop_timer_add(p->srv->loop, 0, resume_fire, p);
        }
    }
    if (!p->finished && !p->paused && p->in_eof) {
        report_line(p, "the input ended before the import was complete");
        finish(p);
    }
}

static void resume_fire(void *data)
{
    struct pie_conn *p = data;
    p->timer = 0;
    p->paused = false;
    enum xml_read_status st = pie_import_resume(p->imp);
    if (st == XML_READ_PAUSED) {
        p->paused = true;
        p->timer = loop_timer_add(p->srv->loop, 0, resume_fire, p);
    } else if (st == XML_READ_ERROR) {
        finish(p);
    }
    conn_io(p, 0);
}

static void read_input(struct pie_conn *p)
{
    for (;;) {
        unsigned char drop[4096];
        bool dropping = p->finished;
        unsigned char *dst = dropping ? drop : p->in + p->inlen;
        size_t room = dropping ? sizeof drop : IN_CAP - p->inlen;
        if (room == 0)
            return;
        ssize_t r = read(p->fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return; /* EAGAIN; a reset shows as EOF next time */
        if (r == 0) {
            p->in_eof = true;
            return;
        }
        if (dropping) {
            /* After a refusal: read and drop, so the peer sees the summary, not a reset. */
            p->drained += (size_t)r;
            if (p->drained > DRAIN_MAX)
                p->in_eof = true;
            continue;
        }
        p->inlen += (size_t)r;
        return;
    }
}

/* ---- export ---- */

static int export_sink(void *ud, const char *data, size_t len)
{
    struct pie_conn *p = ud;
    while (len) {
        size_t n = len < CTL_FRAME_MAX ? len : CTL_FRAME_MAX;
        queue_frame(p, CTL_BYTES, data, n);
        data += n;
        len -= n;
    }
    return pending_out(p) > OUT_HIGH ? flush(p, true) : 0;
}

static void export_produce(struct pie_conn *p)
{
    while (!p->finished && pending_out(p) < OUT_LOW) {
        int rc = pie_export_step(p->exp);
        if (rc <= 0)
            finish(p);
    }
}

/* ---- the connection ---- */

static void conn_io(void *data, unsigned events)
{
    struct pie_conn *p = data;
    if (flush(p, false) < 0) {
        conn_free(p); /* mynactl went away */
        return;
    }
    if ((events & LOOP_READ) || p->finished)
        read_input(p);
    if (p->imp)
        import_process(p);
    else
        export_produce(p);
    if (flush(p, false) < 0) {
        conn_free(p);
        return;
    }
    if (p->finished && !pending_out(p) && (p->in_eof || p->exp)) {
        conn_free(p);
        return;
    }
    update_watch(p);
}

int control_pie_start(struct server *srv, int fd, const char *cmd, const char *rest,
                      size_t restlen)
{
    struct pie_conn *p = xcalloc(1, sizeof *p);
    p->srv = srv;
    p->fd = fd;
    myna_buf_init(&p->out);
    if (strncmp(cmd, "import", 6) == 0) {
        bool dry = strstr(cmd + 6, "dry-run") != NULL;
        p->imp = pie_import_new(srv, dry, report_line, p);
        log_info("control", "import%s started", dry ? " (dry run)" : "");
    } else {
        /* "export" or "export HOST HOST ...". */
        char *copy = xstrdup(cmd + 6), *save = NULL, **hosts = NULL;
        size_t n = 0;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            hosts = xrealloc(hosts, (n + 2) * sizeof *hosts);
            hosts[n++] = t;
            hosts[n] = NULL;
        }
        p->exp = pie_export_new(srv, hosts, export_sink, p);
        free(hosts);
        free(copy);
        log_info("control", "export started");
    }
    if (restlen > IN_CAP)
        restlen = IN_CAP;
    memcpy(p->in, rest, restlen);
    p->inlen = restlen;
    p->next = srv->pie_conns;
    srv->pie_conns = p;
    if (loop_watch(srv->loop, fd, LOOP_READ | LOOP_WRITE, conn_io, p) < 0) {
        conn_free(p);
        return -1;
    }
    conn_io(p, 0);
    return 0;
}

void control_pie_close_all(struct server *srv)
{
    while (srv->pie_conns)
        conn_free(srv->pie_conns);
}
