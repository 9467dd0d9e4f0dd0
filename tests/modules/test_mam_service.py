"""tests/modules/test_mam_service.py — the archive service of myna/archive.h used the way the
MUC service will use it, through the test module tests/modules/archtest.c (rooms.HOST: each
JID there is a room with its own archive): append (stanza-id by the room on the reflected
message, forged room ids stripped before storing), history for join (last N, since a time),
MAM queries addressed to the room JID answered by the same query and paging code (with a
per-result callback adding the sender's JID), separate archives per room, removal, and the
version 2 calls: get (one message by id) and import (a message with its original time,
moved forward only as the archive's order needs).
Run by mam_service.sh (modules mam and archtest).
"""
import time

import mamlib as A
import modlib as M

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
ROOMS = "rooms." + M.D


def room(name):
    return "%s@%s" % (name, ROOMS)


def say(s, r, body, extra=""):
    s.send("<message to='%s' type='groupchat'><body>%s</body>%s</message>" % (r, body, extra))


def reflected(els, r):
    """(body, stanza-id by the room) of each groupchat message from room r."""
    out = []
    for e in els:
        if e.tag == M.q(M.C, "message") and e.get("type") == "groupchat" and \
                (e.get("from") or "").split("/")[0] == r:
            sid = A.stanza_ids(e, by=r)
            out.append((e.find(M.q(M.C, "body")).text, sid[0][1] if len(sid) == 1 else sid))
    return out


def service():
    u0, u1 = M.connect("u00", "a"), M.connect("u01", "b")
    r1, r2 = room("lobby"), room("quiet")
    for i in range(12):
        say(u0, r1, "lobby %02d" % i)
    M.barrier(u0)  # u0's twelve are archived before u1's three
    for i in range(3):
        say(u1, r1, "from b %d" % i, extra="<stanza-id xmlns='%s' by='%s' id='forged'/>"
            % (A.NS_SID, r1))
    M.barrier(u1)
    for i in range(2):
        say(u0, r2, "quiet %d" % i)
    M.barrier(u0)
    got0, got1 = reflected(M.drain(u0), r1), reflected(M.drain(u1), r1)
    M.expect([b for b, _ in got0] == ["lobby %02d" % i for i in range(12)] and
             all(isinstance(i, str) and i != "forged" for _, i in got0 + got1),
             "reflections with one stanza-id by the room: %s %s" % (got0, got1))
    ids = [i for _, i in got0] + [i for _, i in got1]
    M.expect(len(set(ids)) == 15, "room ids not unique")

    # A MAM query addressed to the room: results from the room, the stored copies, the
    # callback's muc#user item, the same ids as the reflections.
    r = A.query(u0, to=r1, set_xml=A.rsm(max_=100))
    M.expect(r.reply.get("from") == r1 and r.ids == ids and r.count == 15 and r.complete,
             "room query: %s" % M.show(r.reply))
    fwd = r.results[12][2]
    M.expect(fwd.get("from") == r1 + "/u01" and fwd.get("to") is None and
             fwd.get("type") == "groupchat", "stored room message: %s" % M.show(fwd))
    M.expect(not [i for by, i in A.stanza_ids(fwd) if i == "forged"],
             "a forged room id was archived: %s" % M.show(fwd))
    item = fwd.find("%s/%s" % (M.q(NS_MUC_USER, "x"), M.q(NS_MUC_USER, "item")))
    M.expect(item is not None and item.get("jid") == M.jid("u01"),
             "the result callback's item: %s" % M.show(fwd))
    last = A.query(u1, to=r1, set_xml=A.rsm(max_=5, before=""))
    M.expect(last.ids == ids[-5:] and not last.complete, "room last page: %s" % last.bodies)
    wb = A.query(u1, {"with": M.jid("u01")}, to=r1)
    M.expect(wb.bodies == ["from b %d" % i for i in range(3)], "room with: %s" % wb.bodies)
    md = u0.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM, to=r1)
    M.expect(md.find(".//" + M.q(A.NS_MAM, "end")).get("id") == ids[-1], "room metadata: %s"
             % M.show(md))
    form = u0.iq("get", "<query xmlns='%s'/>" % A.NS_MAM, to=r1)
    M.expect(form.find(".//" + M.q(A.NS_XDATA, "x")) is not None, "room form: %s"
             % M.show(form))

    # History on join: the last N, oldest first, with delays and ids.
    u1.send("<message to='%s' type='chat'><body>history 4</body></message>" % r1)
    end = u1.wait_for(lambda e: e.find(M.q(M.C, "subject")) is not None, what="history end")
    hist = reflected(u1.pending, r1)
    u1.pending = []
    M.expect([i for _, i in hist] == ids[-4:] and [b for b, _ in hist] ==
             ["lobby 11", "from b 0", "from b 1", "from b 2"], "history 4: %s" % hist)
    M.expect(end.get("from") == r1, "history marker")
    since_ms = stamp_ms(r.results[13][1])
    u1.send("<message to='%s' type='chat'><body>history 0 %d</body></message>" % (r1, since_ms))
    u1.wait_for(lambda e: e.find(M.q(M.C, "subject")) is not None, what="history end")
    hist = reflected(u1.pending, r1)
    u1.pending = []
    want = [i for (i, st, _) in r.results if stamp_ms(st) >= since_ms]
    M.expect([i for _, i in hist] == want and ids[13] in want, "history since: %s" % hist)

    # Moderation: a message replaced by a tombstone keeps its id, stamp and place.
    d = u0.iq("set", "<retract xmlns='urn:myna:test:archive' id='%s'/>" % ids[2], to=r1)
    M.expect(d.get("type") == "result", "replace: %s" % M.show(d))
    d = u0.iq("set", "<retract xmlns='urn:myna:test:archive' id='nope'/>", to=r1)
    M.expect_error(d, "item-not-found", "replacing an unknown id")
    again = A.query(u0, to=r1, set_xml=A.rsm(max_=100))
    M.expect(again.ids == ids and again.results[2][1] == r.results[2][1] and
             again.bodies[2] is None and again.bodies[3] == "lobby 03" and
             again.results[2][2].find("{urn:xmpp:message-retract:1}retracted") is not None,
             "after replace: %s" % again.bodies[:4])

    # get (service version 2): one message by id, with its id and stamp.
    g = u0.iq("get", "<get xmlns='urn:myna:test:archive' id='%s'/>" % ids[4], to=r1)
    ge = g.find(M.q("urn:myna:test:archive", "get"))
    M.expect(g.get("type") == "result" and ge.get("id") == ids[4] and
             int(ge.get("stamp")) == stamp_ms(r.results[4][1]) and
             ge.find(M.q(M.C, "message")).findtext(M.q(M.C, "body")) == "lobby 04",
             "get: %s" % M.show(g))
    g = u0.iq("get", "<get xmlns='urn:myna:test:archive' id='%s'/>" % ids[4], to=r2)
    M.expect_error(g, "item-not-found", "get of another room's id")

    # import (version 2): original times kept where the order allows, never in the future.
    u2 = M.connect("u02", "c")  # its own archive keeps the chat commands
    r3 = room("imported")
    t0 = int(time.time() * 1000) - 3600 * 1000
    before = int(time.time() * 1000)
    for body in ("import %d old one" % t0, "import %d older still" % (t0 - 60000)):
        u2.send("<message to='%s' type='chat'><body>%s</body></message>" % (r3, body))
    say(u2, r3, "live")
    u2.send("<message to='%s' type='chat'><body>import %d from the future</body></message>"
            % (r3, before + 3600 * 1000))
    M.barrier(u0)
    after = int(time.time() * 1000)
    imp = reflected(M.drain(u2), r3)
    q3 = A.query(u2, to=r3)
    st3 = [stamp_ms(s) for _, s, _ in q3.results]
    M.expect(q3.bodies == ["old one", "older still", "live", "from the future"] and
             q3.ids == [i for _, i in imp] and st3[0] == t0 and st3[1] == t0 and
             before <= st3[2] <= st3[3] <= after + 1000,
             "import: %s %s (t0 %d, now %d..%d)" % (q3.bodies, st3, t0, before, after))
    u2.close()

    # Rooms are separate archives; removal takes one room only.
    q2 = A.query(u0, to=r2)
    M.expect(q2.bodies == ["quiet 0", "quiet 1"], "second room: %s" % q2.bodies)
    A.expect_error(A.query(u0, {"after-id": ids[0]}, to=r2), "item-not-found",
                   "another room's id")
    d = u0.iq("set", "<destroy xmlns='urn:myna:test:archive'/>", to=r1)
    M.expect(d.get("type") == "result", "remove: %s" % M.show(d))
    gone = A.query(u0, to=r1)
    M.expect(not gone.results and gone.count == 0, "room archive after remove: %s" % gone.bodies)
    M.expect(A.query(u0, to=r2).bodies == ["quiet 0", "quiet 1"], "remove took the other room")
    # Groupchat traffic stays out of the users' own archives (XEP-0313 §5.1.1).
    M.expect(not A.query(u0).results, "groupchat in the sender's archive: %s"
             % A.query(u0).bodies)
    M.expect([b.split()[0] for b in A.query(u1).bodies] == ["history", "history"],
             "u1's archive holds its two chat messages to the room only: %s"
             % A.query(u1).bodies)
    u0.close(), u1.close()


def stamp_ms(stamp):
    import datetime
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1000))


if __name__ == "__main__":
    raise SystemExit(M.run([("service", service)]))
