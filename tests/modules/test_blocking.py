"""tests/modules/test_blocking.py — Blocking Command (XEP-0191): blocklist get, block,
unblock of one JID and of all, pushes to every resource that asked for the list, a blocked
contact's messages never delivered (sender gets service-unavailable), outbound stanzas to a
blocked JID refused with not-acceptable + <blocked/>, presence stopped (unavailable sent on
block), and delivery restored after unblock."""
import modlib as M

NS = M.NS_BLOCKING
NS_ERR = "urn:xmpp:blocking:errors"


def blocklist(s):
    r = s.iq("get", "<blocklist xmlns='%s'/>" % NS)
    M.expect(r.get("type") == "result", "blocklist get: %s" % M.show(r))
    bl = r.find(M.q(NS, "blocklist"))
    return sorted(i.get("jid") for i in bl.findall(M.q(NS, "item")))


def is_block_push(e, what):
    return (e.tag == M.q(M.C, "iq") and e.get("type") == "set" and
            e.find(M.q(NS, what)) is not None)


def is_msg(e, body):
    return e.tag == M.q(M.C, "message") and e.findtext(M.q(M.C, "body")) == body


def befriend(U, C, uj, cj):
    for s, o in ((U, cj), (C, uj)):
        s.send("<presence type='subscribe' to='%s'/>" % o)
        M.barrier(s, U, C)
    for s, o in ((U, cj), (C, uj)):
        s.send("<presence type='subscribed' to='%s'/>" % o)
        M.barrier(s, U, C)


def block_flow():
    uj, cj = M.jid("u00"), M.jid("u01")
    U1 = M.connect("u00", "r1")
    U2 = M.connect("u00", "r2")
    C = M.connect("u01", "c")
    befriend(U1, C, uj, cj)
    M.expect(blocklist(U1) == [] and blocklist(U2) == [], "blocklist not empty")
    for s in (U1, U2, C):
        M.drain(s)

    # Messages flow before the block.
    C.send("<message type='chat' to='%s'><body>hi</body></message>" % uj)
    U1.wait_for(lambda e: is_msg(e, "hi"), what="message before block")

    r = U1.iq("set", "<block xmlns='%s'><item jid='%s'/></block>" % (NS, cj))
    M.expect(r.get("type") == "result", "block: %s" % M.show(r))
    for s in (U1, U2):
        push = s.wait_for(lambda e: is_block_push(e, "block"), what="block push")
        items = [i.get("jid") for i in push.find(M.q(NS, "block")).findall(M.q(NS, "item"))]
        M.expect(items == [cj], "block push items: %s" % M.show(push))
        s.send("<iq type='result' id='%s'/>" % push.get("id"))
    M.expect(blocklist(U2) == [cj], "blocklist after block: %s" % blocklist(U2))
    # §3.3: the blocked contact sees the user's resources go offline.
    C.wait_for(lambda e: M.is_presence(e, "unavailable", uj), what="unavailable on block")

    # Inbound: dropped, the sender learns service-unavailable.
    M.drain(C)
    C.send("<message type='chat' id='m1' to='%s'><body>blocked?</body></message>" % uj)
    err = C.wait_for(lambda e: e.tag == M.q(M.C, "message") and e.get("type") == "error",
                     what="error for a blocked message")
    M.expect(M.error_condition(err) == "service-unavailable", "condition: %s" % M.show(err))
    M.barrier(C, U1, U2)
    for s in (U1, U2):
        M.expect(not any(is_msg(e, "blocked?") for e in M.drain(s)), "blocked msg delivered")
    # Presence from the blocked contact is dropped too.
    C.send("<presence><show>chat</show></presence>")
    M.barrier(C, U1)
    M.expect(not any(M.is_presence(e, frm=cj) for e in M.drain(U1)),
             "presence from a blocked contact delivered")

    # Outbound: refused with not-acceptable and <blocked/>.
    U1.send("<message type='chat' id='o1' to='%s'><body>to blocked</body></message>" % cj)
    err = U1.wait_for(lambda e: e.tag == M.q(M.C, "message") and e.get("type") == "error",
                      what="error for a message to a blocked contact")
    M.expect(M.error_condition(err) == "not-acceptable", "condition: %s" % M.show(err))
    M.expect(err.find(M.q(M.C, "error")).find(M.q(NS_ERR, "blocked")) is not None,
             "no <blocked/> in the error: %s" % M.show(err))
    M.barrier(U1, C)
    M.expect(not any(is_msg(e, "to blocked") for e in M.drain(C)), "outbound msg delivered")

    # Unblock restores delivery.
    r = U2.iq("set", "<unblock xmlns='%s'><item jid='%s'/></unblock>" % (NS, cj))
    M.expect(r.get("type") == "result", "unblock: %s" % M.show(r))
    for s in (U1, U2):
        s.wait_for(lambda e: is_block_push(e, "unblock"), what="unblock push")
    M.expect(blocklist(U1) == [], "blocklist after unblock")
    C.send("<message type='chat' to='%s'><body>again</body></message>" % uj)
    U1.wait_for(lambda e: is_msg(e, "again"), what="message after unblock")
    for s in (U1, U2, C):
        s.close()


def unblock_all_and_errors():
    U = M.connect("u02")
    a, b = M.jid("u03"), "spammer.example"
    r = U.iq("set", "<block xmlns='%s'><item jid='%s'/><item jid='%s'/></block>" % (NS, a, b))
    M.expect(r.get("type") == "result", "block two: %s" % M.show(r))
    M.expect(blocklist(U) == sorted([a, b]), "blocklist: %s" % blocklist(U))
    r = U.iq("set", "<block xmlns='%s'/>" % NS)
    M.expect_error(r, "bad-request", "block without items")
    r = U.iq("set", "<block xmlns='%s'><item jid='a@b@c'/></block>" % NS)
    M.expect_error(r, ["jid-malformed", "bad-request"], "block malformed JID")
    r = U.iq("set", "<unblock xmlns='%s'/>" % NS)
    M.expect(r.get("type") == "result", "unblock all: %s" % M.show(r))
    M.expect(blocklist(U) == [], "blocklist after unblock all: %s" % blocklist(U))
    U.close()


def full_jid_block():
    """A full-JID item blocks that resource only (XEP-0191 §3.3 / XEP-0016 JID rules)."""
    U = M.connect("u04")
    C1 = M.connect("u05", "one")
    C2 = M.connect("u05", "two")
    r = U.iq("set", "<block xmlns='%s'><item jid='%s/one'/></block>" % (NS, M.jid("u05")))
    M.expect(r.get("type") == "result", "block full JID: %s" % M.show(r))
    M.drain(U)
    C1.send("<message type='chat' to='%s'><body>from one</body></message>" % M.jid("u04"))
    C2.send("<message type='chat' to='%s'><body>from two</body></message>" % M.jid("u04"))
    U.wait_for(lambda e: is_msg(e, "from two"), what="message from the unblocked resource")
    M.barrier(C1, U)
    M.expect(not any(is_msg(e, "from one") for e in M.drain(U)),
             "message from the blocked resource delivered")
    for s in (U, C1, C2):
        s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("block_flow", block_flow),
                            ("unblock_all_and_errors", unblock_all_and_errors),
                            ("full_jid_block", full_jid_block)]))
