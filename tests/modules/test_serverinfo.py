"""tests/modules/test_serverinfo.py — what the server tells about itself beyond XMPP, on raw
XML, with the settings of serverinfo.sh: contact addresses (XEP-0157) as the serverinfo
form in the host's disco#info (and nowhere else); external services (XEP-0215): the full
list and one type, TURN credentials made by the TURN REST API convention (the HMAC-SHA1 of
the username under the shared secret, checked here), the credentials request (§3.3) and
its errors, and forbidden for anyone but the host's own users (here: a component)."""
import base64
import calendar
import hashlib
import hmac
import time

import complib
import modlib as M

NS_INFO = "http://jabber.org/protocol/disco#info"
NS_XDATA = "jabber:x:data"
NS_EXT = "urn:xmpp:extdisco:2"
SERVERINFO = "http://jabber.org/network/serverinfo"
SECRET = "s3cr3t-turn"  # serverinfo.sh
TTL = 600


def forms(query):
    out = {}
    for x in query.findall(M.q(NS_XDATA, "x")):
        fields = {f.get("var"): [v.text or "" for v in f.findall(M.q(NS_XDATA, "value"))]
                  for f in x.findall(M.q(NS_XDATA, "field"))}
        out[(fields.get("FORM_TYPE") or [None])[0]] = (x, fields)
    return out


def contact_addresses():
    s = M.connect("u00")
    r = s.iq("get", "<query xmlns='%s'/>" % NS_INFO, to=M.D)
    q = r.find(M.q(NS_INFO, "query"))
    f = forms(q)
    M.expect(SERVERINFO in f, "no serverinfo form: %s" % M.show(r))
    x, fields = f[SERVERINFO]
    M.expect(x.get("type") == "result", "form type: %s" % M.show(x))
    M.expect(fields == {"FORM_TYPE": [SERVERINFO],
                        "admin-addresses": ["mailto:xmpp@myna.test", "xmpp:admin@myna.test"],
                        "abuse-addresses": ["mailto:abuse@myna.test"],
                        "status-addresses": ["https://status.myna.test/"]},
             "fields: %s" % fields)
    hidden = [fl for fl in x.findall(M.q(NS_XDATA, "field")) if fl.get("var") == "FORM_TYPE"]
    M.expect(hidden[0].get("type") == "hidden", "FORM_TYPE not hidden: %s" % M.show(x))
    # XEP-0128 §2: after the identities and features.
    kids = [c.tag for c in q]
    M.expect(kids.index(M.q(NS_XDATA, "x")) == len(kids) - 1, "form not last: %s" % kids)
    M.expect(any(fe.get("var") == NS_EXT for fe in q.findall(M.q(NS_INFO, "feature"))),
             "extdisco feature missing: %s" % M.show(r))
    # An account's disco#info has no server contact form.
    r = s.iq("get", "<query xmlns='%s'/>" % NS_INFO, to=M.jid("u01"))
    M.expect(r.get("type") == "result" and not forms(r.find(M.q(NS_INFO, "query"))),
             "form on an account: %s" % M.show(r))
    s.close()


def check_credentials(svc, user, what):
    """username = EXPIRY:user, password = base64(HMAC-SHA1(secret, username)), expires."""
    name, pw, exp = svc.get("username"), svc.get("password"), svc.get("expires")
    M.expect(name and pw and exp, "%s: no credentials: %s" % (what, M.show(svc)))
    expiry, _, who = name.partition(":")
    M.expect(who == user and expiry.isdigit(), "%s: username %r" % (what, name))
    M.expect(abs(int(expiry) - (time.time() + TTL)) < 60, "%s: expiry %s" % (what, expiry))
    want = base64.b64encode(hmac.new(SECRET.encode(), name.encode(), hashlib.sha1).digest())
    M.expect(pw == want.decode(), "%s: password %r is not the HMAC (%r)" % (what, pw, want))
    M.expect(calendar.timegm(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ")) == int(expiry),
             "%s: expires %s != %s" % (what, exp, expiry))
    M.expect(svc.get("restricted") in ("1", "true"), "%s: restricted: %s" % (what, M.show(svc)))


def services(s, type_=None):
    t = " type='%s'" % type_ if type_ else ""
    r = s.iq("get", "<services xmlns='%s'%s/>" % (NS_EXT, t), to=M.D)
    M.expect(r.get("type") == "result", "services: %s" % M.show(r))
    return r.find(M.q(NS_EXT, "services")).findall(M.q(NS_EXT, "service"))


def external_services():
    s = M.connect("u02")
    user = M.jid("u02")
    got = services(s)
    key = [(v.get("type"), v.get("host"), v.get("port"), v.get("transport")) for v in got]
    M.expect(key == [("stun", "stun.myna.test", "3478", "udp"),
                     ("turn", "turn.myna.test", "3478", "udp"),
                     ("turns", "turn.myna.test", "5349", "tcp"),
                     ("turn", "192.0.2.1", "3478", "tcp")], "service list: %s" % key)
    M.expect(got[0].get("username") is None and got[0].get("password") is None,
             "credentials on STUN: %s" % M.show(got[0]))
    for v in got[1:]:
        check_credentials(v, user, "%s %s" % (v.get("type"), v.get("host")))
    turn = services(s, "turn")
    M.expect([v.get("host") for v in turn] == ["turn.myna.test", "192.0.2.1"],
             "type='turn': %s" % [M.show(v) for v in turn])
    M.expect(services(s, "ftp") == [], "an unknown type lists nothing")
    s.close()


def credentials():
    s = M.connect("u03")
    user = M.jid("u03")

    def ask(service):
        return s.iq("get", "<credentials xmlns='%s'>%s</credentials>" % (NS_EXT, service),
                    to=M.D)

    r = ask("<service host='turn.myna.test' type='turn'/>")
    got = r.findall(".//" + M.q(NS_EXT, "service"))
    M.expect(r.get("type") == "result" and len(got) == 1 and got[0].get("port") == "3478",
             "credentials: %s" % M.show(r))
    check_credentials(got[0], user, "credentials request")
    r = ask("<service host='turn.myna.test' type='turns' port='5349'/>")
    M.expect(len(r.findall(".//" + M.q(NS_EXT, "service"))) == 1, "turns: %s" % M.show(r))
    for what, svc, cond in [
            ("unknown host", "<service host='nope.myna.test' type='turn'/>", "item-not-found"),
            ("wrong port", "<service host='turn.myna.test' type='turn' port='1'/>",
             "item-not-found"),
            ("STUN needs none", "<service host='stun.myna.test' type='stun'/>",
             "item-not-found"),
            ("no type", "<service host='turn.myna.test'/>", "bad-request"),
            ("no service", "", "bad-request"),
            ("bad port", "<service host='turn.myna.test' type='turn' port='x1'/>",
             "bad-request"),
            ("port out of range", "<service host='turn.myna.test' type='turn' port='70000'/>",
             "bad-request")]:
        M.expect_error(ask(svc), cond, what)
    s.close()


def only_local_users():
    c = complib.Component()
    for payload in ("<services xmlns='%s'/>" % NS_EXT,
                    "<credentials xmlns='%s'><service host='turn.myna.test' type='turn'/>"
                    "</credentials>" % NS_EXT):
        r = c.iq("get", payload, to=M.D)
        err = r.find(M.q(complib.NS_COMPONENT, "error"))
        M.expect(r.get("type") == "error" and err is not None and
                 err.find("{urn:ietf:params:xml:ns:xmpp-stanzas}forbidden") is not None,
                 "a component asked: %s" % M.show(r))
    c.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("contact_addresses", contact_addresses),
                            ("external_services", external_services),
                            ("credentials", credentials), ("only_local_users", only_local_users)]))
