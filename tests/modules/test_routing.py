"""tests/modules/test_routing.py — every row of RFC 6121 §8.5 (and RFC 6120 §10.3 for the
server's own domain), table-driven: each stanza type to the local domain, to a user that
does not exist, to a bare JID with and without available resources, to a full JID that is
online, connected without presence, or unknown. For each row it asserts what the sender got
back (an error condition or nothing) and which of the recipient's resources received it.
Also: directed presence to a sub-domain of the local host that nothing serves gets an error
presence, and at login the initial presence is echoed before stored messages arrive."""
import modlib as M

D = M.D


def stanza(kind, type_, to, tag):
    t = "" if type_ is None else " type='%s'" % type_
    if kind == "message":
        return "<message%s to='%s' id='%s'><body>%s</body></message>" % (t, to, tag, tag)
    if kind == "presence":
        return "<presence%s to='%s' id='%s'><status>%s</status></presence>" % (t, to, tag, tag)
    if type_ in ("get", "set"):
        return "<iq%s to='%s' id='%s'><query xmlns='urn:example:%s'/></iq>" % (t, to, tag, tag)
    return "<iq%s to='%s' id='%s'/>" % (t, to, tag)


# (target, kind, type, sender gets, receivers) — target names: 'domain', 'nobody',
# 'nobody/r', 'bare' (online user: resource a available, c connected without presence),
# 'full-a', 'full-c', 'full-x' (no such resource), 'off' (user with no session),
# 'off/x'. Receivers: resources of the online user that must get it (others must not).
SU = "error:service-unavailable"
ROWS = [
    # RFC 6120 §10.3: the local domain itself.
    ("domain", "message", "chat", SU, ""),
    ("domain", "message", "normal", SU, ""),
    ("domain", "message", "headline", None, ""),
    ("domain", "message", "groupchat", None, ""),
    ("domain", "message", "error", None, ""),
    ("domain", "iq", "get", SU, ""),
    ("domain", "iq", "set", SU, ""),
    ("domain", "iq", "result", None, ""),
    ("domain", "presence", None, None, ""),
    # RFC 6121 §8.5.1: no such user, bare and full JID.
    ("nobody", "message", "chat", SU, ""),
    ("nobody", "message", "normal", SU, ""),
    ("nobody", "message", "headline", SU, ""),
    ("nobody", "message", "groupchat", SU, ""),
    ("nobody", "message", "error", None, ""),
    ("nobody", "iq", "get", SU, ""),
    ("nobody", "iq", "result", None, ""),
    ("nobody", "presence", None, None, ""),
    ("nobody", "presence", "subscribe", None, ""),
    ("nobody/r", "message", "chat", SU, ""),
    ("nobody/r", "iq", "set", SU, ""),
    ("nobody/r", "presence", None, None, ""),
    # §8.5.2.1: bare JID, an available resource (a) and a connected one (c).
    ("bare", "message", "chat", None, "a"),
    ("bare", "message", "normal", None, "a"),
    ("bare", "message", "headline", None, "a"),
    ("bare", "message", "groupchat", SU, ""),
    ("bare", "message", "error", None, ""),
    ("bare", "iq", "get", SU, ""),          # answered by the server for the user
    ("bare", "iq", "result", None, ""),
    ("bare", "presence", None, None, "a"),
    ("bare", "presence", "unavailable", None, "a"),
    # §8.5.2.2: bare JID, no resource at all (chat/normal are stored, see below).
    ("off", "message", "chat", None, ""),
    ("off", "message", "normal", None, ""),
    ("off", "message", "headline", None, ""),
    ("off", "message", "groupchat", SU, ""),
    ("off", "message", "error", None, ""),
    ("off", "iq", "get", SU, ""),
    ("off", "presence", None, None, ""),
    # §8.5.3.1: full JID that matches, available or only connected: everything delivered.
    ("full-a", "message", "chat", None, "a"),
    ("full-a", "message", "normal", None, "a"),
    ("full-a", "message", "headline", None, "a"),
    ("full-a", "message", "groupchat", None, "a"),
    ("full-a", "message", "error", None, "a"),
    ("full-a", "iq", "get", None, "a"),
    ("full-a", "iq", "result", None, "a"),
    ("full-a", "presence", None, None, "a"),
    ("full-c", "message", "chat", None, "c"),
    ("full-c", "message", "headline", None, "c"),
    ("full-c", "iq", "set", None, "c"),
    ("full-c", "presence", None, None, "c"),
    # §8.5.3.2: full JID, no such resource.
    ("full-x", "message", "chat", None, "a"),       # as if to the bare JID
    ("full-x", "message", "normal", None, "a"),
    ("full-x", "message", "groupchat", SU, ""),     # §8.5.3.2.1
    ("full-x", "message", "headline", None, ""),    # §8.5.3.2.1: dropped
    ("full-x", "message", "error", None, ""),
    ("full-x", "iq", "get", SU, ""),                # §8.5.3.2.3
    ("full-x", "iq", "set", SU, ""),
    ("full-x", "iq", "result", None, ""),
    ("full-x", "presence", None, None, ""),         # §8.5.3.2.2: available dropped
    ("full-x", "presence", "unavailable", None, ""),
    ("off/x", "message", "chat", None, ""),         # stored offline
    ("off/x", "message", "groupchat", SU, ""),
    ("off/x", "message", "headline", None, ""),
    ("off/x", "iq", "get", SU, ""),
]


def rfc6121_8_5_table():
    sender = M.connect("u10", "s")
    a = M.connect("u11", "a")
    c = M.connect("u11", "c", roster=False, presence=False)
    M.drain(sender), M.drain(a), M.drain(c)
    targets = {
        "domain": D, "nobody": "nobody@" + D, "nobody/r": "nobody@%s/r" % D,
        "bare": M.jid("u11"), "full-a": M.jid("u11") + "/a", "full-c": M.jid("u11") + "/c",
        "full-x": M.jid("u11") + "/x", "off": M.jid("u12"), "off/x": M.jid("u12") + "/x",
    }
    receivers = {"a": a, "c": c}
    failures = []
    stored = []
    for n, (target, kind, type_, want_sender, want_recv) in enumerate(ROWS):
        tag = "row%d" % n
        sender.send(stanza(kind, type_, targets[target], tag))
        M.barrier(sender, a, c)
        got_sender = None
        for el in M.drain(sender):
            if el.get("id") != tag:
                continue
            if el.get("type") == "error":
                got_sender = "error:%s" % M.error_condition(el)
            else:
                got_sender = "got:%s" % el.get("type")
        if kind == "iq" and type_ in ("get", "set") and want_recv:
            # Delivered to a client: it answers, and the sender must get that answer.
            for name in want_recv:
                r = receivers[name]
                el = r.wait_for(lambda e, t=tag: e.get("id") == t, what=tag)
                r.send("<iq type='result' id='%s' to='%s'/>" % (tag, el.get("from")))
                r.pending.insert(0, el)
            M.barrier(a, c)
            for el in M.drain(sender):
                if el.get("id") == tag:
                    got_sender = "got:%s" % el.get("type")
            want_sender = "got:result"
        got_recv = "".join(name for name, r in sorted(receivers.items())
                           if any(el.get("id") == tag for el in M.drain(r)))
        row = (target, kind, type_ or "available")
        if got_sender != want_sender or got_recv != want_recv:
            failures.append("%-9s %-8s %-11s sender got %s (want %s), delivered to '%s' "
                            "(want '%s')" % (row + (got_sender, want_sender, got_recv,
                                                    want_recv)))
        if target in ("off", "off/x") and kind == "message" and type_ in ("chat", "normal"):
            stored.append(tag)
    # §8.5.2.2.1: chat and normal to the user without resources were stored.
    off = M.connect("u12", "r", roster=False)
    got = []
    M.barrier(off)
    for el in M.drain(off):
        if el.tag == M.q(M.C, "message"):
            got.append(el.get("id"))
    if got != stored:
        failures.append("stored messages: got %s, want %s" % (got, stored))
    for s in (sender, a, c, off):
        s.close()
    if failures:
        raise M.Fail("%d of %d rows wrong:\n  " % (len(failures), len(ROWS)) +
                     "\n  ".join(failures))


def presence_to_unknown_subdomain():
    """A MUC join to a conference service that does not exist under the local host gets an
    error presence (RFC 6120 §8.3.3.15), not silence; unavailable is not answered."""
    s = M.connect("u13", "r")
    M.drain(s)
    room = "room@nothing-here.%s/nick" % D
    s.send("<presence to='%s' id='join1'><x xmlns='http://jabber.org/protocol/muc'/>"
           "</presence>" % room)
    err = s.wait_for(lambda e: e.get("id") == "join1", what="error presence for the join")
    M.expect(err.get("type") == "error" and err.get("from") == room and
             M.error_condition(err) == "remote-server-not-found",
             "bad answer to the join: %s" % M.show(err))
    s.send("<presence type='unavailable' to='%s' id='leave1'/>" % room)
    M.expect(not any(e.get("id") == "leave1" for e in M.drain(s)),
             "unavailable presence was answered")
    s.close()


def initial_presence_before_offline_messages():
    """At login the user's own initial presence comes back before the stored messages, as
    from Prosody and ejabberd (docs/protocols.md)."""
    s = M.connect("u14", "s")
    for i in range(3):
        s.send("<message type='chat' to='%s' id='off%d'><body>%d</body></message>" %
               (M.jid("u15"), i, i))
    M.barrier(s)
    r = M.connect("u15", "r", presence=False)
    M.drain(r)
    r.send("<presence><status>hello</status></presence>")
    order = []
    while len(order) < 4:
        el = r.next()
        if M.is_presence(el, "available", M.jid("u15")):
            order.append("presence")
        elif el.tag == M.q(M.C, "message"):
            order.append(el.get("id"))
    M.expect(order == ["presence", "off0", "off1", "off2"],
             "login order: %s" % order)
    s.close()
    r.close()


if __name__ == "__main__":
    import sys
    sys.exit(M.run([(f.__name__, f) for f in (rfc6121_8_5_table, presence_to_unknown_subdomain,
                                              initial_presence_before_offline_messages)]))
