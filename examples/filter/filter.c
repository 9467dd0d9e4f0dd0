/* examples/filter/filter.c — a message filter: a message a local user sends whose body
 * contains the configured word is not routed; the sender gets it back as an error with
 * condition policy-violation (RFC 6120 §8.3.3.12) and an explanatory text.
 * Shows a MYNA_HOOK_MESSAGE_OUT hook and a typed option table (checked when the module
 * loads, so a typo in the config is a startup error with file:line, not a silent default).
 * Built out of tree: cc -shared -fPIC $(pkg-config --cflags myna-module) -o filter.so filter.c
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <myna.h>

static const struct myna_option filter_options[] = {
    {.name = "word", .type = MYNA_OPT_STRING, .def = "forbidden",
     .doc = "messages whose body contains this word are refused"},
    {.name = "ignore_case", .type = MYNA_OPT_BOOL, .def = "true",
     .doc = "match the word regardless of letter case (ASCII)"},
    {.name = "max_body", .type = MYNA_OPT_INT, .def = "0", .min = 0, .max = 1 << 20,
     .doc = "also refuse bodies longer than this many bytes (0 = no limit)"},
    {.type = MYNA_OPT_END},
};

/* Options are read once in load() and kept in the module instance's data. */
struct filter {
    char *word; /* our copy: the config's strings may be replaced by a reload */
    bool ignore_case;
    long long max_body;
};

static bool contains(const char *hay, const char *needle, bool ignore_case)
{
    if (!*needle)
        return false;
    if (!ignore_case)
        return strstr(hay, needle) != NULL;
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static enum myna_verdict filter_message(struct myna_module *m, struct myna_stanza *st,
                                        void *data)
{
    const struct filter *f = data;
    const char *body = myna_xml_child_text(st->xml, MYNA_NS_CLIENT, "body");
    if (!body)
        return MYNA_PASS;
    if (f->max_body > 0 && (long long)strlen(body) > f->max_body) {
        myna_reply_error(st, MYNA_ERR_POLICY_VIOLATION, "message too long");
        return MYNA_HANDLED;
    }
    if (!contains(body, f->word, f->ignore_case))
        return MYNA_PASS;
    myna_log(m, MYNA_LOG_INFO, "refused a message from %s to %s", st->from.full, st->to.full);
    myna_metric_add(m, "refused", 1);
    /* No-op for type='error' stanzas, so two filters cannot bounce errors forever. */
    myna_reply_error(st, MYNA_ERR_POLICY_VIOLATION, "message contains a forbidden word");
    return MYNA_HANDLED; /* stop: the message is neither routed nor stored */
}

static int filter_load(struct myna_module *m)
{
    struct filter *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->word = strdup(myna_opt_string(m, "word"));
    if (!f->word) {
        free(f);
        return -1;
    }
    f->ignore_case = myna_opt_bool(m, "ignore_case");
    f->max_body = myna_opt_int(m, "max_body");
    /* 90: with the privacy-like filters, after blocking (100), before carbons (50) and
     * the archive (40), so a refused message is never copied or archived. */
    if (myna_hook_add(m, MYNA_HOOK_MESSAGE_OUT, 90, filter_message, f) < 0) {
        free(f->word); /* not kept as data yet, so unload() will not see it */
        free(f);
        return -1;
    }
    myna_module_set_data(m, f);
    return 0;
}

static void filter_unload(struct myna_module *m)
{
    struct filter *f = myna_module_data(m);
    if (!f)
        return; /* load() failed before keeping its state */
    free(f->word);
    free(f);
}

MYNA_MODULE_DEFINE(.name = "filter", .description = "Refuses messages containing a word",
                   .options = filter_options, .load = filter_load, .unload = filter_unload);
