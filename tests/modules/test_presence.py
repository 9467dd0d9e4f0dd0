"""tests/modules/test_presence.py — presence (RFC 6121 §4) and its ties to subscriptions:
initial presence broadcast and probes (§4.2-4.3), own resources seeing each other,
priorities for bare-JID messages (§8.5.2.1.1), unavailable on request and on abrupt
disconnect (§4.5), directed presence and its cleanup (§4.6), pending subscription requests
delivered whole at the next login (§3.1.3), removal cancelling both directions (§2.5.2), and
errors for invalid presence types."""
import modlib as M


def befriend(uname, cname):
    """Makes U and C subscribed both ways (offline afterwards)."""
    U = M.connect(uname, "setup")
    C = M.connect(cname, "setup")
    uj, cj = M.jid(uname), M.jid(cname)
    for s, o in ((U, cj), (C, uj)):
        s.send("<presence type='subscribe' to='%s'/>" % o)
        M.barrier(s, U, C)
    for s, o in ((U, cj), (C, uj)):
        s.send("<presence type='subscribed' to='%s'/>" % o)
        M.barrier(s, U, C)
    items, _ = M.roster(U)
    M.expect(M.item_state(items.get(cj)) == ("both", False),
             "befriend failed: %s" % M.show(items.get(cj)))
    U.close()
    C.close()


def initial_presence_and_probes():
    befriend("u00", "u01")
    C = M.connect("u01", "c", presence_xml="<presence><status>here</status></presence>")
    M.drain(C)
    U = M.connect("u00", "u", presence=False)
    U.send("<presence><show>away</show></presence>")
    got = U.wait_for(lambda e: M.is_presence(e, "available", M.jid("u01")),
                     what="contact's presence (probe answer)")
    M.expect(got.get("from") == M.jid("u01") + "/c" and got.findtext(M.q(M.C, "status")) ==
             "here", "bad probe answer: %s" % M.show(got))
    got = C.wait_for(lambda e: M.is_presence(e, "available", M.jid("u00")),
                     what="user's initial presence")
    M.expect(got.get("from") == M.jid("u00") + "/u" and got.findtext(M.q(M.C, "show")) ==
             "away", "bad broadcast: %s" % M.show(got))
    # A later broadcast.
    U.send("<presence><show>dnd</show></presence>")
    got = C.wait_for(lambda e: M.is_presence(e, "available", M.jid("u00")), what="update")
    M.expect(got.findtext(M.q(M.C, "show")) == "dnd", "bad update: %s" % M.show(got))
    # Not to non-subscribers.
    E = M.connect("u02")
    M.drain(E)
    U.send("<presence type='unavailable'><status>bye</status></presence>")
    got = C.wait_for(lambda e: M.is_presence(e, "unavailable", M.jid("u00")),
                     what="unavailable")
    M.expect(got.findtext(M.q(M.C, "status")) == "bye", "status lost: %s" % M.show(got))
    M.barrier(U, E)
    M.expect(not any(M.is_presence(e, frm=M.jid("u00")) for e in M.drain(E)),
             "a non-subscriber got presence")
    for s in (U, C, E):
        s.close()


def abrupt_disconnect():
    befriend("u03", "u04")
    C = M.connect("u04", "c")
    M.drain(C)  # includes the answer to C's own probe: U unavailable, from the bare JID
    U = M.connect("u03", "u")
    C.wait_for(lambda e: M.is_presence(e, "available", M.jid("u03")), what="available")
    U.sock.close()  # no </stream:stream>, no unavailable
    got = C.wait_for(lambda e: M.is_presence(e, "unavailable", M.jid("u03")),
                     what="unavailable after abrupt disconnect")
    M.expect(got.get("from") == M.jid("u03") + "/u", "bad from: %s" % M.show(got))
    C.close()


def own_resources_and_priority():
    befriend("u05", "u06")
    r1 = M.connect("u05", "r1", presence_xml="<presence><priority>5</priority></presence>")
    r2 = M.connect("u05", "r2", presence_xml="<presence><priority>1</priority></presence>")
    r1.wait_for(lambda e: M.is_presence(e, "available") and e.get("from") ==
                M.jid("u05") + "/r2", what="r2's presence at r1")
    r2.wait_for(lambda e: M.is_presence(e, "available") and e.get("from") ==
                M.jid("u05") + "/r1", what="r1's presence at r2")
    C = M.connect("u06", "c")
    M.drain(r1)
    M.drain(r2)

    def is_msg(e, body):
        return e.tag == M.q(M.C, "message") and e.findtext(M.q(M.C, "body")) == body

    C.send("<message type='chat' to='%s'><body>one</body></message>" % M.jid("u05"))
    r1.wait_for(lambda e: is_msg(e, "one"), what="message at the higher priority")
    M.barrier(C, r2)
    M.expect(not any(is_msg(e, "one") for e in M.drain(r2)), "low priority got the message")
    r1.send("<presence><priority>-1</priority></presence>")
    M.barrier(r1)
    C.send("<message type='chat' to='%s'><body>two</body></message>" % M.jid("u05"))
    r2.wait_for(lambda e: is_msg(e, "two"), what="message after priority change")
    M.barrier(C, r1)
    M.expect(not any(is_msg(e, "two") for e in M.drain(r1)), "negative priority got it")
    for s in (r1, r2, C):
        s.close()


def directed_presence():
    U = M.connect("u07", "u")
    D = M.connect("u08", "d")
    M.drain(D)
    U.send("<presence to='%s'><status>psst</status></presence>" % (M.jid("u08") + "/d"))
    D.wait_for(lambda e: M.is_presence(e, "available", M.jid("u07")), what="directed")
    U.sock.close()
    D.wait_for(lambda e: M.is_presence(e, "unavailable", M.jid("u07")),
               what="unavailable to a directed-presence recipient")
    # Directed unavailable ends the tracking: no second unavailable later.
    U = M.connect("u07", "u2")
    U.send("<presence to='%s'/>" % (M.jid("u08") + "/d"))
    D.wait_for(lambda e: M.is_presence(e, "available", M.jid("u07")), what="directed 2")
    U.send("<presence type='unavailable' to='%s'/>" % (M.jid("u08") + "/d"))
    D.wait_for(lambda e: M.is_presence(e, "unavailable", M.jid("u07")), what="directed unav")
    U.send("<presence type='unavailable'/>")
    M.barrier(U, D)
    M.expect(not any(M.is_presence(e, frm=M.jid("u07")) for e in M.drain(D)),
             "unavailable sent twice to a directed-presence recipient")
    U.close()
    D.close()


NS_NICK = "http://jabber.org/protocol/nick"
NS_PARS = "urn:xmpp:pars:0"


def pending_subscription_kept_whole():
    """RFC 6121 §3.1.3: the stored request is the complete stanza, extended content
    included (XEP-0172 nick, XEP-0379 pre-auth token), re-delivered whole at each login
    until answered; a request from a full JID and to a full JID is stored between bare
    JIDs."""
    C = M.connect("u40", "c")
    C.send("<presence type='subscribe' to='%s/gone' id='sub1'><status>it is me</status>"
           "<nick xmlns='%s'>Cecile</nick><preauth xmlns='%s' token='tok-3f9a'/>"
           "<x xmlns='urn:example:ext'><y a='1'>z</y></x></presence>"
           % (M.jid("u41"), NS_NICK, NS_PARS))
    M.barrier(C)
    C.close()
    for attempt in (1, 2):
        U = M.connect("u41", "u%d" % attempt, presence=False)
        U.send("<presence/>")
        got = U.wait_for(lambda e: M.is_presence(e, "subscribe", M.jid("u40")),
                         what="stored subscription request (login %d)" % attempt)
        M.expect(got.get("from") == M.jid("u40") and got.get("to") == M.jid("u41"),
                 "not between bare JIDs: %s" % M.show(got))
        M.expect(got.findtext(M.q(NS_NICK, "nick")) == "Cecile", "nick lost: %s" % M.show(got))
        pre = got.find(M.q(NS_PARS, "preauth"))
        M.expect(pre is not None and pre.get("token") == "tok-3f9a",
                 "pre-auth token lost: %s" % M.show(got))
        M.expect(got.findtext(M.q(M.C, "status")) == "it is me", "status lost: %s" % M.show(got))
        ext = got.find(M.q("urn:example:ext", "x"))
        M.expect(ext is not None and ext.find(M.q("urn:example:ext", "y")).get("a") == "1",
                 "extension lost: %s" % M.show(got))
        U.close()
    # Denied: gone for good, also from the store.
    U = M.connect("u41", "u3")
    M.drain(U)
    U.send("<presence type='unsubscribed' to='%s'/>" % M.jid("u40"))
    M.barrier(U)
    U.close()
    U = M.connect("u41", "u4", presence=False)
    U.send("<presence/>")
    M.barrier(U)
    M.expect(not any(M.is_presence(e, "subscribe") for e in M.drain(U)),
             "denied request delivered again")
    U.close()


def pending_subscription_next_login():
    C = M.connect("u09", "c")
    C.send("<presence type='subscribe' to='%s'><status>add me</status></presence>"
           % M.jid("u10"))
    M.barrier(C)
    for attempt in (1, 2):  # kept until answered: again at the second login
        U = M.connect("u10", "u%d" % attempt, presence=False)
        U.send("<presence/>")
        got = U.wait_for(lambda e: M.is_presence(e, "subscribe", M.jid("u09")),
                         what="stored subscription request (login %d)" % attempt)
        M.expect(got.get("from") == M.jid("u09"), "request not from the bare JID: %s"
                 % M.show(got))
        M.expect(got.findtext(M.q(M.C, "status")) == "add me",
                 "stored request lost its status: %s" % M.show(got))
        if attempt == 1:
            U.close()
    M.drain(C)
    U.send("<presence type='subscribed' to='%s'/>" % M.jid("u09"))
    C.wait_for(lambda e: M.is_presence(e, "subscribed", M.jid("u10")), what="approval")
    C.wait_for(lambda e: M.is_presence(e, "available", M.jid("u10")),
               what="presence after approval")
    items, _ = M.roster(C)
    M.expect(M.item_state(items.get(M.jid("u10"))) == ("to", False),
             "C's item: %s" % M.show(items.get(M.jid("u10"))))
    U.close()
    U = M.connect("u10", "u3", presence=False)
    U.send("<presence/>")
    M.barrier(U)
    M.expect(not any(M.is_presence(e, "subscribe") for e in M.drain(U)),
             "answered request delivered again")
    U.close()
    C.close()


def removal_cancels_both():
    befriend("u11", "u12")
    U = M.connect("u11", "u")
    C = M.connect("u12", "c")
    M.drain(C)
    M.drain(U)
    r = M.roster_set(U, "<item jid='%s' subscription='remove'/>" % M.jid("u12"))
    M.expect(r.get("type") == "result", "remove: %s" % M.show(r))
    M.barrier(U, C)
    got = M.drain(C)
    M.expect(any(M.is_presence(e, "unavailable", M.jid("u11")) for e in got),
             "C did not see U go unavailable: %s" % [M.show(e) for e in got])
    items, _ = M.roster(C)
    M.expect(M.item_state(items.get(M.jid("u11"))) == ("none", False),
             "C's item after removal: %s" % M.show(items.get(M.jid("u11"))))
    U.close()
    C.close()


def invalid_presence_type():
    U = M.connect("u13", "u")
    U.send("<presence type='bogus' to='%s' id='bad1'/>" % M.jid("u14"))
    got = U.wait_for(lambda e: e.tag == M.q(M.C, "presence") and e.get("type") == "error",
                     what="presence error")
    M.expect(M.error_condition(got) == "bad-request", "condition: %s" % M.show(got))
    U.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("initial_presence_and_probes", initial_presence_and_probes),
        ("abrupt_disconnect", abrupt_disconnect),
        ("own_resources_and_priority", own_resources_and_priority),
        ("directed_presence", directed_presence),
        ("pending_subscription_next_login", pending_subscription_next_login),
        ("pending_subscription_kept_whole", pending_subscription_kept_whole),
        ("removal_cancels_both", removal_cancels_both),
        ("invalid_presence_type", invalid_presence_type)]))
