"""tests/modules/test_basic.py — disco (XEP-0030), ping (XEP-0199), version (XEP-0092) and
time (XEP-0202) modules, answered for the host and for users' bare JIDs."""
import re

import modlib as M

NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"


def disco_host():
    a = M.connect("alice", presence=False)
    r = a.iq("get", "<query xmlns='%s'/>" % NS_INFO, M.D)
    M.expect(r.get("type") == "result", "disco#info failed: %s" % M.show(r))
    qe = r.find(M.q(NS_INFO, "query"))
    ids = [(i.get("category"), i.get("type")) for i in qe.findall(M.q(NS_INFO, "identity"))]
    M.expect(("server", "im") in ids, "no server/im identity: %s" % M.show(r))
    feats = {f.get("var") for f in qe.findall(M.q(NS_INFO, "feature"))}
    for f in (NS_INFO, "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time",
              "urn:xmpp:blocking"):
        M.expect(f in feats, "feature %s missing: %s" % (f, sorted(feats)))
    r = a.iq("get", "<query xmlns='%s'/>" % NS_ITEMS, M.D)
    M.expect(r.get("type") == "result", "disco#items failed: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s' node='no-such-node'/>" % NS_INFO, M.D)
    M.expect_error(r, "item-not-found", "disco#info unknown node")
    a.close()


def disco_user():
    a = M.connect("alice", presence=False)
    r = a.iq("get", "<query xmlns='%s'/>" % NS_INFO, M.jid("bob"))
    if M.E["server"] == "prosody" and M.error_condition(r) == "service-unavailable":
        return  # Prosody answers for users only to subscribers (XEP-0030 §3.2 allows it)
    M.expect(r.get("type") == "result", "disco#info to bob's bare JID: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s'/>" % NS_ITEMS, M.jid("bob"))
    M.expect(r.get("type") == "result", "disco#items to bob's bare JID: %s" % M.show(r))
    a.close()


def disco_own_account():
    """To one's own bare JID, or without 'to' (RFC 6120 §10.3.3: the account itself), the
    answer is the account's (XEP-0030 §3.1 account/registered), not the server's."""
    a = M.connect("alice", presence=False)
    for to in (M.jid("alice"), None):
        r = a.iq("get", "<query xmlns='%s'/>" % NS_INFO, to)
        M.expect(r.get("type") == "result", "own disco#info (to=%s): %s" % (to, M.show(r)))
        ids = [(i.get("category"), i.get("type")) for i in r.iter(M.q(NS_INFO, "identity"))]
        M.expect(("account", "registered") in ids and ("server", "im") not in ids,
                 "own account's identities (to=%s): %s" % (to, ids))
    a.close()


def ping_host_and_user():
    a = M.connect("alice", presence=False)
    a.ping(M.D)
    a.ping(M.jid("bob"))  # bob is offline: the server answers for the account
    r = a.iq("get", "<ping xmlns='urn:xmpp:ping'/>")
    M.expect(r.get("type") == "result", "ping without 'to': %s" % M.show(r))
    a.close()


def version():
    a = M.connect("alice", presence=False)
    r = a.iq("get", "<query xmlns='jabber:iq:version'/>", M.D)
    M.expect(r.get("type") == "result", "version failed: %s" % M.show(r))
    qe = r.find(M.q("jabber:iq:version", "query"))
    name = qe.findtext(M.q("jabber:iq:version", "name"))
    ver = qe.findtext(M.q("jabber:iq:version", "version"))
    M.expect(name and ver, "name/version missing: %s" % M.show(r))
    if M.E["server"] == "myna":
        M.expect(name == "Myna", "name is %r" % name)
        M.expect(qe.findtext(M.q("jabber:iq:version", "os")), "no <os/> by default")
    a.close()


def entity_time():
    a = M.connect("alice", presence=False)
    r = a.iq("get", "<time xmlns='urn:xmpp:time'/>", M.D)
    M.expect(r.get("type") == "result", "time failed: %s" % M.show(r))
    t = r.find(M.q("urn:xmpp:time", "time"))
    tzo = t.findtext(M.q("urn:xmpp:time", "tzo"))
    utc = t.findtext(M.q("urn:xmpp:time", "utc"))
    M.expect(tzo and re.fullmatch(r"([+-]\d\d:\d\d|Z)", tzo), "bad tzo %r" % tzo)
    M.expect(utc and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", utc),
             "bad utc %r" % utc)
    a.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("disco_host", disco_host), ("disco_user", disco_user),
                            ("disco_own_account", disco_own_account),
                            ("ping_host_and_user", ping_host_and_user),
                            ("version", version), ("entity_time", entity_time)]))
