/* tests/unit/test_reader.c — the streaming document reader (xml/reader.c): the walk
 * (descend, tree, items, skip) with input split at every byte, pause and resume, and
 * hostile documents: DTDs and entity tricks, deep nesting, oversized trees (skipped, the
 * read goes on), oversized tokens, truncation, foreign encodings, bad UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myna/xml.h"
#include "xml/reader.h"

struct log {
    struct myna_buf b;
    struct xml_reader *r;
    bool pause_on_tree;
    int trees, too_big;
};

static enum xml_read_take on_start(void *ud, unsigned depth, struct myna_xml *el)
{
    struct log *l = ud;
    myna_buf_printf(&l->b, "S%u:%s|", depth, el->name);
    if (strcmp(el->name, "tree") == 0)
        return XML_TAKE_TREE;
    if (strcmp(el->name, "list") == 0)
        return XML_TAKE_ITEMS;
    if (strcmp(el->name, "skip") == 0)
        return XML_TAKE_SKIP;
    return XML_TAKE_DESCEND;
}

static void on_tree(void *ud, struct myna_xml *parent, struct myna_xml *el)
{
    struct log *l = ud;
    l->trees++;
    myna_buf_printf(&l->b, "T(%s):%s|", parent ? parent->name : "-",
                    myna_xml_to_string(el, ""));
    if (l->pause_on_tree)
        xml_reader_pause(l->r);
}

static void on_end(void *ud, unsigned depth, struct myna_xml *el)
{
    struct log *l = ud;
    myna_buf_printf(&l->b, "E%u:%s|", depth, el->name);
}

static void on_too_big(void *ud, struct myna_xml *parent, struct myna_xml *el)
{
    struct log *l = ud;
    l->too_big++;
    myna_buf_printf(&l->b, "BIG:%s|", el->name);
}

static const struct xml_reader_callbacks cbs = {on_start, on_tree, on_end, on_too_big};

static const char doc[] =
    "<?xml version='1.0' encoding='UTF-8'?>\n<!-- a comment -->"
    "<root xmlns='urn:a' xmlns:x='urn:x'>\n"
    "  <host jid='h'><?pi data?>\n"
    "    <tree a='1' xml:lang='en'><x:c>te&amp;xt</x:c></tree>\n"
    "    <list n='2'> <i>1</i> text <i><j/></i> </list>\n"
    "    <skip><deep><deeper/></deep></skip>\n"
    "  </host>\n"
    "</root>\n";

static const char expect[] =
    "S0:root|S1:host|S2:tree|"
    "T(-):<tree xmlns='urn:a' a='1' xml:lang='en'><c xmlns='urn:x'>te&amp;xt</c></tree>|"
    "S2:list|T(list):<i xmlns='urn:a'>1</i>|T(list):<i xmlns='urn:a'><j/></i>|E2:list|"
    "S2:skip|E2:skip|E1:host|E0:root|";

/* Reads `text` in pieces of `step` bytes; returns the final status. Resumes pauses. */
static enum xml_read_status read_all(struct log *l, const char *text, size_t len, size_t step,
                                     const struct xml_reader_limits *lim)
{
    myna_buf_init(&l->b);
    l->r = xml_reader_new(lim, &cbs, l);
    enum xml_read_status st = XML_READ_OK;
    for (size_t off = 0; off < len && st != XML_READ_ERROR; off += step) {
        size_t n = len - off < step ? len - off : step;
        st = xml_reader_feed(l->r, text + off, n);
        while (st == XML_READ_PAUSED)
            st = xml_reader_resume(l->r);
    }
    if (st != XML_READ_ERROR)
        st = xml_reader_finish(l->r);
    myna_buf_append(&l->b, "", 1);
    return st;
}

static void test_walk_every_split(void **state)
{
    (void)state;
    for (size_t step = 1; step <= sizeof doc; step++) {
        struct log l = {0};
        assert_int_equal(read_all(&l, doc, sizeof doc - 1, step, NULL), XML_READ_OK);
        assert_string_equal(l.b.data, expect);
        myna_buf_free(&l.b);
        xml_reader_free(l.r);
    }
}

static void test_pause_resume(void **state)
{
    (void)state;
    struct log l = {.pause_on_tree = true};
    myna_buf_init(&l.b);
    l.r = xml_reader_new(NULL, &cbs, &l);
    enum xml_read_status st = xml_reader_feed(l.r, doc, sizeof doc - 1);
    int pauses = 0;
    while (st == XML_READ_PAUSED) {
        pauses++;
        assert_int_equal(l.trees, pauses); /* nothing ran past the pause */
        st = xml_reader_resume(l.r);
    }
    assert_int_equal(st, XML_READ_OK);
    assert_int_equal(pauses, 3);
    assert_int_equal(xml_reader_finish(l.r), XML_READ_OK);
    myna_buf_append(&l.b, "", 1);
    assert_string_equal(l.b.data, expect);
    myna_buf_free(&l.b);
    xml_reader_free(l.r);
}

/* Expects the read of `text` to be refused with a message containing `why`. */
static void refused(const char *text, size_t len, const char *why)
{
    struct log l = {0};
    struct xml_reader_limits lim = {.max_tree_bytes = 1 << 20};
    assert_int_equal(read_all(&l, text, len, 4096, &lim), XML_READ_ERROR);
    if (!strstr(xml_reader_error(l.r), why))
        fail_msg("'%s' does not mention '%s'", xml_reader_error(l.r), why);
    myna_buf_free(&l.b);
    xml_reader_free(l.r);
}

static void test_hostile(void **state)
{
    (void)state;
    const char *laughs =
        "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>"
        "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
        "<r>&c;</r>";
    refused(laughs, strlen(laughs), "DTD");
    const char *external = "<!DOCTYPE r SYSTEM 'file:///etc/passwd'><r/>";
    refused(external, strlen(external), "DTD");
    const char *undeclared = "<r><tree>&nope;</tree></r>";
    refused(undeclared, strlen(undeclared), "entity");
    refused("<r><a></b></r>", 14, "mismatched tag");
    refused("<r><host>", 9, "no element found"); /* expat's words for an unclosed root */
    refused("", 0, "no element found");
    const char *latin = "<?xml version='1.0' encoding='ISO-8859-1'?><r/>";
    refused(latin, strlen(latin), "UTF-8");
    refused("<r>\xff\xfe</r>", 7, "invalid token");

    /* 200 nested elements inside a skipped one still count against the depth. */
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_appends(&b, "<r><skip>");
    for (int i = 0; i < 200; i++)
        myna_buf_appends(&b, "<d>");
    refused(b.data, b.len, "nested too deep");
    myna_buf_free(&b);

    /* One start tag of 2 MiB: expat must not buffer it whole. */
    myna_buf_init(&b);
    myna_buf_appends(&b, "<r><skip a='");
    for (int i = 0; i < 2 * 1024 * 1024; i++)
        myna_buf_append(&b, "x", 1);
    myna_buf_appends(&b, "'/></r>");
    refused(b.data, b.len, "longer than 1 MiB");
    myna_buf_free(&b);

    myna_buf_init(&b);
    myna_buf_appends(&b, "<r");
    for (int i = 0; i < 100; i++)
        myna_buf_printf(&b, " a%d='1'", i);
    myna_buf_appends(&b, "/>");
    refused(b.data, b.len, "too many attributes");
    myna_buf_free(&b);
}

/* A tree over the limit is dropped and reported; the items after it are still read. */
static void test_tree_too_big(void **state)
{
    (void)state;
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_appends(&b, "<r><list><i>small</i><i>");
    for (int i = 0; i < 100000; i++)
        myna_buf_appends(&b, "<x>0123456789</x>");
    myna_buf_appends(&b, "</i><i>after</i></list><tree>");
    for (int i = 0; i < 300000; i++)
        myna_buf_appends(&b, "0123456789");
    myna_buf_appends(&b, "</tree></r>");
    struct log l = {0};
    struct xml_reader_limits lim = {.max_tree_bytes = 64 * 1024};
    enum xml_read_status st = read_all(&l, b.data, b.len, 65536, &lim);
    if (st != XML_READ_OK)
        fail_msg("%s", xml_reader_error(l.r));
    assert_int_equal(l.too_big, 2);
    assert_int_equal(l.trees, 2);
    assert_non_null(strstr(l.b.data, "T(list):<i>small</i>|BIG:i|T(list):<i>after</i>|"));
    assert_non_null(strstr(l.b.data, "BIG:tree|E0:r|"));
    myna_buf_free(&l.b);
    xml_reader_free(l.r);
    myna_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_every_split),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_tree_too_big),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
