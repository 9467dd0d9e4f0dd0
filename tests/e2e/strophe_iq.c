/* tests/e2e/strophe_iq.c — IQ services through libstrophe: XEP-0199 ping to the server and
 * to a user's bare JID (answered by the server for the account, RFC 6121 §8.5.1),
 * XEP-0030 disco#info of the server, XEP-0092 version, XEP-0202 time, and
 * service-unavailable for an unknown namespace (RFC 6120 §8.4). Every IQ must get exactly
 * one reply of the right type. Usage: strophe_iq ping|ping-bare|disco|version|time|unknown */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e_strophe.h"

static struct e2e_client alice, bob;

static void want_type(xmpp_stanza_t *r, const char *type, const char *what)
{
    const char *t = xmpp_stanza_get_type(r);
    if (!t || strcmp(t, type) != 0) {
        char *text = NULL;
        size_t len = 0;
        xmpp_stanza_to_text(r, &text, &len);
        e2e_fail("%s: expected type %s, got: %s", what, type, text ? text : "?");
    }
}

static void test_ping(void)
{
    xmpp_stanza_t *r = e2e_iq(&alice, "get", e2e.domain, "<ping xmlns='urn:xmpp:ping'/>");
    want_type(r, "result", "ping to the server");
    const char *from = xmpp_stanza_get_from(r);
    if (from && strcmp(from, e2e.domain) != 0)
        e2e_fail("ping result from %s, expected %s", from, e2e.domain);
    xmpp_stanza_release(r);
    /* No 'to' at all means the account's own server answers (RFC 6120 §10.3.3). */
    r = e2e_iq(&alice, "get", NULL, "<ping xmlns='urn:xmpp:ping'/>");
    want_type(r, "result", "ping without 'to'");
    xmpp_stanza_release(r);
    e2e_pass("ping to the server");
}

static void test_ping_bare(void)
{
    xmpp_stanza_t *r = e2e_iq(&alice, "get", e2e_bare(1), "<ping xmlns='urn:xmpp:ping'/>");
    want_type(r, "result", "ping to another user's bare JID");
    xmpp_stanza_release(r);
    r = e2e_iq(&alice, "get", e2e_bare(0), "<ping xmlns='urn:xmpp:ping'/>");
    want_type(r, "result", "ping to one's own bare JID");
    xmpp_stanza_release(r);
    e2e_pass("ping to bare JIDs");
}

static bool has_feature(xmpp_stanza_t *query, const char *var)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c; c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        const char *v = xmpp_stanza_get_attribute(c, "var");
        if (name && strcmp(name, "feature") == 0 && v && strcmp(v, var) == 0)
            return true;
    }
    return false;
}

static void test_disco(void)
{
    const char *ns = "http://jabber.org/protocol/disco#info";
    xmpp_stanza_t *r = e2e_iq(&alice, "get", e2e.domain,
                              "<query xmlns='http://jabber.org/protocol/disco#info'/>");
    want_type(r, "result", "disco#info");
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(r, "query", ns);
    if (!q)
        e2e_fail("disco#info result has no <query/>");
    bool server_identity = false;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(q); c; c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        const char *cat = xmpp_stanza_get_attribute(c, "category");
        const char *type = xmpp_stanza_get_attribute(c, "type");
        if (name && strcmp(name, "identity") == 0 && cat && strcmp(cat, "server") == 0 &&
            type && strcmp(type, "im") == 0)
            server_identity = true;
    }
    if (!server_identity)
        e2e_fail("no <identity category='server' type='im'/> in disco#info");
    const char *need[] = {"urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", ns};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!has_feature(q, need[i]))
            e2e_fail("disco#info lacks feature %s", need[i]);
    xmpp_stanza_release(r);
    e2e_pass("disco#info: server identity and ping/version/time/disco features");
}

static void test_version(void)
{
    xmpp_stanza_t *r = e2e_iq(&alice, "get", e2e.domain, "<query xmlns='jabber:iq:version'/>");
    want_type(r, "result", "jabber:iq:version");
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(r, "query", "jabber:iq:version");
    xmpp_stanza_t *name = q ? xmpp_stanza_get_child_by_name(q, "name") : NULL;
    xmpp_stanza_t *ver = q ? xmpp_stanza_get_child_by_name(q, "version") : NULL;
    char *n = name ? xmpp_stanza_get_text(name) : NULL;
    char *v = ver ? xmpp_stanza_get_text(ver) : NULL;
    if (!n || !v || !*v)
        e2e_fail("version reply lacks <name/> or <version/>");
    const char *server = getenv("E2E_SERVER");
    if (server && strcmp(server, "myna") == 0 && strcmp(n, "Myna") != 0)
        e2e_fail("version name is '%s', expected 'Myna'", n);
    e2e_pass("version: %s %s", n, v);
    xmpp_free(e2e_ctx, n);
    xmpp_free(e2e_ctx, v);
    xmpp_stanza_release(r);
}

static bool valid_tzo(const char *s)
{
    if (strcmp(s, "Z") == 0)
        return true;
    int hh, mm;
    char sign, end;
    return strlen(s) == 6 && sscanf(s, "%c%2d:%2d%c", &sign, &hh, &mm, &end) == 3 &&
           (sign == '+' || sign == '-') && hh <= 14 && mm < 60;
}

static void test_time(void)
{
    xmpp_stanza_t *r = e2e_iq(&alice, "get", e2e.domain, "<time xmlns='urn:xmpp:time'/>");
    want_type(r, "result", "urn:xmpp:time");
    xmpp_stanza_t *t = xmpp_stanza_get_child_by_name_and_ns(r, "time", "urn:xmpp:time");
    xmpp_stanza_t *tzo = t ? xmpp_stanza_get_child_by_name(t, "tzo") : NULL;
    xmpp_stanza_t *utc = t ? xmpp_stanza_get_child_by_name(t, "utc") : NULL;
    char *z = tzo ? xmpp_stanza_get_text(tzo) : NULL;
    char *u = utc ? xmpp_stanza_get_text(utc) : NULL;
    if (!z || !u)
        e2e_fail("time reply lacks <tzo/> or <utc/>");
    if (!valid_tzo(z))
        e2e_fail("tzo '%s' is not [+-]hh:mm or Z (XEP-0082)", z);
    /* XEP-0082 DateTime in UTC: CCYY-MM-DDThh:mm:ss[.sss]Z */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(u, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        e2e_fail("utc '%s' is not a XEP-0082 DateTime", u);
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (strcmp(rest, "Z") != 0)
        e2e_fail("utc '%s' does not end in Z", u);
    double skew = difftime(timegm(&tm), time(NULL));
    if (skew > 120 || skew < -120)
        e2e_fail("utc '%s' is %.0f s away from this machine's clock", u, skew);
    e2e_pass("time: tzo %s utc %s", z, u);
    xmpp_free(e2e_ctx, z);
    xmpp_free(e2e_ctx, u);
    xmpp_stanza_release(r);
}

static void test_unknown(void)
{
    const char *targets[] = {e2e.domain, e2e_bare(1)};
    const char *types[] = {"get", "set"};
    for (size_t i = 0; i < 2; i++) {
        for (size_t k = 0; k < 2; k++) {
            xmpp_stanza_t *r = e2e_iq(&alice, types[k], targets[i],
                                      "<query xmlns='urn:example:myna:no-such-thing'/>");
            want_type(r, "error", "unknown namespace");
            const char *cond = e2e_error_condition(r);
            if (!cond || strcmp(cond, "service-unavailable") != 0)
                e2e_fail("iq %s to %s with an unknown namespace: condition %s, expected "
                         "service-unavailable", types[k], targets[i], cond ? cond : "(none)");
            xmpp_stanza_release(r);
        }
    }
    e2e_pass("unknown namespace -> service-unavailable (server and bare JID, get and set)");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        e2e_fail("usage: %s ping|ping-bare|disco|version|time|unknown", argv[0]);
    e2e_init();
    e2e_client_connect(&alice, "alice", 0, "iq", NULL, E2E_STARTTLS);
    e2e_client_connect(&bob, "bob", 1, "iq", NULL, E2E_STARTTLS);
    e2e_wait(&alice.connected, 15, "alice login");
    e2e_wait(&bob.connected, 15, "bob login");
    const char *m = argv[1];
    if (strcmp(m, "ping") == 0)
        test_ping();
    else if (strcmp(m, "ping-bare") == 0)
        test_ping_bare();
    else if (strcmp(m, "disco") == 0)
        test_disco();
    else if (strcmp(m, "version") == 0)
        test_version();
    else if (strcmp(m, "time") == 0)
        test_time();
    else if (strcmp(m, "unknown") == 0)
        test_unknown();
    else
        e2e_fail("unknown mode %s", m);
    e2e_client_close(&alice);
    e2e_client_close(&bob);
    e2e_shutdown();
    return 0;
}
