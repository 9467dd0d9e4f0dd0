"""tests/modules/test_slixmpp_mam.py — the message archive through slixmpp's XEP-0313
plugin (Debian's python3-slixmpp): 500 chat messages, alternating between two contacts in
two bursts a second apart, then the plugin's iterate() forward (RSM after, with, start/end),
iterate(reverse=True) and retrieve() with RSM before (backward paging), the extended fields
(before_id, after_id, ids), get_fields() and get_archive_metadata(); every result set is
checked against the full archive, with count/index and the ids the recipients received.
(slixmpp 1.8's iterate(reverse=True) would stop after one page if backward pages carried
an RSM index: its stop test ignores the direction; Myna leaves the index out of them.)
"""
import asyncio
import datetime
import os
import ssl
import sys

import slixmpp

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 30
N = 500
BURST = N // 2
NS_SID = "urn:xmpp:sid:0"


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), USERS[user])
        self.ready = asyncio.Event()
        self.received = []  # (body, stanza-id by this account) of each chat message
        self.ssl_context = ssl.create_default_context(cafile=CA)
        for p in ("xep_0030", "xep_0059", "xep_0297", "xep_0313", "xep_0004"):
            self.register_plugin(p)
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _event):
        await self.get_roster()
        self.send_presence()
        self.ready.set()

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            sid = [e.get("id") for e in msg.xml.findall("{%s}stanza-id" % NS_SID)
                   if e.get("by") == self.boundjid.bare]
            self.received.append((msg["body"], sid))


async def connect(user, resource):
    c = Client(user, resource)
    c.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
    await asyncio.wait_for(c.ready.wait(), WAIT)
    return c


async def until(pred, what, seconds=WAIT):
    for _ in range(int(seconds / 0.1)):
        if pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out: " + what)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def rows(iq):
    """(archive id, body, stamp) of each result a retrieve() collected."""
    out = []
    for m in iq["mam"]["results"]:
        fwd = m["mam_result"]["forwarded"]
        out.append((m["mam_result"]["id"], fwd["stanza"]["body"], fwd["delay"]["stamp"]))
    return out


def fin_rsm(iq):
    s = iq["mam_fin"]["rsm"]
    count = int(s["count"]) if s["count"] else None
    index = int(s["first_index"]) if s["first_index"] not in (None, "") else None
    # slixmpp's Fin stanza has no 'complete' interface: read the attribute.
    return s["first"], s["last"], count, index, iq["mam_fin"].xml.get("complete") == "true"


async def retrieve(c, rsm=None, **kw):
    iq = c["xep_0313"].retrieve(jid=c.boundjid.bare, rsm=rsm or {}, **kw)
    return await asyncio.wait_for(iq, WAIT)


async def iterate(c, amount=50, **kw):
    out = []
    async for m in c["xep_0313"].iterate(jid=c.boundjid.bare, rsm={"max": amount}, **kw):
        fwd = m["mam_result"]["forwarded"]
        out.append((m["mam_result"]["id"], fwd["stanza"]["body"], fwd["delay"]["stamp"]))
    return out


async def scenario():
    a = await connect("u43", "sli")
    b = await connect("u44", "sli")
    c = await connect("u45", "sli")
    aj, bj, cj = a.boundjid.bare, b.boundjid.bare, c.boundjid.bare
    sent = []
    for i in range(N):
        if i == BURST:
            # The first burst is archived (delivery waits for the archive's commit) a whole
            # second before the second one starts, however slow the machine.
            await until(lambda: len(b.received) + len(c.received) == BURST,
                        "first burst delivered (b %d, c %d)"
                        % (len(b.received), len(c.received)))
            await asyncio.sleep(1.3)
        to = bj if i % 2 == 0 else cj
        sent.append("m%03d" % i)
        a.send_message(mto=to, mbody=sent[-1], mtype="chat")
    await until(lambda: len(b.received) == BURST and len(c.received) == BURST,
                "500 messages delivered (b %d, c %d)" % (len(b.received), len(c.received)))
    try:
        everything = await iterate(a, amount=60)
        check([r[1] for r in everything] == sent, "iterate forward: %d results" % len(everything))
        ids = [r[0] for r in everything]
        stamps = [r[2] for r in everything]
        check(len(set(ids)) == N and stamps == sorted(stamps), "ids unique, stamps ordered")
        print("PASS: iterate() forward over %d messages" % N, flush=True)

        split = stamps[BURST].replace(microsecond=0)
        late = await iterate(a, start=split)
        check([r[0] for r in late] == ids[BURST:], "start: %d" % len(late))
        early = await iterate(a, end=split - datetime.timedelta(microseconds=1))
        check([r[0] for r in early] == [i for i, t in zip(ids, stamps) if t < split],
              "end: %d" % len(early))
        wb = await iterate(a, with_jid=slixmpp.JID(bj))
        check([r[0] for r in wb] == ids[0::2], "with b: %d" % len(wb))
        wc = await iterate(a, with_jid=slixmpp.JID(cj), start=split)
        check([r[0] for r in wc] == ids[BURST + 1::2], "with c + start: %d" % len(wc))
        print("PASS: start, end, with (iterate)", flush=True)

        # Backward: iterate(reverse=True) asks for the last page (empty <before/>), then
        # <before/> the first of each page; results come newest first.
        back = await iterate(a, amount=45, reverse=True)
        check([r[0] for r in back] == ids[::-1], "iterate reverse: %d results" % len(back))
        wb_back = await iterate(a, amount=30, reverse=True, with_jid=slixmpp.JID(bj))
        check([r[0] for r in wb_back] == ids[0::2][::-1], "reverse with b: %d" % len(wb_back))
        # A client paging back by hand from a known message, with retrieve().
        iq = await retrieve(a, rsm={"max": 45, "before": ids[100]})
        first, last, count, index, complete = fin_rsm(iq)
        check([r[0] for r in rows(iq)] == ids[55:100] and first == ids[55] and
              last == ids[99] and count == N and not complete, "RSM before: %s"
              % [first, last, count, complete])
        iq = await retrieve(a, rsm={"max": 45, "before": ids[30]})
        check([r[0] for r in rows(iq)] == ids[:30] and fin_rsm(iq)[4], "first page backward")
        print("PASS: backward paging (iterate reverse, RSM before)", flush=True)

        iq = await retrieve(a, rsm={"max": 10, "after": ids[200]})
        first, last, count, index, complete = fin_rsm(iq)
        check([r[0] for r in rows(iq)] == ids[201:211] and first == ids[201] and
              last == ids[210] and index == 201 and not complete, "RSM after")

        # Extended fields through the plugin's stanza interfaces.
        iq = a.make_iq_set(ito=aj)
        iq["mam"]["queryid"] = iq["id"]
        iq["mam"]["after_id"] = ids[9]
        iq["mam"]["before_id"] = ids[20]
        collected = []
        handler = slixmpp.xmlstream.handler.Callback(
            "mam-ext", slixmpp.xmlstream.matcher.MatchXPath(
                "{jabber:client}message/{urn:xmpp:mam:2}result"),
            lambda m: collected.append(m["mam_result"]["id"]))
        a.register_handler(handler)
        res = await iq.send(timeout=WAIT)
        check(collected == ids[10:20] and fin_rsm(res)[4], "after_id/before_id: %s" % collected)
        collected.clear()
        iq = a.make_iq_set(ito=aj)
        iq["mam"]["queryid"] = iq["id"]
        iq["mam"]["ids"] = [ids[300], ids[5]]
        await iq.send(timeout=WAIT)
        check(collected == [ids[5], ids[300]], "ids: %s" % collected)
        a.remove_handler("mam-ext")
        print("PASS: after_id, before_id, ids", flush=True)

        form = await a["xep_0313"].get_fields(jid=slixmpp.JID(aj))
        fields = form.get_fields()
        check({"with", "start", "end", "before-id", "after-id", "ids"} <= set(fields),
              "get_fields: %s" % sorted(fields))
        md = await a["xep_0313"].get_archive_metadata(jid=slixmpp.JID(aj))
        check(md["mam_metadata"]["start"]["id"] == ids[0] and
              md["mam_metadata"]["end"]["id"] == ids[-1] and
              md["mam_metadata"]["end"]["timestamp"] == stamps[-1], "metadata: %s" % md)
        print("PASS: get_fields, get_archive_metadata", flush=True)

        # The recipients' archives: their half, under the ids their messages carried.
        for peer, half in ((b, sent[0::2]), (c, sent[1::2])):
            arch = await iterate(peer, amount=100)
            check([r[1] for r in arch] == half, "%s's archive" % peer.boundjid.bare)
            check([r[0] for r in arch] == [s[0] for _, s in peer.received],
                  "%s: archive ids differ from the delivered stanza-ids" % peer.boundjid.bare)
        print("PASS: recipients' archives match the stanza-ids they received", flush=True)
        rc = 0
    except Exception as ex:  # noqa: BLE001
        print("FAIL: slixmpp MAM: %s: %s" % (type(ex).__name__, ex), flush=True)
        rc = 1
    for cl in (a, b, c):
        cl.disconnect()
    await asyncio.sleep(0.5)
    return rc


if __name__ == "__main__":
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        sys.exit(loop.run_until_complete(asyncio.wait_for(scenario(), 200)))
    except asyncio.TimeoutError:
        print("FAIL: timed out")
        sys.exit(1)
