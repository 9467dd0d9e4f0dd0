/* server/net/xmlframe.c — see xmlframe.h. */
#include "server/net/xmlframe.h"

#include <stdbool.h>
#include <string.h>

#include "myna/xml.h"

/* Length of the first complete element of s (leading whitespace included), or 0 while it
 * is incomplete. Our own serializer wrote it: no comments, no CDATA, '<' escaped in
 * text, attribute values quoted. */
static size_t element_len(const char *s, size_t n)
{
    int depth = 0;
    size_t i = 0;
    while (i < n) {
        if (s[i] != '<') {
            i++;
            continue;
        }
        bool closing = i + 1 < n && s[i + 1] == '/';
        bool decl = i + 1 < n && (s[i + 1] == '?' || s[i + 1] == '!');
        size_t j = i + 1;
        char q = 0;
        for (; j < n; j++) {
            if (q) {
                if (s[j] == q)
                    q = 0;
            } else if (s[j] == '"' || s[j] == '\'') {
                q = s[j];
            } else if (s[j] == '>') {
                break;
            }
        }
        if (j >= n)
            return 0;
        if (!decl) {
            if (closing)
                depth--;
            else if (s[j - 1] != '/')
                depth++;
        }
        i = j + 1;
        if (!decl && depth <= 0)
            return i;
    }
    return 0;
}

/* Whether the start tag at s declares a default namespace. */
static bool has_xmlns(const char *s, size_t n)
{
    char q = 0;
    for (size_t i = 1; i < n; i++) {
        if (q) {
            if (s[i] == q)
                q = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            q = s[i];
        } else if (s[i] == '>') {
            return false;
        } else if (i + 6 < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') &&
                   memcmp(s + i + 1, "xmlns", 5) == 0 && (s[i + 6] == '=' || s[i + 6] == ' ')) {
            return true;
        }
    }
    return false;
}

static void one_element(const char *s, size_t n, const char *ns,
                        void (*fn)(void *ud, const char *el, size_t len), void *ud)
{
    size_t name = 1;
    while (name < n && s[name] != ' ' && s[name] != '/' && s[name] != '>' && s[name] != '\t')
        name++;
    if (s[1] == '/' || s[1] == '?' || s[1] == '!' || memchr(s, ':', name) ||
        has_xmlns(s, n)) {
        fn(ud, s, n);
        return;
    }
    struct myna_buf b;
    myna_buf_init(&b);
    myna_buf_append(&b, s, name);
    myna_buf_printf(&b, " xmlns='%s'", ns);
    myna_buf_append(&b, s + name, n - name);
    fn(ud, b.data, b.len);
    myna_buf_free(&b);
}

size_t xmlframe_split(const char *s, size_t n, const char *ns,
                      void (*fn)(void *ud, const char *el, size_t len), void *ud)
{
    size_t done = 0;
    while (done < n) {
        while (done < n && (s[done] == ' ' || s[done] == '\t' || s[done] == '\r' ||
                            s[done] == '\n'))
            done++;
        if (done == n)
            break;
        size_t k = element_len(s + done, n - done);
        if (!k)
            break;
        one_element(s + done, k, ns, fn, ud);
        done += k;
    }
    return done;
}
