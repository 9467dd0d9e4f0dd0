"""tests/modules/test_offline.py — offline messages (XEP-0160, RFC 6121 §8.5.2.2.1): chat and
normal messages to a user with no available resource are kept, then delivered in order with
a XEP-0203 delay stamp at the user's next initial presence, once; hints and types that must
not be stored are not; the quotas of offline.sh (5 messages, 3000 bytes per account, 1000
bytes per message) bounce the sender with service-unavailable (XEP-0160 §2) and a text,
and keep what fitted; a resource whose priority goes from negative to non-negative gets
the stored messages before new ones."""
import modlib as M
import xmpplib as X

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


def bounced(a):
    """{id: (condition, text)} of the message errors a sender got."""
    out = {}
    for e in M.drain(a):
        if e.tag == M.q(M.C, "message") and e.get("type") == "error":
            t = e.find("%s/%s" % (M.q(M.C, "error"), M.q(X.NS_STANZAS_ERR, "text")))
            out[e.get("id")] = (M.error_condition(e), t.text if t is not None else None)
    return out


def size_cap_bounces():
    a = M.connect("u36", "a")
    to = M.jid("u37")
    a.send("<message to='%s' type='chat' id='big'><body>%s</body></message>" % (to, "x" * 1200))
    a.send("<message to='%s' type='chat' id='small'><body>fits</body></message>" % to)
    got = bounced(a)
    M.expect(got == {"big": ("service-unavailable", "message too large for offline storage")},
             "a message over max_message_bytes bounces, a small one is stored: %s" % got)
    b = M.connect("u37", "b")
    bodies = [m.find(M.q(M.C, "body")).text for m in messages(M.drain(b))]
    M.expect(bodies == ["fits"], "kept: %s" % bodies)
    a.close(), b.close()


def byte_quota_bounces():
    """Messages of ~850 stored bytes: three fit in 3000 bytes, the fourth does not, although
    the count limit (5) is not reached."""
    a = M.connect("u38", "a")
    to = M.jid("u39")
    for i in range(4):
        a.send("<message to='%s' type='chat' id='q%d'><body>%d%s</body></message>"
               % (to, i, i, "y" * 600))
    got = bounced(a)
    M.expect(got == {"q3": ("service-unavailable", "offline storage of the recipient is full")},
             "the message past max_bytes bounces: %s" % got)
    b = M.connect("u39", "b")
    bodies = [m.find(M.q(M.C, "body")).text[0] for m in messages(M.drain(b))]
    M.expect(bodies == ["0", "1", "2"], "kept: %s" % bodies)
    b.close()
    # Delivered and deleted: the quota is free again.
    a.send("<message to='%s' type='chat' id='again'><body>again</body></message>" % to)
    M.expect(not bounced(a), "after delivery the queue takes messages again")
    a.close()


def priority_raised_gets_queue():
    """XEP-0160 §2 step 5: messages wait while the only resource has a negative priority,
    and come, before newer ones, once its presence makes it non-negative."""
    a = M.connect("u40", "a")
    to = M.jid("u41")
    b = M.connect("u41", "shy", presence_xml="<presence><priority>-1</priority></presence>")
    a.send("<message to='%s' type='chat'><body>stored</body></message>" % to)
    M.barrier(a)
    M.expect(not messages(M.drain(b)), "a negative-priority resource got a bare-JID message")
    b.send("<presence><priority>1</priority></presence>")
    M.barrier(b)
    a.send("<message to='%s' type='chat'><body>live</body></message>" % to)
    M.barrier(a, b)
    bodies = [m.find(M.q(M.C, "body")).text for m in messages(M.drain(b))]
    M.expect(bodies == ["stored", "live"], "after the priority change: %s" % bodies)
    a.close(), b.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("stored_then_delivered", stored_then_delivered),
        ("not_before_presence", not_before_presence),
        ("full_queue_bounces", full_queue_bounces),
        ("size_cap_bounces", size_cap_bounces),
        ("byte_quota_bounces", byte_quota_bounces),
        ("priority_raised_gets_queue", priority_raised_gets_queue)]))
