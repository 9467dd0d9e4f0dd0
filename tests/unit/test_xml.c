/* tests/unit/test_xml.c — unit tests of xml/: arena, tree builders and lookup, serializer
 * escaping and namespaces, and the stream parser (sample streams split at every byte,
 * hostile inputs of RFC 6120 §11 and the limits, reset, shrink) plus the fuzz seed corpus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myna/xml.h"
#include "xml/arena.h"
#include "xml/parser.h"

/* ---- Arena --------------------------------------------------------------------------- */

static void test_arena_basics(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    char *p = myna_arena_alloc(a, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], 0);
    assert_int_equal((uintptr_t)p % 16, 0);
    char *big = myna_arena_alloc(a, 100000);
    assert_int_equal(big[99999], 0);
    for (int i = 0; i < 5000; i++) {
        char *s = myna_arena_printf(a, "item-%d", i);
        assert_int_equal((uintptr_t)s % 16, 0);
        char want[32];
        snprintf(want, sizeof(want), "item-%d", i);
        assert_string_equal(s, want);
    }
    assert_string_equal(myna_arena_strndup(a, "abcdef", 3), "abc");
    assert_string_equal(myna_arena_strdup(a, ""), "");
    /* realloc of the newest allocation grows in place */
    char *r = myna_arena_alloc(a, 8);
    memcpy(r, "1234567", 8);
    char *r2 = myna_arena_realloc(a, r, 8, 40);
    assert_ptr_equal(r, r2);
    assert_string_equal(r2, "1234567");
    char *other = myna_arena_alloc(a, 4);
    (void)other;
    char *r3 = myna_arena_realloc(a, r2, 40, 100);
    assert_ptr_not_equal(r3, r2);
    assert_string_equal(r3, "1234567");
    assert_true(myna_arena_used(a) > 100000);
    myna_arena_free(a);
    myna_arena_free(NULL);
}

static void *released_block;
static size_t released_size;
static int released_count;

static void count_release(void *block, size_t size)
{
    released_block = block;
    released_size = size;
    released_count++;
    free(block);
}

/* A tree kept for long is copied into a block of exactly its size (server/modhost/modapi.c,
 * a session's presence): the copy must fit the block (no extra chunk), and freeing the
 * arena hands the block back once, with its size. */
static void test_arena_in_block(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *p = myna_xml_new(a, MYNA_NS_CLIENT, "presence");
    myna_xml_set_attr(p, "from", "juliet@example.com/balcony");
    myna_xml_add_text(myna_xml_add_child(p, MYNA_NS_CLIENT, "status"), "on the balcony", 14);
    struct myna_arena *tmp = myna_arena_new();
    struct myna_xml *draft = myna_xml_copy(tmp, p);
    size_t size = xml_arena_block_size(myna_arena_used(tmp));
    assert_true(size < 1024);
    char *block = malloc(size);
    assert_non_null(block);
    struct myna_arena *kept = xml_arena_new_in(block, size, count_release);
    struct myna_xml *copy = myna_xml_copy(kept, draft);
    assert_int_equal(myna_arena_used(kept), myna_arena_used(tmp));
    assert_true((char *)copy > block && (char *)copy < block + size);
    const struct myna_xml *st = myna_xml_find(copy, MYNA_NS_CLIENT, "status");
    assert_non_null(st);
    assert_true((const char *)st > block && (const char *)st < block + size);
    assert_string_equal(myna_xml_text(st), "on the balcony");
    assert_string_equal(myna_xml_attr(copy, "from"), "juliet@example.com/balcony");
    /* Past the block the arena grows like any other. */
    char *more = myna_arena_alloc(kept, 10000);
    assert_true(more < block || more >= block + size);
    myna_arena_free(tmp);
    myna_arena_free(a);
    assert_int_equal(released_count, 0);
    myna_arena_free(kept);
    assert_int_equal(released_count, 1);
    assert_ptr_equal(released_block, block);
    assert_int_equal(released_size, size);
}

/* ---- Tree ---------------------------------------------------------------------------- */

static void test_tree_build_lookup(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *iq = myna_xml_new(a, MYNA_NS_CLIENT, "iq");
    myna_xml_set_attr(iq, "type", "result");
    myna_xml_set_attrf(iq, "id", "r%d", 42);
    myna_xml_set_attr(iq, "to", "a@b");
    myna_xml_set_attr(iq, "type", "set"); /* replace keeps the position */
    myna_xml_set_attr(iq, "to", NULL);     /* remove */
    myna_xml_set_attr(iq, "nothere", NULL);
    assert_string_equal(myna_xml_attr(iq, "type"), "set");
    assert_string_equal(myna_xml_attr(iq, "id"), "r42");
    assert_null(myna_xml_attr(iq, "to"));

    struct myna_xml *q = myna_xml_add_child(iq, "jabber:iq:roster", "query");
    struct myna_xml *i1 = myna_xml_add_child(q, NULL, "item");
    myna_xml_set_attr(i1, "jid", "x@y");
    myna_xml_add_text(q, "between", 7);
    struct myna_xml *i2 = myna_xml_add_child(q, NULL, "item");
    myna_xml_set_attr(i2, "jid", "z@y");
    struct myna_xml *g = myna_xml_add_child(i2, NULL, "group");
    myna_xml_add_text(g, "Fri", 3);
    myna_xml_add_text(g, "ends", 4); /* merged with the previous text */
    assert_ptr_equal(g->children, g->last_child);
    assert_string_equal(myna_xml_text(g), "Friends");

    assert_true(myna_xml_is(q, "jabber:iq:roster", "query"));
    assert_false(myna_xml_is(q, MYNA_NS_CLIENT, "query"));
    assert_true(myna_xml_is(q, NULL, "query"));
    assert_ptr_equal(myna_xml_first_element(iq), q);
    assert_ptr_equal(myna_xml_find(iq, "jabber:iq:roster", NULL), q);
    assert_null(myna_xml_find(iq, MYNA_NS_CLIENT, "query"));
    int n = 0;
    for (struct myna_xml *c = myna_xml_find(q, "jabber:iq:roster", "item"); c;
         c = myna_xml_find_next(c, "jabber:iq:roster", "item"))
        n++;
    assert_int_equal(n, 2);
    assert_string_equal(myna_xml_child_text(i2, NULL, "group"), "Friends");
    assert_null(myna_xml_child_text(i2, NULL, "nope"));
    assert_string_equal(myna_xml_text(i1), "");

    /* multiple text nodes are concatenated */
    struct myna_xml *b = myna_xml_add_child(iq, NULL, "body");
    myna_xml_add_text(b, "a", 1);
    myna_xml_add_child(b, NULL, "br");
    myna_xml_add_text(b, "b", 1);
    assert_string_equal(myna_xml_text(b), "ab");

    /* copies live in another arena and survive the original */
    struct myna_arena *a2 = myna_arena_new();
    struct myna_xml *cp = myna_xml_copy(a2, iq);
    struct myna_xml *holder = myna_xml_new(a2, MYNA_NS_CLIENT, "message");
    myna_xml_add_copy(holder, q);
    const char *s1 = myna_xml_to_string(iq, MYNA_NS_CLIENT);
    char *keep = strdup(s1);
    myna_arena_free(a);
    assert_string_equal(myna_xml_to_string(cp, MYNA_NS_CLIENT), keep);
    assert_string_equal(keep,
        "<iq type='set' id='r42'><query xmlns='jabber:iq:roster'><item jid='x@y'/>between"
        "<item jid='z@y'><group>Friends</group></item></query><body>a<br/>b</body></iq>");
    assert_string_equal(myna_xml_to_string(holder, MYNA_NS_CLIENT),
        "<message><query xmlns='jabber:iq:roster'><item jid='x@y'/>between"
        "<item jid='z@y'><group>Friends</group></item></query></message>");
    free(keep);

    /* remove: first, middle, last */
    struct myna_xml *q2 = myna_xml_find(cp, NULL, "query");
    struct myna_xml *body = myna_xml_find(cp, NULL, "body");
    myna_xml_remove(body);
    assert_ptr_equal(cp->last_child, q2);
    myna_xml_remove(q2);
    assert_null(cp->children);
    assert_null(cp->last_child);
    assert_string_equal(myna_xml_to_string(cp, MYNA_NS_CLIENT), "<iq type='set' id='r42'/>");
    myna_arena_free(a2);
}

/* ---- Serializer ---------------------------------------------------------------------- */

static void test_serialize_escaping(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    myna_xml_set_attr(m, "to", "a&b<c>\"d'e\tf\ng\rh");
    myna_xml_set_attr(m, "xml:lang", "en");
    struct myna_xml *body = myna_xml_add_child(m, NULL, "body");
    const char *t = "1 < 2 && 3 > 2 \"q\" 'a'\r\n\x01 \xC3\xA9 \xFF \xE2\x98\xBA \xEF\xBF\xBE";
    myna_xml_add_text(body, t, strlen(t));
    assert_string_equal(myna_xml_to_string(m, MYNA_NS_CLIENT),
        "<message to='a&amp;b&lt;c&gt;&quot;d&apos;e&#9;f&#10;g&#13;h' xml:lang='en'>"
        "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2 \"q\" 'a'&#13;\n\xEF\xBF\xBD \xC3\xA9 \xEF\xBF\xBD "
        "\xE2\x98\xBA \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD</body></message>");

    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_append_escaped(&b, "<&>\"'", 5);
    assert_string_equal(b.data, "&lt;&amp;&gt;&quot;&apos;");
    myna_buf_printf(&b, "%d%s", 7, "x");
    assert_string_equal(b.data, "&lt;&amp;&gt;&quot;&apos;7x");
    myna_buf_free(&b);
    myna_arena_free(a);
}

static void test_serialize_namespaces(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    struct myna_xml *m = myna_xml_new(a, MYNA_NS_CLIENT, "message");
    struct myna_xml *x = myna_xml_add_child(m, "urn:x", "x");
    struct myna_xml *y = myna_xml_add_child(x, NULL, "y");
    myna_xml_add_child(y, MYNA_NS_CLIENT, "z");
    myna_xml_add_child(m, "", "nons");
    myna_xml_set_attr(m, "xmlns", "evil"); /* never written: the tree's ns rules */
    /* a prefixed attribute as the parser makes it */
    struct myna_xml_attr *at = myna_arena_alloc(a, sizeof(*at));
    at->name = "a";
    at->ns = "urn:attr";
    at->value = "v&";
    at->next = NULL;
    y->attrs = at;
    assert_string_equal(myna_xml_to_string(m, MYNA_NS_CLIENT),
        "<message><x xmlns='urn:x'><y xmlns:ns0='urn:attr' ns0:a='v&amp;'>"
        "<z xmlns='jabber:client'/></y></x><nons xmlns=''/></message>");
    assert_string_equal(myna_xml_to_string(m, MYNA_NS_SERVER),
        "<message xmlns='jabber:client'><x xmlns='urn:x'><y xmlns:ns0='urn:attr' "
        "ns0:a='v&amp;'><z xmlns='jabber:client'/></y></x><nons xmlns=''/></message>");
    assert_string_equal(myna_xml_to_string(m, NULL),
        "<message xmlns='jabber:client'><x xmlns='urn:x'><y xmlns:ns0='urn:attr' "
        "ns0:a='v&amp;'><z xmlns='jabber:client'/></y></x><nons xmlns=''/></message>");
    assert_string_equal(myna_xml_to_string(myna_xml_find(m, "", "nons"), NULL), "<nons/>");

    struct myna_xml *f = myna_xml_new(a, MYNA_NS_STREAM, "features");
    myna_xml_add_child(f, MYNA_NS_TLS, "starttls");
    myna_xml_add_child(f, MYNA_NS_STREAM, "inner");
    myna_xml_add_child(f, MYNA_NS_XML, "odd");
    assert_string_equal(myna_xml_to_string(f, MYNA_NS_CLIENT),
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:inner/><xml:odd/>"
        "</stream:features>");
    myna_arena_free(a);
}

/* ---- Parser harness ------------------------------------------------------------------ */

struct collect {
    struct myna_buf out;     /* header, stanzas and close, one per line */
    char default_ns[128];    /* as given to stream_open */
    int stanzas;             /* elements received */
    int opens, closes;       /* stream_open / stream_close calls */
    struct xml_parser *p;    /* for callbacks that reset */
    const char *reset_on;    /* reset when a stanza of this name arrives */
    size_t peak_mem;         /* largest xml_parser_memory seen in callbacks */
};

static void on_open(void *ud, struct myna_xml *hdr, const char *default_ns)
{
    struct collect *c = ud;
    c->opens++;
    snprintf(c->default_ns, sizeof(c->default_ns), "%s", default_ns);
    myna_buf_printf(&c->out, "OPEN[%s] %s\n", default_ns, myna_xml_to_string(hdr, default_ns));
    myna_arena_free(hdr->arena);
}

static void on_element(void *ud, struct myna_xml *el)
{
    struct collect *c = ud;
    c->stanzas++;
    myna_xml_serialize(el, c->default_ns, &c->out);
    myna_buf_append(&c->out, "\n", 1);
    if (c->p) {
        size_t m = xml_parser_memory(c->p);
        if (m > c->peak_mem)
            c->peak_mem = m;
    }
    if (c->reset_on && strcmp(el->name, c->reset_on) == 0)
        xml_parser_reset(c->p);
    myna_arena_free(el->arena);
}

static void on_close(void *ud)
{
    struct collect *c = ud;
    c->closes++;
    myna_buf_appends(&c->out, "CLOSE\n");
}

static const struct xml_parser_callbacks test_cb = {on_open, on_element, on_close};

static struct xml_parser *collect_new(struct collect *c, const struct xml_parser_limits *lim)
{
    memset(c, 0, sizeof(*c));
    myna_buf_init(&c->out);
    myna_buf_append(&c->out, "", 0);
    c->p = xml_parser_new(lim, &test_cb, c);
    return c->p;
}

static void collect_free(struct collect *c)
{
    xml_parser_free(c->p);
    myna_buf_free(&c->out);
}

/* Parses s in one feed; returns the error; *out gets a malloc'd transcript. */
static enum xml_parse_error parse_string(const char *s, size_t len, char **out)
{
    struct collect c;
    collect_new(&c, NULL);
    enum xml_parse_error e = xml_parser_feed(c.p, s, len);
    if (out)
        *out = strdup(c.out.data);
    collect_free(&c);
    return e;
}

static enum xml_parse_error parse_str(const char *s)
{
    return parse_string(s, strlen(s), NULL);
}

#define HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
            "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>"

static const char sample_stream[] =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    " to='example.com' version='1.0' xml:lang='en'>\n"
    "<message to='juliet@example.com' type='chat' id='m1'><body>Wherefore art thou &amp; "
    "&lt;Romeo&gt;? &#x263A; \xE2\x98\xBA &quot;&apos;</body><thread>t1</thread></message>\n"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver='v1'/></iq> \n\t "
    "<presence xml:lang='fr'><status>\xC3\xA9t\xC3\xA9</status><c "
    "xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>"
    "<p:iq xmlns:p='jabber:client' type='set' id='b'><bind "
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></p:iq>"
    "<message><x:y xmlns:x='urn:x' x:a='1' b='2'/><![CDATA[<cdata>&]]> tail</message>"
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    "<a:message xmlns:a='jabber:client'><a:body a:x='1'>prefixed</a:body></a:message>"
    "<big attr='&#x10000;&#60;'>line1\r\nline2</big>"
    "<xml:x xml:space='preserve'>&#13;\t</xml:x>"
    "</stream:stream>";

static const char sample_expected[] =
    "OPEN[jabber:client] <stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0' xml:lang='en'/>\n"
    "<message to='juliet@example.com' type='chat' id='m1'><body>Wherefore art thou &amp; "
    "&lt;Romeo&gt;? \xE2\x98\xBA \xE2\x98\xBA \"'</body><thread>t1</thread></message>\n"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver='v1'/></iq>\n"
    "<presence xml:lang='fr'><status>\xC3\xA9t\xC3\xA9</status><c "
    "xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>\n"
    "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>r</resource></bind></iq>\n"
    "<message><y xmlns='urn:x' xmlns:ns0='urn:x' ns0:a='1' b='2'/>&lt;cdata&gt;&amp; tail"
    "</message>\n"
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms "
    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
    "</stream:features>\n"
    "<message><body xmlns:ns0='jabber:client' ns0:x='1'>prefixed</body></message>\n"
    "<big attr='\xF0\x90\x80\x80&lt;'>line1\nline2</big>\n"
    "<xml:x xml:space='preserve'>&#13;\t</xml:x>\n"
    "CLOSE\n";

static void test_parse_sample(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(parse_string(sample_stream, strlen(sample_stream), &out), XML_PARSE_OK);
    assert_string_equal(out, sample_expected);
    free(out);
}

static void test_parse_every_split(void **state)
{
    (void)state;
    size_t len = strlen(sample_stream);
    for (size_t i = 0; i <= len; i++) {
        struct collect c;
        collect_new(&c, NULL);
        assert_int_equal(xml_parser_feed(c.p, sample_stream, i), XML_PARSE_OK);
        assert_int_equal(xml_parser_feed(c.p, sample_stream + i, len - i), XML_PARSE_OK);
        if (strcmp(c.out.data, sample_expected) != 0)
            fail_msg("split at %zu differs:\n%s", i, c.out.data);
        collect_free(&c);
    }
    /* byte by byte, and byte by byte with a shrink attempt after every byte */
    for (int shrink = 0; shrink < 2; shrink++) {
        struct collect c;
        collect_new(&c, NULL);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(xml_parser_feed(c.p, sample_stream + i, 1), XML_PARSE_OK);
            if (shrink)
                xml_parser_shrink(c.p);
        }
        assert_string_equal(c.out.data, sample_expected);
        collect_free(&c);
    }
}

/* A stanza whose start tag arrives in pieces is delivered as soon as it is complete. */
static void test_parse_prompt_delivery(void **state)
{
    (void)state;
    struct collect c;
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    char tag[3000];
    int n = snprintf(tag, sizeof(tag), "<presence id='%01500d", 7);
    assert_int_equal(xml_parser_feed(c.p, tag, (size_t)n), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, "'", 1), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, "/>", 2), XML_PARSE_OK);
    assert_int_equal(c.stanzas, 1);
    collect_free(&c);
}

/* ---- Hostile input ------------------------------------------------------------------- */

static void test_restricted(void **state)
{
    (void)state;
    static const char billion_laughs[] =
        "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
        "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
        "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"
        "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"
        "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"
        "<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"
        "<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"
        "<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"
        "<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"
        "<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>"
        "]><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams'><message>&lol9;</message>";
    clock_t t0 = clock();
    assert_int_equal(parse_str(billion_laughs), XML_PARSE_RESTRICTED);
    assert_true(clock() - t0 < CLOCKS_PER_SEC / 10);
    assert_int_equal(parse_str("<!DOCTYPE x><stream:stream/>"), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str(HDR "<!-- hi -->"), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str(HDR "<message><!-- hi --></message>"), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str("<!-- before -->" HDR), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str(HDR "<?pi data?>"), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str("<?xml-stylesheet href='a'?>" HDR), XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str(HDR "<message><body>&foo;</body></message>"),
                     XML_PARSE_RESTRICTED);
    assert_int_equal(parse_str(HDR "<message a='&foo;'/>"), XML_PARSE_RESTRICTED);
    /* ...and what stays allowed */
    assert_int_equal(parse_str(HDR "<message a='&amp;&#65;'><![CDATA[x]]>&lt;&#x41;</message>"),
                     XML_PARSE_OK);
}

static void test_not_well_formed(void **state)
{
    (void)state;
    assert_int_equal(parse_str(HDR "<message></presence>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "</message>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "<message a='1' a='2'/>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "<x:message/>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "<message>&#0;</message>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "<message>\x01</message>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "</stream:stream><message/>"), XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(parse_str(HDR "<?xml version='1.0'?>"), XML_PARSE_NOT_WELL_FORMED);
    static const char nul[] = HDR "<message>a\0b</message>";
    assert_int_equal(parse_string(nul, sizeof(nul) - 1, NULL), XML_PARSE_NOT_WELL_FORMED);
    static const char nul2[] = HDR "<mess\0age/>";
    assert_int_equal(parse_string(nul2, sizeof(nul2) - 1, NULL), XML_PARSE_NOT_WELL_FORMED);
    /* an error is sticky */
    struct collect c;
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR "<a></b>", strlen(HDR) + 7),
                     XML_PARSE_NOT_WELL_FORMED);
    assert_int_equal(xml_parser_feed(c.p, "<a/>", 4), XML_PARSE_NOT_WELL_FORMED);
    assert_true(xml_parser_memory(c.p) < 1024);
    collect_free(&c);
}

static void test_encoding(void **state)
{
    (void)state;
    assert_int_equal(parse_str(HDR "<message>\xC3\x28</message>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str(HDR "<message>\xFF</message>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str(HDR "<message>\xC0\x80</message>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str(HDR "<message>\xED\xA0\x80</message>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str(HDR "<message a='\xE2\x28\xA1'/>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str(HDR "<m\xFF/>"), XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str("<?xml version='1.0' encoding='ISO-8859-1'?>"
                               "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
                     XML_PARSE_BAD_ENCODING);
    assert_int_equal(parse_str("<?xml version='1.0' encoding='utf-8'?>"
                               "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
                     XML_PARSE_OK);
    static const char utf16[] = "\xFF\xFE<\0s\0";
    assert_int_equal(parse_string(utf16, sizeof(utf16) - 1, NULL), XML_PARSE_BAD_ENCODING);
    /* invalid UTF-8 inside a start tag split across feeds */
    struct collect c;
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR "<message a='", strlen(HDR) + 12), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, "xx\xF5yy", 5), XML_PARSE_BAD_ENCODING);
    collect_free(&c);
}

static void test_bad_namespace(void **state)
{
    (void)state;
    assert_int_equal(parse_str("<stream:stream xmlns:stream='urn:wrong'>"),
                     XML_PARSE_BAD_NAMESPACE);
    assert_int_equal(parse_str("<stream xmlns='jabber:client'>"), XML_PARSE_BAD_NAMESPACE);
    assert_int_equal(parse_str("<stream:features "
                               "xmlns:stream='http://etherx.jabber.org/streams'>"),
                     XML_PARSE_BAD_NAMESPACE);
    /* a default-namespace stream element is fine */
    assert_int_equal(parse_str("<stream xmlns='http://etherx.jabber.org/streams'><x/>"),
                     XML_PARSE_OK);
}

static void test_limits(void **state)
{
    (void)state;
    /* 100k-deep nesting: refused at depth 65, quickly, with bounded memory */
    size_t n = 100000;
    char *deep = malloc(n * 3);
    for (size_t i = 0; i < n; i++)
        memcpy(deep + 3 * i, "<a>", 3);
    struct collect c;
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    clock_t t0 = clock();
    enum xml_parse_error e = XML_PARSE_OK;
    size_t off;
    for (off = 0; off < n * 3 && e == XML_PARSE_OK; off += 4096) {
        size_t k = n * 3 - off < 4096 ? n * 3 - off : 4096;
        e = xml_parser_feed(c.p, deep + off, k);
        assert_true(xml_parser_memory(c.p) < 1024 * 1024);
    }
    assert_int_equal(e, XML_PARSE_TOO_BIG);
    assert_true(off <= 8192);
    assert_true(clock() - t0 < CLOCKS_PER_SEC / 10);
    collect_free(&c);
    free(deep);

    /* depth 64 below the stream is allowed, 65 is not */
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_appends(&b, HDR);
    for (int i = 0; i < 64; i++)
        myna_buf_appends(&b, "<a>");
    for (int i = 0; i < 64; i++)
        myna_buf_appends(&b, "</a>");
    assert_int_equal(parse_string(b.data, b.len, NULL), XML_PARSE_OK);
    b.len = 0;
    myna_buf_appends(&b, HDR);
    for (int i = 0; i < 65; i++)
        myna_buf_appends(&b, "<a>");
    assert_int_equal(parse_string(b.data, b.len, NULL), XML_PARSE_TOO_BIG);

    /* attribute count */
    b.len = 0;
    myna_buf_appends(&b, HDR "<message");
    for (int i = 0; i < 64; i++)
        myna_buf_printf(&b, " a%d='x'", i);
    myna_buf_appends(&b, "/>");
    assert_int_equal(parse_string(b.data, b.len, NULL), XML_PARSE_OK);
    b.len = 0;
    myna_buf_appends(&b, HDR "<message");
    for (int i = 0; i < 65; i++)
        myna_buf_printf(&b, " a%d='x'", i);
    myna_buf_appends(&b, "/>");
    assert_int_equal(parse_string(b.data, b.len, NULL), XML_PARSE_TOO_BIG);
    myna_buf_free(&b);

    /* custom limits: a stanza of exactly max bytes passes, one more byte fails (the
     * stream header counts too) */
    struct xml_parser_limits lim = {.max_stanza_bytes = 200, .max_depth = 3, .max_attrs = 2};
    char st[300];
    memset(st, 'x', sizeof(st));
    memcpy(st, "<m>", 3);
    memcpy(st + 196, "</m>", 4); /* 200 bytes */
    collect_new(&c, &lim);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    for (int i = 0; i < 50; i++) /* whitespace keepalives never add up */
        assert_int_equal(xml_parser_feed(c.p, "  \n ", 4), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, st, 200), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, st, 200), XML_PARSE_OK);
    assert_int_equal(c.stanzas, 2);
    assert_int_equal(xml_parser_feed(c.p, "<a><b><c/></b></a>", 18), XML_PARSE_OK);
    assert_int_equal(c.stanzas, 3);
    memcpy(st + 196, "x</m>", 5);
    assert_int_equal(xml_parser_feed(c.p, st, 201), XML_PARSE_TOO_BIG);
    collect_free(&c);
    collect_new(&c, &lim);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, "<a><b><c><d/>", 13), XML_PARSE_TOO_BIG);
    collect_free(&c);
}

static void test_huge_attribute(void **state)
{
    (void)state;
    size_t n = 10 * 1024 * 1024;
    char *big = malloc(n);
    memset(big, 'A', n);
    memcpy(big, "<message to='", 13);
    /* fed in network-sized pieces: memory stays bounded, refused within the limit */
    struct collect c;
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    enum xml_parse_error e = XML_PARSE_OK;
    size_t off;
    for (off = 0; off < n && e == XML_PARSE_OK; off += 16384) {
        e = xml_parser_feed(c.p, big + off, 16384);
        /* one tag is bounded far below the stanza limit */
        assert_true(xml_parser_memory(c.p) < 256 * 1024);
    }
    assert_int_equal(e, XML_PARSE_TOO_BIG);
    assert_true(off <= 64 * 1024);
    collect_free(&c);

    /* in one 10 MB feed: refused quickly, expat never sees most of it */
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    clock_t t0 = clock();
    assert_int_equal(xml_parser_feed(c.p, big, n), XML_PARSE_TOO_BIG);
    assert_true(clock() - t0 < CLOCKS_PER_SEC / 2);
    assert_true(c.peak_mem == 0); /* no stanza was ever delivered */
    collect_free(&c);

    /* and a 10 MB text body, the same */
    memcpy(big, "<message><body>", 15);
    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
    e = XML_PARSE_OK;
    for (off = 0; off < n && e == XML_PARSE_OK; off += 65536) {
        e = xml_parser_feed(c.p, big + off, 65536);
        assert_true(xml_parser_memory(c.p) < 2 * 1024 * 1024);
    }
    assert_int_equal(e, XML_PARSE_TOO_BIG);
    collect_free(&c);
    free(big);
}

/* Text is streamed to the tree, so a big body passes; one huge start tag does not. */
static void test_big_text_and_tags(void **state)
{
    (void)state;
    struct xml_parser_limits lim = {.max_stanza_bytes = 1024 * 1024};
    size_t n = 200 * 1024;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    for (int pass = 0; pass < 2; pass++) {
        struct collect c;
        collect_new(&c, &lim);
        assert_int_equal(xml_parser_feed(c.p, HDR "<message><body>", strlen(HDR) + 15),
                         XML_PARSE_OK);
        size_t step = pass ? 1000 : n;
        for (size_t off = 0; off < n; off += step)
            assert_int_equal(xml_parser_feed(c.p, body + off, n - off < step ? n - off : step),
                             XML_PARSE_OK);
        assert_int_equal(xml_parser_feed(c.p, "</body></message>", 17), XML_PARSE_OK);
        assert_int_equal(c.stanzas, 1);
        const char *got = strstr(c.out.data, "<body>") + 6;
        assert_memory_equal(got, body, n);
        assert_string_equal(got + n, "</body></message>\n");
        collect_free(&c);
    }
    /* a 20 KiB attribute is fine; a 40 KiB one is refused whatever the stanza limit */
    for (int pass = 0; pass < 2; pass++) {
        size_t len = pass ? 40 * 1024 : 20 * 1024;
        memcpy(body, "<message a='", 12);
        memset(body + 12, 'x', len);
        memcpy(body + 12 + len, "'/>", 3);
        struct collect c;
        collect_new(&c, &lim);
        assert_int_equal(xml_parser_feed(c.p, HDR, strlen(HDR)), XML_PARSE_OK);
        enum xml_parse_error e = XML_PARSE_OK;
        for (size_t off = 0; off < len + 15 && e == XML_PARSE_OK; off += 512)
            e = xml_parser_feed(c.p, body + off, len + 15 - off < 512 ? len + 15 - off : 512);
        assert_int_equal(e, pass ? XML_PARSE_TOO_BIG : XML_PARSE_OK);
        assert_int_equal(c.stanzas, pass ? 0 : 1);
        collect_free(&c);
    }
    free(body);
}

/* ---- Reset, stop, shrink ------------------------------------------------------------- */

static void test_reset_from_callback(void **state)
{
    (void)state;
    static const char part1[] =
        HDR "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01 TLS junk";
    static const char part2[] =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
        "xmlns:stream='http://etherx.jabber.org/streams'><db:result xmlns:db='jabber:server:"
        "dialback'>k</db:result>";
    struct collect c;
    collect_new(&c, NULL);
    c.reset_on = "starttls";
    assert_int_equal(xml_parser_feed(c.p, part1, sizeof(part1) - 1), XML_PARSE_OK);
    assert_int_equal(c.stanzas, 1);
    assert_int_equal(xml_parser_feed(c.p, part2, sizeof(part2) - 1), XML_PARSE_OK);
    assert_int_equal(c.opens, 2);
    assert_string_equal(c.default_ns, "jabber:server");
    assert_int_equal(c.stanzas, 2);
    assert_non_null(strstr(c.out.data, "<result xmlns='jabber:server:dialback'>k</result>"));
    /* reset outside a callback, also after an error */
    assert_int_equal(xml_parser_feed(c.p, "<bad", 4), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(c.p, "></x>", 5), XML_PARSE_NOT_WELL_FORMED);
    xml_parser_reset(c.p);
    assert_int_equal(xml_parser_feed(c.p, HDR "<a/>", strlen(HDR) + 4), XML_PARSE_OK);
    assert_int_equal(c.opens, 3);
    assert_int_equal(c.stanzas, 3);
    /* stop: the rest is ignored until reset */
    xml_parser_stop(c.p);
    assert_int_equal(xml_parser_feed(c.p, "garbage<<<", 10), XML_PARSE_OK);
    assert_int_equal(c.stanzas, 3);
    collect_free(&c);
}

static void test_shrink_regrow(void **state)
{
    (void)state;
    static const char hdr[] =
        "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' "
        "xmlns:x='urn:extra' xml:lang='en'>";
    static const char stanzas[] =
        "<message to='a@b'><body>hi &amp; bye</body></message>"
        "<s:features><x:item/></s:features>"
        "<iq type='get' id='1'><query xmlns='jabber:iq:version'/></iq>"
        "<x:thing s:attr='1'/>";
    /* reference: no shrink */
    struct collect ref, c;
    collect_new(&ref, NULL);
    assert_int_equal(xml_parser_feed(ref.p, hdr, strlen(hdr)), XML_PARSE_OK);
    assert_int_equal(xml_parser_feed(ref.p, stanzas, strlen(stanzas)), XML_PARSE_OK);

    collect_new(&c, NULL);
    assert_int_equal(xml_parser_feed(c.p, hdr, strlen(hdr)), XML_PARSE_OK);
    size_t before = xml_parser_memory(c.p);
    xml_parser_shrink(c.p);
    size_t after = xml_parser_memory(c.p);
    assert_true(after < before);
    assert_true(after < 1024);
    /* one stanza at a time, shrinking in between; also a whitespace keepalive */
    const char *s = stanzas;
    const char *ends[] = {"</message>", "</s:features>", "</iq>", "/>"};
    for (int i = 0; i < 4; i++) {
        const char *e = strstr(s, ends[i]) + strlen(ends[i]);
        assert_int_equal(xml_parser_feed(c.p, s, (size_t)(e - s)), XML_PARSE_OK);
        assert_int_equal(xml_parser_feed(c.p, " ", 1), XML_PARSE_OK);
        xml_parser_shrink(c.p);
        assert_true(xml_parser_memory(c.p) < 1024);
        s = e;
    }
    assert_int_equal(c.opens, 1);
    assert_string_equal(c.out.data, ref.out.data);
    assert_non_null(strstr(c.out.data, "<stream:features xmlns:stream="));
    assert_non_null(strstr(c.out.data, "<thing xmlns='urn:extra' xmlns:ns0="
                                       "'http://etherx.jabber.org/streams' ns0:attr='1'/>"));
    /* mid-stanza, shrink does nothing */
    assert_int_equal(xml_parser_feed(c.p, "<message><bo", 12), XML_PARSE_OK);
    size_t mid = xml_parser_memory(c.p);
    xml_parser_shrink(c.p);
    assert_int_equal(xml_parser_memory(c.p), mid);
    assert_int_equal(xml_parser_feed(c.p, "dy>x</body></message></s:stream>", 32), XML_PARSE_OK);
    assert_int_equal(c.closes, 1);
    assert_int_equal(c.stanzas, 5);
    collect_free(&c);
    collect_free(&ref);
}

/* ---- Fuzz seed corpus ---------------------------------------------------------------- */

static void test_seed_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(XML_CORPUS_DIR);
    if (!d)
        skip();
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", XML_CORPUS_DIR, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        /* byte 0 is the fuzzer's flag byte; the stream follows, split in two at places */
        if (n == 0)
            continue;
        for (size_t cut = 1; cut <= n; cut += n / 7 + 1) {
            struct collect c;
            collect_new(&c, NULL);
            if (xml_parser_feed(c.p, buf + 1, cut - 1) == XML_PARSE_OK)
                xml_parser_feed(c.p, buf + cut, n - cut);
            collect_free(&c);
        }
        files++;
    }
    closedir(d);
    assert_true(files > 0);
}

/* myna_xml_parse: one stored stanza back into a tree; anything else is refused. */
static void test_parse_one(void **state)
{
    (void)state;
    struct myna_arena *a = myna_arena_new();
    const char *in = "<message to='b@x' type='chat'><body>x &amp; y</body>"
                     "<x xmlns='urn:test'>z</x></message>";
    struct myna_xml *m = myna_xml_parse(a, in, strlen(in), MYNA_NS_CLIENT);
    assert_non_null(m);
    assert_string_equal(m->name, "message");
    assert_string_equal(m->ns, MYNA_NS_CLIENT);
    assert_string_equal(myna_xml_attr(m, "to"), "b@x");
    assert_string_equal(myna_xml_child_text(m, MYNA_NS_CLIENT, "body"), "x & y");
    assert_non_null(myna_xml_find(m, "urn:test", "x"));
    assert_string_equal(myna_xml_to_string(m, MYNA_NS_CLIENT), in);
    static const char *const bad[] = {
        "<a/><b/>", "<a>", "<!-- c --><a/>", "<?pi x?><a/>", "<a>&foo;</a>", "", "text",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(myna_xml_parse(a, bad[i], strlen(bad[i]), MYNA_NS_CLIENT));
    myna_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_in_block),
        cmocka_unit_test(test_arena_basics),
        cmocka_unit_test(test_tree_build_lookup),
        cmocka_unit_test(test_serialize_escaping),
        cmocka_unit_test(test_serialize_namespaces),
        cmocka_unit_test(test_parse_sample),
        cmocka_unit_test(test_parse_every_split),
        cmocka_unit_test(test_parse_prompt_delivery),
        cmocka_unit_test(test_restricted),
        cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_bad_namespace),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_huge_attribute),
        cmocka_unit_test(test_big_text_and_tags),
        cmocka_unit_test(test_reset_from_callback),
        cmocka_unit_test(test_shrink_regrow),
        cmocka_unit_test(test_seed_corpus),
        cmocka_unit_test(test_parse_one),
    };
    return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
