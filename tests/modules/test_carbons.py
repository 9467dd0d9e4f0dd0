"""tests/modules/test_carbons.py — Message Carbons (XEP-0280): enabling per resource, <sent/>
and <received/> copies wrapped in <forwarded/> from the bare JID, bare-JID delivery, and the
messages that must not be copied (private, no-copy, other types, resources without carbons).
"""
import modlib as M

NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"
NS_DISCO = "http://jabber.org/protocol/disco#info"


def enable(s):
    r = s.iq("set", "<enable xmlns='%s'/>" % NS_CARBONS)
    M.expect(r.get("type") == "result", "enable: %s" % M.show(r))


def carbons(els, what):
    """(forwarded message) for each carbon of kind `what` among els."""
    out = []
    for el in els:
        w = el.find(M.q(NS_CARBONS, what))
        if el.tag == M.q(M.C, "message") and w is not None:
            M.expect(el.get("from") == el.get("to").split("/")[0],
                     "carbon not from the bare JID: %s" % M.show(el))
            fwd = w.find(M.q(NS_FORWARD, "forwarded"))
            M.expect(fwd is not None, "carbon without <forwarded/>: %s" % M.show(el))
            out.append(fwd.find(M.q(M.C, "message")))
    return out


def bodies(msgs):
    return [m.find(M.q(M.C, "body")).text for m in msgs]


def feature_advertised():
    s = M.connect("u20", "d")
    r = s.iq("get", "<query xmlns='%s'/>" % NS_DISCO, to=M.D)
    feats = [f.get("var") for f in r.iter(M.q(NS_DISCO, "feature"))]
    M.expect(NS_CARBONS in feats, "server disco lacks %s: %s" % (NS_CARBONS, feats))
    s.close()


def sent_and_received():
    a1, a2, a3 = M.connect("u21", "one"), M.connect("u21", "two"), M.connect("u21", "three")
    b = M.connect("u22", "b")
    enable(a1)
    enable(a2)  # a3 keeps carbons off
    M.drain(a1), M.drain(a2), M.drain(a3)
    a1.send("<message to='%s' type='chat' id='s1'><body>from one</body></message>"
            % M.jid("u22"))
    M.barrier(a1, b)
    got = bodies(carbons(M.drain(a2), "sent"))
    M.expect(got == ["from one"], "a2 sent carbons: %s" % got)
    M.expect(not carbons(M.drain(a3), "sent"), "a3 (carbons off) got a sent carbon")
    M.expect(not carbons(M.drain(a1), "sent"), "the sending resource got its own carbon")
    # A message to one full JID: the other enabled resource gets <received/>.
    b.send("<message to='%s/one' type='chat'><body>to one</body></message>" % M.jid("u21"))
    M.barrier(b, a1, a2, a3)
    fw = carbons(M.drain(a2), "received")
    M.expect(bodies(fw) == ["to one"], "a2 received carbons: %s" % bodies(fw))
    M.expect(fw[0].get("from") == "%s/b" % M.jid("u22"),
             "forwarded message keeps the sender: %s" % M.show(fw[0]))
    M.expect(not carbons(M.drain(a3), "received"), "a3 got a received carbon")
    for s in (a1, a2, a3, b):
        s.close()


def bare_jid_delivery():
    """To the bare JID: resources at the top priority get the message, others a carbon."""
    hi = M.connect("u23", "hi", presence_xml="<presence><priority>5</priority></presence>")
    lo = M.connect("u23", "lo", presence_xml="<presence><priority>1</priority></presence>")
    b = M.connect("u24", "b")
    enable(hi)
    enable(lo)
    M.drain(hi), M.drain(lo)
    b.send("<message to='%s' type='chat'><body>to bare</body></message>" % M.jid("u23"))
    M.barrier(b, hi, lo)
    hi_els, lo_els = M.drain(hi), M.drain(lo)
    direct = [e for e in hi_els if e.tag == M.q(M.C, "message")
              and e.find(M.q(M.C, "body")) is not None]
    M.expect(bodies(direct) == ["to bare"], "hi did not get the message itself")
    M.expect(not carbons(hi_els, "received"), "hi got a carbon besides the message")
    M.expect(bodies(carbons(lo_els, "received")) == ["to bare"], "lo got no carbon")
    for s in (hi, lo, b):
        s.close()


def not_copied():
    a1, a2 = M.connect("u25", "one"), M.connect("u25", "two")
    enable(a2)
    M.drain(a2)
    to = M.jid("u26")
    a1.send("<message to='%s' type='chat'><body>p</body><private xmlns='%s'/></message>"
            % (to, NS_CARBONS))
    a1.send("<message to='%s' type='chat'><body>n</body><no-copy xmlns='urn:xmpp:hints'/>"
            "</message>" % to)
    a1.send("<message to='%s' type='headline'><body>h</body></message>" % to)
    M.barrier(a1, a2)
    got = carbons(M.drain(a2), "sent")
    M.expect(not got, "copied although private/no-copy/headline: %s" % bodies(got))
    # After disable, nothing either.
    r = a2.iq("set", "<disable xmlns='%s'/>" % NS_CARBONS)
    M.expect(r.get("type") == "result", "disable: %s" % M.show(r))
    a1.send("<message to='%s' type='chat'><body>after</body></message>" % to)
    M.barrier(a1, a2)
    M.expect(not carbons(M.drain(a2), "sent"), "carbon after disable")
    a1.close(), a2.close()


def normal_with_body_copied():
    """XEP-0280 §6: a normal message with a body is copied like a chat message (the same
    rule as the archive's, myna/im.h), a normal one without body is not."""
    a1, a2 = M.connect("u29", "one"), M.connect("u29", "two")
    enable(a2)
    M.drain(a2)
    to = M.jid("u28")
    a1.send("<message to='%s'><body>normal</body></message>" % to)
    a1.send("<message to='%s' type='normal'><x xmlns='jabber:x:oob'/></message>" % to)
    M.barrier(a1, a2)
    got = carbons(M.drain(a2), "sent")
    M.expect(bodies(got) == ["normal"], "normal messages copied: %s" % [M.show(m) for m in got])
    a1.close(), a2.close()


def only_for_oneself():
    a = M.connect("u27", "a")
    r = a.iq("set", "<enable xmlns='%s'/>" % NS_CARBONS, to=M.jid("u28"))
    M.expect_error(r, ["forbidden", "service-unavailable"], "enabling carbons for someone else")
    a.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("feature_advertised", feature_advertised),
        ("sent_and_received", sent_and_received),
        ("bare_jid_delivery", bare_jid_delivery),
        ("not_copied", not_copied),
        ("normal_with_body_copied", normal_with_body_copied),
        ("only_for_oneself", only_for_oneself)]))
