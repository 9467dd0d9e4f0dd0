/* modules/pubsub/util.c — small helpers of the pubsub module: base64 decoding (RFC 4648
 * §4, whitespace allowed as vCards carry folded BINVAL text), SHA-1 in hex (XEP-0084 §4.2
 * and XEP-0153 §4.1 ids are lowercase hex SHA-1 of the image), and stanza ids.
 */
#include <openssl/evp.h>
#include <string.h>

#include "pubsub.h"

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

unsigned char *ps_base64_decode(struct myna_arena *a, const char *text, size_t *len)
{
    size_t n = strlen(text);
    unsigned char *out = myna_arena_alloc(a, n / 4 * 3 + 3);
    size_t o = 0, pad = 0, count = 0;
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        int v = 0;
        if (ch == '=') {
            pad++;
        } else {
            v = b64_value(ch);
            if (v < 0 || pad)
                return NULL; /* a character outside the alphabet, or data after '=' */
        }
        acc = (acc << 6) | (unsigned)v;
        count++;
        if (count % 4 == 0) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (count % 4 != 0 || pad > 2)
        return NULL;
    o -= pad; /* the last group was written whole; drop what '=' stood for */
    *len = o;
    return out;
}

const char *ps_sha1_hex(struct myna_arena *a, const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) != 1)
        return NULL;
    char *hex = myna_arena_alloc(a, mdlen * 2 + 1);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < mdlen; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    return hex;
}

const char *ps_next_id(struct ps_ctx *c, struct myna_arena *a, const char *prefix)
{
    return myna_arena_printf(a, "%s%llu", prefix, (unsigned long long)++c->seq);
}
