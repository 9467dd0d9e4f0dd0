/* tests/unit/test_peeraddr.c — a peer's address as the limits see it (server/net/peeraddr.c):
 * the per-address key, IP ranges, and the client behind a trusted reverse proxy from
 * X-Forwarded-For (the rightmost address that is not a trusted proxy; a client cannot
 * choose its address by sending the header itself; an entry that is not an address ends
 * the trust). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "server/base/config.h"
#include "server/net/peeraddr.h"

static struct config_range range(int family, const char *addr, unsigned bits)
{
    struct config_range r = {.family = family, .bits = bits};
    inet_pton(family == 4 ? AF_INET : AF_INET6, addr, r.addr);
    return r;
}

static void test_key(void **state)
{
    (void)state;
    char k[PEER_KEY_MAX];
    peer_address_key("192.0.2.7:5222", k, sizeof k);
    assert_string_equal(k, "ip:192.0.2.7");
    peer_address_key("2001:db8:1:2:3:4:5:6:40000", k, sizeof k);
    assert_string_equal(k, "ip:2001:db8:1:2::/64");
    peer_address_key("2001:db8::1:0", k, sizeof k); /* a forwarded client: port 0 */
    assert_string_equal(k, "ip:2001:db8::/64");
}

static void test_in_range(void **state)
{
    (void)state;
    struct config_range v4 = range(4, "192.0.2.0", 24), v6 = range(6, "2001:db8::", 32),
                        odd = range(4, "10.0.0.0", 9);
    assert_true(peer_in_range(&v4, "192.0.2.200:1"));
    assert_false(peer_in_range(&v4, "192.0.3.1:1"));
    assert_false(peer_in_range(&v4, "2001:db8::1:1"));
    assert_true(peer_in_range(&v6, "2001:db8:ffff::1:443"));
    assert_false(peer_in_range(&v6, "2001:db9::1:443"));
    assert_true(peer_in_range(&odd, "10.127.0.1:1"));
    assert_false(peer_in_range(&odd, "10.128.0.1:1"));
    assert_false(peer_in_range(&v4, "not an address:1"));
    /* An IPv4 peer on a dual-stack listener. */
    assert_true(peer_in_range(&v4, "::ffff:192.0.2.9:1"));
    assert_false(peer_in_range(&v4, "::ffff:192.0.3.9:1"));
}

static const struct config_range *proxies(size_t *n)
{
    static struct config_range p[3];
    p[0] = range(4, "127.0.0.0", 8);
    p[1] = range(6, "::1", 128);
    p[2] = range(4, "10.0.0.0", 8);
    *n = 3;
    return p;
}

/* The client peer_forwarded names for `xff` from `peer`, or "-" for none. */
static const char *fwd(const char *peer, const char *xff)
{
    static char out[PEER_MAX];
    size_t n;
    const struct config_range *p = proxies(&n);
    strcpy(out, "-");
    peer_forwarded(p, n, peer, xff, out, sizeof out);
    return out;
}

static void test_forwarded(void **state)
{
    (void)state;
    /* From a trusted proxy: the client it names. */
    assert_string_equal(fwd("127.0.0.1:40000", "203.0.113.7"), "203.0.113.7:0");
    assert_string_equal(fwd("::1:40000", " 203.0.113.7 "), "203.0.113.7:0");
    assert_string_equal(fwd("::ffff:127.0.0.1:40000", "203.0.113.7"), "203.0.113.7:0");
    assert_string_equal(fwd("127.0.0.1:1", "::ffff:203.0.113.8"), "203.0.113.8:0");
    /* From anyone else the header means nothing. */
    assert_string_equal(fwd("192.0.2.1:40000", "203.0.113.7"), "-");
    assert_string_equal(fwd("127.0.0.1:40000", ""), "-");
    assert_string_equal(fwd("127.0.0.1:40000", NULL), "-");
    /* What the client wrote itself stands left of what the proxy appended. */
    assert_string_equal(fwd("127.0.0.1:1", "1.1.1.1, 203.0.113.7"), "203.0.113.7:0");
    /* Through a chain of trusted proxies; all trusted: the leftmost. */
    assert_string_equal(fwd("127.0.0.1:1", "203.0.113.7, 10.0.0.2"), "203.0.113.7:0");
    assert_string_equal(fwd("127.0.0.1:1", "10.0.0.5,10.0.0.2"), "10.0.0.5:0");
    /* An entry that is not an address ends the trust (the proxy's own address counts),
     * unless the client was found before it. */
    assert_string_equal(fwd("127.0.0.1:1", "203.0.113.7, unknown"), "-");
    assert_string_equal(fwd("127.0.0.1:1", "unknown, 203.0.113.7"), "203.0.113.7:0");
    assert_string_equal(fwd("127.0.0.1:1", "203.0.113.7,,"), "-");
    assert_string_equal(fwd("127.0.0.1:1", ","), "-");
    /* IPv6, bracketed, with ports as some proxies write them. */
    assert_string_equal(fwd("127.0.0.1:1", "2001:db8::1"), "2001:db8::1:0");
    assert_string_equal(fwd("127.0.0.1:1", "[2001:db8::2]:443"), "2001:db8::2:0");
    assert_string_equal(fwd("127.0.0.1:1", "198.51.100.4:8080"), "198.51.100.4:0");
    assert_string_equal(fwd("127.0.0.1:1", "[2001:db8::2"), "-");
    /* Overlong entries are not addresses. */
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    assert_string_equal(fwd("127.0.0.1:1", longer), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_in_range),
        cmocka_unit_test(test_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
