"""tests/modules/test_muc.py — Multi-User Chat (XEP-0045) end to end with raw XML: service
and room discovery (§6, RSM paging), instant/reserved creation and locking (§10.1), the
configuration form (§10.2) with its errors, entering with every join error and status code
and the presence order (§7.2), nickname changes (§7.6), leaving (§7.14), several sessions
under one nickname, passwords, members-only and max users, subject (§8.1), history on join
(§7.2.15), private messages (§7.5), XEP-0359 stanza ids and XEP-0421 occupant ids. Roles
and affiliations are in test_muc_admin.py."""
import time

import modlib as M
import muclib as U

C = M.C


def connect(user, res="r"):
    return M.connect(user, res, roster=False)


def discovery():
    a = connect("u00")
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", M.D)
    items = [i.get("jid") for i in r.iter(M.q("http://jabber.org/protocol/disco#items", "item"))]
    M.expect(U.MUC in items, "host disco#items lists the service: %s" % items)
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", U.MUC)
    ident = r.find(".//{http://jabber.org/protocol/disco#info}identity")
    M.expect(ident is not None and ident.get("category") == "conference" and
             ident.get("type") == "text", "service identity: %s" % M.show(r))
    feats = {f.get("var") for f in r.iter("{http://jabber.org/protocol/disco#info}feature")}
    M.expect(U.NS_MUC in feats and "http://jabber.org/protocol/rsm" in feats,
             "service features: %s" % feats)
    rooms = sorted(U.new_room("disco") for _ in range(5))
    for i, room in enumerate(rooms):
        U.create(a, room, "owner", {"muc#roomconfig_roomname": "Room %d" % i,
                                   "muc#roomconfig_publicroom": "1"})
    hidden = U.new_room("hidden")
    U.create(a, hidden, "owner", {"muc#roomconfig_publicroom": "0"})
    NS_ITEMS, NS_RSM = "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/rsm"
    r = a.iq("get", "<query xmlns='%s'/>" % NS_ITEMS, U.MUC)
    listed = [i.get("jid") for i in r.iter(M.q(NS_ITEMS, "item"))]
    M.expect(all(x in listed for x in rooms) and hidden not in listed,
             "public rooms listed, hidden not: %s" % listed)
    # RSM: pages of 2 through the whole list, in order, with count.
    seen, after = [], None
    for _ in range(20):
        extra = "<after>%s</after>" % after if after else ""
        r = a.iq("get", "<query xmlns='%s'><set xmlns='%s'><max>2</max>%s</set></query>"
                 % (NS_ITEMS, NS_RSM, extra), U.MUC)
        page = [i.get("jid") for i in r.iter(M.q(NS_ITEMS, "item"))]
        st = r.find(".//" + M.q(NS_RSM, "set"))
        M.expect(st is not None and st.findtext(M.q(NS_RSM, "count")) == str(len(listed)),
                 "RSM set with count: %s" % M.show(r))
        M.expect(len(page) <= 2, "page size honoured: %s" % page)
        if not page:
            break
        M.expect(st.findtext(M.q(NS_RSM, "last")) == page[-1], "last: %s" % M.show(st))
        seen += page
        after = page[-1]
    M.expect(seen == sorted(listed), "paging walks every room once in order: %s" % seen)
    # Room info: identity, feature vars and the muc#roominfo form.
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", rooms[0])
    feats = {f.get("var") for f in r.iter("{http://jabber.org/protocol/disco#info}feature")}
    for v in ("http://jabber.org/protocol/muc", "muc_temporary", "muc_open", "muc_unmoderated",
              "muc_unsecured", "muc_semianonymous", "muc_public", "urn:xmpp:sid:0",
              "urn:xmpp:occupant-id:0"):
        M.expect(v in feats, "room feature %s: %s" % (v, sorted(feats)))
    fields = {f.get("var"): f.findtext(M.q(U.NS_DATA, "value"))
              for f in r.iter(M.q(U.NS_DATA, "field"))}
    M.expect(fields.get("FORM_TYPE") == "http://jabber.org/protocol/muc#roominfo" and
             fields.get("muc#roominfo_occupants") == "1" and
             fields.get("muc#roomconfig_roomname") == "Room 0", "roominfo form: %s" % fields)
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>",
             "nosuchroom@" + U.MUC)
    M.expect_error(r, "item-not-found", "disco#info of a missing room")
    a.close()


def instant_room_and_lock():
    a, b = connect("u01"), connect("u02")
    room = U.new_room()
    seq = U.join(a, room, "alice")
    me = U.self_presence(seq)
    M.expect({110, 201} <= U.codes(me), "201 and 110 on creation: %s" % M.show(me))
    it = U.item(me)
    M.expect(it.get("affiliation") == "owner" and it.get("role") == "moderator",
             "creator is owner/moderator: %s" % it)
    # §10.1.1: locked until configured.
    M.expect(U.join_error(b, room, "bob") == "item-not-found", "locked room refuses others")
    r = U.configure(a, room, {})
    M.expect(r.get("type") == "result", "instant room accepted: %s" % M.show(r))
    seq = U.join(b, room, "bob")
    pres = U.presences(seq, room)
    M.expect([p.get("from") for p in pres] == [room + "/alice", room + "/bob"],
             "others first, then self: %s" % [M.show(p) for p in pres])
    M.expect(110 in U.codes(pres[-1]) and 201 not in U.codes(pres[-1]), "self codes")
    M.expect("jid" not in U.item(pres[0]), "semi-anonymous: no real JIDs to participants")
    M.expect(U.is_subject(seq[-1], room), "subject last (even empty): %s" % M.show(seq[-1]))
    p = U.wait_pres(a, room + "/bob")
    M.expect(U.item(p).get("jid") == b.jid, "moderators see the real JID: %s" % M.show(p))
    a.close(), b.close()


def reserved_room_and_cancel():
    a = connect("u03")
    room = U.new_room()
    U.join(a, room, "owner")
    r = a.iq("get", "<query xmlns='%s'/>" % U.NS_OWNER, room)
    M.expect(r.get("type") == "result", "config form: %s" % M.show(r))
    vars_ = {f.get("var") for f in r.iter(M.q(U.NS_DATA, "field"))}
    for v in ("muc#roomconfig_roomname", "muc#roomconfig_roomdesc",
              "muc#roomconfig_persistentroom", "muc#roomconfig_publicroom",
              "muc#roomconfig_membersonly", "muc#roomconfig_moderatedroom",
              "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret",
              "muc#roomconfig_maxusers", "muc#roomconfig_whois", "muc#maxhistoryfetch",
              "muc#roomconfig_allowpm", "muc#roomconfig_changesubject",
              "muc#roomconfig_allowinvites", "muc#roomconfig_enablelogging"):
        M.expect(v in vars_, "field %s in the form" % v)
    r = U.configure(a, room, {"muc#roomconfig_roomname": "Reserved",
                              "muc#roomconfig_whois": "anyone",
                              "muc#roomconfig_enablelogging": "1"})
    M.expect(r.get("type") == "result", "reserved room configured: %s" % M.show(r))
    msgs = [e for e in M.drain(a) if e.tag == M.q(C, "message")]
    M.expect(not any(104 in U.codes(m) for m in msgs), "no 104 notice on initial config")
    b = connect("u04")
    me = U.self_presence(U.join(b, room, "bob"))
    M.expect({100, 110, 170} <= U.codes(me), "100 (non-anonymous) and 170 (logged): %s"
             % M.show(me))
    # A config change is announced with 104 (and 171/173 for logging and anonymity).
    U.configure(a, room, {"muc#roomconfig_enablelogging": "0",
                          "muc#roomconfig_whois": "moderators"})
    n = b.wait_for(lambda e: e.tag == M.q(C, "message") and 104 in U.codes(e), what="104")
    M.expect({104, 171, 173} <= U.codes(n), "104/171/173 notice: %s" % M.show(n))
    # Cancelling the first configuration destroys a new room (§10.1.3).
    room2 = U.new_room()
    U.join(a, room2, "owner")
    r = U.configure(a, room2, {}, type_="cancel")
    M.expect(r.get("type") == "result", "cancel answered")
    p = a.wait_for(lambda e: U.is_pres(e, room2 + "/owner", "unavailable"), what="unavailable")
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", room2)
    M.expect_error(r, "item-not-found", "cancelled room is gone")
    a.close(), b.close()


def config_errors():
    a, b = connect("u05"), connect("u06")
    room = U.new_room()
    U.create(a, room, "owner")
    U.join(b, room, "bob")
    r = b.iq("get", "<query xmlns='%s'/>" % U.NS_OWNER, room)
    M.expect_error(r, "forbidden", "config form to a non-owner")
    r = U.configure(b, room, {"muc#roomconfig_roomname": "hijack"})
    M.expect_error(r, "forbidden", "config submit from a non-owner")
    r = a.iq("set", "<query xmlns='%s'>%s</query>"
             % (U.NS_OWNER, U.form({}, type_="form")), room)
    M.expect_error(r, "bad-request", "a form of type 'form' is not a submission")
    r = a.iq("set", "<query xmlns='%s'>%s</query>"
             % (U.NS_OWNER, U.form({}, form_type="urn:example:other")), room)
    M.expect_error(r, "bad-request", "wrong FORM_TYPE")
    r = U.configure(a, room, {"muc#roomconfig_persistentroom": "maybe"})
    M.expect_error(r, "not-acceptable", "boolean field with a non-boolean")
    r = U.configure(a, room, {"muc#roomconfig_maxusers": "lots"})
    M.expect_error(r, "not-acceptable", "maxusers not a number")
    r = U.configure(a, room, {"muc#roomconfig_passwordprotectedroom": "1"})
    M.expect_error(r, "not-acceptable", "password protection without a password")
    r = U.configure(a, room, {"muc#roomconfig_roomname": "x" * 5000})
    M.expect_error(r, "not-acceptable", "oversize name")
    r = a.iq("set", "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'>"
             "<field var='a'/><field var='a'/></x></query>" % U.NS_OWNER, room)
    M.expect_error(r, "bad-request", "repeated field var")
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", room)
    name = [f for f in r.iter(M.q(U.NS_DATA, "field"))
            if f.get("var") == "muc#roomconfig_roomname"][0].findtext(M.q(U.NS_DATA, "value"))
    M.expect(not name, "nothing changed by refused forms: %r" % name)
    a.close(), b.close()


def join_errors():
    a, b, c = connect("u07"), connect("u08"), connect("u09")
    room = U.new_room()
    U.create(a, room, "alice")
    M.expect(U.join_error(b, room, "alice") == "conflict", "nick in use")
    M.expect(U.join_error(b, room, "x" * 100) == "not-acceptable", "nick too long")
    b.send("<presence to='%s'><x xmlns='%s'/></presence>" % (room, U.NS_MUC))
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "jid-malformed", "no nick: %s" % M.show(e))
    # Password-protected.
    room2 = U.new_room()
    U.create(a, room2, "alice", {"muc#roomconfig_passwordprotectedroom": "1",
                                 "muc#roomconfig_roomsecret": "s3cret"})
    M.expect(U.join_error(b, room2, "bob") == "not-authorized", "no password")
    M.expect(U.join_error(b, room2, "bob", "<password>wrong</password>") == "not-authorized",
             "wrong password")
    U.join(b, room2, "bob", "<password>s3cret</password>")
    # Members-only.
    room3 = U.new_room()
    U.create(a, room3, "alice", {"muc#roomconfig_membersonly": "1"})
    M.expect(U.join_error(b, room3, "bob") == "registration-required", "members only")
    r = U.admin(a, room3, "<item jid='%s' affiliation='member'/>" % M.jid("u08"))
    M.expect(r.get("type") == "result", "membership granted: %s" % M.show(r))
    me = U.self_presence(U.join(b, room3, "bob"))
    M.expect(U.item(me).get("affiliation") == "member", "member enters: %s" % M.show(me))
    # Max users.
    room4 = U.new_room()
    U.create(a, room4, "alice", {"muc#roomconfig_maxusers": "2"})
    U.join(b, room4, "bob")
    M.expect(U.join_error(c, room4, "carol") == "service-unavailable", "room full")
    # Nick rewritten by preparation: 210.
    room5 = U.new_room()
    U.create(a, room5, "alice")
    me = U.self_presence(U.join(b, room5, "BoB\u2163"))
    M.expect(210 in U.codes(me), "210 when the service changed the nick: %s" % M.show(me))
    a.close(), b.close(), c.close()


def nick_change_and_leave():
    a, b = connect("u10"), connect("u11")
    room = U.new_room()
    U.create(a, room, "alice")
    U.join(b, room, "bob")
    U.wait_pres(a, room + "/bob")
    b.send("<presence to='%s/robert'/>" % room)
    gone = U.wait_pres(a, room + "/bob", "unavailable")
    M.expect(303 in U.codes(gone) and U.item(gone).get("nick") == "robert",
             "303 with the new nick: %s" % M.show(gone))
    U.wait_pres(a, room + "/robert")
    mine = U.wait_pres(b, room + "/bob", "unavailable")
    M.expect({303, 110} <= U.codes(mine), "self copy of 303 has 110: %s" % M.show(mine))
    U.wait_pres(b, room + "/robert")
    b.send("<presence to='%s/alice'/>" % room)
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "conflict", "change to a nick in use: %s" % M.show(e))
    # A presence change is broadcast (§7.7).
    b.send("<presence to='%s/robert'><show>away</show></presence>" % room)
    p = U.wait_pres(a, room + "/robert")
    M.expect(p.findtext(M.q(C, "show")) == "away", "show broadcast: %s" % M.show(p))
    # Leaving (§7.14) with a status text.
    b.send("<presence to='%s/robert' type='unavailable'><status>bye</status></presence>"
           % room)
    p = U.wait_pres(a, room + "/robert", "unavailable")
    M.expect(U.item(p).get("role") == "none" and p.findtext(M.q(C, "status")) == "bye",
             "leave: %s" % M.show(p))
    mine = U.wait_pres(b, room + "/robert", "unavailable")
    M.expect(110 in U.codes(mine), "self copy of leave: %s" % M.show(mine))
    # A temporary room vanishes with its last occupant.
    a.send("<presence to='%s/alice' type='unavailable'/>" % room)
    U.wait_pres(a, room + "/alice", "unavailable")
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", room)
    M.expect_error(r, "item-not-found", "temporary room gone with its last occupant")
    a.close(), b.close()


def multi_session():
    a = connect("u12")
    b1, b2 = connect("u13", "one"), connect("u13", "two")
    room = U.new_room()
    U.create(a, room, "alice")
    U.join(b1, room, "bob")
    U.wait_pres(a, room + "/bob")
    seq = U.join(b2, room, "bob")  # same user, same nick: one occupant
    M.expect(110 in U.codes(U.self_presence(seq)), "second session gets its own sequence")
    U.groupchat(a, room, "to both")
    U.wait_msg(b1, "to both"), U.wait_msg(b2, "to both")
    b1.send("<presence to='%s/bob' type='unavailable'/>" % room)
    mine = U.wait_pres(b1, room + "/bob", "unavailable")
    M.expect(110 in U.codes(mine), "leaving session told")
    M.barrier(b1, a)
    M.expect(not [e for e in M.drain(a) if U.is_pres(e, room + "/bob", "unavailable")],
             "others see no leave while another session stays")
    U.groupchat(a, room, "to two")
    U.wait_msg(b2, "to two")
    b2.send("<presence to='%s/bob' type='unavailable'/>" % room)
    U.wait_pres(a, room + "/bob", "unavailable")
    a.close(), b1.close(), b2.close()


def talk_and_ids():
    a, b = connect("u14"), connect("u15")
    room = U.new_room()
    U.create(a, room, "alice")
    U.join(b, room, "bob")
    U.groupchat(b, room, "hello",
                "<stanza-id xmlns='%s' by='%s' id='forged'/>"
                "<occupant-id xmlns='%s' id='forged'/>" % (U.NS_SID, room, U.NS_OID))
    got = {}
    for s in (a, b):
        m = U.wait_msg(s, "hello")
        M.expect(m.get("from") == room + "/bob" and m.get("type") == "groupchat",
                 "from the occupant JID: %s" % M.show(m))
        sids = m.findall(M.q(U.NS_SID, "stanza-id"))
        M.expect(len(sids) == 1 and sids[0].get("by") == room and sids[0].get("id") != "forged",
                 "one stanza-id by the room, forged one stripped: %s" % M.show(m))
        oids = m.findall(M.q(U.NS_OID, "occupant-id"))
        M.expect(len(oids) == 1 and oids[0].get("id") != "forged", "occupant-id: %s" % M.show(m))
        got[s.name] = (sids[0].get("id"), oids[0].get("id"))
    M.expect(got[a.name] == got[b.name], "every occupant sees the same ids")
    U.groupchat(b, room, "again")
    m = U.wait_msg(a, "again")
    M.expect(m.find(M.q(U.NS_OID, "occupant-id")).get("id") == got[a.name][1],
             "occupant id stable")
    M.expect(m.find(M.q(U.NS_SID, "stanza-id")).get("id") != got[a.name][0], "stanza ids unique")
    # Non-occupants cannot talk; groupchat to an occupant is refused.
    c = connect("u16")
    U.groupchat(c, room, "intruder")
    e = c.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "not-acceptable", "non-occupant groupchat: %s" % M.show(e))
    b.send("<message to='%s/alice' type='groupchat'><body>x</body></message>" % room)
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "bad-request", "groupchat to an occupant: %s" % M.show(e))
    # Private messages (§7.5).
    b.send("<message to='%s/alice' type='chat' id='pm1'><body>psst</body></message>" % room)
    m = U.wait_msg(a, "psst")
    M.expect(m.get("from") == room + "/bob" and m.find(M.q(U.NS_USER, "x")) is not None,
             "PM from the occupant JID with muc#user x: %s" % M.show(m))
    b.send("<message to='%s/nobody' type='chat'><body>x</body></message>" % room)
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "item-not-found", "PM to nobody: %s" % M.show(e))
    c.send("<message to='%s/alice' type='chat'><body>x</body></message>" % room)
    e = c.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "not-acceptable", "PM from a non-occupant: %s" % M.show(e))
    U.configure(a, room, {"muc#roomconfig_allowpm": "none"})
    b.send("<message to='%s/alice' type='chat'><body>x</body></message>" % room)
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "forbidden", "PMs disabled: %s" % M.show(e))
    a.close(), b.close(), c.close()


def subject():
    a, b = connect("u17"), connect("u18")
    room = U.new_room()
    U.create(a, room, "alice")
    U.join(b, room, "bob")
    a.send("<message to='%s' type='groupchat'><subject>Topic one</subject></message>" % room)
    m = b.wait_for(lambda e: U.is_subject(e, room), what="subject")
    M.expect(m.findtext(M.q(C, "subject")) == "Topic one" and m.get("from") == room + "/alice",
             "subject change broadcast: %s" % M.show(m))
    b.send("<message to='%s' type='groupchat'><subject>mine</subject></message>" % room)
    e = b.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "forbidden", "participant may not change subject")
    a.send("<message to='%s' type='groupchat'><subject>%s</subject></message>"
           % (room, "s" * 2000))
    e = a.wait_for(lambda e: e.get("type") == "error", what="error")
    M.expect(M.error_condition(e) == "not-acceptable", "oversize subject: %s" % M.show(e))
    U.configure(a, room, {"muc#roomconfig_changesubject": "1"})
    b.send("<message to='%s' type='groupchat'><subject>by bob</subject></message>" % room)
    m = a.wait_for(lambda e: U.is_subject(e, room) and
                   e.findtext(M.q(C, "subject")) == "by bob", what="subject by bob")
    M.expect(m.get("from") == room + "/bob", "allowed now: %s" % M.show(m))
    c = connect("u19")
    seq = U.join(c, room, "carol")
    M.expect(seq[-1].findtext(M.q(C, "subject")) == "by bob", "subject on join")
    a.close(), b.close(), c.close()


def history():
    a = connect("u20")
    room = U.new_room()
    U.create(a, room, "alice", {"muc#maxhistoryfetch": "5"})
    for i in range(8):
        U.groupchat(a, room, "m%d" % i)
        U.wait_msg(a, "m%d" % i)

    def bodies(seq):
        return [m.findtext(M.q(C, "body")) for m in seq
                if m.tag == M.q(C, "message") and m.find(M.q(C, "body")) is not None]

    b = connect("u21")
    seq = U.join(b, room, "b1")
    M.expect(bodies(seq) == ["m3", "m4", "m5", "m6", "m7"], "room limit 5: %s" % bodies(seq))
    hist = [m for m in seq if m.find(M.q(C, "body")) is not None]
    d = hist[0].find(M.q(U.NS_DELAY, "delay"))
    M.expect(d is not None and d.get("from") == room and d.get("stamp", "").endswith("Z"),
             "delay on history: %s" % M.show(hist[0]))
    M.expect(hist[0].find(M.q(U.NS_SID, "stanza-id")) is not None, "stanza-id kept in history")
    pres_idx = max(i for i, e in enumerate(seq) if e.tag == M.q(C, "presence"))
    msg_idx = min(i for i, e in enumerate(seq) if e.tag == M.q(C, "message"))
    M.expect(pres_idx < msg_idx and U.is_subject(seq[-1], room),
             "presence, then history, then subject")
    b.send("<presence to='%s/b1' type='unavailable'/>" % room)
    M.drain(b)
    seq = U.join(b, room, "b2", "<history maxstanzas='2'/>")
    M.expect(bodies(seq) == ["m6", "m7"], "maxstanzas=2: %s" % bodies(seq))
    b.send("<presence to='%s/b2' type='unavailable'/>" % room)
    M.drain(b)
    seq = U.join(b, room, "b3", "<history maxchars='0'/>")
    M.expect(bodies(seq) == [], "maxchars=0: %s" % bodies(seq))
    b.send("<presence to='%s/b3' type='unavailable'/>" % room)
    M.drain(b)
    seq = U.join(b, room, "b4", "<history since='2999-01-01T00:00:00Z'/>")
    M.expect(bodies(seq) == [], "since the future: %s" % bodies(seq))
    b.send("<presence to='%s/b4' type='unavailable'/>" % room)
    M.drain(b)
    seq = U.join(b, room, "b5", "<history seconds='3600'/>")
    M.expect(len(bodies(seq)) == 5, "seconds=3600: %s" % bodies(seq))
    b.send("<presence to='%s/b5' type='unavailable'/>" % room)
    M.drain(b)
    seq = U.join(b, room, "b6", "<history maxchars='600'/>")
    M.expect(0 < len(bodies(seq)) < 5, "maxchars bounds the history: %s" % bodies(seq))
    a.close(), b.close()


def self_ping_and_queries():
    a, b = connect("u22"), connect("u23")
    room = U.new_room()
    U.create(a, room, "alice")
    r = a.iq("get", "<ping xmlns='urn:xmpp:ping'/>", room + "/alice")
    M.expect(r.get("type") == "result", "self-ping while joined: %s" % M.show(r))
    r = b.iq("get", "<ping xmlns='urn:xmpp:ping'/>", room + "/bob")
    M.expect_error(r, "not-acceptable", "self-ping when not joined")
    r = b.iq("get", "<ping xmlns='urn:xmpp:ping'/>", room + "/alice")
    M.expect_error(r, "not-acceptable", "ping someone else's nick when not joined")
    # §6.6: a query to another occupant reaches its real JID from the asker's room JID, and
    # the answer (result or error) comes back from the occupant JID.
    U.join(b, room, "bob")
    for answer in ("result", "error"):
        b.send("<iq type='get' id='fw-%s' to='%s/alice'><vCard xmlns='vcard-temp'/></iq>"
               % (answer, room))
        q = a.wait_for(lambda e: e.tag == M.q(C, "iq") and e.get("type") == "get",
                       what="forwarded iq")
        M.expect(q.get("from") == room + "/bob" and q.get("to") == a.jid and
                 q.find("{vcard-temp}vCard") is not None, "forwarded: %s" % M.show(q))
        if answer == "result":
            a.send("<iq type='result' id='%s' to='%s'><vCard xmlns='vcard-temp'><FN>Al</FN>"
                   "</vCard></iq>" % (q.get("id"), q.get("from")))
        else:
            a.send("<iq type='error' id='%s' to='%s'><error type='cancel'><item-not-found "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
                   % (q.get("id"), q.get("from")))
        r = b.wait_for(lambda e: e.get("id") == "fw-" + answer, what="forwarded answer")
        M.expect(r.get("from") == room + "/alice", "answer from the occupant JID: %s" % M.show(r))
        if answer == "result":
            M.expect(r.get("type") == "result" and "Al" in M.show(r), "result: %s" % M.show(r))
        else:
            M.expect_error(r, "item-not-found", "error relayed")
    a.close(), b.close()


def ghost():
    """A client whose socket dies without </stream> leaves every room at once."""
    a, b = connect("u24"), connect("u25")
    rooms = [U.new_room(), U.new_room()]
    for room in rooms:
        U.create(a, room, "alice")
        U.join(b, room, "bob")
        U.wait_pres(a, room + "/bob")
    import socket
    b.sock.shutdown(socket.SHUT_RDWR)
    b.close()
    for room in rooms:
        p = U.wait_pres(a, room + "/bob", "unavailable")
        it = U.item(p)
        M.expect(it.get("role") == "none" and not ({307, 301} & U.codes(p)),
                 "ordinary leave, no kick/ban code: %s" % M.show(p))
        r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", room)
        items = [i.get("jid") for i in r.iter("{http://jabber.org/protocol/disco#items}item")]
        M.expect(items == [room + "/alice"], "no ghost left: %s" % items)
    # An occupant whose server bounces room traffic is removed with 333.
    c = connect("u26")
    U.join(c, rooms[0], "carol")
    U.wait_pres(a, rooms[0] + "/carol")
    c.send("<message to='%s/alice' type='error'><error type='cancel'>"
           "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
           "</message>" % rooms[0])
    p = U.wait_pres(a, rooms[0] + "/carol", "unavailable")
    M.expect(333 in U.codes(p), "333 for a bounce: %s" % M.show(p))
    a.close(), c.close()


def flood():
    a, b = connect("u27"), connect("u28")
    room = U.new_room()
    U.create(a, room, "alice")
    errors = 0
    for i in range(30):
        b.send("<presence to='%s/b%d'><x xmlns='%s'/></presence>" % (room, i, U.NS_MUC))
        b.send("<presence to='%s/b%d' type='unavailable'/>" % (room, i))
    M.barrier(b)
    for e in M.drain(b):
        if e.get("type") == "error":
            errors += 1
            M.expect(M.error_condition(e) == "resource-constraint", "flood: %s" % M.show(e))
    M.expect(errors > 0, "a join flood is throttled")
    r = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", room)
    items = [i.get("jid") for i in r.iter("{http://jabber.org/protocol/disco#items}item")]
    M.expect(items == [room + "/alice"], "room state intact after the flood: %s" % items)
    a.close(), b.close()


def plain_login(user, res):
    """A client on the harness's TLS-less c2s listener (SCRAM), so the server writes to it
    without encryption: the path where a broadcast's bytes are shared between recipients."""
    import os
    port = int(os.environ["E2E_PLAIN_PORT"])
    s = M.X.Stream(M.E["ip"], port, M.D, M.E["cafile"], name="%s/%s" % (user, res))
    s.open()
    ok, el = s.auth(user, M.PW[user], "SCRAM-SHA-1")
    M.expect(ok, "plaintext SCRAM login: %s" % M.show(el))
    s.bind(res)
    s.send("<presence/>")
    M.barrier(s)
    return s


def shared_bytes_plaintext():
    """Fan-out to plaintext streams (shared buffer + spliced to), to a stream with XEP-0198
    (joined copy kept for acks) and to a TLS stream: each gets its own exact 'to', the same
    body, every message once and in order."""
    room = U.new_room()
    a = connect("u29")
    U.create(a, room, "alice")
    p1, p2 = plain_login("u44", "plain1"), plain_login("u45", "plain2")
    sm = plain_login("u46", "sm")
    sm.send("<enable xmlns='urn:xmpp:sm:3'/>")
    sm.wait_for(lambda e: e.tag == "{urn:xmpp:sm:3}enabled", what="sm enabled")
    for s, nick in ((p1, "p1"), (p2, "p2"), (sm, "sm")):
        U.join(s, room, nick)
    bodies = ["shared <&> %d \u00e9" % i for i in range(20)]
    for b in bodies:
        a.send("<message to='%s' type='groupchat'><body>%s</body></message>"
               % (room, b.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")))
    M.barrier(a)
    for s in (p1, p2, sm, a):
        got = []
        while len(got) < len(bodies):
            e = s.wait_for(lambda e: e.tag == M.q(C, "message") and
                           e.find(M.q(C, "body")) is not None, what="room message")
            M.expect(e.get("to") == s.jid and e.get("from") == room + "/alice",
                     "%s: addressed to itself: %s" % (s.name, M.show(e)))
            got.append(e.findtext(M.q(C, "body")))
        M.expect(got == bodies, "%s: every message once, in order, intact: %s" % (s.name, got))
    for s in (a, p1, p2, sm):
        s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("discovery", discovery), ("instant_room_and_lock", instant_room_and_lock),
        ("reserved_room_and_cancel", reserved_room_and_cancel), ("config_errors", config_errors),
        ("join_errors", join_errors), ("nick_change_and_leave", nick_change_and_leave),
        ("multi_session", multi_session), ("talk_and_ids", talk_and_ids), ("subject", subject),
        ("history", history), ("self_ping_and_queries", self_ping_and_queries), ("ghost", ghost), ("flood", flood),
        ("shared_bytes_plaintext", shared_bytes_plaintext),
    ]))
