"""tests/modules/mamlib.py — raw-XML helpers for the message archive tests (XEP-0313):
building queries (data form fields, RSM), collecting the result messages a query pushed
before its <fin/>, and sending batches of chat messages with a barrier.
Built on modlib.py (xmpplib streams): every assertion is on what a client received.
"""
from xml.sax.saxutils import escape, quoteattr

import modlib as M

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"
NS_XDATA = "jabber:x:data"


def form(fields):
    """A submit form with FORM_TYPE and `fields` ({var: value or [values]}); None = no form."""
    if fields is None:
        return ""
    out = ["<x xmlns='%s' type='submit'><field var='FORM_TYPE' type='hidden'>"
           "<value>%s</value></field>" % (NS_XDATA, NS_MAM)]
    for var, val in fields.items():
        vals = val if isinstance(val, list) else [val]
        out.append("<field var=%s>%s</field>" % (
            quoteattr(var), "".join("<value>%s</value>" % escape(v) for v in vals)))
    out.append("</x>")
    return "".join(out)


def rsm(max_=None, after=None, before=None, index=None):
    if max_ is None and after is None and before is None and index is None:
        return ""
    out = ["<set xmlns='%s'>" % NS_RSM]
    if max_ is not None:
        out.append("<max>%s</max>" % max_)
    if after is not None:
        out.append("<after>%s</after>" % escape(after))
    if before is not None:
        out.append("<before>%s</before>" % escape(before) if before else "<before/>")
    if index is not None:
        out.append("<index>%s</index>" % index)
    out.append("</set>")
    return "".join(out)


class Result:
    """One query's outcome: results [(archive id, stamp, forwarded <message/>)], the iq."""

    def __init__(self, reply, results):
        self.reply = reply
        self.results = results
        fin = reply.find(M.q(NS_MAM, "fin"))
        self.fin = fin
        st = fin.find(M.q(NS_RSM, "set")) if fin is not None else None
        self.set = st

        def text(name):
            el = st.find(M.q(NS_RSM, name)) if st is not None else None
            return el.text if el is not None else None
        self.first, self.last = text("first"), text("last")
        c = text("count")
        self.count = int(c) if c is not None else None
        f = st.find(M.q(NS_RSM, "first")) if st is not None else None
        self.index = int(f.get("index")) if f is not None and f.get("index") else None
        self.complete = fin is not None and fin.get("complete") in ("true", "1")
        self.stable = fin.get("stable") if fin is not None else None

    @property
    def ids(self):
        return [r[0] for r in self.results]

    @property
    def bodies(self):
        out = []
        for _, _, m in self.results:
            b = m.find(M.q(M.C, "body"))
            out.append(b.text if b is not None else None)
        return out


def query(s, fields=None, set_xml="", queryid="q1", to=None, extra=""):
    """Sends a MAM query; returns the iq reply and the results that came before it."""
    qid = " queryid=%s" % quoteattr(queryid) if queryid is not None else ""
    r = s.iq("set", "<query xmlns='%s'%s>%s%s%s</query>" % (NS_MAM, qid, form(fields), set_xml,
                                                           extra), to=to)
    results, rest = [], []
    for el in s.pending:
        res = el.find(M.q(NS_MAM, "result")) if el.tag == M.q(M.C, "message") else None
        if res is None:
            rest.append(el)
            continue
        M.expect(res.get("queryid") == (queryid if queryid is not None else None),
                 "result without our queryid echoed: %s" % M.show(el))
        fwd = res.find(M.q(NS_FORWARD, "forwarded"))
        M.expect(fwd is not None, "result without <forwarded/>: %s" % M.show(el))
        delay = fwd.find(M.q(NS_DELAY, "delay"))
        M.expect(delay is not None and delay.get("stamp"), "result without delay: %s" % M.show(el))
        msg = fwd.find(M.q(M.C, "message"))
        M.expect(msg is not None, "result without the message: %s" % M.show(el))
        results.append((res.get("id"), delay.get("stamp"), msg))
    s.pending = rest
    if r.get("type") == "result":
        return Result(r, results)
    M.expect(not results, "results pushed before an error: %s" % M.show(r))
    return Result(r, [])


def expect_error(res, cond, what):
    M.expect_error(res.reply, cond, what)


def send_chats(s, to, bodies, type_="chat", extra=""):
    for b in bodies:
        s.send("<message to='%s' type='%s'><body>%s</body>%s</message>" % (to, type_, escape(b),
                                                                         extra))
    M.barrier(s)


def stanza_ids(msg, by=None):
    return [(e.get("by"), e.get("id")) for e in msg.findall(M.q(NS_SID, "stanza-id"))
            if by is None or e.get("by") == by]


def all_results(s, fields=None, page=50):
    """Every result of a query, paging forward with RSM after; [(id, stamp, message)]."""
    out, after = [], None
    while True:
        r = query(s, fields, rsm(max_=page, after=after))
        M.expect(r.reply.get("type") == "result", "paging failed: %s" % M.show(r.reply))
        out += r.results
        if r.complete or not r.results:
            return out
        after = r.last
