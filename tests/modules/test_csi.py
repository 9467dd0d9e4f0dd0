"""tests/modules/test_csi.py — client state indication (XEP-0352, in the core): an inactive
client gets no presence updates until something else arrives for it or it becomes active;
then it gets the latest presence of each contact (not every intermediate one), before that
other stanza. Subscription requests are never held."""
import modlib as M

NS_CSI = "urn:xmpp:csi:0"


def befriend(u, c):
    U, C = M.connect(u, "setup"), M.connect(c, "setup")
    for s, o in ((U, M.jid(c)), (C, M.jid(u))):
        s.send("<presence type='subscribe' to='%s'/>" % o)
        M.barrier(s, U, C)
    for s, o in ((U, M.jid(c)), (C, M.jid(u))):
        s.send("<presence type='subscribed' to='%s'/>" % o)
        M.barrier(s, U, C)
    U.close(), C.close()


def quiet_read(s, secs=0.4):
    """What arrives on s within secs, without sending it anything (a ping would be a
    stanza for it, which flushes held presence)."""
    out = []
    try:
        while True:
            out.append(s.next(timeout=secs))
    except Exception:
        pass
    return out


def statuses(els, frm):
    out = []
    for e in els:
        if M.is_presence(e, frm=frm):
            st = e.find(M.q(M.C, "status"))
            out.append(st.text if st is not None else None)
    return out


def feature():
    s = M.connect("u70", "f")
    # The feature is offered after authentication (checked on the bind stream's features).
    M.expect(s.features.find(M.q(NS_CSI, "csi")) is not None,
             "no <csi/> stream feature: %s" % M.show(s.features))
    s.close()


def held_until_message():
    befriend("u66", "u67")
    watcher = M.connect("u66", "w")
    contact = M.connect("u67", "c")
    M.drain(watcher)
    watcher.send("<inactive xmlns='%s'/>" % NS_CSI)
    M.barrier(watcher)
    for text in ("one", "two", "three"):
        contact.send("<presence><status>%s</status></presence>" % text)
        M.barrier(contact)
    got = statuses(quiet_read(watcher), M.jid("u67"))
    M.expect(got == [], "presence reached an inactive client: %s" % got)
    contact.send("<message to='%s/w' type='chat'><body>wake up</body></message>" % M.jid("u66"))
    M.barrier(contact)
    els = quiet_read(watcher)
    got = statuses(els, M.jid("u67"))
    M.expect(got == ["three"], "held presence on the next stanza: latest only, got %s" % got)
    kinds = [e.tag.split("}")[1] for e in els if e.tag in (M.q(M.C, "presence"), M.q(M.C, "message"))]
    M.expect(kinds[:2] == ["presence", "message"], "presence before the message: %s" % kinds)
    contact.send("<presence><status>four</status></presence>")
    M.barrier(contact)
    M.expect(statuses(quiet_read(watcher), M.jid("u67")) == [], "held again while inactive")
    watcher.send("<active xmlns='%s'/>" % NS_CSI)
    got = statuses(quiet_read(watcher), M.jid("u67"))
    M.expect(got == ["four"], "flushed on <active/>: %s" % got)
    contact.send("<presence><status>five</status></presence>")
    M.barrier(contact, watcher)
    M.expect(statuses(M.drain(watcher), M.jid("u67")) == ["five"], "active: delivered at once")
    watcher.close(), contact.close()


def subscription_not_held():
    w = M.connect("u68", "w")
    w.send("<inactive xmlns='%s'/>" % NS_CSI)
    M.barrier(w)
    s = M.connect("u69", "s")
    s.send("<presence type='subscribe' to='%s'/>" % M.jid("u68"))
    M.barrier(s, w)
    got = [e for e in M.drain(w) if M.is_presence(e, "subscribe")]
    M.expect(len(got) == 1, "subscription request held from an inactive client")
    w.close(), s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("feature", feature), ("held_until_message", held_until_message),
                            ("subscription_not_held", subscription_not_held)]))
