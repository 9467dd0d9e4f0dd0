/* tests/unit/test_sm.c — XEP-0198 counters and resumption in server/stream/sm.c (included,
 * so a test can start the counters just below 2^32: no client can send 4 billion stanzas)
 * on fake client streams: <a/> acknowledges across the wrap (§4: h is taken modulo 2^32),
 * an ack past what was sent is handled-count-too-high, <r/> is answered with the wrapped
 * count, and a session held across the wrap resumes on a new stream with exactly the
 * stanzas its h did not cover, in order, with <resumed/> carrying our wrapped h. The
 * router, sessions and c2s are stubs: the test sees what sm.c asks of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "myna/store.h"
#include "server/loop/loop.h"
#include "server/modhost/host.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"
#include "server/route/router.h"
#include "server/route/session.h"
#include "server/route/stanza.h"
#include "server/server.h"
#include "server/stream/c2s.h"
#include "server/stream/stream.h"

/* ---- stubs for what sm.c uses of the client stream, sessions and routing ---- */

struct c2s {
    struct stream st; /* first, as in c2s.c */
    struct myna_session *session;
    const char *user;
    int closed;       /* c2s_close calls */
};

struct stream *c2s_stream(struct c2s *c) { return &c->st; }
struct myna_session *c2s_session(const struct c2s *c) { return c->session; }
const char *c2s_user(const struct c2s *c) { return c->user; }
void c2s_attach_session(struct c2s *c, struct myna_session *s) { c->session = s; }
void c2s_release(struct c2s *c) { c->session = NULL; }
void c2s_close(struct c2s *c, const char *condition, const char *text)
{
    (void)condition, (void)text;
    c->closed++;
}

static int events[MYNA_EVENT__COUNT];
void events_emit(struct host *h, const struct myna_event *ev)
{
    (void)h;
    events[ev->type]++;
}

static int sessions_freed, routed;
void session_free(struct myna_session *s)
{
    (void)s;
    sessions_freed++;
}
void router_route(struct server *srv, struct stanza_ctx *st)
{
    (void)srv, (void)st;
    routed++;
}
int stanza_init(struct stanza_ctx *ctx, struct server *srv, struct myna_xml *el,
                const struct myna_jid *from, struct myna_session *origin, enum myna_error *err)
{
    (void)ctx, (void)srv, (void)el, (void)from, (void)origin, (void)err;
    return -1;
}
void myna_reply_error(struct myna_stanza *st, enum myna_error e, const char *text)
{
    (void)st, (void)e, (void)text;
}

#include "server/stream/sm.c"

/* ---- fake transports ---- */

struct fake {
    struct transport tr;
    struct myna_buf out;
};

static void f_write(struct transport *t, const void *data, size_t len)
{
    myna_buf_append(&((struct fake *)t)->out, data, len);
}
static void f_write_buf(struct transport *t, struct wbuf *b) { f_write(t, b->data, b->len); }
static void f_close(struct transport *t) { (void)t; }
static void f_abort(struct transport *t, const char *why) { (void)t, (void)why; }
static uint64_t f_id(const struct transport *t) { (void)t; return 1; }
static const char *f_peer(const struct transport *t) { (void)t; return "192.0.2.1:5555"; }
static size_t f_queued(const struct transport *t) { return ((const struct fake *)t)->out.len; }
static const struct transport_ops fake_ops = {
    .write = f_write, .write_buf = f_write_buf, .close = f_close, .abort = f_abort,
    .id = f_id, .peer = f_peer, .queued = f_queued,
};

static void k_free(struct stream *st) { (void)st; }
static void k_ended(struct stream *st) { (void)st; }
static const struct stream_kind kind = {
    .name = "c2s", .ns = MYNA_NS_CLIENT, .rfc6120 = true, .ended = k_ended, .free = k_free,
};

static struct server srv;
static struct c2s c1, c2;
static struct fake f1, f2;
static struct myna_session session;
static struct stream_limits lim = {.max_stanza_bytes = 65536, .max_depth = 16,
                                   .max_attrs = 16};

static void client(struct c2s *c, struct fake *f)
{
    memset(c, 0, sizeof *c);
    memset(f, 0, sizeof *f);
    f->tr.ops = &fake_ops;
    myna_buf_init(&f->out);
    myna_buf_appends(&f->out, ""); /* never NULL for strstr */
    stream_attach(&c->st, &srv, &kind, &lim, &f->tr, STREAM_TLS_NONE);
    stream_set_domain(&c->st, "example.org");
    c->user = "romeo";
}

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    srv.loop = loop_new();
    srv.cfg.sm_resume_timeout = 300;
    srv.cfg.sm_max_unacked = 1000;
    srv.cfg.sm_max_unacked_bytes = 1 << 20;
    memset(events, 0, sizeof events);
    sessions_freed = routed = 0;
    memset(&session, 0, sizeof session);
    session.id = 42;
    session.srv = &srv;
    session.jid = (struct myna_jid){.node = "romeo", .domain = "example.org",
                                    .resource = "phone", .bare = "romeo@example.org",
                                    .full = "romeo@example.org/phone"};
    client(&c1, &f1);
    c1.session = &session;
    client(&c2, &f2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stream_transport_gone(&c1.st, "test over");
    stream_transport_gone(&c2.st, "test over");
    sm_server_free(&srv);
    loop_free(srv.loop);
    myna_buf_free(&f1.out);
    myna_buf_free(&f2.out);
    return 0;
}

/* Hands `xml` (one element in urn:xmpp:sm:3) to sm_element on client c. */
static void nonza(struct sm **smp, struct c2s *c, const char *xml)
{
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *el = myna_xml_parse(a, xml, strlen(xml), MYNA_NS_CLIENT);
    assert_non_null(el);
    assert_true(sm_element(smp, c, el, NULL));
    myna_arena_free(a);
}

static void send_stanza(struct sm *s, int n)
{
    char buf[64];
    int len = snprintf(buf, sizeof buf, "<message><body>%d</body></message>", n);
    struct wbuf *b = wbuf_new(buf, (size_t)len);
    sm_sent(s, b);
    wbuf_unref(b);
}

static bool has(const struct fake *f, const char *s)
{
    return f->out.data && strstr(f->out.data, s) != NULL;
}

static void clear(struct fake *f)
{
    f->out.len = 0;
    f->out.data[0] = 0;
}

static void test_ack_count(void **state)
{
    (void)state;
    assert_int_equal(sm_ack_count(0, 0, 0), 0);
    assert_int_equal(sm_ack_count(5, 7, 2), 2);
    assert_int_equal(sm_ack_count(5, 8, 2), -1);
    assert_int_equal(sm_ack_count(UINT32_MAX - 1, 1, 3), 3);   /* across the wrap */
    assert_int_equal(sm_ack_count(UINT32_MAX - 1, 2, 3), -1);
    assert_int_equal(sm_ack_count(UINT32_MAX, UINT32_MAX, 0), 0);
    assert_int_equal(sm_ack_count(3, 2, 10), -1);               /* backwards */
}

static void test_ack_across_wrap(void **state)
{
    (void)state;
    struct sm *s = NULL;
    nonza(&s, &c1, "<enable xmlns='urn:xmpp:sm:3'/>");
    assert_non_null(s);
    assert_true(has(&f1, "<enabled xmlns='urn:xmpp:sm:3'/>"));
    s->out = s->acked = UINT32_MAX - 2;
    for (int i = 0; i < 5; i++)
        send_stanza(s, i);
    assert_int_equal(s->out, 2);
    assert_int_equal(s->len, 5);
    nonza(&s, &c1, "<a xmlns='urn:xmpp:sm:3' h='4294967295'/>"); /* 2^32 - 1: two */
    assert_int_equal(s->len, 3);
    nonza(&s, &c1, "<a xmlns='urn:xmpp:sm:3' h='0'/>");
    assert_int_equal(s->len, 2);
    assert_int_equal(s->head->buf->len, 33);
    assert_memory_equal(s->head->buf->data, "<message><body>3</body></message>", 33);
    nonza(&s, &c1, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    assert_int_equal(s->len, 0);
    assert_int_equal(s->bytes, 0);
    clear(&f1);
    nonza(&s, &c1, "<a xmlns='urn:xmpp:sm:3' h='3'/>");
    assert_true(has(&f1, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='3' "
                         "send-count='2'/>"));
    sm_free(s);
}

static void test_r_across_wrap(void **state)
{
    (void)state;
    struct sm *s = NULL;
    nonza(&s, &c1, "<enable xmlns='urn:xmpp:sm:3'/>");
    s->in = UINT32_MAX;
    nonza(&s, &c1, "<r xmlns='urn:xmpp:sm:3'/>");
    assert_true(has(&f1, "<a xmlns='urn:xmpp:sm:3' h='4294967295'/>"));
    sm_received(s);
    sm_received(s);
    nonza(&s, &c1, "<r xmlns='urn:xmpp:sm:3'/>");
    assert_true(has(&f1, "<a xmlns='urn:xmpp:sm:3' h='1'/>"));
    sm_free(s);
}

static void test_resume_across_wrap(void **state)
{
    (void)state;
    struct sm *s = NULL, *s2 = NULL;
    nonza(&s, &c1, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    assert_true(has(&f1, "resume='true' max='300'"));
    char id[sizeof s->id];
    memcpy(id, s->id, sizeof id);
    assert_int_equal(strlen(id), 2 * SM_ID_BYTES);
    s->out = s->acked = UINT32_MAX - 1;
    s->in = UINT32_MAX - 3;
    for (int i = 0; i < 4; i++) /* numbers 2^32-1, 0, 1, 2 */
        send_stanza(s, i);
    sm_received(s);
    sm_received(s);
    sm_received(s);
    sm_received(s); /* our h: 0 */
    sm_stream_ended(&s, &session, true); /* the stream broke: held */
    assert_null(s);
    assert_int_equal(events[MYNA_EVENT_SESSION_DETACHED], 1);
    assert_int_equal(sessions_freed, 0);
    struct wbuf *late = wbuf_new("<message><body>late</body></message>", 36);
    sm_held_write(&session, late); /* arrives while held: number 3 */
    wbuf_unref(late);
    /* The client handled two (2^32-1 and 0): h = 0. */
    char xml[160];
    snprintf(xml, sizeof xml, "<resume xmlns='urn:xmpp:sm:3' previd='%s' h='0'/>", id);
    nonza(&s2, &c2, xml);
    assert_non_null(s2);
    assert_ptr_equal(c2.session, &session);
    assert_int_equal(events[MYNA_EVENT_SESSION_RESUMED], 1);
    char want[512];
    snprintf(want, sizeof want,
             "<resumed xmlns='urn:xmpp:sm:3' previd='%s' h='0'/>"
             "<message><body>2</body></message><message><body>3</body></message>"
             "<message><body>late</body></message><r xmlns='urn:xmpp:sm:3'/>", id);
    assert_string_equal(f2.out.data, want);
    assert_int_equal(s2->out, 3);
    nonza(&s2, &c2, "<a xmlns='urn:xmpp:sm:3' h='3'/>");
    assert_int_equal(s2->len, 0);
    sm_free(s2);
    assert_int_equal(sessions_freed, 0);
    assert_int_equal(routed, 0);
}

static void test_resume_refused(void **state)
{
    (void)state;
    struct sm *s = NULL, *s2 = NULL;
    nonza(&s, &c1, "<enable xmlns='urn:xmpp:sm:3' resume='true' max='60'/>");
    assert_true(has(&f1, "max='60'"));
    char xml[160];
    /* Another account: the id is not found, and nothing about it is said. */
    c2.user = "juliet";
    snprintf(xml, sizeof xml, "<resume xmlns='urn:xmpp:sm:3' previd='%s' h='0'/>", s->id);
    nonza(&s2, &c2, xml);
    assert_null(s2);
    assert_true(has(&f2, "<failed xmlns='urn:xmpp:sm:3'><item-not-found"));
    /* h too high for what was sent. */
    c2.user = "romeo";
    clear(&f2);
    snprintf(xml, sizeof xml, "<resume xmlns='urn:xmpp:sm:3' previd='%s' h='1'/>", s->id);
    nonza(&s2, &c2, xml);
    assert_null(s2);
    assert_true(has(&f2, "handled-count-too-high"));
    sm_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_count),
        cmocka_unit_test_setup_teardown(test_ack_across_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_r_across_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_across_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
