"""tests/modules/test_muc_mam.py — a room's archive (XEP-0313 on the room JID, §5.1.2 rules
of MUC archives) with raw XML, the muc and mam modules loaded (muc_mam.sh):
- 300 room messages from two occupants: the stanza-id every occupant saw is the archive
  id; paging forward and backward, start/end (second and millisecond precision), ids,
  after-id/before-id, metadata, counts; the forwarded copies come from the occupant JID
  without 'to'; chat states and private messages are not archived and chat states carry
  no stanza-id by the room; subject changes and room notices are archived;
- access: a members-only room's archive is for members (others get forbidden for every
  MAM request), outcasts are refused, a password-protected room's archive is for its
  occupants; a room that does not log has no archive (service-unavailable, no feature);
- real JIDs: in a semi-anonymous room only moderators/admins/owners get the sender's
  real JID (muc#user item) and may filter by 'with'; in a non-anonymous room everyone;
- history on entering served from the archive with every parameter (maxstanzas,
  maxchars, seconds, since, the room's own limit), without subject changes or moderated
  messages, with the archive's ids;
- XEP-0425 moderation: the archived message becomes a tombstone (same id, same stamp, the
  author's occupant JID and occupant-id, retracted/moderated, no body) in both request
  forms, and the retraction the room broadcast is archived with the id occupants saw;
- destroying a room removes its archive (a room created again under that name starts
  empty, the old ids are unknown); so does a temporary room's vanishing.
"""
import datetime
import time

import mamlib as A
import modlib as M
import muclib as U

C = M.C
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_R1, NS_M1 = "urn:xmpp:message-retract:1", "urn:xmpp:message-moderate:1"
NS_R0, NS_M0 = "urn:xmpp:message-retract:0", "urn:xmpp:message-moderate:0"
NS_DISCO = "http://jabber.org/protocol/disco#info"


def connect(user, res="r"):
    return M.connect(user, res, roster=False)


def room_sid(el, room):
    ids = [i for by, i in A.stanza_ids(el, by=room)]
    return ids[0] if len(ids) == 1 else (None if not ids else ids)


def live_messages(s, room, n, what):
    """The next n groupchat messages with a body from room: [(body, stanza-id, element)]."""
    out = []
    while len(out) < n:
        e = s.wait_for(lambda e: e.tag == M.q(C, "message") and e.get("type") == "groupchat"
                       and e.find(M.q(C, "body")) is not None and
                       (e.get("from") or "").split("/")[0] == room, what=what)
        out.append((e.findtext(M.q(C, "body")), room_sid(e, room), e))
    return out


def features(s, room):
    r = s.iq("get", "<query xmlns='%s'/>" % NS_DISCO, room)
    return {f.get("var") for f in r.iter(M.q(NS_DISCO, "feature"))}


def real_jid(msg):
    it = msg.find("%s/%s" % (M.q(U.NS_USER, "x"), M.q(U.NS_USER, "item")))
    return None if it is None else it.get("jid")


def stamp_ms(stamp):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in stamp else "%Y-%m-%dT%H:%M:%SZ"
    t = datetime.datetime.strptime(stamp, fmt).replace(tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1000))


def iso(ms, fraction=True):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".%03dZ" % (ms % 1000) if fraction else "Z")


def page_forward(s, room, fields=None, page=50):
    out, after, pages = [], None, 0
    while True:
        r = A.query(s, fields, A.rsm(max_=page, after=after), to=room)
        M.expect(r.reply.get("type") == "result", "page: %s" % M.show(r.reply))
        M.expect(r.reply.get("from") == room, "fin from the room: %s" % M.show(r.reply))
        pages += 1
        out += r.results
        if r.complete or not r.results:
            return out, r, pages
        after = r.last


def page_backward(s, room, page=70):
    out, before = [], ""
    while True:
        r = A.query(s, None, A.rsm(max_=page, before=before), to=room)
        M.expect(r.reply.get("type") == "result", "backward page: %s" % M.show(r.reply))
        out = r.results + out
        if r.complete or not r.results:
            return out
        before = r.first


def archive_paging():
    a, b, c, d = connect("u00"), connect("u01"), connect("u02"), connect("u03")
    room = U.new_room("mam")
    seq = U.create(a, room, "alice")
    M.expect(170 in U.codes(U.self_presence(seq)), "170: the room logs by default")
    M.expect({A.NS_MAM, A.NS_MAM + "#extended"} <= features(d, room),
             "disco#info of an archived room lists mam:2 and #extended")
    U.join(b, room, "bob")
    U.join(c, room, "carol")
    # Not archived: a chat state (no stanza-id by the room either) and a private message.
    b.send("<message to='%s' type='groupchat'><active xmlns='%s'/></message>"
           % (room, NS_CHATSTATES))
    cs = c.wait_for(lambda e: e.find(M.q(NS_CHATSTATES, "active")) is not None,
                    what="chat state")
    M.expect(not A.stanza_ids(cs, by=room), "a chat state gets no stanza-id: %s" % M.show(cs))
    b.send("<message to='%s/carol' type='chat'><body>private words</body></message>" % room)
    U.wait_msg(c, "private words")
    # 300 messages in chunks of 10, alternating senders; the second half a second later.
    bodies, senders = [], []
    for k in range(30):
        if k == 15:
            live_messages(c, room, 150, "first half")
            time.sleep(1.2)
        s, nick = (a, "alice") if k % 2 == 0 else (b, "bob")
        for i in range(10):
            body = "m%03d" % (k * 10 + i)
            U.groupchat(s, room, body)
            bodies.append(body)
            senders.append(nick)
        M.barrier(s)
    got = live_messages(c, room, 150, "second half")
    M.drain(c)
    r = A.query(d, None, A.rsm(max_=300), to=room)
    M.expect(r.bodies == bodies[:250] and r.count == 300 and not r.complete,
             "one page is at most max_page (250): %d results, count %s"
             % (len(r.results), r.count))
    # Forward paging, 50 at a time, by a non-occupant of the open room.
    res, fin, pages = page_forward(d, room)
    ids = [x[0] for x in res]
    M.expect([m.findtext(M.q(C, "body")) for _, _, m in res] == bodies and pages == 6 and
             fin.count == 300, "forward paging: %d results in %d pages" % (len(res), pages))
    M.expect(len(set(ids)) == 300, "ids unique")
    M.expect([i for _, i, _ in got] == ids[150:], "live stanza-ids are the archive ids")
    for (i, st, m), nick in zip(res, senders):
        M.expect(m.get("from") == "%s/%s" % (room, nick) and m.get("to") is None and
                 m.get("type") == "groupchat" and m.find(M.q(U.NS_OID, "occupant-id")) is not
                 None and real_jid(m) is None,
                 "forwarded room message (no to, occupant JID, occupant-id, no real JID for "
                 "a non-moderator of a semi-anonymous room): %s" % M.show(m))
    stamps = [stamp_ms(st) for _, st, _ in res]
    M.expect(stamps == sorted(stamps), "stamps in order")
    M.expect([x[0] for x in page_backward(d, room)] == ids, "backward paging from the end")
    # start/end: the halves (second precision for start, millisecond for end).
    second = (stamps[150] // 1000) * 1000
    later, _, _ = page_forward(d, room, {"start": iso(second, False)})
    M.expect([x[0] for x in later] == ids[150:], "start: %d results" % len(later))
    earlier, _, _ = page_forward(d, room, {"end": iso(stamps[149])})
    M.expect([x[0] for x in earlier] == ids[:150], "end: %d results" % len(earlier))
    both, _, _ = page_forward(d, room, {"start": iso(stamps[10]), "end": iso(stamps[20])})
    M.expect([x[0] for x in both] == [i for i, t in zip(ids, stamps)
                                      if stamps[10] <= t <= stamps[20]], "start+end")
    # ids, after-id/before-id, metadata, index, errors.
    q = A.query(d, {"ids": [ids[250], ids[3], ids[77]]}, to=room)
    M.expect(q.ids == [ids[3], ids[77], ids[250]], "ids: %s" % q.ids)
    q = A.query(d, {"after-id": ids[99], "before-id": ids[110]}, to=room)
    M.expect(q.ids == ids[100:110] and q.count == 10, "after-id/before-id: %s" % q.bodies)
    q = A.query(d, None, A.rsm(max_=5, index=200), to=room)
    M.expect(q.ids == ids[200:205] and q.index == 200, "index: %s" % q.bodies)
    md = d.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM, to=room)
    M.expect(md.find(".//" + M.q(A.NS_MAM, "start")).get("id") == ids[0] and
             md.find(".//" + M.q(A.NS_MAM, "end")).get("id") == ids[-1],
             "metadata: %s" % M.show(md))
    A.expect_error(A.query(d, {"after-id": "AAAAAAAAAAAAAAAAAAAAAA"}, to=room),
                   "item-not-found", "unknown after-id")
    A.expect_error(A.query(d, {"start": "yesterday"}, to=room), "bad-request", "bad start")
    # Real JIDs: hidden from the non-moderator d, 'with' refused; shown to the owner.
    A.expect_error(A.query(d, {"with": M.jid("u01")}, to=room), "forbidden",
                   "'with' in a semi-anonymous room by a non-moderator")
    wb, _, _ = page_forward(a, room, {"with": M.jid("u01")})
    M.expect([x[0] for x in wb] == [i for i, n in zip(ids, senders) if n == "bob"] and
             all(real_jid(m) == M.jid("u01") + "/r" for _, _, m in wb),
             "owner: with bob, real JIDs: %d %s" % (len(wb), real_jid(wb[0][2])))
    q = A.query(a, None, A.rsm(max_=2), to=room)
    M.expect([real_jid(m) for _, _, m in q.results] == [M.jid("u00") + "/r"] * 2,
             "owner sees the real JID: %s" % M.show(q.results[0][2]))
    # A subject change and a notice are archived (and carry the archive's id live).
    a.send("<message to='%s' type='groupchat'><subject>Archived topic</subject></message>"
           % room)
    subj = c.wait_for(lambda e: U.is_subject(e, room), what="subject")
    U.configure(a, room, {"muc#roomconfig_whois": "anyone"})
    notice = c.wait_for(lambda e: e.tag == M.q(C, "message") and 104 in U.codes(e),
                        what="104 notice")
    M.expect({104, 172} <= U.codes(notice), "notice: %s" % M.show(notice))
    q = A.query(d, None, A.rsm(after=ids[-1]), to=room)
    M.expect(q.ids == [room_sid(subj, room), room_sid(notice, room)] and
             q.results[0][2].findtext(M.q(C, "subject")) == "Archived topic" and
             172 in U.codes(q.results[1][2]) and q.results[1][2].get("from") == room,
             "subject change and notice archived with their live ids: %s"
             % [M.show(m) for _, _, m in q.results])
    # Non-anonymous now: every reader sees real JIDs and may filter by them.
    q = A.query(d, {"with": M.jid("u00")}, A.rsm(max_=3), to=room)
    M.expect(q.bodies == bodies[:3] and real_jid(q.results[0][2]) == M.jid("u00") + "/r",
             "non-anonymous: with and real JIDs for everyone: %s" % q.bodies)
    for s in (a, b, c, d):
        s.close()


def access_control():
    a, b, d, e = connect("u10"), connect("u11"), connect("u12"), connect("u13")
    # Members-only: members (joined or not) read it; anyone else is forbidden.
    room = U.new_room("members")
    U.create(a, room, "owner", {"muc#roomconfig_membersonly": "1"})
    r = U.admin(a, room, "<item jid='%s' affiliation='member'/>" % M.jid("u11"))
    M.expect(r.get("type") == "result", "member added: %s" % M.show(r))
    U.groupchat(a, room, "for members")
    U.wait_msg(a, "for members")
    q = A.query(b, to=room)
    M.expect(q.bodies == ["for members"], "a member who never entered reads it: %s" % q.bodies)
    A.expect_error(A.query(d, to=room), "forbidden", "non-member query")
    M.expect_error(d.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM, to=room), "forbidden",
                   "non-member metadata")
    M.expect_error(d.iq("get", "<query xmlns='%s'/>" % A.NS_MAM, to=room), "forbidden",
                   "non-member form")
    # Open room: an outcast is refused, anyone else reads it.
    room2 = U.new_room("open")
    U.create(a, room2, "owner")
    U.groupchat(a, room2, "open words")
    U.wait_msg(a, "open words")
    r = U.admin(a, room2, "<item jid='%s' affiliation='outcast'/>" % M.jid("u13"))
    M.expect(r.get("type") == "result", "outcast set: %s" % M.show(r))
    A.expect_error(A.query(e, to=room2), "forbidden", "outcast query")
    M.expect(A.query(d, to=room2).bodies == ["open words"], "anyone else reads an open room")
    # Password-protected: occupants (who gave the password) read it.
    room3 = U.new_room("secret")
    U.create(a, room3, "owner", {"muc#roomconfig_passwordprotectedroom": "1",
                                 "muc#roomconfig_roomsecret": "pw"})
    U.groupchat(a, room3, "behind a password")
    U.wait_msg(a, "behind a password")
    A.expect_error(A.query(d, to=room3), "forbidden", "password room, not an occupant")
    U.join(d, room3, "dave", "<password>pw</password>")
    M.expect(A.query(d, to=room3).bodies == ["behind a password"], "occupant reads it")
    # A room that does not log keeps no archive.
    room4 = U.new_room("unlogged")
    seq = U.create(a, room4, "owner", {"muc#roomconfig_enablelogging": "0"})
    M.expect(A.NS_MAM not in features(d, room4), "no mam feature without logging")
    U.join(b, room4, "bob")
    me = U.self_presence(U.join(d, room4, "dave"))
    M.expect(170 not in U.codes(me), "no 170 without logging: %s" % M.show(me))
    U.groupchat(a, room4, "not logged")
    m = U.wait_msg(d, "not logged")
    M.expect(room_sid(m, room4), "still a stanza-id by the room: %s" % M.show(m))
    A.expect_error(A.query(d, to=room4), "service-unavailable", "query of an unlogged room")
    A.expect_error(A.query(d, to="nosuchroom@" + U.MUC), "item-not-found", "no such room")
    for s in (a, b, d, e):
        s.close()


def real_jids():
    a, b, c = connect("u20"), connect("u21"), connect("u22")
    room = U.new_room("semi")
    U.create(a, room, "owner")
    U.join(b, room, "bob")
    U.join(c, room, "carol")
    U.groupchat(b, room, "said by bob")
    U.wait_msg(c, "said by bob")
    # A participant sees no real JIDs; a moderator (voice granted as moderator) does.
    q = A.query(c, to=room)
    M.expect(q.bodies == ["said by bob"] and real_jid(q.results[0][2]) is None,
             "participant: no real JID: %s" % M.show(q.results[0][2]))
    r = U.admin(a, room, "<item nick='carol' role='moderator'/>")
    M.expect(r.get("type") == "result", "moderator: %s" % M.show(r))
    M.drain(c)
    q = A.query(c, to=room)
    M.expect(real_jid(q.results[0][2]) == M.jid("u21") + "/r", "moderator sees it")
    M.expect(A.query(c, {"with": M.jid("u21")}, to=room).bodies == ["said by bob"],
             "moderator may filter by real JID")
    for s in (a, b, c):
        s.close()


def bodies_of(seq):
    return [m.findtext(M.q(C, "body")) for m in seq
            if m.tag == M.q(C, "message") and m.find(M.q(C, "body")) is not None]


def rejoin(s, room, nick, inner=""):
    s.send("<presence to='%s/%s' type='unavailable'/>" % (room, nick))
    M.drain(s)
    return U.join(s, room, nick + "x", inner)


def history_from_archive():
    a, b = connect("u30"), connect("u31")
    room = U.new_room("hist")
    U.create(a, room, "alice", {"muc#maxhistoryfetch": "6"})
    for i in range(4):
        U.groupchat(a, room, "early %d" % i)
        U.wait_msg(a, "early %d" % i)
    time.sleep(8)
    a.send("<message to='%s' type='groupchat'><subject>a topic</subject></message>" % room)
    a.wait_for(lambda e: U.is_subject(e, room), what="subject")
    for i in range(4):
        U.groupchat(a, room, "late %d" % i)
        U.wait_msg(a, "late %d" % i)
    q = A.query(a, to=room)
    arch = {m.findtext(M.q(C, "body")): (i, stamp_ms(st)) for i, st, m in q.results}
    seq = U.join(b, room, "b")
    hist = [m for m in seq if m.tag == M.q(C, "message") and m.find(M.q(C, "body")) is not None]
    want = ["early 2", "early 3", "late 0", "late 1", "late 2", "late 3"]
    M.expect(bodies_of(seq) == want, "room limit 6, no subject change: %s" % bodies_of(seq))
    M.expect([room_sid(m, room) for m in hist] == [arch[w][0] for w in want],
             "history carries the archive ids")
    d = hist[0].find(M.q(U.NS_DELAY, "delay"))
    M.expect(d.get("from") == room and stamp_ms(d.get("stamp")) // 1000 ==
             arch["early 2"][1] // 1000, "delay from the archive's stamp: %s" % M.show(hist[0]))
    M.expect(hist[0].get("from") == room + "/alice" and hist[0].get("to") == b.jid,
             "history message addressed: %s" % M.show(hist[0]))
    # seconds first, while the late messages are a second old and the early ones nine.
    seq = rejoin(b, room, "b", "<history seconds='6'/>")
    M.expect(bodies_of(seq) == want[2:], "seconds=6: %s" % bodies_of(seq))
    seq = rejoin(b, room, "bx", "<history maxstanzas='3' seconds='6'/>")
    M.expect(bodies_of(seq) == want[-3:], "maxstanzas+seconds: %s" % bodies_of(seq))
    seq = rejoin(b, room, "bxx", "<history maxstanzas='2'/>")
    M.expect(bodies_of(seq) == want[-2:], "maxstanzas=2: %s" % bodies_of(seq))
    seq = rejoin(b, room, "bxxx", "<history maxstanzas='0'/>")
    M.expect(bodies_of(seq) == [], "maxstanzas=0: %s" % bodies_of(seq))
    seq = rejoin(b, room, "bxxxx", "<history maxchars='0'/>")
    M.expect(bodies_of(seq) == [], "maxchars=0: %s" % bodies_of(seq))
    seq = rejoin(b, room, "bxxxxx", "<history maxchars='700'/>")
    got = bodies_of(seq)
    M.expect(0 < len(got) < 6 and got == want[-len(got):], "maxchars=700: %s" % got)
    seq = rejoin(b, room, "bxxxxxx", "<history maxchars='100000'/>")
    M.expect(bodies_of(seq) == want, "maxchars above all: %s" % bodies_of(seq))
    since = iso(arch["late 0"][1] // 1000 * 1000, False)
    seq = rejoin(b, room, "bxxxxxxx", "<history since='%s'/>" % since)
    M.expect(bodies_of(seq) == want[2:], "since %s: %s" % (since, bodies_of(seq)))
    seq = rejoin(b, room, "bxxxxxxxx", "<history since='2999-01-01T00:00:00Z'/>")
    M.expect(bodies_of(seq) == [], "since the future: %s" % bodies_of(seq))
    a.close(), b.close()


def moderation_tombstone():
    a, b, c = connect("u40"), connect("u41"), connect("u42")
    room = U.new_room("mod")
    U.create(a, room, "owner")
    U.join(b, room, "bob")
    U.join(c, room, "carol")
    U.groupchat(b, room, "bad words")
    bad = U.wait_msg(c, "bad words")
    U.groupchat(b, room, "old style")
    old = U.wait_msg(c, "old style")
    U.groupchat(b, room, "fine words")
    U.wait_msg(c, "fine words")
    before = A.query(c, to=room)
    ids = before.ids
    M.expect(ids[:2] == [room_sid(bad, room), room_sid(old, room)], "ids: %s" % ids)
    oid_b = bad.find(M.q(U.NS_OID, "occupant-id")).get("id")
    # moderate:1 with retract:1
    r = a.iq("set", "<moderate xmlns='%s' id='%s'><retract xmlns='%s'/><reason>rude</reason>"
             "</moderate>" % (NS_M1, ids[0], NS_R1), room)
    M.expect(r.get("type") == "result", "moderation: %s" % M.show(r))
    ret1 = c.wait_for(lambda e: e.find(M.q(NS_R1, "retract")) is not None, what="retraction")
    # The older :0 form in apply-to.
    r = a.iq("set", "<apply-to xmlns='urn:xmpp:fasten:0' id='%s'><moderate xmlns='%s'>"
             "<retract xmlns='%s'/><reason>old</reason></moderate></apply-to>"
             % (ids[1], NS_M0, NS_R0), room)
    M.expect(r.get("type") == "result", "legacy moderation: %s" % M.show(r))
    ret0 = c.wait_for(lambda e: e.find("{urn:xmpp:fasten:0}apply-to") is not None,
                      what="legacy retraction")
    mod = ret1.find(M.q(NS_R1, "retract")).find(M.q(NS_M1, "moderated"))
    M.expect(mod.get("by") == room + "/owner" and mod.find(M.q(U.NS_OID, "occupant-id"))
             is not None, "retraction names the moderator: %s" % M.show(ret1))
    after = A.query(c, to=room)
    M.expect(after.ids == ids + [room_sid(ret1, room), room_sid(ret0, room)],
             "tombstones in place, the retractions archived with their live ids: %s"
             % after.ids)
    t1, t0 = after.results[0], after.results[1]
    for (i, st, m), (bi, bst, bm) in ((t1, before.results[0]), (t0, before.results[1])):
        M.expect(i == bi and st == bst and m.find(M.q(C, "body")) is None and
                 m.get("from") == room + "/bob" and m.get("id") == bm.get("id") and
                 m.find(M.q(U.NS_OID, "occupant-id")).get("id") == oid_b,
                 "tombstone keeps id, stamp, sender, occupant-id, drops the body: %s"
                 % M.show(m))
    re1 = t1[2].find(M.q(NS_R1, "retracted"))
    M.expect(re1 is not None and re1.get("stamp") and
             re1.find(M.q(NS_M1, "moderated")).get("by") == room + "/owner" and
             re1.findtext(M.q(NS_R1, "reason")) == "rude",
             "retract:1 tombstone: %s" % M.show(t1[2]))
    m0 = t0[2].find(M.q(NS_M0, "moderated"))
    M.expect(m0 is not None and m0.get("by") == room + "/owner" and
             m0.find(M.q(NS_R0, "retracted")) is not None, "moderate:0 tombstone: %s"
             % M.show(t0[2]))
    M.expect(after.bodies[2] == "fine words", "the rest untouched")
    d = connect("u43")
    seq = U.join(d, room, "dave")
    M.expect(bodies_of(seq) == ["fine words"], "history without the moderated: %s"
             % bodies_of(seq))
    # Neither an unknown id nor a retraction (a room message) can be moderated.
    r = a.iq("set", "<moderate xmlns='%s' id='%s'><retract xmlns='%s'/></moderate>"
             % (NS_M1, room_sid(ret1, room), NS_R1), room)
    M.expect_error(r, "item-not-found", "moderating the room's own message")
    for s in (a, b, c, d):
        s.close()


def destroy_removes_archive():
    a, b = connect("u50"), connect("u51")
    room = U.new_room("gone")
    U.create(a, room, "owner", {"muc#roomconfig_persistentroom": "1"})
    for i in range(3):
        U.groupchat(a, room, "doomed %d" % i)
        U.wait_msg(a, "doomed %d" % i)
    old = A.query(b, to=room)
    M.expect(old.count == 3, "archived: %s" % old.bodies)
    r = a.iq("set", "<query xmlns='%s'><destroy><reason>bye</reason></destroy></query>"
             % U.NS_OWNER, room)
    M.expect(r.get("type") == "result", "destroyed: %s" % M.show(r))
    M.drain(a)
    A.expect_error(A.query(b, to=room), "item-not-found", "query of a destroyed room")
    U.create(b, room, "newowner")
    q = A.query(b, to=room)
    M.expect(not q.results and q.count == 0, "a new room of that name starts empty: %s"
             % q.bodies)
    A.expect_error(A.query(b, {"after-id": old.ids[0]}, to=room), "item-not-found",
                   "an id of the destroyed room")
    # A temporary room's archive goes when the room vanishes with its last occupant.
    temp = U.new_room("temp")
    U.create(a, temp, "owner")
    U.groupchat(a, temp, "fleeting")
    U.wait_msg(a, "fleeting")
    M.expect(A.query(b, to=temp).bodies == ["fleeting"], "temporary room archived")
    a.send("<presence to='%s/owner' type='unavailable'/>" % temp)
    M.drain(a)
    A.expect_error(A.query(b, to=temp), "item-not-found", "vanished room")
    U.create(a, temp, "owner")
    M.expect(not A.query(b, to=temp).results, "its archive went with it")
    a.close(), b.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("archive_paging", archive_paging), ("access_control", access_control),
        ("real_jids", real_jids), ("history_from_archive", history_from_archive),
        ("moderation_tombstone", moderation_tombstone),
        ("destroy_removes_archive", destroy_removes_archive),
    ]))
