/* tests/unit/test_tlsrec.c — the compact TLS 1.3 record layer (server/net/tlsrec.c) from the
 * inside, for what a client cannot reach in reasonable time: the §5.5 key usage limit in
 * both directions, sequence numbers at their end (§5.3), the one-answer rule for KeyUpdate
 * requests (§4.6.3), that keys are wiped before their memory is released, that gathered
 * pieces are sealed into one record per 2^14 bytes, and that plaintext the owner holds is
 * sealed before the layer's own records (the `sealing` hook). Two tlsrec
 * objects face each other (one with the secrets swapped plays the client); the file
 * includes tlsrec.c so it can set sequence numbers and watch frees. Record-level behaviour
 * against real clients is tested in tests/e2e/tls_records.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "myna/xml.h"
#include "server/base/log.h"
#include "server/loop/pool.h"

/* Every release of memory by tlsrec.c goes through these, which check it was wiped. */
void wiped_pool_free(void *p, size_t n);
void wiped_free(void *p);
#define pool_free wiped_pool_free
#define free wiped_free
#include "server/net/tlsrec.c"
#undef pool_free
#undef free

static const void *watched; /* the object whose release must find it wiped */
static size_t watched_len;
static int wiped_releases;

static void check_release(void *p, size_t n)
{
    if (!p || p != watched)
        return;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            fail_msg("byte %zu of %zu is not wiped at release", i, n);
    wiped_releases++;
}

void wiped_pool_free(void *p, size_t n)
{
    check_release(p, n);
    pool_free(p, n);
}

void wiped_free(void *p)
{
    check_release(p, watched_len);
    free(p);
}

/* ---- a server and a client facing each other ---- */

static const unsigned char csec[48] = "client traffic secret, forty-eight bytes long..";
static const unsigned char ssec[48] = "server traffic secret, forty-eight bytes long..";

struct side {
    struct tlsrec *r;
    struct myna_buf got;  /* application data received */
    struct myna_buf sent; /* records sent from tlsrec_input (KeyUpdates, alerts) */
};

static void on_data(struct tlsrec_io *io, const char *d, size_t n)
{
    myna_buf_append(&((struct side *)io->ud)->got, d, n);
}

static void on_send(struct tlsrec_io *io, const void *d, size_t n)
{
    myna_buf_append(&((struct side *)io->ud)->sent, d, n);
}

static void pair(unsigned suite, size_t len, struct side *srv, struct side *cli)
{
    memset(srv, 0, sizeof *srv);
    memset(cli, 0, sizeof *cli);
    srv->r = tlsrec_new_keys(suite, csec, ssec, len);
    cli->r = tlsrec_new_keys(suite, ssec, csec, len);
    assert_non_null(srv->r);
    assert_non_null(cli->r);
}

static void unpair(struct side *srv, struct side *cli)
{
    tlsrec_free(srv->r);
    tlsrec_free(cli->r);
    myna_buf_free(&srv->got);
    myna_buf_free(&srv->sent);
    myna_buf_free(&cli->got);
    myna_buf_free(&cli->sent);
}

/* Feeds records to `to`; returns its status and io.why in *why. */
static enum tlsrec_status deliver(struct side *to, struct myna_buf *records, const char **why)
{
    struct tlsrec_io io = {.data = on_data, .send = on_send, .ud = to};
    enum tlsrec_status st =
        tlsrec_input(to->r, (unsigned char *)records->data, records->len, &io);
    records->len = 0;
    if (why)
        *why = io.why;
    return st;
}

static void test_round_trip(void **state)
{
    (void)state;
    static const struct {
        unsigned suite;
        size_t len;
    } suites[] = {{0x1301, 32}, {0x1302, 48}, {0x1303, 32}};
    for (size_t i = 0; i < 3; i++) {
        struct side s, c;
        pair(suites[i].suite, suites[i].len, &s, &c);
        struct myna_buf wire;
        myna_buf_init(&wire);
        tlsrec_seal(s.r, "hello", 5, &wire);
        assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
        assert_int_equal(c.got.len, 5);
        assert_memory_equal(c.got.data, "hello", 5);
        myna_buf_free(&wire);
        unpair(&s, &c);
    }
    assert_null(tlsrec_new_keys(0x1304, csec, ssec, 32)); /* CCM: not taken over */
    assert_null(tlsrec_new_keys(0x1301, csec, ssec, 48)); /* wrong secret length */
}

/* §5.5: before its send key reaches the limit, the server updates it on its own. */
static void test_send_key_limit(void **state)
{
    (void)state;
    struct side s, c;
    pair(0x1301, 32, &s, &c);
    s.r->tx.seq = c.r->rx.seq = TLSREC_KEY_LIMIT - 3;
    unsigned char before[48];
    memcpy(before, c.r->rx.secret, 32);
    struct myna_buf wire;
    myna_buf_init(&wire);
    for (int i = 0; i < 4; i++)
        tlsrec_seal(s.r, "0123456789", 10, &wire);
    assert_int_equal(s.r->tx.seq, 2); /* two records under the new key */
    assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
    assert_int_equal(c.got.len, 40); /* every record readable, the KeyUpdate among them */
    assert_memory_not_equal(c.r->rx.secret, before, 32);
    assert_int_equal(c.sent.len, 0); /* not requested: the client does not answer */
    myna_buf_free(&wire);
    unpair(&s, &c);
}

/* §5.5: a peer whose key reaches the limit is asked (once) to update it. */
static void test_receive_key_limit(void **state)
{
    (void)state;
    struct side s, c;
    pair(0x1302, 48, &s, &c);
    s.r->rx.seq = c.r->tx.seq = TLSREC_KEY_LIMIT - 1;
    struct myna_buf wire;
    myna_buf_init(&wire);
    /* A client that does not update by itself (seal_one skips the limit check). */
    seal_one(c.r, CT_APPDATA, (const unsigned char *)"ab", 2, 0, &wire);
    seal_one(c.r, CT_APPDATA, (const unsigned char *)"cd", 2, 0, &wire);
    assert_int_equal(deliver(&s, &wire, NULL), TLSREC_OK);
    assert_int_equal(s.got.len, 4);
    /* One KeyUpdate with update_requested went out; the client answers it. */
    assert_true(s.sent.len > 0);
    assert_int_equal(deliver(&c, &s.sent, NULL), TLSREC_OK);
    assert_true(c.sent.len > 0);
    assert_int_equal(deliver(&s, &c.sent, NULL), TLSREC_OK);
    assert_int_equal(s.r->rx.seq, 0); /* the client's new key */
    assert_int_equal(s.sent.len, 0);
    /* Both directions still work. */
    tlsrec_seal(c.r, "ef", 2, &wire);
    assert_int_equal(deliver(&s, &wire, NULL), TLSREC_OK);
    tlsrec_seal(s.r, "gh", 2, &wire);
    assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
    assert_int_equal(c.got.len, 2);
    myna_buf_free(&wire);
    unpair(&s, &c);
}

/* §5.3: a receive sequence number never wraps; the record that would need it ends the
 * connection (with bad_record_mac, as an undecryptable record). */
static void test_receive_sequence_end(void **state)
{
    (void)state;
    struct side s, c;
    pair(0x1303, 32, &s, &c);
    s.r->rx.seq = c.r->tx.seq = UINT64_MAX;
    s.r->asked_update = true;
    struct myna_buf wire;
    myna_buf_init(&wire);
    seal_one(c.r, CT_APPDATA, (const unsigned char *)"x", 1, 0, &wire);
    const char *why = NULL;
    assert_int_equal(deliver(&s, &wire, &why), TLSREC_ERROR);
    assert_int_equal(s.got.len, 0);
    assert_non_null(why);
    assert_int_equal(s.r->rx.seq, UINT64_MAX);
    assert_true(s.sent.len > 0); /* the alert */
    myna_buf_free(&wire);
    unpair(&s, &c);
}

/* §4.6.3: requests received while the server sent nothing else are answered once. */
static void test_one_answer_per_silence(void **state)
{
    (void)state;
    struct side s, c;
    pair(0x1301, 32, &s, &c);
    struct myna_buf wire;
    myna_buf_init(&wire);
    for (int i = 0; i < 3; i++) {
        send_key_update(c.r, true, &wire);
        c.r->ku_sent = false;
    }
    assert_int_equal(deliver(&s, &wire, NULL), TLSREC_OK);
    assert_int_equal(s.r->tx.seq, 0);
    assert_int_equal(s.sent.len, 5 + 5 + 1 + 16); /* one KeyUpdate record */
    assert_int_equal(deliver(&c, &s.sent, NULL), TLSREC_OK);
    /* After data, a new request gets a new answer. */
    tlsrec_seal(s.r, "data", 4, &wire);
    assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
    send_key_update(c.r, true, &wire);
    assert_int_equal(deliver(&s, &wire, NULL), TLSREC_OK);
    assert_int_equal(s.sent.len, 5 + 5 + 1 + 16);
    assert_int_equal(deliver(&c, &s.sent, NULL), TLSREC_OK);
    tlsrec_seal(s.r, "more", 4, &wire);
    assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
    assert_int_equal(c.got.len, 8);
    myna_buf_free(&wire);
    unpair(&s, &c);
}

/* Nothing is sealed after an alert or close_notify. */
static void test_nothing_after_close(void **state)
{
    (void)state;
    struct side s, c;
    pair(0x1301, 32, &s, &c);
    struct myna_buf wire;
    myna_buf_init(&wire);
    tlsrec_close_notify(s.r, &wire);
    size_t n = wire.len;
    tlsrec_seal(s.r, "late", 4, &wire);
    tlsrec_close_notify(s.r, &wire);
    assert_int_equal(wire.len, n);
    myna_buf_free(&wire);
    unpair(&s, &c);
}

static void test_keys_wiped(void **state)
{
    (void)state;
    /* The record layer's state, keys included, when it is freed... */
    struct tlsrec *r = tlsrec_new_keys(0x1301, csec, ssec, 32);
    struct myna_buf wire;
    myna_buf_init(&wire);
    tlsrec_seal(r, "x", 1, &wire);
    myna_buf_free(&wire);
    watched = r;
    wiped_releases = 0;
    tlsrec_free(r);
    assert_int_equal(wiped_releases, 1);
    /* ...and the loop's cipher context, which held its expanded key. */
    assert_null(EVP_CIPHER_CTX_get0_cipher(slots[0].x));
    /* The secrets collected during a handshake. */
    struct tls13_secrets *sec = calloc(1, sizeof *sec);
    memcpy(sec->client, csec, 32);
    sec->client_len = 32;
    watched = sec;
    watched_len = sizeof *sec;
    wiped_releases = 0;
    tls13_secrets_free(sec);
    assert_int_equal(wiped_releases, 1);
    watched = NULL;
}

/* Pieces sealed together (what a connection wrote in one loop iteration): one record per
 * 2^14 bytes, read straight from the pieces, decrypting to their concatenation. */
static void test_seal_gathered(void **state)
{
    (void)state;
    static const unsigned suites[][2] = {{0x1301, 32}, {0x1302, 48}, {0x1303, 32}};
    for (size_t i = 0; i < 3; i++) {
        struct side s, c;
        pair(suites[i][0], suites[i][1], &s, &c);
        static char big[40000];
        for (size_t k = 0; k < sizeof big; k++)
            big[k] = (char)('a' + k % 26);
        struct iovec iov[4] = {{"<message>", 9}, {"", 0}, {big, sizeof big}, {"</message>", 10}};
        size_t total = 9 + sizeof big + 10;
        unsigned char *out = malloc(tlsrec_seal_bound(total));
        size_t n = tlsrec_seal_v(s.r, iov, 4, out);
        /* Three records (2^14 + 2^14 + the rest), each 5 + 1 + 16 bytes over its content. */
        assert_int_equal(n, total + 3 * 22);
        assert_true(n <= tlsrec_seal_bound(total));
        assert_int_equal(s.r->tx.seq, 3);
        assert_int_equal((out[3] << 8 | out[4]), 16384 + 17);
        struct myna_buf wire;
        myna_buf_init(&wire);
        myna_buf_append(&wire, out, n);
        assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
        assert_int_equal(c.got.len, total);
        assert_memory_equal(c.got.data, "<message>", 9);
        assert_memory_equal(c.got.data + 9, big, sizeof big);
        assert_memory_equal(c.got.data + 9 + sizeof big, "</message>", 10);
        /* Nothing to seal: no record. */
        assert_int_equal(tlsrec_seal_v(s.r, iov + 1, 1, out), 0);
        free(out);
        myna_buf_free(&wire);
        unpair(&s, &c);
    }
}

/* The owner's unsealed plaintext goes first: `sealing` runs before the KeyUpdate answer. */
struct hook_side {
    struct side side;
    size_t sent_at_hook; /* s.sent.len when the hook ran */
    int hooks;
};

static void on_sealing(struct tlsrec_io *io)
{
    struct hook_side *h = io->ud;
    h->sent_at_hook = h->side.sent.len;
    h->hooks++;
    /* What the owner held: sealed now, ahead of the layer's record. */
    tlsrec_seal(h->side.r, "held", 4, &h->side.sent);
}

static void on_hook_data(struct tlsrec_io *io, const char *d, size_t n)
{
    myna_buf_append(&((struct hook_side *)io->ud)->side.got, d, n);
}

static void on_hook_send(struct tlsrec_io *io, const void *d, size_t n)
{
    myna_buf_append(&((struct hook_side *)io->ud)->side.sent, d, n);
}

static void test_sealing_hook(void **state)
{
    (void)state;
    struct hook_side h = {0};
    struct side c;
    pair(0x1301, 32, &h.side, &c);
    struct myna_buf wire;
    myna_buf_init(&wire);
    /* The client asks for a KeyUpdate (update_requested). */
    send_key_update(c.r, true, &wire);
    struct tlsrec_io io = {
        .data = on_hook_data, .send = on_hook_send, .sealing = on_sealing, .ud = &h};
    assert_int_equal(tlsrec_input(h.side.r, (unsigned char *)wire.data, wire.len, &io),
                     TLSREC_OK);
    wire.len = 0;
    assert_int_equal(h.hooks, 1);
    assert_int_equal(h.sent_at_hook, 0);
    /* The client reads "held" under the old key, then the answer, then nothing is lost. */
    const char *why = NULL;
    enum tlsrec_status st = deliver(&c, &h.side.sent, &why);
    if (st != TLSREC_OK)
        fail_msg("client: %s", why);
    assert_int_equal(c.got.len, 4);
    assert_memory_equal(c.got.data, "held", 4);
    tlsrec_seal(h.side.r, "new key", 7, &wire);
    assert_int_equal(deliver(&c, &wire, NULL), TLSREC_OK);
    assert_int_equal(c.got.len, 11);
    myna_buf_free(&wire);
    unpair(&h.side, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_send_key_limit),
        cmocka_unit_test(test_receive_key_limit),
        cmocka_unit_test(test_receive_sequence_end),
        cmocka_unit_test(test_one_answer_per_silence),
        cmocka_unit_test(test_nothing_after_close),
        cmocka_unit_test(test_keys_wiped),
        cmocka_unit_test(test_seal_gathered),
        cmocka_unit_test(test_sealing_hook),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tlsrec_thread_cleanup();
    return rc;
}
