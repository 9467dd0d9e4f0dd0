"""tests/modules/test_roster.py — roster management (RFC 6121 §2): get, add, update, remove,
pushes to every interested resource and only to those (§2.2), the errors of §2.3.3 and
§2.5.3, and roster versioning (§2.6, XEP-0237) across reconnects."""
import modlib as M


def add_update_remove_with_pushes():
    a1 = M.connect("u00", "r1")
    a2 = M.connect("u00", "r2")
    a3 = M.connect("u00", "r3", roster=False)  # not interested: no pushes
    for s in (a1, a2, a3):
        M.drain(s)
    r = M.roster_set(a1, "<item jid='%s' name='Bob'><group>Friends</group></item>"
                     % M.jid("u01"))
    M.expect(r.get("type") == "result", "roster set failed: %s" % M.show(r))
    for s in (a1, a2):
        push = s.wait_for(M.is_push, what="roster push")
        it = push.find(M.q(M.NS_ROSTER, "query")).find(M.q(M.NS_ROSTER, "item"))
        M.expect(it.get("jid") == M.jid("u01") and it.get("name") == "Bob" and
                 it.get("subscription") == "none" and
                 [g.text for g in it.findall(M.q(M.NS_ROSTER, "group"))] == ["Friends"],
                 "%s: bad push %s" % (s.name, M.show(push)))
        s.send("<iq type='result' id='%s'/>" % push.get("id"))
    M.expect(not any(M.is_push(e) for e in M.drain(a3)), "uninterested resource got a push")
    items, _ = M.roster(a2)
    M.expect(M.jid("u01") in items, "item missing from roster: %s" % list(items))

    # Update: name and groups replaced.
    r = M.roster_set(a2, "<item jid='%s' name='Robert'><group>A</group><group>B</group>"
                     "</item>" % M.jid("u01"))
    M.expect(r.get("type") == "result", "update failed: %s" % M.show(r))
    items, _ = M.roster(a1)
    it = items[M.jid("u01")]
    M.expect(it.get("name") == "Robert" and
             sorted(g.text for g in it.findall(M.q(M.NS_ROSTER, "group"))) == ["A", "B"],
             "update not applied: %s" % M.show(it))

    for s in (a1, a2):
        M.drain(s)
    r = M.roster_set(a1, "<item jid='%s' subscription='remove'/>" % M.jid("u01"))
    M.expect(r.get("type") == "result", "remove failed: %s" % M.show(r))
    for s in (a1, a2):
        push = s.wait_for(M.is_push, what="removal push")
        it = push.find(M.q(M.NS_ROSTER, "query")).find(M.q(M.NS_ROSTER, "item"))
        M.expect(it.get("subscription") == "remove", "bad removal push %s" % M.show(push))
    items, _ = M.roster(a1)
    M.expect(M.jid("u01") not in items, "item still there after remove")
    r = M.roster_set(a1, "<item jid='%s' subscription='remove'/>" % M.jid("u01"))
    M.expect_error(r, "item-not-found", "removing an absent item")
    for s in (a1, a2, a3):
        s.close()


def validation_errors():
    a = M.connect("u02")
    other = M.jid("u03")
    cases = [
        ("two items", "<item jid='%s'/><item jid='x@%s'/>" % (other, M.D), ["bad-request"]),
        ("duplicate group", "<item jid='%s'><group>G</group><group>G</group></item>" % other,
         ["bad-request"]),
        ("empty group", "<item jid='%s'><group></group></item>" % other, ["not-acceptable"]),
        ("long group", "<item jid='%s'><group>%s</group></item>" % (other, "g" * 3000),
         ["not-acceptable"]),
        ("long name", "<item jid='%s' name='%s'/>" % (other, "n" * 3000), ["not-acceptable"]),
        ("no jid", "<item name='x'/>", ["bad-request", "jid-malformed"]),
        ("malformed jid", "<item jid='a@b@c@@'/>", ["jid-malformed", "bad-request"]),
        ("bad subscription", "<item jid='%s' subscription='bogus'/>" % other,
         ["bad-request"]),
        ("no item", "", ["bad-request"]),
    ]
    bad = []
    for what, xml, conds in cases:
        r = M.roster_set(a, xml)
        if r.get("type") != "error" or M.error_condition(r) not in conds:
            bad.append("%s: expected %s, got %s" % (what, "/".join(conds), M.show(r)))
    items, _ = M.roster(a)
    if items:
        bad.append("invalid sets changed the roster: %s" % list(items))
    # Another account's roster is not ours to read (RFC 6121 §2.1.5 / §2.3.3).
    r = a.iq("get", "<query xmlns='%s'/>" % M.NS_ROSTER, M.jid("u03"))
    if r.get("type") != "error":
        bad.append("roster get to another account succeeded: %s" % M.show(r))
    a.close()
    if bad:
        raise M.Fail("; ".join(bad))


def versioning():
    a = M.connect("u04", "r1")
    items, r = M.roster(a, ver="")
    v0 = r.find(M.q(M.NS_ROSTER, "query")).get("ver")
    M.expect(v0 is not None, "no ver in a versioned roster result: %s" % M.show(r))
    # Same version again: empty result (XEP-0237 §4), no query or an empty query.
    _, r = M.roster(a, ver=v0)
    qe = r.find(M.q(M.NS_ROSTER, "query"))
    M.expect(qe is None or len(qe) == 0, "unchanged roster resent: %s" % M.show(r))
    M.drain(a)
    M.roster_set(a, "<item jid='%s' name='One'/>" % M.jid("u05"))
    push = a.wait_for(M.is_push, what="push")
    v1 = push.find(M.q(M.NS_ROSTER, "query")).get("ver")
    M.expect(v1 and v1 != v0, "push without a new ver: %s" % M.show(push))
    a.close()

    # Changes while this client is away (made by another resource), then a reconnect with
    # the old version: the full, current roster with the newest ver.
    b = M.connect("u04", "other")
    M.roster_set(b, "<item jid='%s' name='Two'/>" % M.jid("u06"))
    b.close()
    c = M.connect("u04", "r1", roster=False)
    items, r = M.roster(c, ver=v1)
    v2 = r.find(M.q(M.NS_ROSTER, "query")).get("ver")
    M.expect(M.jid("u05") in items and M.jid("u06") in items,
             "roster after reconnect lacks items: %s" % M.show(r))
    M.expect(v2 not in (None, v0, v1), "ver did not move: %s" % M.show(r))
    _, r = M.roster(c, ver=v2)
    qe = r.find(M.q(M.NS_ROSTER, "query"))
    M.expect(qe is None or len(qe) == 0, "current ver got a full roster: %s" % M.show(r))
    c.close()


def stream_features():
    s = M.X.Stream(M.E["ip"], M.E["starttls_port"], M.D, M.E["cafile"], name="feat")
    s.open()
    s.starttls()
    ok, el = s.auth("u07", M.PW["u07"])
    M.expect(ok, "auth failed")
    s._new_parser()
    f = s.open()
    M.expect(f.find(M.q("urn:xmpp:features:rosterver", "ver")) is not None,
             "no rosterver feature: %s" % M.show(f))
    if M.E["server"] == "myna":
        M.expect(f.find(M.q("urn:xmpp:features:pre-approval", "sub")) is not None,
                 "no pre-approval feature: %s" % M.show(f))
    s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("add_update_remove_with_pushes", add_update_remove_with_pushes),
                            ("validation_errors", validation_errors),
                            ("versioning", versioning),
                            ("stream_features", stream_features)]))
