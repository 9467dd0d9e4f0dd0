"""tests/modules/test_push.py — push notifications (XEP-0357) with a test app server: an
XEP-0114 component (tests/modules/complib.py) on the harness's component domain receives
the pubsub publishes and answers them. Raw XML on the client side (neither slixmpp nor
nbxmpp has the feature).
Scenario "flows" (push.sh): the account feature; enable with publish options; a message to
the account once its sessions are all gone gives a publish with the summary form
(message-count, last-message-sender, no body) and the publish options; the count grows
and starts over after a login; messages without content, and accounts with a session
still bound, give none; two devices; disable (one node, all nodes); an app server's error
disables its device; one publish in flight per device, the rest coalesced into the next;
devices kept across a restart; the errors of enable/disable for hostile requests, and
max_devices.
Scenario "body" (push_body.sh, include_body and max_body = 10): the body, cut on a UTF-8
character boundary.
Scenario "held" (push_held.sh): a session XEP-0198 holds for resumption (its stream broke)
counts as gone: a message to it gives a publish (none while it was on its stream, none
while another session of the account is); after the resume the count starts over; when
the held session times out, its messages go to offline storage without a second publish."""
import sys

import complib
import modlib as M

NS_PUSH = "urn:xmpp:push:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_XDATA = "jabber:x:data"
NS_INFO = "http://jabber.org/protocol/disco#info"
NS_COMP = complib.NS_COMPONENT
SUMMARY = "urn:xmpp:push:summary"
PUBOPTS = "http://jabber.org/protocol/pubsub#publish-options"
APP = complib.E["E2E_COMPONENT_DOMAIN"]


def enable(s, node, secret=None, jid=APP):
    opts = ""
    if secret:
        opts = ("<x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>%s</value></field>"
                "<field var='secret'><value>%s</value></field></x>" % (NS_XDATA, PUBOPTS,
                                                                       secret))
    n = " node='%s'" % node if node is not None else ""
    return s.iq("set", "<enable xmlns='%s' jid='%s'%s>%s</enable>" % (NS_PUSH, jid, n, opts))


def disable(s, node=None, jid=APP):
    n = " node='%s'" % node if node is not None else ""
    return s.iq("set", "<disable xmlns='%s' jid='%s'%s/>" % (NS_PUSH, jid, n))


def ok(r, what):
    M.expect(r.get("type") == "result", "%s: %s" % (what, M.show(r)))


def leave(s):
    """Ends a session cleanly; once closed, the server has ended the session."""
    s.send("</stream:stream>")
    s.expect_close()


def is_publish(e):
    return e.tag == M.q(NS_COMP, "iq") and e.get("type") == "set"


def publish(app, what, answer="result"):
    """The next publish at the app server: (node, summary fields, publish-options fields);
    answered with `answer` (None: left unanswered, the iq is returned too)."""
    iq = app.wait_for(is_publish, what="a publish: " + what)
    M.expect(iq.get("from") == M.D and iq.get("to") == APP, "%s: addressing %s"
             % (what, M.show(iq)))
    ps = iq.find(M.q(NS_PUBSUB, "pubsub"))
    pub = ps.find(M.q(NS_PUBSUB, "publish")) if ps is not None else None
    note = pub.find("%s/%s" % (M.q(NS_PUBSUB, "item"), M.q(NS_PUSH, "notification"))) \
        if pub is not None else None
    M.expect(note is not None, "%s: no notification: %s" % (what, M.show(iq)))

    def fields(x):
        return {f.get("var"): [v.text or "" for v in f.findall(M.q(NS_XDATA, "value"))]
                for f in x.findall(M.q(NS_XDATA, "field"))} if x is not None else None
    summary = fields(note.find(M.q(NS_XDATA, "x")))
    po = ps.find(M.q(NS_PUBSUB, "publish-options"))
    options = fields(po.find(M.q(NS_XDATA, "x"))) if po is not None else None
    if answer == "result":
        app.send("<iq type='result' id='%s' from='%s' to='%s'/>" % (iq.get("id"), APP, M.D))
    elif answer == "error":
        app.send("<iq type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
                 "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
                 % (iq.get("id"), APP, M.D))
    out = (pub.get("node"), summary, options)
    return out + (iq,) if answer is None else out


def no_publish(app, *senders):
    """Nothing was published for what the senders sent before this call."""
    M.barrier(*senders)
    app.barrier(M.D)
    extra = [e for e in app.pending if is_publish(e)]
    app.pending = [e for e in app.pending if not is_publish(e)]
    M.expect(not extra, "unexpected publish: %s" % [M.show(e) for e in extra])


def chat(s, to, body, extra=""):
    b = "<body>%s</body>" % body if body is not None else ""
    s.send("<message type='chat' to='%s'>%s%s</message>" % (to, b, extra))


def flows():
    app = complib.Component()
    u, sender = "u00", M.connect("u01", "phone")
    uj = M.jid(u)
    s = M.connect(u, "mobile")
    r = s.iq("get", "<query xmlns='%s'/>" % NS_INFO, to=uj)
    M.expect(any(f.get("var") == NS_PUSH for f in r.iter(M.q(NS_INFO, "feature"))),
             "urn:xmpp:push:0 not on the account: %s" % M.show(r))
    ok(enable(s, "node-1", secret="eruio234vzxc2kla-91"), "enable")
    # Connected (bound, even without presence): no push, the client gets its messages.
    s2 = M.connect(u, "quiet", presence=False)
    chat(sender, uj, "you are connected")
    no_publish(app, sender)
    leave(s2)
    leave(s)

    chat(sender, uj, "Wherefore art thou, Romeo?")
    node, summary, options = publish(app, "first message")
    M.expect(node == "node-1", "node: %r" % node)
    M.expect(summary == {"FORM_TYPE": [SUMMARY], "message-count": ["1"],
                         "last-message-sender": [M.jid("u01") + "/phone"]},
             "summary (no body by default): %s" % summary)
    M.expect(options == {"FORM_TYPE": [PUBOPTS], "secret": ["eruio234vzxc2kla-91"]},
             "publish options: %s" % options)
    chat(sender, uj, "second")
    _, summary, _ = publish(app, "second message")
    M.expect(summary["message-count"] == ["2"], "count grows: %s" % summary)
    # No content worth waking a phone: a chat state, a receipt.
    chat(sender, uj, None, "<composing xmlns='http://jabber.org/protocol/chatstates'/>")
    no_publish(app, sender)
    # OMEMO without a body is worth it.
    chat(sender, uj, None, "<encrypted xmlns='eu.siacs.conversations.axolotl'><header "
         "sid='1'/></encrypted><store xmlns='urn:xmpp:hints'/>")
    _, summary, _ = publish(app, "encrypted message")
    M.expect(summary["message-count"] == ["3"], "count: %s" % summary)
    # A login starts the count again.
    s = M.connect(u, "mobile")
    leave(s)
    chat(sender, uj, "after a login")
    _, summary, _ = publish(app, "after a login")
    M.expect(summary["message-count"] == ["1"], "count after a login: %s" % summary)

    # A second device; disabling one node, then all of the service.
    s = M.connect(u, "mobile")
    ok(enable(s, "node-2"), "enable a second node")
    leave(s)
    chat(sender, uj, "two devices")
    got = {publish(app, "device A")[0], publish(app, "device B")[0]}
    M.expect(got == {"node-1", "node-2"}, "both devices: %s" % got)
    s = M.connect(u, "mobile")
    ok(disable(s, "node-1"), "disable one node")
    leave(s)
    chat(sender, uj, "one device left")
    node, _, options = publish(app, "the remaining device")
    M.expect(node == "node-2" and options is None, "remaining: %s %s" % (node, options))
    no_publish(app, sender)
    s = M.connect(u, "mobile")
    ok(disable(s), "disable the service")
    leave(s)
    chat(sender, uj, "disabled")
    no_publish(app, sender)

    # An app server that answers with an error loses the device (§7.1).
    s = M.connect(u, "mobile")
    ok(enable(s, "node-3"), "enable again")
    leave(s)
    chat(sender, uj, "refused")
    publish(app, "the publish that fails", answer="error")
    chat(sender, uj, "after the failure")
    no_publish(app, sender)

    # One publish in flight per device: the others wait and go as one.
    s = M.connect(u, "mobile")
    ok(enable(s, "node-4"), "enable node-4")
    leave(s)
    chat(sender, uj, "one")
    _, summary, _, first = publish(app, "first of a burst", answer=None)
    third = M.connect("u02", "pc")
    chat(sender, uj, "two")
    M.barrier(sender)  # "three" comes last
    chat(third, uj, "three")
    no_publish(app, sender, third)
    app.send("<iq type='result' id='%s' from='%s' to='%s'/>" % (first.get("id"), APP, M.D))
    _, summary, _ = publish(app, "the coalesced publish")
    M.expect(summary["message-count"] == ["3"] and
             summary["last-message-sender"] == [M.jid("u02") + "/pc"],
             "coalesced summary: %s" % summary)
    no_publish(app, sender, third)

    # Devices survive a restart.
    app.close()
    M.restart_server()
    app = complib.Component()
    sender = M.connect("u01", "phone")
    chat(sender, uj, "after the restart")
    node, summary, _ = publish(app, "after a restart")
    M.expect(node == "node-4", "device after a restart: %s" % node)
    sender.close(), third.close(), app.close()


def hostile():
    s = M.connect("u10")
    other = M.jid("u11")
    r = s.iq("set", "<enable xmlns='%s' jid='%s' node='x'/>" % (NS_PUSH, APP), to=other)
    M.expect_error(r, "forbidden", "enabling for another account")
    r = s.iq("set", "<enable xmlns='%s' jid='%s' node='x'/>" % (NS_PUSH, APP), to=M.D)
    M.expect_error(r, "service-unavailable", "enable sent to the server")
    M.expect_error(s.iq("set", "<enable xmlns='%s' node='x'/>" % NS_PUSH), "bad-request",
                   "enable without jid")
    M.expect_error(enable(s, "x", jid="a@b@c"), "jid-malformed", "malformed jid")
    M.expect_error(enable(s, "x", jid=M.jid("u10")), "not-acceptable", "the account itself")
    M.expect_error(enable(s, "n" * 600), "not-acceptable", "node too long")
    bad_forms = [
        "<x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field>"
        "</x>" % NS_XDATA,
        "<x xmlns='%s' type='form'><field var='FORM_TYPE'><value>%s</value></field></x>"
        % (NS_XDATA, PUBOPTS),
        "<x xmlns='%s' type='submit'><field var='secret'><value>a</value></field></x>"
        % NS_XDATA,
        "<x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>%s</value></field>%s</x>"
        % (NS_XDATA, PUBOPTS, "".join("<field var='f%d'/>" % i for i in range(40))),
    ]
    for f in bad_forms:
        r = s.iq("set", "<enable xmlns='%s' jid='%s' node='x'>%s</enable>" % (NS_PUSH, APP, f))
        M.expect_error(r, "bad-request", "bad publish options %s" % f[:60])
    big = ("<x xmlns='%s' type='submit'><field var='FORM_TYPE'><value>%s</value></field>"
           "<field var='secret'><value>%s</value></field></x>" % (NS_XDATA, PUBOPTS, "s" * 5000))
    r = s.iq("set", "<enable xmlns='%s' jid='%s' node='x'>%s</enable>" % (NS_PUSH, APP, big))
    M.expect_error(r, "not-acceptable", "oversized publish options")
    # max_devices = 3 (push.sh); enabling one again replaces it and is no new device.
    for i in range(3):
        ok(enable(s, "d%d" % i), "device %d" % i)
    ok(enable(s, "d1", secret="again"), "re-enable an existing device")
    M.expect_error(enable(s, "d3"), "resource-constraint", "a fourth device")
    M.expect_error(s.iq("set", "<disable xmlns='%s'/>" % NS_PUSH), "bad-request",
                   "disable without jid")
    ok(disable(s, "never-enabled"), "disabling what is not enabled")
    s.close()


def body():
    app = complib.Component()
    sender = M.connect("u20", "phone")
    s = M.connect("u21", "mobile")
    ok(enable(s, "b"), "enable")
    leave(s)
    chat(sender, M.jid("u21"), "Wherefore art thou, Romeo?")
    _, summary, _ = publish(app, "with a body")
    M.expect(summary.get("last-message-body") == ["Wherefore "],
             "body cut to max_body = 10: %s" % summary)
    chat(sender, M.jid("u21"), "ééééééé")
    _, summary, _ = publish(app, "UTF-8 body")
    M.expect(summary.get("last-message-body") == ["ééééé"],
             "cut on a character boundary: %s" % summary)
    chat(sender, M.jid("u21"), "short")
    _, summary, _ = publish(app, "short body")
    M.expect(summary.get("last-message-body") == ["short"], "short: %s" % summary)
    sender.close(), app.close()


def held():
    import test_resume as R
    app = complib.Component()
    sender = M.connect("u30", "phone")
    uj = M.jid("u31")
    s = R.sm_login("u31", "mobile")
    ok(enable(s, "held-node"), "enable")
    chat(sender, s.jid, "on the stream")
    R.wait_body(s, "on the stream")
    no_publish(app, sender)
    R.cut(s)
    R.wait_held(1)
    chat(sender, s.jid, "to the held session")
    _, summary, _ = publish(app, "a message to a held session")
    M.expect(summary["message-count"] == ["1"] and
             summary["last-message-sender"] == [M.jid("u30") + "/phone"],
             "summary: %s" % summary)
    chat(sender, uj, "to the bare JID")
    _, summary, _ = publish(app, "a second one")
    M.expect(summary["message-count"] == ["2"], "count: %s" % summary)
    # Another session of the account is on a stream: its client sees the messages.
    other = M.connect("u31", "desk")
    chat(sender, s.jid, "desk is online")
    no_publish(app, sender)
    other.close()
    s2, el = R.resume("u31", s.smid, s.h, "u31/back")
    M.expect(el.tag == M.q(R.NS_SM, "resumed"), "resume: %s" % M.show(el))
    R.wait_body(s2, "desk is online")
    M.expect(s2.bodies == ["to the held session", "to the bare JID", "desk is online"],
             "resumed stream got %s" % s2.bodies)
    s2.send("<a xmlns='%s' h='%d'/>" % (R.NS_SM, s2.h))
    M.barrier(s2)
    R.cut(s2)
    R.wait_held(1)
    chat(sender, s.jid, "after the resume")
    _, summary, _ = publish(app, "after the resume")
    M.expect(summary["message-count"] == ["1"], "count starts over: %s" % summary)
    # Not resumed in time (resumption timeout 2 s): offline storage, no second publish.
    R.wait_held(0)
    no_publish(app, sender)
    back = M.connect("u31", "later")
    got = [e.findtext(M.q(M.C, "body")) for e in M.drain(back) if e.tag == M.q(M.C, "message")]
    M.expect(got == ["after the resume"], "offline after the timeout: %s" % got)
    back.close(), sender.close(), app.close()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "flows"
    if which == "body":
        raise SystemExit(M.run([("body", body)]))
    if which == "held":
        raise SystemExit(M.run([("held", held)]))
    raise SystemExit(M.run([("flows", flows), ("hostile", hostile)]))
