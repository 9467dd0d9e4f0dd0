"""tests/modules/test_pep.py — PEP (XEP-0163) on raw XML: the account's disco#info
(identity pubsub/pep, features; also for a query without 'to'), publish with auto-create,
items by id and latest-N, retract with notification, filtered notifications through
verified entity capabilities (XEP-0115: the server asks an unknown ver once, caches a
verified answer for everyone and never trusts a lying one), the last item on presence,
access models (presence, open, roster, whitelist), publish-options preconditions
(XEP-0223), node configuration, purge and delete, and every error case of the brief with
its pubsub#errors condition. pep.sh runs it with small quotas (see the limits below)."""
import os
import subprocess

import modlib as M
import peplib as P

# The quotas pep.sh configures (pubsub = { ... }).
MAX_NODES, MAX_ITEMS, MAX_ACCOUNT_ITEMS, MAX_PAYLOAD = 6, 20, 30, 4096
TUNE = "http://jabber.org/protocol/tune"
GEO = "http://jabber.org/protocol/geoloc"


def tune(title):
    return "<tune xmlns='%s'><title>%s</title></tune>" % (TUNE, title)


def account_disco():
    s = M.connect("u00", "r")
    for to in (M.jid("u00"), None):
        r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO, to=to)
        ids = [(i.get("category"), i.get("type")) for i in r.iter(M.q(P.NS_DISCO, "identity"))]
        feats = [f.get("var") for f in r.iter(M.q(P.NS_DISCO, "feature"))]
        M.expect(("account", "registered") in ids and ("pubsub", "pep") in ids and
                 ("server", "im") not in ids, "account identities (to=%s): %s" % (to, ids))
        M.expect(r.get("from") == M.jid("u00"), "answered from %s" % r.get("from"))
        for f in ("publish-options", "auto-create", "config-node-max", "persistent-items",
                  "access-whitelist", "filtered-notifications", "last-published"):
            M.expect(P.NS + "#" + f in feats, "account lacks pubsub#%s (to=%s)" % (f, to))
        for f in ("urn:xmpp:bookmarks:1#compat", "urn:xmpp:bookmarks:1#compat-pep",
                  "urn:xmpp:pep-vcard-conversion:0", "urn:xmpp:bookmarks-conversion:0"):
            M.expect(f in feats, "account lacks %s" % f)
    # XEP-0223 §5: the server itself announces pubsub/pep and publish-options.
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO, to=M.D)
    ids = [(i.get("category"), i.get("type")) for i in r.iter(M.q(P.NS_DISCO, "identity"))]
    feats = [f.get("var") for f in r.iter(M.q(P.NS_DISCO, "feature"))]
    M.expect(("server", "im") in ids and ("pubsub", "pep") in ids, "server ids %s" % ids)
    M.expect(P.NS + "#publish-options" in feats, "server lacks publish-options")
    # disco#items of the account lists its nodes the asker may see (XEP-0163 §6.2).
    P.expect_ok(P.publish(s, TUNE, tune("disco")), "publish")
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO_ITEMS, to=M.jid("u00"))
    nodes = [i.get("node") for i in r.iter(M.q(P.NS_DISCO_ITEMS, "item"))]
    M.expect(TUNE in nodes, "disco#items of the account: %s" % nodes)
    r = s.iq("get", "<query xmlns='%s' node='%s'/>" % (P.NS_DISCO, TUNE), to=M.jid("u00"))
    ids = [(i.get("category"), i.get("type")) for i in r.iter(M.q(P.NS_DISCO, "identity"))]
    M.expect(("pubsub", "leaf") in ids, "node info: %s" % M.show(r))
    o = M.connect("u01", "r")
    r = o.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO_ITEMS, to=M.jid("u00"))
    M.expect(not list(r.iter(M.q(P.NS_DISCO_ITEMS, "item"))),
             "a stranger sees presence-model nodes: %s" % M.show(r))
    s.close(), o.close()


def publish_items_retract():
    caps = P.Caps(notify=[TUNE])
    s = P.connect_caps("u02", "r", caps)
    for i in range(1, 4):
        r = P.expect_ok(P.publish(s, TUNE, tune("t%d" % i), "i%d" % i), "publish %d" % i)
        M.expect(P.item_ids(r) == ["i%d" % i], "publish result names the item: %s" % M.show(r))
    # The default PEP node keeps one item (XEP-0163 §5 smart defaults: max_items 1).
    r = P.items(s, TUNE)
    M.expect(P.item_ids(r) == ["i3"], "items of a singleton node: %s" % M.show(r))
    P.expect_ok(P.config_set(s, TUNE, {"pubsub#max_items": "10"}), "max_items 10")
    for i in range(4, 7):
        P.expect_ok(P.publish(s, TUNE, tune("t%d" % i), "i%d" % i), "publish %d" % i)
    M.expect(P.item_ids(P.items(s, TUNE)) == ["i3", "i4", "i5", "i6"], "all items")
    M.expect(P.item_ids(P.items(s, TUNE, max_items=2)) == ["i5", "i6"], "latest 2")
    r = P.items(s, TUNE, ids=["i4"])
    M.expect(P.item_ids(r) == ["i4"] and r.find(".//{%s}title" % TUNE).text == "t4",
             "item by id: %s" % M.show(r))
    # Republishing an id replaces it (XEP-0060 §7.1.3 note) and makes it the newest.
    P.expect_ok(P.publish(s, TUNE, tune("t4b"), "i4"), "republish")
    M.expect(P.item_ids(P.items(s, TUNE)) == ["i3", "i5", "i6", "i4"], "republished order")
    # Generated ids.
    r = P.expect_ok(P.publish(s, TUNE, tune("anon")), "publish without id")
    M.expect(P.item_ids(r) and P.item_ids(r)[0], "generated id: %s" % M.show(r))
    M.drain(s)
    r = s.iq("set", "<pubsub xmlns='%s'><retract node='%s' notify='true'><item id='i5'/>"
             "</retract></pubsub>" % (P.NS, TUNE))
    P.expect_ok(r, "retract")
    ev = s.wait_for(P.is_event(TUNE, "retract", "i5"), what="retract notification")
    M.expect(ev.get("from") == M.jid("u02"), "notification from the bare JID")
    M.expect("i5" not in P.item_ids(P.items(s, TUNE)), "retracted item still there")
    s.close()


def caps_notifications():
    """Contacts with NODE+notify in verified caps get events; others do not."""
    P.befriend("u03", "u04")
    P.befriend("u03", "u05")
    want = P.Caps(notify=[TUNE])
    b = P.connect_caps("u04", "b", want)
    nope = P.Caps(notify=[GEO])
    c = P.connect_caps("u05", "c", nope)
    scaps = P.Caps(notify=[TUNE])
    stranger = P.connect_caps("u06", "s", scaps)
    # A directed presence from a stranger (caps already verified: no new disco#info) does
    # not admit it to a presence-model node.
    stranger.send("<presence to='%s'>%s</presence>" % (M.jid("u03"), scaps.c_element()))
    a = P.connect_caps("u03", "a", P.Caps(notify=[TUNE]))
    a2 = M.connect("u03", "nocaps")  # an own resource without caps: filtered out
    M.drain(b), M.drain(c), M.drain(a2)
    P.expect_ok(P.publish(a, TUNE, tune("now")), "publish")
    M.barrier(a, b, c, a2, stranger)
    ev = P.events(M.drain(b), TUNE)
    M.expect(len(ev) == 1 and ev[0][0] == "item", "bob's notifications: %s" % ev)
    msg = ev[0][2]
    M.expect(msg.get("from") == M.jid("u03") and msg.get("to") == M.jid("u04") + "/b" and
             msg.get("type") == "headline", "notification addressing: %s" % M.show(msg))
    M.expect(ev[0][1].find(M.q(TUNE, "tune")) is not None, "payload delivered")
    M.expect(not P.events(M.drain(c), TUNE), "a contact without +notify got the event")
    M.expect(not P.events(M.drain(stranger), TUNE), "a stranger got the event")
    M.expect(not P.events(M.drain(a2), TUNE), "own resource without caps got the event")
    M.expect(len(P.events(M.drain(a), TUNE)) == 1, "own resource with +notify: one event")
    for s in (a, a2, b, c, stranger):
        s.close()


def caps_cache():
    """One verified answer serves every account; a wrong ver is never cached."""
    P.befriend("u07", "u08")
    caps = P.Caps(notify=[TUNE])
    first = P.connect_caps("u08", "one", caps)            # asked once
    again = P.connect_caps("u09", "two", caps, expect_disco=False)
    M.expect(not P.disco_requests(M.drain(again)), "a cached ver was asked again")
    # A client whose ver does not match what it answers: asked, not cached, so the next
    # client presenting that ver is asked too (XEP-0115 §5.4).
    liar = P.Caps(notify=[TUNE], lie_ver="bm90IGEgcmVhbCBoYXNoIGF0IGFsbA==")
    l1 = P.connect_caps("u10", "l1", liar)
    l2 = P.connect_caps("u11", "l2", liar)
    # The liar's own features still count for its own JID: its owner's events reach it.
    P.expect_ok(P.publish(l1, TUNE, tune("mine")), "liar publishes")
    l1.wait_for(P.is_event(TUNE), what="own event at an unverified but answered resource")
    # A verified contact of u07 gets u07's events.
    a = M.connect("u07", "a")
    P.expect_ok(P.publish(a, TUNE, tune("cached")), "publish")
    first.wait_for(P.is_event(TUNE), what="event through cached caps")
    for s in (first, again, l1, l2, a):
        s.close()


def last_item_on_presence():
    P.befriend("u12", "u13")
    a = M.connect("u12", "a")
    P.expect_ok(P.publish(a, TUNE, tune("before")), "publish")
    # A contact coming online with +notify gets the last item (XEP-0163 §4.3.4).
    caps = P.Caps(notify=[TUNE])
    b = P.connect_caps("u13", "b", caps)
    ev = b.wait_for(P.is_event(TUNE), what="last item at login")
    M.expect(ev.find(".//{%s}title" % TUNE).text == "before", "last item: %s" % M.show(ev))
    # Later presence with the same caps triggers nothing (§4.3.3).
    b.send("<presence><show>away</show>%s</presence>" % caps.c_element())
    M.barrier(b)
    M.expect(not P.events(M.drain(b), TUNE), "a presence update resent the last item")
    # Caps that now add GEO+notify: only GEO's last item comes.
    P.expect_ok(P.publish(a, GEO, "<geoloc xmlns='%s'><locality>X</locality></geoloc>" % GEO),
                "publish geo")
    more = P.Caps(notify=[TUNE, GEO])
    b.send("<presence>%s</presence>" % more.c_element())
    P.answer_disco(b, more)
    ev = b.wait_for(P.is_event(GEO), what="geo last item after caps change")
    M.barrier(b)
    M.expect(not P.events(M.drain(b), TUNE), "tune resent after a caps change")
    # The owner's new resource gets its own last items too.
    a2 = P.connect_caps("u12", "a2", P.Caps(notify=[TUNE]))
    a2.wait_for(P.is_event(TUNE), what="owner's last item at login")
    for s in (a, a2, b):
        s.close()


def access_models():
    P.befriend("u14", "u15")
    P.befriend("u14", "u16")
    P.roster_group("u14", "u15", "Friends")
    o = M.connect("u14", "o")
    friend, other, stranger = M.connect("u15", "f"), M.connect("u16", "x"), M.connect("u17")
    node = "urn:test:access"
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'/>", "one"), "publish")
    own = M.jid("u14")
    # presence (default): subscribers read, strangers are refused.
    P.expect_ok(P.items(friend, node, to=own), "friend reads a presence node")
    P.expect_error(P.items(stranger, node, to=own), "not-authorized",
                   "presence-subscription-required", "stranger on a presence node")
    # roster: only the allowed groups.
    P.expect_ok(P.config_set(o, node, {"pubsub#access_model": "roster",
                                       "pubsub#roster_groups_allowed": "Friends"}), "roster")
    P.expect_ok(P.items(friend, node, to=own), "friend in group")
    P.expect_error(P.items(other, node, to=own), "not-authorized", "not-in-roster-group",
                   "contact outside the group")
    # whitelist: the owner and members only (XEP-0060 §6.5.9.8).
    P.expect_ok(P.config_set(o, node, {"pubsub#access_model": "whitelist"}), "whitelist")
    P.expect_error(P.items(friend, node, to=own), "not-allowed", "closed-node",
                   "contact on a whitelist node")
    P.expect_error(friend.iq("set", "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/>"
                             "</pubsub>" % (P.NS, node, M.jid("u15")), to=own),
                   "not-allowed", "closed-node", "subscribe to a whitelist node")
    r = P.owner(o, "<affiliations node='%s'><affiliation jid='%s' affiliation='member'/>"
                   "</affiliations>" % (node, M.jid("u15")))
    P.expect_ok(r, "member affiliation")
    P.expect_ok(P.items(friend, node, to=own), "a member reads the whitelist node")
    r = P.owner(o, "<affiliations node='%s'/>" % node, "get")
    affs = {a.get("jid"): a.get("affiliation") for a in r.iter(M.q(P.NS_OWNER, "affiliation"))}
    M.expect(affs.get(own) == "owner" and affs.get(M.jid("u15")) == "member",
             "affiliations: %s" % affs)
    # open: anyone.
    P.expect_ok(P.config_set(o, node, {"pubsub#access_model": "open"}), "open")
    P.expect_ok(P.items(stranger, node, to=own), "stranger on an open node")
    for s in (o, friend, other, stranger):
        s.close()


def publish_options():
    s = M.connect("u18", "r")
    node = "urn:test:options"
    opts = {"pubsub#persist_items": "true", "pubsub#access_model": "whitelist",
            "pubsub#max_items": "max", "pubsub#send_last_published_item": "never"}
    P.expect_ok(P.publish(s, node, "<v xmlns='urn:test'/>", "a", opts), "auto-create + options")
    cfg = P.config_get(s, node)
    M.expect(cfg["pubsub#access_model"] == "whitelist" and
             cfg["pubsub#max_items"] == str(MAX_ITEMS) and
             cfg["pubsub#send_last_published_item"] == "never", "created config: %s" % cfg)
    # Equal options (booleans as 1, max as the limit) publish.
    same = dict(opts, **{"pubsub#persist_items": "1"})
    P.expect_ok(P.publish(s, node, "<v xmlns='urn:test'/>", "b", same), "matching options")
    P.expect_ok(P.publish(s, node, "<v xmlns='urn:test'/>", "c",
                          {"pubsub#max_items": str(MAX_ITEMS)}), "max as a number")
    # A mismatch, an unknown field, an invalid value: conflict + precondition-not-met.
    for bad in ({"pubsub#access_model": "open"}, {"pubsub#no_such_option": "1"},
                {"pubsub#max_items": "many"}):
        P.expect_error(P.publish(s, node, "<v xmlns='urn:test'/>", "d", bad), "conflict",
                       "precondition-not-met", "options %s" % bad)
    M.expect(P.item_ids(P.items(s, node)) == ["a", "b", "c"], "refused publishes stored")
    # Malformed forms: bad-request.
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='%s'><item id='e'><v xmlns='urn:test'/>"
             "</item></publish><publish-options><x xmlns='jabber:x:data'><field var='x'>"
             "<value>1</value></field></x></publish-options></pubsub>" % (P.NS, node))
    M.expect_error(r, "bad-request", "form without a type")
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='%s'><item id='e'><v xmlns='urn:test'/>"
             "</item></publish><publish-options><x xmlns='jabber:x:data' type='submit'>"
             "<field var='FORM_TYPE'><value>urn:wrong</value></field></x></publish-options>"
             "</pubsub>" % (P.NS, node))
    M.expect_error(r, "bad-request", "wrong FORM_TYPE")
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='%s'><item id='e'><v xmlns='urn:test'/>"
             "</item></publish><publish-options><x xmlns='jabber:x:data' type='submit'>"
             "<field var='pubsub#max_items'><value>1</value></field><field "
             "var='pubsub#max_items'><value>2</value></field></x></publish-options></pubsub>"
             % (P.NS, node))
    M.expect_error(r, "bad-request", "a field twice")
    s.close()


def node_configuration():
    s, other = M.connect("u19", "r"), M.connect("u20", "r")
    node = "urn:test:config"
    P.expect_ok(s.iq("set", "<pubsub xmlns='%s'><create node='%s'/><configure>%s</configure>"
                     "</pubsub>" % (P.NS, node, P.options_form(
                         {"pubsub#access_model": "open", "pubsub#title": "Conf"},
                         P.NS + "#node_config")), ), "create and configure")
    cfg = P.config_get(s, node)
    M.expect(cfg["pubsub#access_model"] == "open" and cfg["pubsub#title"] == "Conf",
             "config: %s" % cfg)
    r = s.iq("set", "<pubsub xmlns='%s'><create node='%s'/></pubsub>" % (P.NS, node))
    M.expect_error(r, "conflict", "create an existing node")
    r = P.config_set(s, node, {"pubsub#access_model": "bogus"})
    M.expect_error(r, "not-acceptable", "invalid access model")
    r = P.config_set(s, node, {"pubsub#unknown": "1"})
    M.expect_error(r, "not-acceptable", "unknown config field")
    r = P.owner(s, "<configure node='%s'><x xmlns='jabber:x:data' type='cancel'/></configure>"
                % node)
    P.expect_ok(r, "cancel")
    r = P.owner(other, "<configure node='%s'/>" % node, "get", to=M.jid("u19"))
    M.expect_error(r, "forbidden", "configure another account's node")
    r = P.owner(s, "<default/>", "get")
    vals = {f.get("var"): f.findtext(M.q(P.NS_DATA, "value"))
            for f in r.iter(M.q(P.NS_DATA, "field"))}
    M.expect(vals.get("pubsub#access_model") == "presence" and
             vals.get("pubsub#send_last_published_item") == "on_sub_and_presence",
             "PEP defaults (XEP-0163 §5): %s" % vals)
    r = P.owner(s, "<configure/>", "get")
    P.expect_error(r, "bad-request", "nodeid-required", "configure without node")
    s.close(), other.close()


def purge_and_delete():
    caps = P.Caps(notify=[TUNE])
    s = P.connect_caps("u21", "r", caps)
    P.expect_ok(P.publish(s, TUNE, tune("x"), "x"), "publish")
    M.drain(s)
    P.expect_ok(P.owner(s, "<purge node='%s'/>" % TUNE), "purge")
    s.wait_for(P.is_event(TUNE, "purge"), what="purge notification")
    M.expect(P.item_ids(P.items(s, TUNE)) == [], "items after purge")
    P.expect_ok(P.owner(s, "<delete node='%s'/>" % TUNE), "delete")
    s.wait_for(P.is_event(TUNE, "delete"), what="delete notification")
    M.expect_error(P.items(s, TUNE), "item-not-found", "items of a deleted node")
    M.expect_error(P.owner(s, "<delete node='%s'/>" % TUNE), "item-not-found",
                   "delete twice")
    s.close()


def explicit_subscription():
    """XEP-0163 §5: subscribe/unsubscribe on a PEP node, notifications to the JID."""
    o, sub = M.connect("u22", "o"), M.connect("u23", "s")
    node = "urn:test:explicit"
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'>1</v>", "1",
                          {"pubsub#access_model": "open"}), "publish")
    r = sub.iq("set", "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/></pubsub>" % (
        P.NS, node, M.jid("u23") + "/s"), to=M.jid("u22"))
    P.expect_ok(r, "subscribe")
    el = r.find(".//{%s}subscription" % P.NS)
    M.expect(el is not None and el.get("subscription") == "subscribed" and el.get("subid"),
             "subscription result: %s" % M.show(r))
    sub.wait_for(P.is_event(node, "item", "1"), what="last item after subscribing")
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'>2</v>", "2"), "publish 2")
    sub.wait_for(P.is_event(node, "item", "2"), what="event to the subscriber")
    r = sub.iq("get", "<pubsub xmlns='%s'><subscriptions/></pubsub>" % P.NS, to=M.jid("u22"))
    subs = [(x.get("node"), x.get("jid")) for x in r.iter(M.q(P.NS, "subscription"))]
    M.expect((node, M.jid("u23") + "/s") in subs, "my subscriptions: %s" % subs)
    r = P.owner(o, "<subscriptions node='%s'/>" % node, "get")
    M.expect(M.jid("u23") + "/s" in [x.get("jid") for x in r.iter(M.q(P.NS_OWNER,
                                                                   "subscription"))],
             "owner's subscription list: %s" % M.show(r))
    r = sub.iq("set", "<pubsub xmlns='%s'><unsubscribe node='%s' jid='%s'/></pubsub>" % (
        P.NS, node, M.jid("u23") + "/s"), to=M.jid("u22"))
    P.expect_ok(r, "unsubscribe")
    r = sub.iq("set", "<pubsub xmlns='%s'><unsubscribe node='%s' jid='%s'/></pubsub>" % (
        P.NS, node, M.jid("u23") + "/s"), to=M.jid("u22"))
    P.expect_error(r, "unexpected-request", "not-subscribed", "unsubscribe twice")
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'>3</v>", "3"), "publish 3")
    M.barrier(o, sub)
    M.expect(not P.events(M.drain(sub), node), "event after unsubscribing")
    o.close(), sub.close()


def bad_input_and_limits():
    s, other = M.connect("u24", "r"), M.connect("u25", "r")
    own = M.jid("u24")
    # Payload too big (XEP-0060 §7.1.3.5).
    big = "<v xmlns='urn:test'>%s</v>" % ("x" * (MAX_PAYLOAD + 10))
    P.expect_error(P.publish(s, "urn:test:big", big), "not-acceptable", "payload-too-big",
                   "oversize item")
    # Publishing to another account's PEP (XEP-0163 §2.2).
    M.expect_error(P.publish(other, "urn:test:x", "<v xmlns='urn:test'/>", to=own),
                   "forbidden", "publish to another account")
    P.expect_ok(P.publish(s, "urn:test:x", "<v xmlns='urn:test'/>"), "own publish")
    M.expect_error(P.publish(other, "urn:test:x", "<v xmlns='urn:test'/>", to=own),
                   "forbidden", "publish to another account's existing node")
    # Malformed requests.
    r = s.iq("set", "<pubsub xmlns='%s'><publish><item/></publish></pubsub>" % P.NS)
    P.expect_error(r, "bad-request", "nodeid-required", "publish without node")
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='urn:test:y'/></pubsub>" % P.NS)
    P.expect_error(r, "bad-request", "item-required", "publish without item")
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='urn:test:y'><item><a xmlns='urn:a'/>"
             "<b xmlns='urn:b'/></item></publish></pubsub>" % P.NS)
    P.expect_error(r, "bad-request", "invalid-payload", "two payloads")
    r = s.iq("set", "<pubsub xmlns='%s'><retract node='urn:test:x'><item id='nope'/></retract>"
             "</pubsub>" % P.NS)
    M.expect_error(r, "item-not-found", "retract a missing item")
    r = s.iq("set", "<pubsub xmlns='%s'><publish node='urn:test:y'><item><a xmlns='urn:a'/>"
             "</item></publish><retract node='urn:test:y'/></pubsub>" % P.NS)
    M.expect_error(r, "bad-request", "publish and retract in one request")
    r = s.iq("get", "<pubsub xmlns='%s'><frobnicate/></pubsub>" % P.NS)
    M.expect_error(r, "bad-request", "unknown action")
    r = other.iq("set", "<pubsub xmlns='%s'><subscribe node='urn:test:x' jid='%s'/></pubsub>"
                 % (P.NS, M.jid("u26")), to=own)
    P.expect_error(r, "bad-request", "invalid-jid", "subscribe someone else")
    r = P.items(s, "urn:test:nothere")
    M.expect_error(r, "item-not-found", "items of a missing node")
    # Too many nodes (max_nodes): the account has 1 node (urn:test:x); fill up to the limit.
    for i in range(1, MAX_NODES):
        P.expect_ok(P.publish(s, "urn:test:n%d" % i, "<v xmlns='urn:test'/>"), "node %d" % i)
    P.expect_error(P.publish(s, "urn:test:one-too-many", "<v xmlns='urn:test'/>"),
                   "not-allowed", "max-nodes-exceeded", "node quota (auto-create)")
    r = s.iq("set", "<pubsub xmlns='%s'><create node='urn:test:one-too-many'/></pubsub>"
             % P.NS)
    P.expect_error(r, "not-allowed", "max-nodes-exceeded", "node quota (create)")
    # Too many items in the account (max_account_items): the 6 nodes hold one item each;
    # fill urn:test:x to the node limit and urn:test:n1 up to the account's quota.
    for node in ("urn:test:x", "urn:test:n1"):
        P.expect_ok(P.config_set(s, node, {"pubsub#max_items": "max"}), "max items")
    for i in range(MAX_ITEMS - 1):
        P.expect_ok(P.publish(s, "urn:test:x", "<v xmlns='urn:test'/>", "k%d" % i),
                    "item %d" % i)
    for i in range(MAX_ACCOUNT_ITEMS - MAX_ITEMS - MAX_NODES + 1):
        P.expect_ok(P.publish(s, "urn:test:n1", "<v xmlns='urn:test'/>", "m%d" % i),
                    "item m%d" % i)
    P.expect_error(P.publish(s, "urn:test:n1", "<v xmlns='urn:test'/>", "extra"),
                   "not-allowed", "max-items-exceeded", "account item quota")
    # Replacing an item needs no room.
    P.expect_ok(P.publish(s, "urn:test:x", "<v xmlns='urn:test'>new</v>", "k0"), "replace")
    s.close(), other.close()


def node_item_limit():
    """max_items: the oldest item goes (XEP-0060 §7.1.2.5 retract-oldest)."""
    s = M.connect("u27", "r")
    node = "urn:test:fifo"
    P.expect_ok(P.publish(s, node, "<v xmlns='urn:test'/>", "1", {"pubsub#max_items": "3"}),
                "create with max 3")
    for i in range(2, 6):
        P.expect_ok(P.publish(s, node, "<v xmlns='urn:test'/>", str(i)), "publish %d" % i)
    M.expect(P.item_ids(P.items(s, node)) == ["3", "4", "5"], "fifo: %s" %
             P.item_ids(P.items(s, node)))
    P.expect_error(P.config_set(s, node, {"pubsub#max_items": str(MAX_ITEMS + 1)}),
                   "not-acceptable", None, "max_items over the service limit")
    s.close()


def user_deletion():
    """mynactl deluser removes the account's PEP data (and its subscriptions)."""
    conf, ctl = os.environ.get("E2E_CONF"), os.environ.get("E2E_MYNACTL")
    if not conf or not ctl:
        return  # the harness gives these for Myna only
    s = M.connect("u28", "r")
    P.expect_ok(P.publish(s, "urn:test:gone", "<v xmlns='urn:test'/>", "1",
                          {"pubsub#access_model": "open"}), "publish")
    s.close()
    r = subprocess.run([ctl, "-c", conf, "deluser", M.jid("u28")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    M.expect(r.returncode == 0, "deluser: %s" % r.stdout)
    subprocess.run([ctl, "-c", conf, "adduser", M.jid("u28"), M.PW["u28"]], check=True,
                   stdout=subprocess.DEVNULL)
    s = M.connect("u28", "r")
    M.expect_error(P.items(s, "urn:test:gone"), "item-not-found", "data after deluser")
    s.close()


def blocked_and_removed_contacts():
    """XEP-0163 §4.3.3: no notification to a blocked contact; §7.1: losing the presence
    subscription ends an explicit subscription to a presence-model node."""
    P.befriend("u31", "u32")
    P.befriend("u31", "u33")
    bad, good = P.connect_caps("u32", "b", P.Caps(notify=[TUNE])), \
        P.connect_caps("u33", "g", P.Caps(notify=[TUNE]))
    o = M.connect("u31", "o")
    r = o.iq("set", "<block xmlns='urn:xmpp:blocking'><item jid='%s'/></block>" % M.jid("u32"))
    P.expect_ok(r, "block")
    M.drain(bad), M.drain(good)
    P.expect_ok(P.publish(o, TUNE, tune("secret")), "publish")
    good.wait_for(P.is_event(TUNE), what="event to the unblocked contact")
    M.barrier(o, bad)
    M.expect(not P.events(M.drain(bad), TUNE), "a blocked contact got the event")
    # An explicit subscription of u33, then u31 removes u33 from the roster.
    node = "urn:test:contacts-only"
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'/>"), "presence-model node")
    P.expect_ok(good.iq("set", "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/></pubsub>"
                        % (P.NS, node, M.jid("u33")), to=M.jid("u31")), "subscribe")
    P.expect_ok(M.roster_set(o, "<item jid='%s' subscription='remove'/>" % M.jid("u33")),
                "roster remove")
    M.barrier(o)
    r = P.owner(o, "<subscriptions node='%s'/>" % node, "get")
    M.expect(not list(r.iter(M.q(P.NS_OWNER, "subscription"))),
             "subscription kept after the roster removal: %s" % M.show(r))
    for x in (bad, good, o):
        x.close()


def directed_presence():
    """Directed presence with caps to the account's bare JID counts (open nodes send their
    last item); to one of its full JIDs (how MUC rooms reflect occupants) it does not."""
    o = M.connect("u30", "o")
    node = "urn:test:open"
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:test'>hi</v>", "last",
                          {"pubsub#access_model": "open"}), "open node")
    caps = P.Caps(notify=[node])
    x = P.connect_caps("u26", "x", caps)
    x.send("<presence to='%s/o'>%s</presence>" % (M.jid("u30"), caps.c_element()))
    M.barrier(x, o, x)
    M.expect(not P.events(M.drain(x), node), "an event after presence to a full JID")
    x.send("<presence to='%s'>%s</presence>" % (M.jid("u30"), caps.c_element()))
    ev = x.wait_for(P.is_event(node, "item", "last"), what="last item after directed presence")
    M.expect(ev.get("from") == M.jid("u30"), "from the account: %s" % M.show(ev))
    o.close(), x.close()


def hostile_requests():
    """Broken pubsub requests each get one error answer; the session stays healthy."""
    s = M.connect("u29", "r")
    long_node = "n" * 300
    cases = [
        "<pubsub xmlns='%s'/>" % P.NS,
        "<pubsub xmlns='%s'><publish node=''><item/></publish></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><publish node='%s'><item><v xmlns='urn:t'/></item></publish>"
        "</pubsub>" % (P.NS, long_node),
        "<pubsub xmlns='%s'><publish node='a'><item id='%s'><v xmlns='urn:t'/></item>"
        "</publish></pubsub>" % (P.NS, "i" * 300),
        "<pubsub xmlns='%s'><publish node='a'><item><v xmlns='urn:t'/></item></publish>"
        "<publish-options/><configure/></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><publish node='a'><item><v xmlns='urn:t'/></item></publish>"
        "<publish-options><x xmlns='jabber:x:data' type='submit'><field/></x>"
        "</publish-options></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><items node='a' max_items='-3'/></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><items node='a' max_items='99999999999999999999999'/></pubsub>"
        % P.NS,
        "<pubsub xmlns='%s'><subscribe node='a'/></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><subscribe node='a' jid='@@@'/></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><retract node='a'><item/></retract></pubsub>" % P.NS,
        "<pubsub xmlns='%s'><configure node='a'><x xmlns='jabber:x:data' type='form'/>"
        "</configure></pubsub>" % P.NS_OWNER,
        "<pubsub xmlns='%s'><affiliations node='a'><affiliation jid='x@y' affiliation='god'/>"
        "</affiliations></pubsub>" % P.NS_OWNER,
        "<pubsub xmlns='%s'><subscriptions node='a'><subscription jid='x@y' "
        "subscription='pending'/></subscriptions></pubsub>" % P.NS_OWNER,
        "<pubsub xmlns='%s'><delete/></pubsub>" % P.NS_OWNER,
        "<pubsub xmlns='%s'><purge node='a'/><purge node='a'/></pubsub>" % P.NS_OWNER,
        "<pubsub xmlns='%s'><items node='a'/></pubsub>" % P.NS_OWNER,
    ]
    P.expect_ok(P.publish(s, "a", "<v xmlns='urn:t'/>", "x"), "a node to aim at")
    set_only = (11, 12, 13)  # as gets these ask for the form and the lists: valid
    for i, body in enumerate(cases):
        for typ in ("set",) if i in set_only else ("get", "set"):
            r = s.iq(typ, body)
            M.expect(r.get("type") == "error", "case %d (%s) answered %s" % (i, typ, M.show(r)))
    # Caps answers that are not what was asked: ill-formed, empty, an error.
    for answer in ("<query xmlns='%s'><feature var='a'/><feature var='a'/></query>" % P.NS_DISCO,
                   "<query xmlns='%s'/>" % P.NS_DISCO, "<other xmlns='urn:x'/>"):
        caps = P.Caps(notify=[TUNE])
        c = M.connect("u29", "caps", presence=False)
        c.send("<presence>%s</presence>" % caps.c_element())
        req = c.wait_for(P.is_disco_request, what="disco#info")
        c.send("<iq type='result' id='%s' to='%s'>%s</iq>" % (req.get("id"), req.get("from"),
                                                              answer))
        c.ping(M.D)
        c.close()
    caps = P.Caps(notify=[TUNE])
    c = M.connect("u29", "caps2", presence=False)
    c.send("<presence>%s</presence>" % caps.c_element())
    req = c.wait_for(P.is_disco_request, what="disco#info")
    c.send("<iq type='error' id='%s' to='%s'><query xmlns='%s'/><error type='cancel'>"
           "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
           % (req.get("id"), req.get("from"), P.NS_DISCO))
    c.ping(M.D)
    c.close()
    s.ping(M.D)
    s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("account_disco", account_disco), ("publish_items_retract", publish_items_retract),
        ("caps_notifications", caps_notifications), ("caps_cache", caps_cache),
        ("last_item_on_presence", last_item_on_presence), ("access_models", access_models),
        ("publish_options", publish_options), ("node_configuration", node_configuration),
        ("purge_and_delete", purge_and_delete), ("explicit_subscription", explicit_subscription),
        ("bad_input_and_limits", bad_input_and_limits), ("node_item_limit", node_item_limit),
        ("user_deletion", user_deletion),
        ("blocked_and_removed_contacts", blocked_and_removed_contacts),
        ("directed_presence", directed_presence),
        ("hostile_requests", hostile_requests),
    ]))
