"""tests/modules/test_nbxmpp_mam.py — the message archive as Gajim's library sees it:
python3-nbxmpp clients on a GLib loop (the runner and Peer of test_nbxmpp_roster.py).
One account sends 500 chat messages, alternating between two contacts, in two bursts
a second apart. Then, with nbxmpp's own MAM module as Gajim uses it (make_query: start,
end, with, RSM after and max), the archive is synced forward page by page; for what
make_query does not offer (RSM before and the last page, before-id, after-id, ids, index,
flip-page) the query is built the way nbxmpp builds its own (SimpleDataForm, create_field,
an RSM <set/>) and parsed with nbxmpp's parse_rsm. Results are read from nbxmpp's parsed
message properties (properties.mam: archive id, queryid, archive JID, delay timestamp).
Every page's contents, order, first/last/count/index and complete flag are checked against
the full archive; unknown ids must come back as item-not-found.
"""
import datetime
import sys
import uuid

import test_nbxmpp_roster as R
from nbxmpp.errors import StanzaError  # noqa: E402
from nbxmpp.modules.dataforms import SimpleDataForm, create_field  # noqa: E402
from nbxmpp.modules.rsm import parse_rsm  # noqa: E402
from nbxmpp.namespaces import Namespace  # noqa: E402
from nbxmpp.protocol import Iq, Node  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402

wait, sleep, call, expect, Fail = R.wait, R.sleep, R.call, R.expect, R.Fail
N = 500
BURST = N // 2
PAGE = 70  # Gajim's page size


class Archivist(R.Peer):
    """A Peer that also keeps every MAM result it receives, by queryid."""

    def __init__(self, user, resource):
        super().__init__(user, resource)
        self.mam = {}  # queryid -> [(archive id, epoch stamp, body, to, from, archive JID)]
        # Gajim reads archive results after nbxmpp's parsers (priority 51 there too).
        self.client.register_handler(StanzaHandler(name="message", callback=self._mam_result,
                                                   priority=51))

    def _mam_result(self, _client, stanza, props):
        if not props.is_mam_message:
            return
        m = props.mam
        self.mam.setdefault(m.query_id, []).append(
            (m.id, m.timestamp, props.body, str(stanza.getTo()), str(stanza.getFrom()),
             str(m.archive)))


def gajim_query(p, **kw):
    """One make_query page as Gajim sends it; yields (MAMQueryData, results)."""
    qid = str(uuid.uuid4())
    box = yield from call(p.client.get_module("MAM").make_query, p.bare(), queryid=qid, **kw)
    data = R.ok(box, "make_query %s" % kw)
    return data, p.mam.pop(qid, [])


def gajim_sync(p, **kw):
    """Gajim's archive sync: pages of 70 with RSM after until fin complete."""
    out, after, pages = [], None, 0
    while True:
        data, res = yield from gajim_query(p, after=after, max_=PAGE, **kw)
        pages += 1
        if res:
            expect(data.rsm.first == res[0][0] and data.rsm.last == res[-1][0],
                   "page %d: first/last %s/%s vs results" % (pages, data.rsm.first,
                                                            data.rsm.last))
        out += res
        if data.complete:
            return out, data
        expect(len(res) == PAGE, "page %d short (%d) without complete" % (pages, len(res)))
        after = data.rsm.last


def ext_query(p, fields=None, rsm=None, flip=False):
    """A query nbxmpp's make_query cannot express, built as nbxmpp builds its own; yields
    (reply iq, fin, RSMData, results). `rsm`: {'max', 'after', 'before', 'index'}; an empty
    before string asks for the last page."""
    qid = str(uuid.uuid4())
    iq = Iq(typ="set", to=p.bare(), queryNS=Namespace.MAM_2)
    iq.getQuery().setAttr("queryid", qid)
    form = [create_field(typ="hidden", var="FORM_TYPE", value=Namespace.MAM_2)]
    for var, value in (fields or {}).items():
        if isinstance(value, list):
            f = create_field(typ="list-multi", var=var, options=[])
            f.values = value
        else:
            f = create_field(typ="text-single", var=var, value=value)
        form.append(f)
    payload = [SimpleDataForm(type_="submit", fields=form)]
    if rsm:
        s = Node("set", attrs={"xmlns": Namespace.RSM})
        for k in ("max", "after", "index"):
            if k in rsm:
                s.setTagData(k, rsm[k])
        if "before" in rsm:
            s.addChild("before").setData(rsm["before"])
        payload.append(s)
    if flip:
        payload.append(Node("flip-page", attrs={"xmlns": Namespace.MAM_2}))
    iq.setQueryPayload(payload)
    box = {}
    p.client.send_stanza(iq, callback=lambda _c, stanza: box.__setitem__("r", stanza))
    yield wait(lambda: "r" in box, "reply to an extended query")
    r = box["r"]
    if r.getType() == "error":
        return r, None, None, []
    fin = r.getTag("fin", namespace=Namespace.MAM_2)
    expect(fin is not None, "no fin: %s" % r)
    return r, fin, parse_rsm(fin), p.mam.pop(qid, [])


def ext_sync(p, fields):
    """Forward paging (RSM after, pages of 70) of an extended query; yields (results, fin)."""
    out, after = [], None
    while True:
        rsm = {"max": PAGE}
        if after:
            rsm["after"] = after
        r, fin, data, res = yield from ext_query(p, fields, rsm)
        expect(fin is not None, "query %s failed: %s" % (fields, r))
        out += res
        if fin.getAttr("complete") == "true":
            return out, fin
        after = data.last


def count_of(fin):
    """<count/> of the fin's RSM set (nbxmpp parses it, but not first's index)."""
    s = fin.getTag("set", namespace=Namespace.RSM)
    return int(s.getTagData("count")) if s.getTagData("count") else None


def index_of(fin):
    first = fin.getTag("set", namespace=Namespace.RSM).getTag("first")
    return int(first.getAttr("index")) if first is not None and first.getAttr("index") else None


def ids(res):
    return [r[0] for r in res]


def passed(msg):
    R.passed(msg)


def scenario():
    a, b, c = Archivist("u40", "gajim"), R.Peer("u41", "gajim"), R.Peer("u42", "gajim")
    try:
        for p in (a, b, c):
            yield from R.login(p)
        aj, bj, cj = a.bare(), b.bare(), c.bare()
        sent = []
        for i in range(N):
            if i == BURST:
                # The two bursts are in different seconds: the first is archived (delivery
                # waits for the archive's commit) before the pause, however slow the machine.
                yield wait(lambda: len(b.messages) + len(c.messages) >= BURST,
                           "first burst delivered", 60)
                yield sleep(1.3)
            to = bj if i % 2 == 0 else cj
            body = "message %03d to %s" % (i, to.split("@")[0])
            sent.append((to, body))
            a.send_chat(to, body)
        yield wait(lambda: len(b.messages) >= BURST and len(c.messages) >= BURST,
                   "500 messages delivered", 60)

        # Gajim's sync: the whole archive, forward, 70 at a time.
        everything, fin = yield from gajim_sync(a)
        expect([r[2] for r in everything] == [s[1] for s in sent],
               "forward sync: %d results, order %s" % (len(everything), [r[2] for r in
                                                                        everything[:3]]))
        expect(len(set(ids(everything))) == N, "archive ids not unique")
        expect(all(r[5] == aj for r in everything), "results not from the own archive")
        expect(all(r[3] == to for r, (to, _) in zip(everything, sent)),
               "forwarded messages' to: %s" % everything[0][3])
        stamps = [r[1] for r in everything]
        expect(stamps == sorted(stamps), "stamps go backwards")
        expect(fin.rsm.count == N, "count %s" % fin.rsm.count)
        passed("Gajim forward sync: %d messages in order, unique ids, count %d"
               % (N, fin.rsm.count))
        all_ids = ids(everything)
        pos = {i: n for n, i in enumerate(all_ids)}

        # start/end with nbxmpp's second-precision datetimes.
        split = datetime.datetime.utcfromtimestamp(int(stamps[BURST]))
        later, _ = yield from gajim_sync(a, start=split)
        expect(ids(later) == all_ids[BURST:], "start=%s: %d results" % (split, len(later)))
        end = split  # inclusive: the first burst, and any of the second stamped exactly then
        earlier, _ = yield from gajim_sync(a, end=end)
        want = [i for i, t in zip(all_ids, stamps) if t <= end.replace(
            tzinfo=datetime.timezone.utc).timestamp()]
        expect(ids(earlier) == want and set(all_ids[:BURST]) <= set(want),
               "end=%s: %d results, expected %d" % (end, len(earlier), len(want)))
        both, _ = yield from gajim_sync(a, start=split, end=split + datetime.timedelta(days=1))
        expect(ids(both) == all_ids[BURST:], "start+end: %d" % len(both))
        passed("start/end (second precision): %d after, %d before the split"
               % (len(later), len(earlier)))

        # with, alone and with start (nbxmpp 4.2's make_query cannot send 'with': its
        # jid-single field breaks in create_field, so the field goes in a query built here).
        with_b, fin = yield from ext_sync(a, {"with": bj})
        expect(ids(with_b) == all_ids[0::2] and count_of(fin) == BURST,
               "with b: %d results, count %s" % (len(with_b), count_of(fin)))
        with_c_late, _ = yield from ext_sync(
            a, {"with": cj, "start": split.strftime("%Y-%m-%dT%H:%M:%SZ")})
        expect(ids(with_c_late) == all_ids[BURST + 1::2], "with c + start: %d"
               % len(with_c_late))
        passed("with: %d for b, %d for c after the split" % (len(with_b), len(with_c_late)))

        # Backward: the last page (empty <before/>), then <before/> the first of each page.
        collected, before, pages = [], "", 0
        while True:
            r, fin, rsm, res = yield from ext_query(a, rsm={"max": PAGE, "before": before})
            expect(fin is not None, "backward page failed: %s" % r)
            pages += 1
            collected = res + collected
            expect(index_of(fin) is None and count_of(fin) == N,
                   "backward page %d: index %s count %s" % (pages, index_of(fin),
                                                            count_of(fin)))
            if fin.getAttr("complete") == "true":
                break
            before = rsm.first
        expect(ids(collected) == all_ids and pages == -(-N // PAGE),
               "backward paging: %d pages, %d results" % (pages, len(collected)))
        passed("backward paging from the last page: %d pages" % pages)

        # Backward with a filter: the last page of 'with b' before the split.
        r, fin, rsm, res = yield from ext_query(
            a, {"with": bj, "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")},
            {"max": 10, "before": ""})
        want_b = [i for i in want if pos[i] % 2 == 0]
        expect(ids(res) == want_b[-10:] and count_of(fin) == len(want_b),
               "with+end last page: %s" % len(res))

        # after-id / before-id (extended), with RSM inside that range.
        lo, hi = all_ids[99], all_ids[400]
        r, fin, rsm, res = yield from ext_query(a, {"after-id": lo, "before-id": hi},
                                                {"max": 1000})
        expect(ids(res) == all_ids[100:350] and fin.getAttr("complete") != "true" and
               count_of(fin) == 300 and index_of(fin) == 0,
               "after-id/before-id, max 1000 capped at 250: %d results" % len(res))
        r, fin, rsm2, res2 = yield from ext_query(a, {"after-id": lo, "before-id": hi},
                                                  {"max": 1000, "after": rsm.last})
        expect(ids(res2) == all_ids[350:400] and fin.getAttr("complete") == "true" and
               index_of(fin) == 250, "after-id/before-id, second page: %d" % len(res2))
        res = res + res2
        passed("after-id + before-id: %d results" % len(res))
        r, fin, rsm, res = yield from ext_query(a, {"after-id": lo, "before-id": hi},
                                                {"max": 50, "before": ""})
        expect(ids(res) == all_ids[350:400] and count_of(fin) == 300,
               "after-id/before-id, last page: %d" % len(res))
        r, fin, rsm, res = yield from ext_query(a, {"before-id": all_ids[10]})
        expect(ids(res) == all_ids[:10] and fin.getAttr("complete") == "true",
               "before-id alone: %d" % len(res))

        # ids: any order in, archive order out; with a filter they intersect.
        pick = [all_ids[i] for i in (420, 3, 250, 77, 3)]
        r, fin, rsm, res = yield from ext_query(a, {"ids": pick})
        expect(ids(res) == [all_ids[i] for i in (3, 77, 250, 420)] and count_of(fin) == 4,
               "ids: %s" % [pos.get(i) for i in ids(res)])
        r, fin, rsm, res = yield from ext_query(a, {"ids": pick, "with": cj})
        expect(ids(res) == [all_ids[i] for i in (3, 77)], "ids + with c: %s"
               % [pos.get(i) for i in ids(res)])
        passed("ids: single-item retrieval in archive order, intersected with 'with'")

        # RSM index and flip-page.
        r, fin, rsm, res = yield from ext_query(a, rsm={"max": 25, "index": 300})
        expect(ids(res) == all_ids[300:325] and index_of(fin) == 300, "index 300: %s"
               % index_of(fin))
        r, fin, rsm, res = yield from ext_query(a, rsm={"max": 5, "before": ""}, flip=True)
        expect(ids(res) == all_ids[-5:][::-1], "flip-page")
        r, fin, rsm, res = yield from ext_query(a, {"with": cj}, {"max": 0})
        expect(not res and count_of(fin) == BURST, "max 0: count only")
        passed("RSM index, flip-page, max 0")

        # Errors, through nbxmpp's own request: an unknown RSM after.
        qid = str(uuid.uuid4())
        box = yield from call(a.client.get_module("MAM").make_query, aj, queryid=qid,
                              after="not-an-archive-id", max_=PAGE)
        err = box.get("error")
        expect(isinstance(err, StanzaError) and err.condition == "item-not-found",
               "unknown after: %r" % err)
        r, fin, rsm, res = yield from ext_query(a, {"after-id": "AAAAAAAAAAAAAAAAAAAAAA"})
        expect(r.getType() == "error" and r.getError() == "item-not-found",
               "unknown after-id: %s" % r)
        r, fin, rsm, res = yield from ext_query(a, {"start": "tomorrow"})
        expect(r.getType() == "error" and r.getError() == "bad-request", "bad start: %s" % r)
        expect(not a.mam, "results pushed for failed queries: %s" % list(a.mam))
        passed("item-not-found for unknown ids, bad-request for a bad date")

        # The contacts' archives hold their halves, with the ids their messages carried.
        b_arch = Archivist("u41", "second")
        yield from R.login(b_arch, initial_presence=False)
        got, fin = yield from gajim_sync(b_arch)
        expect([r[2] for r in got] == [s[1] for s in sent if s[0] == bj],
               "b's archive: %d" % len(got))
        passed("the recipient's archive: %d incoming messages" % len(got))
        yield from R.logout(b_arch)
    finally:
        for p in (a, b, c):
            p.closing = True
            if p.connected and not p.gone:
                p.client.disconnect()


if __name__ == "__main__":
    print("# nbxmpp %s" % getattr(R.nbxmpp, "__version__", "?"), flush=True)
    R.drive(scenario())
    R.GLib.timeout_add_seconds(170, lambda: (R.outcome.__setitem__(
        "error", Fail("scenario did not finish in 170 s")), R.loop.quit()))
    R.loop.run()
    ctx = R.GLib.MainContext.default()
    end = R.time.monotonic() + 0.5
    while R.time.monotonic() < end:
        ctx.iteration(False)
        R.time.sleep(0.01)
    if R.outcome["error"] is not None:
        print("FAIL: %s" % R.outcome["error"], flush=True)
        sys.exit(1)
    sys.exit(0 if R.outcome["done"] else 1)
