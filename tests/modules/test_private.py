"""tests/modules/test_private.py — private XML storage (XEP-0049) and vcard-temp (XEP-0054):
what an account stores comes back to it (and only to it), an unknown namespace comes back
empty, reserved jabber:* namespaces and writes to another account are refused, the vCard is
readable by others, and the data survives a reconnect."""
import modlib as M

NS_PRIVATE = "jabber:iq:private"
NS_VCARD = "vcard-temp"


def private_roundtrip():
    s = M.connect("u60", "a")
    r = s.iq("set", "<query xmlns='%s'><prefs xmlns='urn:test:prefs'><colour>green</colour>"
                    "</prefs></query>" % NS_PRIVATE)
    M.expect(r.get("type") == "result", "set: %s" % M.show(r))
    s.close()
    s = M.connect("u60", "b")
    r = s.iq("get", "<query xmlns='%s'><prefs xmlns='urn:test:prefs'/></query>" % NS_PRIVATE)
    c = r.find(".//{urn:test:prefs}colour")
    M.expect(c is not None and c.text == "green", "stored data after reconnect: %s" % M.show(r))
    r = s.iq("get", "<query xmlns='%s'><other xmlns='urn:test:none'/></query>" % NS_PRIVATE)
    o = r.find(".//{urn:test:none}other")
    M.expect(r.get("type") == "result" and o is not None and len(o) == 0,
             "unknown namespace comes back empty: %s" % M.show(r))
    r = s.iq("set", "<query xmlns='%s'><x xmlns='jabber:iq:roster'/></query>" % NS_PRIVATE)
    M.expect_error(r, "not-acceptable", "reserved namespace")
    r = s.iq("get", "<query xmlns='%s'><prefs xmlns='urn:test:prefs'/></query>" % NS_PRIVATE,
             to=M.jid("u61"))
    M.expect_error(r, ["forbidden", "service-unavailable"], "another account's private data")
    s.close()


def vcard():
    a = M.connect("u62", "a")
    r = a.iq("get", "<vCard xmlns='%s'/>" % NS_VCARD)
    M.expect(r.get("type") == "result", "empty vCard: %s" % M.show(r))
    r = a.iq("set", "<vCard xmlns='%s'><FN>Ada Lovelace</FN><NICKNAME>ada</NICKNAME></vCard>"
             % NS_VCARD)
    M.expect(r.get("type") == "result", "vCard set: %s" % M.show(r))
    b = M.connect("u63", "b")
    r = b.iq("get", "<vCard xmlns='%s'/>" % NS_VCARD, to=M.jid("u62"))
    fn = r.find(".//{%s}FN" % NS_VCARD)
    M.expect(fn is not None and fn.text == "Ada Lovelace", "others read it: %s" % M.show(r))
    r = b.iq("set", "<vCard xmlns='%s'><FN>Mallory</FN></vCard>" % NS_VCARD, to=M.jid("u62"))
    M.expect_error(r, "forbidden", "writing another account's vCard")
    a.close(), b.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("private_roundtrip", private_roundtrip), ("vcard", vcard)]))
