"""tests/modules/peplib.py — helpers for the publish-subscribe tests on raw XML (modlib):
publish/items/configure requests, pubsub#errors conditions, event notifications, mutual
presence subscriptions, and clients that advertise entity capabilities (XEP-0115): the
ver string is computed here independently (§5.1) and the client answers the server's
disco#info for its caps node, so the server's verification is exercised for real."""
import base64
import hashlib

import modlib as M

X = M.X
NS = "http://jabber.org/protocol/pubsub"
NS_OWNER = NS + "#owner"
NS_EVENT = NS + "#event"
NS_ERRORS = NS + "#errors"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DATA = "jabber:x:data"
CAPS_NODE = "https://myna.test/caps"


def befriend(uname, cname):
    """Makes U and C subscribed to each other's presence (both offline afterwards)."""
    U, C = M.connect(uname, "setup"), M.connect(cname, "setup")
    uj, cj = M.jid(uname), M.jid(cname)
    for typ in ("subscribe", "subscribed"):
        for s, o in ((U, cj), (C, uj)):
            s.send("<presence type='%s' to='%s'/>" % (typ, o))
            M.barrier(s, U, C)
    items, _ = M.roster(U)
    M.expect(M.item_state(items.get(cj)) == ("both", False), "befriend %s %s failed" %
             (uname, cname))
    U.close()
    C.close()


def roster_group(user, contact, group):
    s = M.connect(user, "grp")
    r = M.roster_set(s, "<item jid='%s'><group>%s</group></item>" % (M.jid(contact), group))
    M.expect(r.get("type") == "result", "roster group: %s" % M.show(r))
    s.close()


def options_form(opts, form_type=NS + "#publish-options", typ="submit"):
    fields = "".join("<field var='%s'><value>%s</value></field>" % kv for kv in opts.items())
    return ("<x xmlns='%s' type='%s'><field var='FORM_TYPE' type='hidden'><value>%s</value>"
            "</field>%s</x>" % (NS_DATA, typ, form_type, fields))


def publish(s, node, payload, item_id=None, options=None, to=None):
    idattr = " id='%s'" % item_id if item_id else ""
    opts = "<publish-options>%s</publish-options>" % options_form(options) if options else ""
    return s.iq("set", "<pubsub xmlns='%s'><publish node='%s'><item%s>%s</item></publish>%s"
                "</pubsub>" % (NS, node, idattr, payload, opts), to=to)


def items(s, node, to=None, max_items=None, ids=()):
    mx = " max_items='%d'" % max_items if max_items else ""
    its = "".join("<item id='%s'/>" % i for i in ids)
    return s.iq("get", "<pubsub xmlns='%s'><items node='%s'%s>%s</items></pubsub>"
                % (NS, node, mx, its), to=to)


def item_ids(r):
    return [i.get("id") for i in r.iter(M.q(NS, "item"))]


def owner(s, body, type_="set", to=None):
    return s.iq(type_, "<pubsub xmlns='%s'>%s</pubsub>" % (NS_OWNER, body), to=to)


def config_get(s, node, to=None):
    r = owner(s, "<configure node='%s'/>" % node, "get", to)
    M.expect(r.get("type") == "result", "configure get %s: %s" % (node, M.show(r)))
    out = {}
    for f in r.iter(M.q(NS_DATA, "field")):
        vals = [v.text or "" for v in f.findall(M.q(NS_DATA, "value"))]
        out[f.get("var")] = vals[0] if len(vals) == 1 else vals
    return out


def config_set(s, node, opts, to=None):
    return owner(s, "<configure node='%s'>%s</configure>" %
                 (node, options_form(opts, NS + "#node_config")), to=to)


def app_condition(r):
    err = r.find(M.q(M.C, "error"))
    if err is None:
        return None
    for c in err:
        if c.tag.startswith("{%s}" % NS_ERRORS):
            return c.tag.split("}")[1]
    return None


def expect_error(r, cond, app, what):
    M.expect_error(r, cond, what)
    M.expect(app_condition(r) == app, "%s: pubsub#errors condition %s expected, got %s" %
             (what, app, M.show(r)))


def expect_ok(r, what):
    M.expect(r.get("type") == "result", "%s: %s" % (what, M.show(r)))
    return r


def events(els, node=None):
    """(kind, item-or-retract element, message) of each pubsub event among els."""
    out = []
    for el in els:
        ev = el.find(M.q(NS_EVENT, "event")) if el.tag == M.q(M.C, "message") else None
        if ev is None:
            continue
        for ch in ev:
            kind = ch.tag.split("}")[1]
            if node is not None and ch.get("node") != node:
                continue
            if kind == "items":
                for it in ch:
                    out.append((it.tag.split("}")[1], it, el))
            else:
                out.append((kind, ch, el))
    return out


def is_event(node, kind="item", item_id=None):
    def pred(el):
        for k, it, _ in events([el], node):
            if k == kind and (item_id is None or it.get("id") == item_id):
                return True
        return False
    return pred


# ---- entity capabilities (XEP-0115) ------------------------------------------------------

def caps_ver(identities, features, forms=(), hash_name="sha1"):
    """XEP-0115 §5.1: identities = [(category, type, lang, name)], features = [var],
    forms = [(FORM_TYPE, {var: [values]})]."""
    s = ""
    for i in sorted("%s/%s/%s/%s" % t for t in identities):
        s += i + "<"
    for f in sorted(features):
        s += f + "<"
    for ft, fields in sorted(forms):
        s += ft + "<"
        for var in sorted(fields):
            s += var + "<"
            for v in sorted(fields[var]):
                s += v + "<"
    return base64.b64encode(hashlib.new(hash_name, s.encode("utf-8")).digest()).decode()


def disco_xml(identities, features, node=None, forms=()):
    n = " node='%s'" % node if node else ""
    ids = "".join("<identity category='%s' type='%s'%s%s/>" % (
        c, t, " xml:lang='%s'" % l if l else "", " name='%s'" % nm if nm else "")
        for c, t, l, nm in identities)
    fs = "".join("<feature var='%s'/>" % f for f in features)
    xs = ""
    for ft, fields in forms:
        xs += "<x xmlns='%s' type='result'><field var='FORM_TYPE' type='hidden'><value>%s" \
              "</value></field>" % (NS_DATA, ft)
        for var, vals in fields.items():
            xs += "<field var='%s'>%s</field>" % (var, "".join("<value>%s</value>" % v
                                                               for v in vals))
        xs += "</x>"
    return "<query xmlns='%s'%s>%s%s%s</query>" % (NS_DISCO, n, ids, fs, xs)


class Caps:
    """What a client advertises: identities, features (with NODE+notify) and the ver. Each
    instance gets its own client name, so its ver is new to the server (one disco#info
    request); share an instance to test the shared cache."""
    count = 0

    def __init__(self, notify=(), extra=(), name="peptest", lie_ver=None):
        Caps.count += 1
        self.identities = [("client", "pc", "", "%s-%d" % (name, Caps.count))]
        self.features = sorted(set([NS_DISCO] + ["%s+notify" % n for n in notify] +
                                   list(extra)))
        self.ver = lie_ver or caps_ver(self.identities, self.features)

    def c_element(self):
        return "<c xmlns='%s' hash='sha-1' node='%s' ver='%s'/>" % (NS_CAPS, CAPS_NODE,
                                                                   self.ver)


def is_disco_request(el):
    return (el.tag == M.q(M.C, "iq") and el.get("type") == "get" and
            el.find(M.q(NS_DISCO, "query")) is not None)


def answer_disco(s, caps, timeout=10):
    """Waits for the server's disco#info request about our caps node and answers it."""
    req = s.wait_for(is_disco_request, timeout=timeout, what="disco#info from the server")
    node = req.find(M.q(NS_DISCO, "query")).get("node")
    M.expect(node == "%s#%s" % (CAPS_NODE, caps.ver), "disco#info for node %s" % node)
    s.send("<iq type='result' id='%s' to='%s'>%s</iq>" % (
        req.get("id"), req.get("from"), disco_xml(caps.identities, caps.features, node)))
    return req


def connect_caps(user, resource, caps, expect_disco=True, roster=True):
    """Logs in with caps in the initial presence; answers the server's disco#info if one
    is expected (unknown ver)."""
    s = M.connect(user, resource, roster=roster, presence=False)
    s.send("<presence>%s</presence>" % caps.c_element())
    if expect_disco:
        answer_disco(s, caps)
    M.barrier(s)
    return s


def disco_requests(els):
    return [e for e in els if is_disco_request(e)]
