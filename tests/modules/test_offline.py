"""tests/modules/test_offline.py — offline messages (XEP-0160, RFC 6121 §8.5.2.2.1): chat and
normal messages to a user with no available resource are kept, then delivered in order with
a XEP-0203 delay stamp at the user's next initial presence, once; hints and types that must
not be stored are not; a full queue (max_messages = 5 in offline.sh) bounces the sender."""
import modlib as M

NS_DELAY = "urn:xmpp:delay"


def messages(els):
    return [e for e in els if e.tag == M.q(M.C, "message")]


def stored_then_delivered():
    a = M.connect("u30", "a")
    to = M.jid("u31")
    for i in range(3):
        a.send("<message to='%s' type='chat' id='m%d'><body>offline %d</body></message>"
               % (to, i, i))
    a.send("<message to='%s' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/>"
           "</message>" % to)  # a chat state alone is not stored
    a.send("<message to='%s' type='chat'><body>nostore</body>"
           "<no-store xmlns='urn:xmpp:hints'/></message>" % to)
    a.send("<message to='%s' type='headline'><body>headline</body></message>" % to)
    M.barrier(a)
    errs = [e for e in M.drain(a) if e.get("type") == "error"]
    M.expect(not errs, "the sender got errors for stored messages: %s" % [M.show(e) for e in errs])
    b = M.connect("u31", "late")
    got = messages(M.drain(b))
    bodies = [m.find(M.q(M.C, "body")).text for m in got]
    M.expect(bodies == ["offline 0", "offline 1", "offline 2"],
             "delivered at login (in order, only the storable ones): %s" % bodies)
    for m in got:
        M.expect(m.get("from") == "%s/a" % M.jid("u30"), "from kept: %s" % M.show(m))
        d = m.find(M.q(NS_DELAY, "delay"))
        M.expect(d is not None and d.get("stamp", "").endswith("Z") and d.get("from") == M.D,
                 "delay stamp: %s" % M.show(m))
    b.close()
    b = M.connect("u31", "again")
    M.expect(not messages(M.drain(b)), "messages delivered twice")
    b.close()
    a.close()


def not_before_presence():
    """A bound session without initial presence does not get the queue yet."""
    a = M.connect("u32", "a")
    a.send("<message to='%s' type='normal'><body>later</body></message>" % M.jid("u33"))
    M.barrier(a)
    b = M.connect("u33", "quiet", presence=False)
    M.expect(not messages(M.drain(b)), "queue delivered before initial presence")
    b.send("<presence/>")
    M.barrier(b)
    got = [m.find(M.q(M.C, "body")).text for m in messages(M.drain(b))]
    M.expect(got == ["later"], "delivered on presence: %s" % got)
    a.close(), b.close()


def full_queue_bounces():
    a = M.connect("u34", "a")
    to = M.jid("u35")
    for i in range(7):
        a.send("<message to='%s' type='chat' id='f%d'><body>%d</body></message>" % (to, i, i))
    M.barrier(a)
    errs = [e for e in M.drain(a) if e.tag == M.q(M.C, "message") and e.get("type") == "error"]
    M.expect([e.get("id") for e in errs] == ["f5", "f6"],
             "messages past max_messages bounce: %s" % [M.show(e) for e in errs])
    M.expect(all(M.error_condition(e) == "service-unavailable" for e in errs),
             "condition: %s" % [M.error_condition(e) for e in errs])
    b = M.connect("u35", "b")
    got = [m.find(M.q(M.C, "body")).text for m in messages(M.drain(b))]
    M.expect(got == ["0", "1", "2", "3", "4"], "kept: %s" % got)
    a.close(), b.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("stored_then_delivered", stored_then_delivered),
        ("not_before_presence", not_before_presence),
        ("full_queue_bounces", full_queue_bounces)]))
