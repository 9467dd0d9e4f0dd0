"""tests/modules/test_sm.py — XEP-0198 stream management (acks, no resumption): the feature
is offered after authentication, <enable/> gives <enabled/>, the server counts the client's
stanzas (<r/> -> <a h/>) and asks for acks itself; stanzas the client never acknowledged are
routed again when its stream breaks (here into offline storage, delivered at next login),
acknowledged ones are not; an ack for more than was sent is a stream error."""
import modlib as M
import xmpplib as X

NS_SM = "urn:xmpp:sm:3"


def sm_login(user, resource):
    s = M.connect(user, resource)
    s.send("<enable xmlns='%s'/>" % NS_SM)
    el = s.wait_for(lambda e: e.tag in (M.q(NS_SM, "enabled"), M.q(NS_SM, "failed")),
                    what="<enabled/>")
    M.expect(el.tag == M.q(NS_SM, "enabled"), "enable refused: %s" % M.show(el))
    return s


def body_of(el):
    b = el.find(M.q(M.C, "body"))
    return b.text if b is not None else None


def chat_bodies(els):
    return [body_of(e) for e in els if e.tag == M.q(M.C, "message") and body_of(e)]


def feature_and_counting():
    s = X.Stream(M.E["ip"], M.E["starttls_port"], M.D, M.E["cafile"], name="sm-features")
    s.open()
    s.starttls()
    ok, _ = s.auth("u50", M.PW["u50"], "SCRAM-SHA-256")
    M.expect(ok, "login failed")
    s._new_parser()  # the stream restarts after SASL success (RFC 6120 §6.4.6)
    feats = s.open()
    M.expect(feats.find(M.q(NS_SM, "sm")) is not None,
             "no <sm/> in post-auth features: %s" % M.show(feats))
    s.close()
    c = sm_login("u50", "count")
    for i in range(3):
        c.ping(M.D)  # three iq stanzas from the client
    c.send("<r xmlns='%s'/>" % NS_SM)
    a = c.wait_for(lambda e: e.tag == M.q(NS_SM, "a"), what="<a/>")
    M.expect(a.get("h") == "3", "server counted %s client stanzas, expected 3" % a.get("h"))
    c.close()


def server_asks_for_acks():
    b = sm_login("u51", "b")
    a = M.connect("u52", "a")
    for i in range(10):
        a.send("<message to='%s/b' type='chat'><body>m%d</body></message>" % (M.jid("u51"), i))
    M.barrier(a)
    r = b.wait_for(lambda e: e.tag == M.q(NS_SM, "r"), what="the server's <r/>")
    M.expect(r is not None, "no ack request")
    b.close(), a.close()


def unacked_rerouted_to_offline():
    b = sm_login("u53", "phone")
    a = M.connect("u54", "a")
    to = "%s/phone" % M.jid("u53")
    a.send("<message to='%s' type='chat'><body>one</body></message>" % to)
    M.barrier(a, b)
    got = chat_bodies(M.drain(b))
    M.expect(got == ["one"], "first message: %s" % got)
    b.send("<a xmlns='%s' h='%d'/>" % (NS_SM, 1))  # acknowledge 'one' (after enable: 1 stanza)
    M.barrier(b)
    for w in ("two", "three"):
        a.send("<message to='%s' type='chat'><body>%s</body></message>" % (to, w))
    M.barrier(a, b)
    got = chat_bodies(M.drain(b))
    M.expect(got == ["two", "three"], "received before the drop: %s" % got)
    # The connection dies without acking "two" and "three" (no </stream:stream>).
    b.sock.close()
    M.barrier(a)
    a.close()
    b2 = M.connect("u53", "laptop")
    got = chat_bodies(M.drain(b2))
    M.expect(got == ["two", "three"],
             "unacknowledged messages must come back once, acknowledged ones never: %s" % got)
    b2.close()


def ack_too_high():
    b = sm_login("u55", "x")
    b.send("<a xmlns='%s' h='5'/>" % NS_SM)
    b.expect_stream_error(["undefined-condition"])


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("feature_and_counting", feature_and_counting),
        ("server_asks_for_acks", server_asks_for_acks),
        ("unacked_rerouted_to_offline", unacked_rerouted_to_offline),
        ("ack_too_high", ack_too_high)]))
