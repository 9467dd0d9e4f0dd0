"""tests/modules/muclib.py — helpers for the MUC tests (XEP-0045): joining and reading the
join sequence, status codes and items of room presence, room configuration forms, and
room names that never repeat within one server run."""
import itertools

import modlib as M

MUC = "conference." + M.D
NS_MUC = "http://jabber.org/protocol/muc"
NS_USER = NS_MUC + "#user"
NS_ADMIN = NS_MUC + "#admin"
NS_OWNER = NS_MUC + "#owner"
NS_DATA = "jabber:x:data"
NS_SID = "urn:xmpp:sid:0"
NS_OID = "urn:xmpp:occupant-id:0"
NS_DELAY = "urn:xmpp:delay"
C = M.C
_count = itertools.count()


def new_room(prefix="room"):
    return "%s%d@%s" % (prefix, next(_count), MUC)


def codes(el):
    x = el.find(M.q(NS_USER, "x"))
    return set() if x is None else {int(s.get("code")) for s in x.findall(M.q(NS_USER, "status"))}


def item(el):
    x = el.find(M.q(NS_USER, "x"))
    it = None if x is None else x.find(M.q(NS_USER, "item"))
    return {} if it is None else dict(it.attrib)


def is_pres(el, frm=None, type_=None):
    return M.is_presence(el, type_) and (frm is None or el.get("from") == frm)


def is_subject(el, room):
    return (el.tag == M.q(C, "message") and el.find(M.q(C, "subject")) is not None and
            el.get("from", "").split("/")[0] == room and el.find(M.q(C, "body")) is None)


def join_raw(s, room, nick, inner="", x=True):
    xml = "<x xmlns='%s'>%s</x>" % (NS_MUC, inner) if x else ""
    s.send("<presence to='%s/%s'>%s</presence>" % (room, nick, xml))


def join(s, room, nick, inner="", x=True):
    """Joins; returns every stanza of the join sequence up to and including the subject."""
    join_raw(s, room, nick, inner, x)
    out = []
    while True:
        el = s.next()
        out.append(el)
        if el.tag == M.q(C, "presence") and el.get("type") == "error":
            raise M.Fail("%s: join %s/%s refused: %s" % (s.name, room, nick, M.show(el)))
        if is_subject(el, room):
            return out


def join_error(s, room, nick, inner="", x=True):
    join_raw(s, room, nick, inner, x)
    el = s.wait_for(lambda e: e.tag == M.q(C, "presence") and e.get("from", "").startswith(room),
                    what="presence from %s" % room)
    M.expect(el.get("type") == "error", "%s: expected a join error, got %s" % (s.name, M.show(el)))
    return M.error_condition(el)


def self_presence(seq):
    for el in seq:
        if el.tag == M.q(C, "presence") and 110 in codes(el):
            return el
    raise M.Fail("no self-presence in %s" % [M.show(e) for e in seq])


def form(fields, type_="submit", form_type=NS_MUC + "#roomconfig"):
    out = "<x xmlns='%s' type='%s'>" % (NS_DATA, type_)
    if form_type:
        out += ("<field var='FORM_TYPE' type='hidden'><value>%s</value></field>" % form_type)
    for var, val in fields.items():
        vals = val if isinstance(val, list) else [val]
        out += "<field var='%s'>%s</field>" % (var, "".join("<value>%s</value>" % v for v in vals))
    return out + "</x>"


def configure(s, room, fields=None, type_="submit"):
    return s.iq("set", "<query xmlns='%s'>%s</query>" % (NS_OWNER, form(fields or {}, type_)),
                room)


def create(s, room, nick, fields=None):
    """Creates a room (201), configures it (instant when fields is None), returns the
    join sequence."""
    seq = join(s, room, nick)
    me = self_presence(seq)
    M.expect(201 in codes(me) and 110 in codes(me), "created: %s" % M.show(me))
    r = configure(s, room, fields)
    M.expect(r.get("type") == "result", "configure %s: %s" % (room, M.show(r)))
    M.barrier(s)
    return seq


def admin(s, room, items):
    return s.iq("set", "<query xmlns='%s'>%s</query>" % (NS_ADMIN, items), room)


def groupchat(s, room, body, extra=""):
    s.send("<message to='%s' type='groupchat'><body>%s</body>%s</message>" % (room, body, extra))


def wait_msg(s, body, what=None):
    def pred(e):
        b = e.find(M.q(C, "body")) if e.tag == M.q(C, "message") else None
        return b is not None and b.text == body
    return s.wait_for(pred, what=what or "message %r" % body)


def wait_pres(s, frm, type_=None):
    return s.wait_for(lambda e: is_pres(e, frm, type_),
                      what="presence %s from %s" % (type_ or "available", frm))


def presences(els, room):
    return [e for e in els if e.tag == M.q(C, "presence") and
            e.get("from", "").split("/")[0] == room]
