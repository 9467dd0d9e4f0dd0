/* tests/moddev/careless.c — a test module that writes without looking at the result, to
 * show what the server guarantees to every module (include/myna/store.h, units of work):
 *   <iq type='set'><note xmlns='urn:x:careless' n='N'>TEXT</note></iq> to the host stores
 *     TEXT under "user@host\0N" and answers with a result, the write's result unchecked;
 *   <iq type='get'><note xmlns='urn:x:careless' n='N'/></iq> returns what is stored;
 *   a <message/> to the host with a <note n='N'/> child stores it the same way and is
 *     answered with nothing (HOST_STANZA hook).
 * Not an example to follow: real modules check every write (docs/modules.md).
 */
#include <string.h>

#include "myna/module.h"

#define NS "urn:x:careless"

static size_t key_of(struct myna_stanza *st, const struct myna_xml *note, char **out)
{
    const char *n = myna_xml_attr(note, "n");
    *out = myna_arena_printf(st->arena, "%s%c%s", st->from.bare, 0, n ? n : "");
    return strlen(st->from.bare) + 1 + (n ? strlen(n) : 0);
}

static void store_note(struct myna_module *m, struct myna_stanza *st, const struct myna_xml *note)
{
    char *k;
    size_t kl = key_of(st, note, &k);
    const char *text = myna_xml_text(note);
    myna_store_put(myna_module_store(m, "careless"), k, kl, text, strlen(text));
}

static int note_set(struct myna_module *m, struct myna_stanza *st, void *data)
{
    store_note(m, st, myna_xml_first_element(st->xml));
    myna_iq_result(st, NULL); /* careless: the put may have failed */
    return 0;
}

static int note_get(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct myna_xml *note = myna_xml_first_element(st->xml);
    char *k;
    size_t kl = key_of(st, note, &k);
    void *v;
    size_t vl;
    struct myna_xml *r = myna_xml_new(st->arena, NS, "note");
    if (myna_store_get(myna_module_store(m, "careless"), k, kl, st->arena, &v, &vl) == 0)
        myna_xml_add_text(r, v, vl);
    myna_iq_result(st, r);
    return 0;
}

static enum myna_verdict host_stanza(struct myna_module *m, struct myna_stanza *st, void *data)
{
    struct myna_xml *note = myna_xml_find(st->xml, NS, "note");
    if (st->kind != MYNA_MESSAGE || !note)
        return MYNA_PASS;
    store_note(m, st, note); /* careless, and no answer at all */
    return MYNA_HANDLED;
}

static int careless_load(struct myna_module *m)
{
    if (!myna_module_store(m, "careless") ||
        myna_iq_register(m, MYNA_IQ_SET, NS, "note", MYNA_IQ_TO_HOST, note_set, NULL) < 0 ||
        myna_iq_register(m, MYNA_IQ_GET, NS, "note", MYNA_IQ_TO_HOST, note_get, NULL) < 0 ||
        myna_hook_add(m, MYNA_HOOK_HOST_STANZA, 0, host_stanza, NULL) < 0)
        return -1;
    return 0;
}

MYNA_MODULE_DEFINE(.name = "careless", .description = "writes without checking (test)",
                   .load = careless_load);
