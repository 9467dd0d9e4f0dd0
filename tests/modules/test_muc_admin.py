"""tests/modules/test_muc_admin.py — XEP-0045 roles and affiliations end to end with raw
XML: kick (307), ban (301) and banned joins, voice in moderated rooms (§8.3-8.5) and voice
requests (§7.13), moderator/admin/owner grants and the permission errors of each case
(forbidden, not-allowed, conflict for the last owner), list retrieval, removal on
membership loss (321) and on a switch to members-only (322), mediated invitations and
declines (§7.8.2) and XEP-0249 direct invitations, registration and reserved nicknames
(§7.10), destruction with reason and alternate venue (§10.9), and XEP-0425 moderation."""
import modlib as M
import muclib as U

C = M.C


def connect(user, res="r"):
    return M.connect(user, res, roster=False)


def err(s, what):
    e = s.wait_for(lambda e: e.get("type") == "error", what="error for " + what)
    return M.error_condition(e)


def room_of_three(fields=None):
    a, b, c = connect("u30"), connect("u31"), connect("u32")
    room = U.new_room()
    U.create(a, room, "owner", fields)
    U.join(b, room, "bob")
    U.join(c, room, "carol")
    M.barrier(a, b, c)
    for s in (a, b, c):
        M.drain(s)
    return room, a, b, c


def kick():
    room, a, b, c = room_of_three()
    r = U.admin(b, room, "<item nick='carol' role='none'/>")
    M.expect_error(r, "forbidden", "participant kicks")
    r = U.admin(a, room, "<item nick='nobody' role='none'/>")
    M.expect_error(r, "item-not-found", "kick of an absent nick")
    r = U.admin(a, room, "<item nick='carol' role='none'><reason>spam</reason></item>")
    M.expect(r.get("type") == "result", "owner kicks: %s" % M.show(r))
    p = U.wait_pres(b, room + "/carol", "unavailable")
    it = U.item(p)
    M.expect(307 in U.codes(p) and it.get("role") == "none", "307 to others: %s" % M.show(p))
    mine = U.wait_pres(c, room + "/carol", "unavailable")
    M.expect({307, 110} <= U.codes(mine) and "spam" in M.show(mine),
             "307 and 110 and the reason to the kicked: %s" % M.show(mine))
    # A moderator (by role) may not kick an admin or owner: not-allowed.
    r = U.admin(a, room, "<item jid='%s' affiliation='admin'/>" % M.jid("u31"))
    M.expect(r.get("type") == "result", "owner makes bob admin")
    U.join(c, room, "carol")
    r = U.admin(a, room, "<item nick='carol' role='moderator'/>")
    M.expect(r.get("type") == "result", "owner grants moderator")
    r = U.admin(c, room, "<item nick='bob' role='none'/>")
    M.expect_error(r, "not-allowed", "moderator kicks an admin")
    r = U.admin(c, room, "<item nick='owner' role='none'/>")
    M.expect_error(r, "not-allowed", "moderator kicks the owner")
    a.close(), b.close(), c.close()


def ban():
    room, a, b, c = room_of_three()
    r = U.admin(b, room, "<item jid='%s' affiliation='outcast'/>" % M.jid("u32"))
    M.expect_error(r, "forbidden", "participant bans")
    r = U.admin(a, room, "<item jid='%s' affiliation='outcast'><reason>bye</reason></item>"
                % M.jid("u32"))
    M.expect(r.get("type") == "result", "owner bans: %s" % M.show(r))
    p = U.wait_pres(b, room + "/carol", "unavailable")
    M.expect(301 in U.codes(p) and U.item(p).get("affiliation") == "outcast",
             "301 with outcast: %s" % M.show(p))
    mine = U.wait_pres(c, room + "/carol", "unavailable")
    M.expect({301, 110} <= U.codes(mine), "301/110 to the banned: %s" % M.show(mine))
    M.expect(U.join_error(c, room, "carol2") == "forbidden", "banned join refused")
    r = a.iq("get", "<query xmlns='%s'><item affiliation='outcast'/></query>" % U.NS_ADMIN, room)
    jids = [i.get("jid") for i in r.iter(M.q(U.NS_ADMIN, "item"))]
    M.expect(jids == [M.jid("u32")], "outcast list: %s" % M.show(r))
    r = b.iq("get", "<query xmlns='%s'><item affiliation='outcast'/></query>" % U.NS_ADMIN, room)
    M.expect_error(r, "forbidden", "outcast list to a participant")
    # Admins cannot ban owners or other admins; they cannot grant admin.
    r = U.admin(a, room, "<item jid='%s' affiliation='admin'/>" % M.jid("u31"))
    r = U.admin(b, room, "<item jid='%s' affiliation='outcast'/>" % M.jid("u30"))
    M.expect_error(r, "not-allowed", "admin bans the owner")
    r = U.admin(b, room, "<item jid='%s' affiliation='admin'/>" % M.jid("u33"))
    M.expect_error(r, "forbidden", "admin grants admin")
    r = U.admin(b, room, "<item jid='%s' affiliation='owner'/>" % M.jid("u33"))
    M.expect_error(r, "forbidden", "admin grants ownership")
    # A mixed list with one forbidden item changes nothing.
    r = U.admin(b, room, "<item jid='%s' affiliation='member'/><item jid='%s' affiliation='owner'/>"
                % (M.jid("u34"), M.jid("u35")))
    M.expect_error(r, "forbidden", "mixed list")
    r = a.iq("get", "<query xmlns='%s'><item affiliation='member'/></query>" % U.NS_ADMIN, room)
    M.expect(not list(r.iter(M.q(U.NS_ADMIN, "item"))), "nothing applied: %s" % M.show(r))
    # The last owner cannot step down.
    r = U.admin(a, room, "<item jid='%s' affiliation='admin'/>" % M.jid("u30"))
    M.expect_error(r, "conflict", "last owner steps down")
    r = U.admin(a, room, "<item jid='%s' affiliation='owner'/>" % M.jid("u31"))
    M.expect(r.get("type") == "result", "second owner")
    r = U.admin(a, room, "<item jid='%s' affiliation='admin'/>" % M.jid("u30"))
    M.expect(r.get("type") == "result", "now the first owner may step down: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s'><item affiliation='owner'/></query>" % U.NS_ADMIN, room)
    M.expect_error(r, "forbidden", "owner list to an admin")
    r = U.admin(a, room, "<item jid='%s' affiliation='king'/>" % M.jid("u31"))
    M.expect_error(r, "bad-request", "unknown affiliation")
    r = U.admin(a, room, "<item nick='bob' role='sovereign'/>")
    M.expect_error(r, "bad-request", "unknown (spoofed) role")
    a.close(), b.close(), c.close()


def voice():
    room, a, b, c = room_of_three({"muc#roomconfig_moderatedroom": "1"})
    U.groupchat(b, room, "may I?")
    M.expect(err(b, "visitor message") == "forbidden", "visitor may not speak")
    # §7.13: a voice request reaches the moderators as a form; approving it grants voice.
    b.send("<message to='%s'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
           "<value>http://jabber.org/protocol/muc#request</value></field>"
           "<field var='muc#role'><value>participant</value></field></x></message>" % room)
    req = a.wait_for(lambda e: e.tag == M.q(C, "message") and
                     e.find(M.q(U.NS_DATA, "x")) is not None, what="voice request")
    fields = {f.get("var"): f.findtext(M.q(U.NS_DATA, "value"))
              for f in req.iter(M.q(U.NS_DATA, "field"))}
    M.expect(fields.get("muc#roomnick") == "bob" and fields.get("muc#role") == "participant",
             "request form: %s" % fields)
    a.send("<message to='%s'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
           "<value>http://jabber.org/protocol/muc#request</value></field>"
           "<field var='muc#role'><value>participant</value></field>"
           "<field var='muc#roomnick'><value>bob</value></field>"
           "<field var='muc#request_allow'><value>true</value></field></x></message>" % room)
    p = U.wait_pres(c, room + "/bob")
    M.expect(U.item(p).get("role") == "participant", "voice granted: %s" % M.show(p))
    U.groupchat(b, room, "thanks")
    U.wait_msg(c, "thanks")
    r = U.admin(c, room, "<item nick='bob' role='visitor'/>")
    M.expect_error(r, "forbidden", "visitor revokes voice")
    r = U.admin(a, room, "<item nick='bob' role='visitor'/>")
    M.expect(r.get("type") == "result", "voice revoked")
    p = U.wait_pres(c, room + "/bob")
    M.expect(U.item(p).get("role") == "visitor", "revoked: %s" % M.show(p))
    r = U.admin(a, room, "<item nick='carol' role='participant'/>")
    M.expect(r.get("type") == "result", "voice granted by a moderator")
    r = a.iq("get", "<query xmlns='%s'><item role='participant'/></query>" % U.NS_ADMIN, room)
    nicks = [i.get("nick") for i in r.iter(M.q(U.NS_ADMIN, "item"))]
    M.expect(nicks == ["carol"], "voice list: %s" % M.show(r))
    a.close(), b.close(), c.close()


def membership():
    room, a, b, c = room_of_three()
    r = U.admin(a, room, "<item jid='%s' affiliation='member'/>" % M.jid("u31"))
    p = U.wait_pres(c, room + "/bob")
    M.expect(U.item(p).get("affiliation") == "member", "member broadcast: %s" % M.show(p))
    U.configure(a, room, {"muc#roomconfig_membersonly": "1"})
    p = U.wait_pres(b, room + "/carol", "unavailable")
    M.expect(322 in U.codes(p), "322 for non-members when members-only: %s" % M.show(p))
    r = U.admin(a, room, "<item jid='%s' affiliation='none'/>" % M.jid("u31"))
    mine = U.wait_pres(b, room + "/bob", "unavailable")
    M.expect({321, 110} <= U.codes(mine), "321 on losing membership: %s" % M.show(mine))
    a.close(), b.close(), c.close()


def invitations():
    a, b = connect("u36"), connect("u37")
    room = U.new_room()
    U.create(a, room, "alice", {"muc#roomconfig_membersonly": "1",
                                "muc#roomconfig_passwordprotectedroom": "1",
                                "muc#roomconfig_roomsecret": "pw"})
    a.send("<message to='%s'><x xmlns='%s'><invite to='%s'><reason>join us</reason></invite>"
           "</x></message>" % (room, U.NS_USER, M.jid("u37")))
    m = b.wait_for(lambda e: e.tag == M.q(C, "message") and e.get("from") == room,
                   what="invitation")
    inv = m.find("%s/%s" % (M.q(U.NS_USER, "x"), M.q(U.NS_USER, "invite")))
    M.expect(inv is not None and inv.get("from", "").startswith(M.jid("u36")) and
             inv.findtext(M.q(U.NS_USER, "reason")) == "join us" and
             m.findtext("%s/%s" % (M.q(U.NS_USER, "x"), M.q(U.NS_USER, "password"))) == "pw",
             "mediated invitation: %s" % M.show(m))
    U.join(b, room, "bob", "<password>pw</password>")  # the invitation made bob a member
    b.send("<presence to='%s/bob' type='unavailable'/>" % room)
    M.drain(b)
    b.send("<message to='%s'><x xmlns='%s'><decline to='%s'><reason>busy</reason></decline>"
           "</x></message>" % (room, U.NS_USER, a.jid))
    m = a.wait_for(lambda e: e.tag == M.q(C, "message") and
                   e.find(".//" + M.q(U.NS_USER, "decline")) is not None, what="decline")
    M.expect(m.find(".//" + M.q(U.NS_USER, "decline")).get("from") == M.jid("u37"),
             "decline relayed: %s" % M.show(m))
    # Non-occupants cannot invite; members cannot in a members-only room by default.
    c = connect("u38")
    c.send("<message to='%s'><x xmlns='%s'><invite to='%s'/></x></message>"
           % (room, U.NS_USER, M.jid("u39")))
    M.expect(err(c, "invite") == "not-acceptable", "non-occupant invites")
    # XEP-0249: a direct invitation goes client to client untouched.
    a.send("<message to='%s'><x xmlns='jabber:x:conference' jid='%s' password='pw'/></message>"
           % (c.jid, room))
    m = c.wait_for(lambda e: e.find(M.q("jabber:x:conference", "x")) is not None,
                   what="direct invitation")
    M.expect(m.find(M.q("jabber:x:conference", "x")).get("jid") == room, "direct invitation")
    a.close(), b.close(), c.close()


def registration():
    a, b, c = connect("u40"), connect("u41"), connect("u42")
    room = U.new_room()
    U.create(a, room, "alice")
    r = b.iq("get", "<query xmlns='jabber:iq:register'/>", room)
    M.expect(r.get("type") == "result" and "muc#register_roomnick" in M.show(r),
             "registration form: %s" % M.show(r))
    r = b.iq("set", "<query xmlns='jabber:iq:register'>%s</query>"
             % U.form({"muc#register_roomnick": "bobby"},
                      form_type="http://jabber.org/protocol/muc#register"), room)
    M.expect(r.get("type") == "result", "registered: %s" % M.show(r))
    r = b.iq("get", "<query xmlns='jabber:iq:register'/>", room)
    M.expect(r.find(".//{jabber:iq:register}registered") is not None and
             r.findtext(".//{jabber:iq:register}username") == "bobby", "registered shown")
    r = b.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info' "
             "node='x-roomuser-item'/>", room)
    M.expect("bobby" in M.show(r), "reserved nick by disco: %s" % M.show(r))
    M.expect(U.join_error(c, room, "bobby") == "conflict", "reserved nick refused to others")
    r = c.iq("set", "<query xmlns='jabber:iq:register'>%s</query>"
             % U.form({"muc#register_roomnick": "bobby"},
                      form_type="http://jabber.org/protocol/muc#register"), room)
    M.expect_error(r, "conflict", "registering a taken nick")
    r = c.iq("set", "<query xmlns='jabber:iq:register'>%s</query>"
             % U.form({"muc#register_roomnick": "cc"}, type_="form",
                      form_type="http://jabber.org/protocol/muc#register"), room)
    M.expect_error(r, "bad-request", "registration with a form that is not a submission")
    me = U.self_presence(U.join(b, room, "bobby"))
    M.expect(U.item(me).get("affiliation") == "member", "registration made a member")
    U.join(c, room, "carol")
    c.send("<presence to='%s/bobby'/>" % room)
    M.expect(err(c, "nick change") == "conflict", "change to a reserved nick")
    a.close(), b.close(), c.close()


def destroy():
    room, a, b, c = room_of_three({"muc#roomconfig_persistentroom": "1"})
    r = b.iq("set", "<query xmlns='%s'><destroy/></query>" % U.NS_OWNER, room)
    M.expect_error(r, "forbidden", "participant destroys")
    alt = U.new_room()
    r = a.iq("set", "<query xmlns='%s'><destroy jid='%s'><reason>moved</reason></destroy></query>"
             % (U.NS_OWNER, alt), room)
    M.expect(r.get("type") == "result", "owner destroys: %s" % M.show(r))
    for s, nick in ((b, "bob"), (c, "carol")):
        p = U.wait_pres(s, "%s/%s" % (room, nick), "unavailable")
        d = p.find(".//" + M.q(U.NS_USER, "destroy"))
        M.expect(d is not None and d.get("jid") == alt and
                 d.findtext(M.q(U.NS_USER, "reason")) == "moved",
                 "destroy with venue and reason: %s" % M.show(p))
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", room)
    M.expect_error(r, "item-not-found", "destroyed room is gone")
    a.close(), b.close(), c.close()


def moderation():
    room, a, b, c = room_of_three()
    U.groupchat(b, room, "bad words")
    m = U.wait_msg(c, "bad words")
    sid = m.find(M.q(U.NS_SID, "stanza-id")).get("id")
    r = c.iq("set", "<moderate xmlns='urn:xmpp:message-moderate:1' id='%s'>"
             "<retract xmlns='urn:xmpp:message-retract:1'/></moderate>" % sid, room)
    M.expect_error(r, "forbidden", "participant moderates")
    r = a.iq("set", "<moderate xmlns='urn:xmpp:message-moderate:1' id='nope'>"
             "<retract xmlns='urn:xmpp:message-retract:1'/></moderate>", room)
    M.expect_error(r, "item-not-found", "unknown stanza id")
    r = a.iq("set", "<moderate xmlns='urn:xmpp:message-moderate:1' id='%s'>"
             "<retract xmlns='urn:xmpp:message-retract:1'/><reason>rude</reason></moderate>"
             % sid, room)
    M.expect(r.get("type") == "result", "moderator retracts: %s" % M.show(r))
    m = c.wait_for(lambda e: e.find(M.q("urn:xmpp:message-retract:1", "retract")) is not None,
                   what="retraction")
    re = m.find(M.q("urn:xmpp:message-retract:1", "retract"))
    mod = re.find(M.q("urn:xmpp:message-moderate:1", "moderated"))
    M.expect(m.get("from") == room and re.get("id") == sid and mod is not None and
             mod.get("by") == room + "/owner", "retraction broadcast: %s" % M.show(m))
    d = connect("u43")
    seq = U.join(d, room, "dave")
    M.expect(not any(e.findtext(M.q(C, "body")) == "bad words" for e in seq),
             "the retracted message is not in the history")
    a.close(), b.close(), c.close(), d.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("kick", kick), ("ban", ban), ("voice", voice), ("membership", membership),
        ("invitations", invitations), ("registration", registration), ("destroy", destroy),
        ("moderation", moderation),
    ]))
