/* tests/fuzz/fuzz_tlsrec.c — libFuzzer target for the compact TLS 1.3 record layer
 * (server/net/tlsrec.c, included so the fuzzer can seal records of any shape with the peer's
 * keys: most random ciphertext would only reach the tag check).
 *
 * The input is a little program for a client: seal application data, handshake bytes,
 * alerts or any inner type with any padding, KeyUpdates, raw bytes (headers, garbage),
 * corrupt the last record, move sequence numbers near the key limit, close either way,
 * and deliver what was built to the server in chunks of a chosen size, as conn.c does. The server answers some
 * records with data of its own. Checked on every run: the server never crashes or leaks;
 * everything it sends (data, KeyUpdate answers, alerts) decrypts in order on the client;
 * and the data the server delivered is a prefix of the application data the client sealed
 * (records that are broken, refused or never sent only shorten it).
 * Build and run: see tests/fuzz/README.md. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/net/tlsrec.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tlsrec_new (not used here) asks tls.c for channel bindings. */
int tls_channel_binding(SSL *ssl, const char *type, unsigned char *out, size_t outlen)
{
    (void)ssl, (void)type, (void)out, (void)outlen;
    return -1;
}

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned byte(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* Up to `max` bytes of the input, as a length byte then the bytes. */
static const uint8_t *take(struct input *in, size_t max, size_t *len)
{
    size_t n = byte(in);
    if (max > 255)
        n = n << 6 | (byte(in) & 63); /* up to 16383 */
    if (n > max)
        n = max;
    if (n > in->n)
        n = in->n;
    const uint8_t *p = in->p;
    in->p += n;
    in->n -= n;
    *len = n;
    return p;
}

struct run {
    struct tlsrec *srv, *cli;
    struct myna_buf wire;    /* client -> server bytes not yet delivered */
    struct myna_buf srv_out; /* server -> client bytes not yet read */
    struct myna_buf sealed;  /* application data the client sealed */
    struct myna_buf got;     /* application data the server delivered */
    bool clean;              /* only well-formed records so far */
    bool srv_done, cli_done; /* a side got an error or close */
    unsigned answer_every;   /* the server writes after every nth data record */
    unsigned records;
};

static void srv_data(struct tlsrec_io *io, const char *d, size_t n)
{
    struct run *r = io->ud;
    myna_buf_append(&r->got, d, n);
    if (r->answer_every && ++r->records % r->answer_every == 0)
        tlsrec_seal(r->srv, "<answer/>", 9, &r->srv_out);
}

static void srv_send(struct tlsrec_io *io, const void *d, size_t n)
{
    myna_buf_append(&((struct run *)io->ud)->srv_out, d, n);
}

static void cli_data(struct tlsrec_io *io, const char *d, size_t n)
{
    (void)io, (void)d, (void)n;
}

static void cli_send(struct tlsrec_io *io, const void *d, size_t n)
{
    myna_buf_append(&((struct run *)io->ud)->wire, d, n); /* its answers go to the server */
}

/* The client reads what the server sent: it must always decrypt. */
static void client_reads(struct run *r)
{
    if (r->cli_done || !r->srv_out.len)
        return;
    struct tlsrec_io io = {.data = cli_data, .send = cli_send, .ud = r};
    enum tlsrec_status st =
        tlsrec_input(r->cli, (unsigned char *)r->srv_out.data, r->srv_out.len, &io);
    if (st == TLSREC_ERROR && strcmp(io.why, "peer sent an error alert") != 0) {
        fprintf(stderr, "the server sent a record its peer cannot take: %s\n", io.why);
        abort();
    }
    r->cli_done = st != TLSREC_OK;
    r->srv_out.len = 0;
}

/* Delivers the wire to the server in chunks, the way conn.c's read_rec does. */
static void deliver(struct run *r, size_t chunk)
{
    static unsigned char buf[65536];
    size_t off = 0;
    if (!chunk)
        chunk = sizeof buf;
    while (!r->srv_done && off < r->wire.len) {
        size_t have = tlsrec_take_pending(r->srv, buf);
        size_t n = r->wire.len - off;
        if (n > chunk)
            n = chunk;
        if (n > sizeof buf - have)
            n = sizeof buf - have;
        memcpy(buf + have, r->wire.data + off, n);
        off += n;
        struct tlsrec_io io = {.data = srv_data, .send = srv_send, .ud = r};
        if (tlsrec_input(r->srv, buf, have + n, &io) != TLSREC_OK)
            r->srv_done = true;
    }
    r->wire.len = 0;
    if (r->clean && (r->got.len > r->sealed.len ||
                     memcmp(r->got.data, r->sealed.data, r->got.len) != 0)) {
        fprintf(stderr, "delivered data is not what the client sealed\n");
        abort();
    }
    client_reads(r);
}

static void seal_record(struct run *r, unsigned type, const uint8_t *p, size_t n, size_t pad)
{
    if (r->cli->tx_closed)
        return;
    seal_one(r->cli, (unsigned char)type, p, n, pad, &r->wire);
}

static void step(struct run *r, struct input *in)
{
    unsigned op = byte(in);
    size_t n, pad = op & 0x80 ? byte(in) : 0;
    const uint8_t *p;
    switch (op & 15) {
    case 0: /* application data */
        p = take(in, 20000, &n);
        myna_buf_append(&r->sealed, p, n);
        seal_record(r, CT_APPDATA, p, n, pad);
        break;
    case 1: /* handshake bytes */
        p = take(in, 64, &n);
        seal_record(r, CT_HANDSHAKE, p, n, pad);
        break;
    case 2: /* alert */
        p = take(in, 4, &n);
        seal_record(r, CT_ALERT, p, n, pad);
        break;
    case 3: /* any inner type (application data the oracle does not follow) */
        p = take(in, 64, &n);
        if (op >> 4 == CT_APPDATA || op >> 4 == 0) /* type 0: the content's end is the type */
            r->clean = false;
        seal_record(r, op >> 4, p, n, pad);
        break;
    case 4: /* raw bytes: they cannot forge a record, only break the ones after */
        p = take(in, 300, &n);
        myna_buf_append(&r->wire, p, n);
        break;
    case 5: /* a KeyUpdate, well-formed */
    case 6: {
        const uint8_t ku[5] = {HS_KEY_UPDATE, 0, 0, 1, (op & 15) == 6};
        if (r->cli->tx_closed)
            break;
        seal_one(r->cli, CT_HANDSHAKE, ku, 5, pad, &r->wire);
        dir_update(r->cli, &r->cli->tx);
        break;
    }
    case 7: /* corrupt a byte of the last bytes built */
        if (r->wire.len) {
            r->wire.data[r->wire.len - 1 - byte(in) % r->wire.len] ^= (char)(1 | byte(in));
        }
        break;
    case 8: /* deliver in chunks of 1..255 bytes (0: at once) */
        deliver(r, byte(in));
        break;
    case 9: /* the server writes data */
        if (!r->srv_done) {
            p = take(in, 20000, &n);
            tlsrec_seal(r->srv, p, n, &r->srv_out);
            client_reads(r);
        }
        break;
    case 10: /* sequence numbers near the key limit, both sides in step */
        deliver(r, 0);
        if (!r->srv_done && !r->cli_done && !tlsrec_pending(r->srv) && !r->srv->hs_len) {
            uint64_t back = byte(in) % 4;
            r->srv->tx.seq = r->cli->rx.seq = TLSREC_KEY_LIMIT - 1 - back;
            r->srv->rx.seq = r->cli->tx.seq = TLSREC_KEY_LIMIT - 1 - back;
        }
        break;
    case 11: /* the owner answers every nth record */
        r->answer_every = byte(in) % 4;
        break;
    case 12: /* the client closes */
        if (!r->cli->tx_closed)
            seal_alert(r->cli, 1, AL_CLOSE_NOTIFY, &r->wire);
        break;
    case 13: /* the server closes (conn_close) */
        if (!r->srv_done) {
            tlsrec_close_notify(r->srv, &r->srv_out);
            client_reads(r);
        }
        break;
    case 14: /* TCP closes without close_notify (conn.c's read gets 0) */
        deliver(r, 0);
        if (!r->srv_done) {
            struct tlsrec_io io = {.data = srv_data, .send = srv_send, .ud = r};
            tlsrec_eof(r->srv, &io);
            r->srv_done = true;
            client_reads(r);
        }
        break;
    default: /* a record of whitespace: cheap data */
        myna_buf_appends(&r->sealed, " ");
        seal_record(r, CT_APPDATA, (const uint8_t *)" ", 1, pad);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char c[48] = "client secret for the fuzzer, forty-eight bytes";
    static const unsigned char s[48] = "server secret for the fuzzer, forty-eight bytes";
    static const unsigned suites[3] = {0x1301, 0x1302, 0x1303};
    struct input in = {data, size};
    unsigned first = byte(&in);
    unsigned suite = suites[first % 3];
    size_t len = suite == 0x1302 ? 48 : 32;
    struct run r = {.clean = true, .answer_every = (first >> 2) % 4};
    r.srv = tlsrec_new_keys(suite, c, s, len);
    r.cli = tlsrec_new_keys(suite, s, c, len);
    myna_buf_init(&r.wire);
    myna_buf_init(&r.srv_out);
    myna_buf_init(&r.sealed);
    myna_buf_init(&r.got);
    for (int steps = 0; in.n && steps < 200; steps++)
        step(&r, &in);
    deliver(&r, 0);
    tlsrec_free(r.srv);
    tlsrec_free(r.cli);
    myna_buf_free(&r.wire);
    myna_buf_free(&r.srv_out);
    myna_buf_free(&r.sealed);
    myna_buf_free(&r.got);
    return 0;
}
