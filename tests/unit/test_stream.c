/* tests/unit/test_stream.c — the stream layer (server/stream/stream.c) on a fake transport:
 * what goes out for each header (reply header, features, STARTTLS alone while it is
 * required, the RFC 6120 §4.9.3 error for a bad namespace, host or version, with our
 * header first), restarts, the close handshake of RFC 6120 §4.4 (a close we start waits
 * for the peer's closing tag or the close timeout; a close the peer starts is answered at
 * once), the negotiation deadline, an application-specific error condition, whitespace
 * keepalives, and the initiating side of an outgoing stream (our header first). The fake
 * transport records every byte and call, as a WebSocket or BOSH transport would see them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/loop/loop.h"
#include "server/net/transport.h"
#include "server/net/wbuf.h"
#include "server/server.h"
#include "server/stream/stream.h"

#define HEADER_TO(ns, to, extra)                                                              \
    "<?xml version='1.0'?><stream:stream xmlns='" ns "' "                                    \
    "xmlns:stream='http://etherx.jabber.org/streams' to='" to "'" extra ">"
#define CLIENT_HEADER HEADER_TO("jabber:client", "example.org", " version='1.0'")

/* ---- the fake transport ---- */

struct fake {
    struct transport tr; /* first, as in every transport */
    struct myna_buf out; /* everything written */
    int closed;          /* close() calls */
    int aborted;
    int tls_started;
};

static void f_write(struct transport *t, const void *data, size_t len)
{
    myna_buf_append(&((struct fake *)t)->out, data, len);
}

static void f_write_buf(struct transport *t, struct wbuf *b)
{
    f_write(t, b->data, b->len);
}

static void f_write_splice(struct transport *t, struct wbuf *shared, size_t split,
                           const char *piece, size_t plen)
{
    f_write(t, shared->data, split);
    f_write(t, piece, plen);
    f_write(t, shared->data + split, shared->len - split);
}

static void f_close(struct transport *t)
{
    ((struct fake *)t)->closed++;
}

static void f_abort(struct transport *t, const char *why)
{
    (void)why;
    ((struct fake *)t)->aborted++;
}

static int f_start_tls(struct transport *t)
{
    ((struct fake *)t)->tls_started++;
    return 0;
}

static bool f_is_encrypted(const struct transport *t)
{
    return ((const struct fake *)t)->tls_started > 0;
}

static int f_channel_binding(const struct transport *t, const char *type, unsigned char *out,
                             size_t outlen)
{
    (void)t, (void)type, (void)out, (void)outlen;
    return -1;
}

static const char *const *f_channel_binding_types(const struct transport *t)
{
    (void)t;
    static const char *const none[] = {NULL};
    return none;
}

static void f_set_rate(struct transport *t, uint64_t rate, uint64_t burst)
{
    (void)t, (void)rate, (void)burst;
}

static uint64_t f_id(const struct transport *t)
{
    (void)t;
    return 7;
}

static const char *f_peer(const struct transport *t)
{
    (void)t;
    return "192.0.2.1:5555";
}

static size_t f_queued(const struct transport *t)
{
    return ((const struct fake *)t)->out.len;
}

static const struct transport_ops fake_ops = {
    .write = f_write,
    .write_buf = f_write_buf,
    .write_splice = f_write_splice,
    .close = f_close,
    .abort = f_abort,
    .start_tls = f_start_tls,
    .is_encrypted = f_is_encrypted,
    .channel_binding = f_channel_binding,
    .channel_binding_types = f_channel_binding_types,
    .set_rate = f_set_rate,
    .id = f_id,
    .peer = f_peer,
    .queued = f_queued,
};

/* ---- a kind of stream that serves example.org and records what it is told ---- */

struct tstream {
    struct stream st;
    int opened, ended, freed;
    char elements[256]; /* names of the elements handed over, comma-separated */
};

static bool t_header(struct stream *st, const struct myna_xml *header, const char *to)
{
    (void)header;
    if (!to || strcmp(to, "example.org") != 0)
        return false;
    stream_set_domain(st, "example.org");
    return true;
}

static void t_features(struct stream *st, struct myna_buf *b)
{
    (void)st;
    myna_buf_appends(b, "<f/>");
}

static void t_opened(struct stream *st)
{
    ((struct tstream *)st)->opened++;
}

static void t_element(struct stream *st, struct myna_xml *el)
{
    struct tstream *t = (struct tstream *)st;
    strncat(t->elements, el->name, sizeof t->elements - strlen(t->elements) - 2);
    strcat(t->elements, ",");
}

static void t_ended(struct stream *st)
{
    ((struct tstream *)st)->ended++;
}

static void t_free(struct stream *st)
{
    ((struct tstream *)st)->freed++;
}

static const char *test_peer; /* whom our header is addressed to when we initiate */

static const char *t_who(const struct stream *st)
{
    (void)st;
    return test_peer;
}

static const struct stream_kind test_kind = {
    .name = "test",
    .ns = MYNA_NS_CLIENT,
    .rfc6120 = true,
    .header = t_header,
    .features = t_features,
    .opened = t_opened,
    .element = t_element,
    .ended = t_ended,
    .free = t_free,
    .who = t_who,
};

/* ---- fixtures ---- */

static struct server srv;
static struct fake fake;
static struct tstream ts;
static struct stream_limits lim;

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    srv.loop = loop_new();
    memset(&fake, 0, sizeof fake);
    fake.tr.ops = &fake_ops;
    myna_buf_init(&fake.out);
    test_peer = NULL;
    memset(&ts, 0, sizeof ts);
    lim = (struct stream_limits){.max_stanza_bytes = 65536, .max_depth = 16, .max_attrs = 16};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (ts.st.tr)
        stream_transport_gone(&ts.st, "test over");
    loop_free(srv.loop); /* runs the deferred unref */
    assert_int_equal(ts.freed, 1);
    myna_buf_free(&fake.out);
    return 0;
}

static void attach(enum stream_tls tls, uint64_t deadline_ms, uint64_t close_ms)
{
    lim.deadline_ms = deadline_ms;
    lim.close_ms = close_ms;
    stream_attach(&ts.st, &srv, &test_kind, &lim, &fake.tr, tls);
}

static void feed(const char *s)
{
    stream_input(&ts.st, s, strlen(s));
}

static void clear_out(void)
{
    fake.out.len = 0;
    fake.out.data[0] = 0;
}

static bool out_has(const char *s)
{
    return strstr(fake.out.data, s) != NULL;
}

static void stop(void *data)
{
    loop_stop(data);
}

/* Runs the loop for about ms (timers fire, deferred calls run). */
static void run_for(uint64_t ms)
{
    loop_timer_add(srv.loop, ms, stop, srv.loop);
    loop_run(srv.loop);
}

/* ---- tests ---- */

static void test_header_and_features(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    assert_int_equal(ts.st.state, STREAM_OPEN);
    assert_int_equal(ts.opened, 1);
    assert_true(out_has("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                        "xmlns:stream='http://etherx.jabber.org/streams' id='"));
    assert_true(out_has("' from='example.org' version='1.0' xml:lang='en'>"
                        "<stream:features><f/></stream:features>"));
    assert_int_equal(strlen(ts.st.id), 12);
    /* Whitespace between elements (keepalives) is accepted; elements reach the kind. */
    feed(" \n <message/>\t<iq/> ");
    assert_string_equal(ts.elements, "message,iq,");
    assert_int_equal(fake.closed, 0);
}

static void test_starttls_required(void **state)
{
    (void)state;
    attach(STREAM_TLS_STARTTLS, 0, 0);
    feed(CLIENT_HEADER);
    assert_true(out_has("<stream:features><starttls "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                        "</stream:features>"));
    assert_false(out_has("<f/>"));
    assert_true(stream_tls_pending(&ts.st));
    clear_out();
    stream_starttls(&ts.st, true);
    assert_string_equal(fake.out.data, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_int_equal(fake.tls_started, 1);
    assert_int_equal(ts.st.state, STREAM_HEADER); /* restarted */
    stream_secured(&ts.st);
    char first_id[sizeof ts.st.id];
    memcpy(first_id, ts.st.id, sizeof first_id);
    clear_out();
    feed(CLIENT_HEADER);
    assert_true(out_has("<stream:features><f/></stream:features>"));
    assert_string_not_equal(ts.st.id, first_id); /* a new stream, a new id */
    assert_int_equal(ts.opened, 2);
}

static void test_starttls_refused(void **state)
{
    (void)state;
    attach(STREAM_TLS_STARTTLS, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    stream_starttls(&ts.st, false); /* the kind has a negotiation running */
    assert_string_equal(fake.out.data,
                        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
    assert_int_equal(fake.closed, 1); /* RFC 6120 §5.4.2.2: the connection ends too */
    assert_int_equal(fake.tls_started, 0);
}

/* Each bad header gets our header (naming the domain when it is ours), the error and the
 * closing tag, and the transport closes. */
static void check_header_error(const char *header, const char *cond, bool names_domain)
{
    feed(header);
    char want[128];
    snprintf(want, sizeof want,
             "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", cond);
    assert_true(out_has("<?xml version='1.0'?><stream:stream xmlns='jabber:client'"));
    assert_true(out_has(want));
    assert_true(out_has("</stream:error></stream:stream>"));
    assert_int_equal(out_has("from='example.org'"), names_domain);
    assert_false(out_has("<stream:features>"));
    assert_int_equal(fake.closed, 1);
    assert_int_equal(ts.ended, 1);
    assert_int_equal(ts.st.state, STREAM_CLOSED);
}

static void test_bad_namespace(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    check_header_error(HEADER_TO("jabber:server", "example.org", " version='1.0'"),
                       "invalid-namespace", true);
}

static void test_unknown_host(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    check_header_error(HEADER_TO("jabber:client", "other.example", " version='1.0'"),
                       "host-unknown", false);
}

static void test_no_version(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    check_header_error(HEADER_TO("jabber:client", "example.org", ""), "unsupported-version",
                       true);
}

static void test_bad_xml_after_open(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    feed("<message><body>x</message>");
    assert_true(out_has("<stream:error><not-well-formed "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "));
    assert_true(out_has("</stream:error></stream:stream>"));
    assert_false(out_has("<?xml")); /* our header went out before */
    assert_int_equal(fake.closed, 1);
}

static void test_error_with_app_condition(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    stream_error_app(&ts.st, STREAM_ERR_UNDEFINED_CONDITION, "why",
                     "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='3'/>");
    assert_string_equal(
        fake.out.data,
        "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>why</text>"
        "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='3'/>"
        "</stream:error></stream:stream>");
    /* A second error, or a close, adds nothing. */
    stream_error(&ts.st, STREAM_ERR_CONFLICT, NULL);
    stream_close(&ts.st);
    assert_false(out_has("conflict"));
    assert_int_equal(fake.closed, 1);
    assert_int_equal(ts.ended, 1);
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(stream_error_name(STREAM_ERR_SEE_OTHER_HOST), "see-other-host");
    assert_int_equal(stream_error_from_name("system-shutdown"), STREAM_ERR_SYSTEM_SHUTDOWN);
    assert_int_equal(stream_error_from_name("no-such-condition"),
                     STREAM_ERR_UNDEFINED_CONDITION);
    for (int e = 0; e < STREAM_ERR__COUNT; e++)
        assert_int_equal(stream_error_from_name(stream_error_name((enum stream_error)e)), e);
}

/* RFC 6120 §4.4: a close we start leaves the transport open until the peer's closing tag
 * arrives; nothing more is written meanwhile, and the peer's elements are not acted on. */
static void test_close_waits_for_peer(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    stream_close(&ts.st);
    assert_string_equal(fake.out.data, "</stream:stream>");
    assert_int_equal(ts.st.state, STREAM_CLOSING);
    assert_int_equal(ts.ended, 1);
    assert_int_equal(fake.closed, 0);
    assert_false(stream_writable(&ts.st));
    stream_write_str(&ts.st, "<message/>");
    stream_error(&ts.st, STREAM_ERR_CONFLICT, NULL);
    assert_string_equal(fake.out.data, "</stream:stream>");
    feed("<message/>");
    assert_string_equal(ts.elements, "");
    assert_int_equal(fake.closed, 0);
    feed("</stream:stream>");
    assert_int_equal(fake.closed, 1);
    assert_int_equal(ts.st.state, STREAM_CLOSED);
    assert_string_equal(fake.out.data, "</stream:stream>");
}

/* ...or until the close timeout, if the peer never answers. */
static void test_close_timeout(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 30);
    feed(CLIENT_HEADER);
    stream_close(&ts.st);
    assert_int_equal(fake.closed, 0);
    run_for(200);
    assert_int_equal(fake.closed, 1);
    assert_int_equal(ts.st.state, STREAM_CLOSED);
}

/* A close the peer starts is answered with ours, and the transport closes at once. */
static void test_peer_closes_first(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    feed("</stream:stream>");
    assert_string_equal(fake.out.data, "</stream:stream>");
    assert_int_equal(fake.closed, 1);
    assert_int_equal(ts.ended, 1);
}

static void test_deadline(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 20, 0);
    feed(CLIENT_HEADER);
    clear_out();
    run_for(200);
    assert_true(out_has("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
    assert_int_equal(fake.closed, 1);
}

static void test_deadline_off_once_established(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 20, 0);
    feed(CLIENT_HEADER);
    stream_established(&ts.st);
    clear_out();
    run_for(100);
    assert_string_equal(fake.out.data, "");
    assert_int_equal(fake.closed, 0);
}

/* The transport going away ends the stream once and frees it after the loop iteration. */
static void test_transport_gone(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    assert_ptr_equal(srv.streams, &ts.st);
    stream_transport_gone(&ts.st, "peer went away");
    assert_null(srv.streams);
    assert_int_equal(ts.ended, 1);
    assert_false(stream_writable(&ts.st));
    feed("<message/>");
    assert_string_equal(ts.elements, "");
}

/* RFC 6120 §4.6.1: a space goes out when nothing else did for keepalive_ms. */
static void test_keepalive(void **state)
{
    (void)state;
    lim.keepalive_ms = 20;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    stream_sweep(&srv, 1000000);
    assert_string_equal(fake.out.data, ""); /* our header and features just went out */
    run_for(40);
    stream_sweep(&srv, 1000000);
    assert_string_equal(fake.out.data, " ");
    stream_sweep(&srv, 1000000);
    assert_string_equal(fake.out.data, " ");
    run_for(40);
    stream_write_str(&ts.st, "<message/>"); /* output resets the clock */
    stream_sweep(&srv, 1000000);
    assert_string_equal(fake.out.data, " <message/>");
}

static void test_no_keepalive_by_default(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    feed(CLIENT_HEADER);
    clear_out();
    run_for(40);
    stream_sweep(&srv, 1000000);
    assert_string_equal(fake.out.data, "");
}

/* An outgoing stream (s2s): our header goes first and again after a restart, without an
 * id; the peer's header opens the stream without a reply, and its features reach the
 * kind. */
static void test_initiator(void **state)
{
    (void)state;
    attach(STREAM_TLS_NONE, 0, 0);
    stream_set_domain(&ts.st, "example.org");
    test_peer = "remote.example";
    stream_initiate(&ts.st);
    const char *ours = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                       "xmlns:stream='http://etherx.jabber.org/streams' from='example.org' "
                       "to='remote.example' version='1.0' xml:lang='en'>";
    assert_string_equal(fake.out.data, ours);
    clear_out();
    feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
         "id='peer-id' from='remote.example' to='example.org' version='1.0'>");
    assert_int_equal(ts.st.state, STREAM_OPEN);
    assert_int_equal(ts.opened, 1);
    assert_string_equal(fake.out.data, "");
    feed("<stream:features><f/></stream:features>");
    assert_string_equal(ts.elements, "features,");
    stream_restart(&ts.st);
    assert_string_equal(fake.out.data, ours);
    assert_int_equal(ts.st.state, STREAM_HEADER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_and_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_xml_after_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_with_app_condition, setup, teardown),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test_setup_teardown(test_close_waits_for_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_off_once_established, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_keepalive_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initiator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
