/* tests/fuzz/fuzz_parser.c — libFuzzer target for xml/parser.c and xml/serialize.c.
 *
 * The first input byte picks the feed pattern (chunk size, shrink between chunks, small
 * limits, reset on a stanza); the rest is the stream. Every element that comes out is
 * serialized, re-parsed inside a fresh stream and serialized again: the serializer must
 * produce well-formed XML and be a fixed point. Build: see tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "xml/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_state {
    struct xml_parser *p;  /* parser under test */
    char default_ns[512];  /* from stream_open */
    bool reset_on_stanza;  /* exercise reset from a callback */
    int elements;          /* elements seen in a re-parse */
    struct myna_buf again; /* serialization of the re-parsed element */
};

static void ro_open(void *ud, struct myna_xml *hdr, const char *default_ns)
{
    myna_arena_free(hdr->arena);
}

static void ro_element(void *ud, struct myna_xml *el)
{
    struct fuzz_state *r = ud;
    r->elements++;
    r->again.len = 0;
    myna_xml_serialize(el, r->default_ns, &r->again);
    myna_arena_free(el->arena);
}

/* Serialized output must parse back to the same serialization. */
static void check_round_trip(const char *default_ns, const char *s, size_t len)
{
    static const struct xml_parser_callbacks cb = {ro_open, ro_element, NULL};
    static const struct xml_parser_limits big = {1u << 30, 1000, 1000};
    struct fuzz_state r;
    memset(&r, 0, sizeof(r));
    snprintf(r.default_ns, sizeof(r.default_ns), "%s", default_ns);
    myna_buf_init(&r.again);
    struct myna_buf in;
    myna_buf_init(&in);
    myna_buf_appends(&in, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='");
    myna_buf_append_escaped(&in, default_ns, strlen(default_ns));
    myna_buf_appends(&in, "'>");
    myna_buf_append(&in, s, len);
    struct xml_parser *p = xml_parser_new(&big, &cb, &r);
    enum xml_parse_error e = xml_parser_feed(p, in.data, in.len);
    if (e != XML_PARSE_OK || r.elements != 1 || r.again.len != len ||
        memcmp(r.again.data, s, len) != 0) {
        fprintf(stderr, "round trip failed (%s, %d elements):\n%.*s\n%.*s\n",
                xml_parse_strerror(e), r.elements, (int)len, s, (int)r.again.len,
                r.again.data ? r.again.data : "");
        abort();
    }
    xml_parser_free(p);
    myna_buf_free(&in);
    myna_buf_free(&r.again);
}

static void on_open(void *ud, struct myna_xml *hdr, const char *default_ns)
{
    struct fuzz_state *st = ud;
    snprintf(st->default_ns, sizeof(st->default_ns), "%s", default_ns);
    (void)myna_xml_to_string(hdr, default_ns);
    myna_arena_free(hdr->arena);
}

static void on_element(void *ud, struct myna_xml *el)
{
    struct fuzz_state *st = ud;
    struct myna_buf b;
    myna_buf_init(&b);
    myna_xml_serialize(el, st->default_ns, &b);
    check_round_trip(st->default_ns, b.data, b.len);
    myna_buf_free(&b);
    (void)myna_xml_text(el);
    (void)myna_xml_attr(el, "to");
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *cp = myna_xml_copy(a, el);
    myna_arena_free(el->arena);
    (void)myna_xml_to_string(cp, NULL);
    if (st->reset_on_stanza && cp->name[0] == 's')
        xml_parser_reset(st->p);
    myna_arena_free(a);
}

static void on_close(void *ud)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const struct xml_parser_callbacks cb = {on_open, on_element, on_close};
    static const size_t chunks[8] = {1, 2, 3, 7, 16, 100, 4096, SIZE_MAX};
    uint8_t flags = data[0];
    data++;
    size--;
    size_t chunk = chunks[flags & 7];
    bool shrink = flags & 8;
    struct xml_parser_limits small = {300, 5, 4};
    struct fuzz_state st;
    memset(&st, 0, sizeof(st));
    st.reset_on_stanza = flags & 32;
    st.p = xml_parser_new((flags & 16) ? &small : NULL, &cb, &st);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (xml_parser_feed(st.p, (const char *)data + off, n) != XML_PARSE_OK)
            break;
        if (shrink)
            xml_parser_shrink(st.p);
        (void)xml_parser_memory(st.p);
        off += n;
    }
    xml_parser_free(st.p);
    return 0;
}
