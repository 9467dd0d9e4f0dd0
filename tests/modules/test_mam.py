"""tests/modules/test_mam.py — the message archive (XEP-0313 urn:xmpp:mam:2 + #extended,
XEP-0359 stanza ids, XEP-0441 preferences) seen on the wire, with raw XML: what is archived
(both directions, offline recipients, XEP-0334 hints), the stanza-id delivered and on
carbons (three resources), forged stanza-ids stripped and origin-id kept, RSM paging both
ways with index/count/complete, every form filter, the form and metadata queries, the
errors the XEPs prescribe, preferences, and deletion of the archive with the account.
Run by mam.sh (modules mam, offline, carbons; roster and blocking from modharness.py).
"""
import os
import subprocess

import mamlib as A
import modlib as M

NS_CARBONS = "urn:xmpp:carbons:2"
NS_DISCO = "http://jabber.org/protocol/disco#info"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"


def msgs(els):
    return [e for e in els if e.tag == M.q(M.C, "message") and
            e.find(M.q(M.C, "body")) is not None]


def body(m):
    b = m.find(M.q(M.C, "body"))
    return b.text if b is not None else None


def features():
    s = M.connect("u00", "f")
    r = s.iq("get", "<query xmlns='%s'/>" % NS_DISCO, to=M.jid("u00"))
    feats = {f.get("var") for f in r.iter(M.q(NS_DISCO, "feature"))}
    for f in (A.NS_MAM, A.NS_MAM + "#extended", A.NS_SID):
        M.expect(f in feats, "account disco#info lacks %s: %s" % (f, sorted(feats)))
    # §4.1.5: the form lists the fields, FORM_TYPE first, none required, ids open.
    r = s.iq("get", "<query xmlns='%s'/>" % A.NS_MAM)
    M.expect(r.get("type") == "result", "form request: %s" % M.show(r))
    x = r.find("%s/%s" % (M.q(A.NS_MAM, "query"), M.q(A.NS_XDATA, "x")))
    M.expect(x is not None and x.get("type") == "form", "no form: %s" % M.show(r))
    fields = {f.get("var"): f for f in x.findall(M.q(A.NS_XDATA, "field"))}
    for var, typ in (("FORM_TYPE", "hidden"), ("with", "jid-single"), ("start", "text-single"),
                     ("end", "text-single"), ("before-id", "text-single"),
                     ("after-id", "text-single"), ("ids", "list-multi")):
        M.expect(var in fields and fields[var].get("type") == typ,
                 "form field %s (%s): %s" % (var, typ, M.show(x)))
    M.expect(fields["FORM_TYPE"].find(M.q(A.NS_XDATA, "value")).text == A.NS_MAM,
             "FORM_TYPE value")
    M.expect(fields["ids"].find(".//{http://jabber.org/protocol/xdata-validate}open") is not None,
             "ids not an open list: %s" % M.show(fields["ids"]))
    M.expect(not x.findall(".//" + M.q(A.NS_XDATA, "required")), "a field marked required")
    s.close()


def both_directions():
    a, b = M.connect("u01", "a"), M.connect("u02", "b")
    aj, bj = M.jid("u01"), M.jid("u02")
    a.send("<message to='%s' type='chat' id='m1'><body>hello</body>"
           "<origin-id xmlns='%s' id='orig-1'/></message>" % (bj, A.NS_SID))
    A.send_chats(a, bj, ["how are you"], type_="normal")
    M.barrier(b)
    got = msgs(M.drain(b))
    M.expect([body(m) for m in got] == ["hello", "how are you"], "b got %s" % got)
    sids = [A.stanza_ids(m) for m in got]
    M.expect(all(len(x) == 1 and x[0][0] == bj and x[0][1] for x in sids),
             "each delivered message carries one stanza-id by the recipient: %s" % sids)
    M.expect(got[0].find(M.q(A.NS_SID, "origin-id")).get("id") == "orig-1", "origin-id lost")
    A.send_chats(b, aj, ["fine"])
    M.barrier(a)
    reply = msgs(M.drain(a))
    M.expect(len(reply) == 1 and A.stanza_ids(reply[0]) == [(aj, A.stanza_ids(reply[0])[0][1])],
             "a's incoming stanza-id: %s" % [M.show(m) for m in reply])

    ra = A.query(a)
    M.expect(ra.bodies == ["hello", "how are you", "fine"], "a's archive: %s" % ra.bodies)
    M.expect(ra.complete and ra.count == 3 and ra.index == 0 and ra.stable in (None, "true"),
             "a's fin: %s" % M.show(ra.reply))
    M.expect(ra.first == ra.ids[0] and ra.last == ra.ids[-1], "first/last: %s" % M.show(ra.reply))
    out = ra.results[0][2]
    M.expect(out.get("from") == aj + "/a" and out.get("to") == bj and out.get("type") == "chat",
             "a's copy of its own message: %s" % M.show(out))
    M.expect(out.find(M.q(A.NS_SID, "origin-id")) is not None, "archived without origin-id")
    M.expect(ra.results[2][2].get("from") == bj + "/b", "incoming from: %s"
             % M.show(ra.results[2][2]))
    M.expect(ra.ids[2] == A.stanza_ids(reply[0])[0][1], "a's archive id differs from the "
             "stanza-id a received: %s vs %s" % (ra.ids[2], A.stanza_ids(reply[0])))
    rb = A.query(b)
    M.expect(rb.bodies == ["hello", "how are you", "fine"], "b's archive: %s" % rb.bodies)
    M.expect(rb.ids[:2] == [x[0][1] for x in sids], "b's ids are the delivered stanza-ids")
    M.expect(len(set(ra.ids) | set(rb.ids)) == 6, "ids not unique")
    for _, stamp, _ in ra.results:
        M.expect(len(stamp) >= 20 and stamp[10] == "T" and stamp.endswith("Z"),
                 "stamp not XEP-0082: %s" % stamp)
    # The result wrapper comes from the account's bare JID.
    a.send("<iq type='set' id='raw1'><query xmlns='%s' queryid='raw'/></iq>" % A.NS_MAM)
    el = a.wait_for(lambda e: e.tag == M.q(M.C, "message"), what="a result message")
    M.expect(el.get("from") in (None, aj), "result from %s" % el.get("from"))
    a.wait_for(lambda e: e.get("id") == "raw1", what="fin")
    M.drain(a)
    a.close(), b.close()


def forged_stanza_ids():
    a, b = M.connect("u03", "a"), M.connect("u04", "b")
    aj, bj = M.jid("u03"), M.jid("u04")
    a.send("<message to='%s' type='chat'><body>forged</body>"
           "<stanza-id xmlns='%s' by='%s' id='forged-b'/>"
           "<stanza-id xmlns='%s' by='%s' id='forged-a'/>"
           "<stanza-id xmlns='%s' by='room@elsewhere.example' id='keep'/>"
           "<stanza-id xmlns='%s' by='%s' id='forged-server'/>"
           "<stanza-id xmlns='%s' id='no-by'/>"
           "<origin-id xmlns='%s' id='o-1'/></message>"
           % (bj, A.NS_SID, bj, A.NS_SID, aj, A.NS_SID, A.NS_SID, M.D, A.NS_SID, A.NS_SID))
    M.barrier(a, b)
    got = msgs(M.drain(b))
    M.expect(len(got) == 1, "b got %s" % got)
    ids = A.stanza_ids(got[0])
    mine = [i for by, i in ids if by == bj]
    M.expect(len(mine) == 1 and mine[0] != "forged-b", "b's stanza-id: %s" % ids)
    M.expect(not [i for by, i in ids if by == aj], "a's (forged) id reached b: %s" % ids)
    M.expect(("room@elsewhere.example", "keep") in ids, "foreign stanza-id dropped: %s" % ids)
    M.expect(not [i for by, i in ids if by in (M.D, None)],
             "a stanza-id by the server (or without 'by') reached b: %s" % ids)
    M.expect(got[0].find(M.q(A.NS_SID, "origin-id")) is not None, "origin-id dropped")
    rb = A.query(b)
    M.expect(rb.ids == mine, "b's archive id %s, delivered %s" % (rb.ids, mine))
    stored = A.stanza_ids(rb.results[0][2])
    M.expect(not [i for by, i in stored if by in (aj, bj)], "forged ids archived: %s" % stored)
    ra = A.query(a)
    M.expect(len(ra.results) == 1 and not A.stanza_ids(ra.results[0][2], by=aj),
             "a's archive kept the forged id: %s" % M.show(ra.results[0][2]))
    a.close(), b.close()


def hints_and_types():
    a, b = M.connect("u05", "a"), M.connect("u06", "b")
    bj = M.jid("u06")
    for x in ("<body>no-store</body><no-store xmlns='urn:xmpp:hints'/>",
              "<body>no-permanent</body><no-permanent-store xmlns='urn:xmpp:hints'/>",
              "<active xmlns='%s'/>" % NS_CHATSTATES,
              "<request xmlns='urn:xmpp:receipts'/>"):
        a.send("<message to='%s' type='chat'>%s</message>" % (bj, x))
    a.send("<message to='%s' type='headline'><body>headline</body></message>" % bj)
    a.send("<message to='%s' type='chat'><store xmlns='urn:xmpp:hints'/>"
           "<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/></message>" % bj)
    a.send("<message to='%s'><body>normal</body></message>" % bj)
    a.send("<message to='%s' type='error'><body>err</body><error type='cancel'>"
           "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>" % bj)
    M.barrier(a, b)
    M.drain(b)
    for s, who in ((a, "sender"), (b, "recipient")):
        r = A.query(s)
        M.expect(r.bodies == [None, "normal"], "%s's archive: %s" % (who, r.bodies))
        M.expect(r.results[0][2].find("{urn:xmpp:chat-markers:0}displayed") is not None,
                 "the <store/> message: %s" % M.show(r.results[0][2]))
    a.close(), b.close()


def offline_recipient():
    a = M.connect("u07", "a")
    cj = M.jid("u08")
    A.send_chats(a, cj, ["while you were out 1", "while you were out 2"])
    errs = [e for e in M.drain(a) if e.get("type") == "error"]
    M.expect(not errs, "sender got errors: %s" % [M.show(e) for e in errs])
    c = M.connect("u08", "late")
    got = msgs(M.drain(c))
    M.expect([body(m) for m in got] == ["while you were out 1", "while you were out 2"],
             "offline delivery: %s" % [M.show(m) for m in got])
    r = A.query(c)
    M.expect(r.bodies == ["while you were out 1", "while you were out 2"],
             "offline recipient's archive: %s" % r.bodies)
    delivered = [A.stanza_ids(m, by=cj) for m in got]
    M.expect([d[0][1] for d in delivered if d] == r.ids,
             "offline messages carry the archive ids: %s vs %s" % (delivered, r.ids))
    a.close(), c.close()


def enable_carbons(s):
    r = s.iq("set", "<enable xmlns='%s'/>" % NS_CARBONS)
    M.expect(r.get("type") == "result", "carbons enable: %s" % M.show(r))


def carbon_copies(els, what):
    out = []
    for el in els:
        w = el.find(M.q(NS_CARBONS, what))
        if el.tag == M.q(M.C, "message") and w is not None:
            out.append(w.find("%s/%s" % (M.q(A.NS_FORWARD, "forwarded"), M.q(M.C, "message"))))
    return out


def carbons_three_resources():
    a1, a2, a3 = M.connect("u09", "one"), M.connect("u09", "two"), M.connect("u09", "three")
    b = M.connect("u10", "b")
    aj, bj = M.jid("u09"), M.jid("u10")
    for s in (a1, a2, a3):
        enable_carbons(s)
    M.drain(a1), M.drain(a2), M.drain(a3)
    A.send_chats(a1, bj, ["sent by one"])
    M.barrier(b, a2, a3)
    sent = [carbon_copies(M.drain(s), "sent") for s in (a2, a3)]
    M.expect(all(len(x) == 1 for x in sent), "sent carbons: %s" % sent)
    sids = [A.stanza_ids(x[0], by=aj) for x in sent]
    M.expect(len(sids[0]) == 1 and sids[0] == sids[1], "sent carbons' stanza-ids: %s" % sids)
    got_b = msgs(M.drain(b))
    M.expect(not A.stanza_ids(got_b[0], by=aj), "the sender's archive id went to the contact")
    # To the bare JID, equal priorities: all three get the message itself.
    A.send_chats(b, aj, ["to the bare JID"])
    M.barrier(a1, a2, a3)
    direct = [msgs(M.drain(s)) for s in (a1, a2, a3)]
    ids2 = [A.stanza_ids(x[0], by=aj) for x in direct if len(x) == 1]
    M.expect(len(ids2) == 3 and ids2[0] == ids2[1] == ids2[2] and len(ids2[0]) == 1,
             "bare-JID delivery stanza-ids: %s" % ids2)
    # To one full JID: the other two get received carbons with the same id.
    b.send("<message to='%s/one' type='chat'><body>to one</body></message>" % aj)
    M.barrier(b, a1, a2, a3)
    one = msgs(M.drain(a1))
    rec = [carbon_copies(M.drain(s), "received") for s in (a2, a3)]
    M.expect(len(one) == 1 and all(len(x) == 1 for x in rec), "to one: %s %s" % (one, rec))
    ids3 = [A.stanza_ids(one[0], by=aj)] + [A.stanza_ids(x[0], by=aj) for x in rec]
    M.expect(len(ids3[0]) == 1 and ids3[0] == ids3[1] == ids3[2],
             "received carbons' stanza-ids: %s" % ids3)
    r = A.query(a2)
    M.expect(r.bodies == ["sent by one", "to the bare JID", "to one"], "archive: %s" % r.bodies)
    M.expect(r.ids == [sids[0][0][1], ids2[0][0][1], ids3[0][0][1]],
             "archive ids %s vs seen %s" % (r.ids, (sids, ids2, ids3)))
    for s in (a1, a2, a3, b):
        s.close()


def fill(a, to_list, n, prefix="m"):
    """a sends n chat messages round-robin to to_list; returns the bodies in order."""
    bodies = []
    for i in range(n):
        to = to_list[i % len(to_list)]
        bodies.append("%s%03d" % (prefix, i))
        a.send("<message to='%s' type='chat'><body>%s</body></message>" % (to, bodies[-1]))
    M.barrier(a)
    return bodies


def paging():
    a = M.connect("u11", "a")
    bodies = fill(a, [M.jid("u12")], 30)
    everything = A.query(a, set_xml=A.rsm(max_=100))
    M.expect(everything.bodies == bodies and everything.complete and everything.count == 30,
             "all 30: %s" % M.show(everything.reply))
    ids = everything.ids
    # Forward pages of 7 with <after/>.
    seen, after, pages = [], None, 0
    while True:
        r = A.query(a, set_xml=A.rsm(max_=7, after=after))
        pages += 1
        M.expect(r.count == 30 and r.index == len(seen), "page %d: index %s count %s"
                 % (pages, r.index, r.count))
        seen += r.ids
        M.expect(r.first == r.ids[0] and r.last == r.ids[-1], "first/last of page %d" % pages)
        if r.complete:
            break
        M.expect(len(r.ids) == 7, "short page without complete")
        after = r.last
    M.expect(seen == ids and pages == 5, "forward paging: %d pages, %s" % (pages, seen == ids))
    # Backward from the end (empty <before/>), pages of 7, each in chronological order.
    seen, before, pages = [], "", 0
    while True:
        r = A.query(a, set_xml=A.rsm(max_=7, before=before))
        pages += 1
        seen = r.ids + seen
        # No index on backward pages (slixmpp 1.8 would stop paging, see query.c).
        M.expect(r.index is None and r.count == 30,
                 "backward page %d: index %s" % (pages, r.index))
        if r.complete:
            break
        before = r.first
    M.expect(seen == ids and pages == 5, "backward paging: %d pages" % pages)
    last = A.query(a, set_xml=A.rsm(max_=3, before=""))
    M.expect(last.ids == ids[-3:] and not last.complete and last.count == 30,
             "last page: %s" % M.show(last.reply))
    flipped = A.query(a, set_xml=A.rsm(max_=3, before=""), extra="<flip-page/>")
    M.expect(flipped.ids == ids[-3:][::-1], "flip-page order: %s" % flipped.ids)
    M.expect(flipped.first == ids[-3] and flipped.last == ids[-1], "flip-page first/last")
    at = A.query(a, set_xml=A.rsm(max_=4, index=10))
    M.expect(at.ids == ids[10:14] and at.index == 10, "RSM index: %s" % at.index)
    count = A.query(a, set_xml=A.rsm(max_=0))
    M.expect(not count.results and count.count == 30 and not count.complete and
             count.first is None, "max 0 (count only): %s" % M.show(count.reply))
    dflt = A.query(a)
    M.expect(dflt.ids == ids and dflt.complete, "no <set/>: the default page holds 30")
    big = A.query(a, set_xml=A.rsm(max_=100000))
    M.expect(big.ids == ids and big.complete, "huge max is capped, not refused")
    both = A.query(a, set_xml=A.rsm(max_=50, after=ids[3], before=ids[8]))
    M.expect(both.ids == ids[4:8], "RSM after+before: %s" % both.ids)
    a.close()


def filters():
    a = M.connect("u13", "a")
    b, c = M.jid("u14"), M.jid("u15")
    bodies = fill(a, [b, c], 20)
    cs = M.connect("u15", "c")
    A.send_chats(cs, M.jid("u13"), ["from c"])
    a.send("<message to='%s/other' type='chat'><body>to myself</body></message>" % M.jid("u13"))
    M.barrier(a)
    M.drain(a)
    all_ = A.query(a, set_xml=A.rsm(max_=100))
    ids, stamps = all_.ids, [r[1] for r in all_.results]
    M.expect(all_.bodies == bodies + ["from c", "to myself"], "all: %s" % all_.bodies)
    wb = A.query(a, {"with": b}, A.rsm(max_=100))
    M.expect(wb.bodies == bodies[0::2] and wb.count == 10 and wb.complete,
             "with b: %s" % wb.bodies)
    wc = A.query(a, {"with": c}, A.rsm(max_=4))
    M.expect(wc.bodies == bodies[1::2][:4] and wc.count == 11 and not wc.complete,
             "with c, first page: %s %s" % (wc.bodies, wc.count))
    wc2 = A.query(a, {"with": c}, A.rsm(max_=4, before=""))
    M.expect(wc2.bodies == bodies[1::2][-3:] + ["from c"] and wc2.count == 11,
             "with c, last page: %s count %s" % (wc2.bodies, wc2.count))
    full = A.query(a, {"with": c + "/c"}, A.rsm(max_=100))
    M.expect(full.bodies == ["from c"], "with a full JID: %s" % full.bodies)
    me = A.query(a, {"with": M.jid("u13")}, A.rsm(max_=100))
    M.expect(me.bodies == ["to myself"], "with the own JID: %s" % me.bodies)
    after = A.query(a, {"after-id": ids[4]}, A.rsm(max_=100))
    M.expect(after.ids == ids[5:] and after.count == len(ids) - 5, "after-id: %s" % after.count)
    before = A.query(a, {"before-id": ids[4]}, A.rsm(max_=100))
    M.expect(before.ids == ids[:4], "before-id: %s" % before.ids)
    between = A.query(a, {"after-id": ids[2], "before-id": ids[9], "with": b}, A.rsm(max_=100))
    M.expect(between.bodies == [bodies[i] for i in (4, 6, 8)], "between + with: %s"
             % between.bodies)
    pick = [ids[7], ids[2], ids[16], ids[2]]
    got = A.query(a, {"ids": pick})
    M.expect(got.ids == [ids[2], ids[7], ids[16]] and got.count == 3 and got.complete,
             "ids: %s" % got.ids)
    got = A.query(a, {"ids": pick, "with": b})
    M.expect(got.ids == [ids[2], ids[16]], "ids + with b: %s" % got.ids)
    # start/end are inclusive, on the archive stamps; an offset time zone is understood.
    s, e = stamps[5], stamps[12]
    rng = A.query(a, {"start": s, "end": e}, A.rsm(max_=100))
    expected = [i for i, st in zip(ids, stamps) if s <= st <= e]
    M.expect(rng.ids == expected and ids[5] in expected and ids[12] in expected,
             "start/end: %s vs %s" % (rng.ids, expected))
    far = A.query(a, {"start": "2999-01-01T00:00:00Z"})
    M.expect(not far.results and far.complete and far.count == 0 and far.first is None,
             "start in the future: %s" % M.show(far.reply))
    old = A.query(a, {"end": "2000-01-01T01:00:00+01:00"})
    M.expect(not old.results and old.complete, "end in the past")
    tz = A.query(a, {"start": "1999-12-31T23:00:00.5-01:00"}, A.rsm(max_=100))
    M.expect(tz.ids == ids, "start with an offset and a fraction")
    old_start = A.query(a, {"start": "1901-01-01T00:00:00Z", "end": "2999-12-31T23:59:60Z"},
                        A.rsm(max_=100))
    M.expect(old_start.ids == ids, "a start before 1970 and a leap-second end: %s"
             % M.show(old_start.reply))
    md = a.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM)
    st, en = md.find(".//" + M.q(A.NS_MAM, "start")), md.find(".//" + M.q(A.NS_MAM, "end"))
    M.expect(st is not None and st.get("id") == ids[0] and st.get("timestamp") == stamps[0] and
             en.get("id") == ids[-1] and en.get("timestamp") == stamps[-1],
             "metadata: %s" % M.show(md))
    empty = M.connect("u16", "e")
    md = empty.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM)
    M.expect(md.get("type") == "result" and len(md.find(M.q(A.NS_MAM, "metadata"))) == 0,
             "empty archive metadata: %s" % M.show(md))
    a.close(), cs.close(), empty.close()


def errors():
    a, o = M.connect("u17", "a"), M.connect("u18", "o")
    fill(a, [M.jid("u18")], 3)
    mine = A.query(a).ids
    theirs = A.query(o).ids  # o's archive holds the same messages under other ids
    cases = [
        ("unknown after-id", {"after-id": "AAAAAAAAAAAAAAAAAAAAAA"}, "", "item-not-found"),
        ("garbage before-id", {"before-id": "not an id"}, "", "item-not-found"),
        ("an id of another archive", {"ids": [theirs[0]]}, "", "item-not-found"),
        ("one unknown of several ids", {"ids": [mine[0], "zzzz"]}, "", "item-not-found"),
        ("RSM after unknown", None, A.rsm(max_=5, after="nope"), "item-not-found"),
        ("RSM before unknown", None, A.rsm(max_=5, before=theirs[1]), "item-not-found"),
        ("bad start", {"start": "yesterday"}, "", "bad-request"),
        ("bad end (month 13)", {"end": "2020-13-01T00:00:00Z"}, "", "bad-request"),
        ("end without zone", {"end": "2020-01-01T00:00:00"}, "", "bad-request"),
        ("February 30", {"start": "2021-02-30T00:00:00Z"}, "", "bad-request"),
        ("hour 24", {"start": "2021-02-01T24:00:00Z"}, "", "bad-request"),
        ("fraction without digits", {"start": "2021-02-01T10:00:00.Z"}, "", "bad-request"),
        ("junk after the zone", {"start": "2021-02-01T10:00:00Zx"}, "", "bad-request"),
        ("empty start", {"start": ""}, "", "bad-request"),
        ("malformed with", {"with": "a@b@c"}, "", "bad-request"),
        ("unknown field", {"{urn:example}color": "blue"}, "", "feature-not-implemented"),
        ("max not a number", None, A.rsm(max_="ten"), "bad-request"),
        ("negative max", None, A.rsm(max_="-1"), "bad-request"),
        ("too many ids", {"ids": ["x%d" % i for i in range(251)]}, "", "policy-violation"),
    ]
    for what, fields, set_xml, cond in cases:
        r = A.query(a, fields, set_xml)
        A.expect_error(r, cond, what)
    bad_type = a.iq("set", "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'>"
                    "<field var='FORM_TYPE'><value>urn:example</value></field></x></query>"
                    % A.NS_MAM)
    M.expect_error(bad_type, "bad-request", "wrong FORM_TYPE")
    form_type = a.iq("set", "<query xmlns='%s'><x xmlns='jabber:x:data' type='form'/></query>"
                     % A.NS_MAM)
    M.expect_error(form_type, "bad-request", "a form of type 'form'")
    twice = a.iq("set", "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'>"
                 "<field var='start'><value>2020-01-01T00:00:00Z</value></field>"
                 "<field var='start'><value>2021-01-01T00:00:00Z</value></field></x></query>"
                 % A.NS_MAM)
    M.expect_error(twice, "bad-request", "a field twice")
    # §8.1: only the account itself reads its archive.
    for payload, what in (("<query xmlns='%s'/>" % A.NS_MAM, "query get"),
                          ("<metadata xmlns='%s'/>" % A.NS_MAM, "metadata"),
                          ("<prefs xmlns='%s'/>" % A.NS_MAM, "prefs")):
        r = a.iq("get", payload, to=M.jid("u18"))
        M.expect_error(r, "forbidden", "someone else's %s" % what)
    r = A.query(a, to=M.jid("u18"))
    A.expect_error(r, "forbidden", "query of someone else's archive")
    M.expect(not [e for e in M.drain(o) if e.find(M.q(A.NS_MAM, "result")) is not None],
             "results leaked to the archive's owner")
    # After all these the archive still answers normally.
    M.expect(A.query(a).ids == mine, "archive changed by refused queries")
    a.close(), o.close()


def prefs():
    a = M.connect("u19", "a")
    b, c, d = M.jid("u20"), M.jid("u21"), M.jid("u22")
    r = a.iq("get", "<prefs xmlns='%s'/>" % A.NS_MAM)
    p = r.find(M.q(A.NS_MAM, "prefs"))
    M.expect(p is not None and p.get("default") == "always" and
             p.find(M.q(A.NS_MAM, "always")) is not None and
             p.find(M.q(A.NS_MAM, "never")) is not None, "default prefs: %s" % M.show(r))

    def set_prefs(default, always=(), never=()):
        x = "<prefs xmlns='%s' default='%s'><always>%s</always><never>%s</never></prefs>" % (
            A.NS_MAM, default, "".join("<jid>%s</jid>" % j for j in always),
            "".join("<jid>%s</jid>" % j for j in never))
        r = a.iq("set", x)
        M.expect(r.get("type") == "result", "prefs set: %s" % M.show(r))
        return r.find(M.q(A.NS_MAM, "prefs"))

    p = set_prefs("never", always=[b, c], never=[c])
    M.expect([j.text for j in p.find(M.q(A.NS_MAM, "always"))] == [b] and
             [j.text for j in p.find(M.q(A.NS_MAM, "never"))] == [c],
             "a JID in both lists is 'never': %s" % M.show(p))
    A.send_chats(a, b, ["to b (always)"])
    A.send_chats(a, c, ["to c (never)"])
    A.send_chats(a, d, ["to d (default never)"])
    M.expect(A.query(a).bodies == ["to b (always)"], "default never: %s" % A.query(a).bodies)
    set_prefs("always", never=[d + "/phone"])
    ds = M.connect("u22", "phone")
    dl = M.connect("u22", "laptop")
    A.send_chats(ds, M.jid("u19"), ["from d's phone (never)"])
    A.send_chats(dl, M.jid("u19"), ["from d's laptop"])
    M.barrier(a)
    M.drain(a)
    got = A.query(a).bodies
    M.expect(got == ["to b (always)", "from d's laptop"], "full-JID never: %s" % got)
    # roster: only contacts are archived (both directions), the account itself too.
    r = M.roster_set(a, "<item jid='%s'/>" % b)
    M.expect(r.get("type") == "result", "roster set")
    set_prefs("roster")
    A.send_chats(a, b, ["to contact b"])
    A.send_chats(a, c, ["to stranger c"])
    A.send_chats(dl, M.jid("u19"), ["from stranger d"])
    a.send("<message to='%s' type='chat'><body>note to self</body></message>" % M.jid("u19"))
    M.barrier(a)
    M.drain(a)
    got = A.query(a).bodies
    M.expect(got[2:] == ["to contact b", "note to self"], "roster default: %s" % got)
    r = a.iq("set", "<prefs xmlns='%s' default='sometimes'/>" % A.NS_MAM)
    M.expect_error(r, "bad-request", "unknown default")
    r = a.iq("set", "<prefs xmlns='%s' default='always'><always><jid>a@b@c</jid></always>"
             "</prefs>" % A.NS_MAM)
    M.expect_error(r, ["jid-malformed", "bad-request"], "malformed JID in prefs")
    r = a.iq("get", "<prefs xmlns='%s'/>" % A.NS_MAM)
    M.expect(r.find(M.q(A.NS_MAM, "prefs")).get("default") == "roster",
             "refused sets changed the prefs: %s" % M.show(r))
    # The recipient's own preferences decide for its archive: c archives by default.
    cs = M.connect("u21", "c")
    M.expect(A.query(cs).bodies == ["to c (never)", "to stranger c"],
             "the recipient's archive follows its own prefs: %s" % A.query(cs).bodies)
    for s in (a, ds, dl, cs):
        s.close()


def mynactl(*args):
    e = os.environ
    prog = e.get("MYNACTL") or os.path.join(e.get("E2E_BUILDDIR", os.getcwd()), "mynactl")
    conf = os.path.join(e["E2E_TMPDIR"], "myna.conf")
    r = subprocess.run([prog, "-c", conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    M.expect(r.returncode == 0, "mynactl %s: %s" % (" ".join(args), r.stdout.decode()))


def user_deletion():
    a = M.connect("u23", "a")
    A.send_chats(a, M.jid("u24"), ["before deletion %d" % i for i in range(5)])
    a.send("<iq type='set' id='p1'><prefs xmlns='%s' default='never'/></iq>" % A.NS_MAM)
    M.barrier(a)
    old = A.query(a).ids
    M.expect(len(old) == 5, "archived before deletion: %d" % len(old))
    mynactl("deluser", M.jid("u23"))
    mynactl("adduser", M.jid("u23"), M.PW["u23"])
    a = M.connect("u23", "again")
    r = A.query(a)
    M.expect(not r.results and r.count == 0, "archive survived the account: %s" % r.bodies)
    r = a.iq("get", "<prefs xmlns='%s'/>" % A.NS_MAM)
    M.expect(r.find(M.q(A.NS_MAM, "prefs")).get("default") == "always",
             "preferences survived the account: %s" % M.show(r))
    A.expect_error(A.query(a, {"after-id": old[0]}), "item-not-found", "an old id")
    a.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("features", features),
        ("both_directions", both_directions),
        ("forged_stanza_ids", forged_stanza_ids),
        ("hints_and_types", hints_and_types),
        ("offline_recipient", offline_recipient),
        ("carbons_three_resources", carbons_three_resources),
        ("paging", paging),
        ("filters", filters),
        ("errors", errors),
        ("prefs", prefs),
        ("user_deletion", user_deletion)]))
