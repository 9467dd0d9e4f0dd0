"""tests/modules/test_pubsub_service.py — the generic publish-subscribe service
(XEP-0060) on pubsub.DOMAIN, raw XML: discovery (§5.1-5.5), create with and without a
NodeID and with configuration (§8.1), subscribe/unsubscribe and notifications to
subscribers (§6.1, §7.1.2), publish models and affiliations managed by the owner (§8.9),
subscriptions managed by the owner (§8.8), purge and delete with notifications (§8.4,
§8.5), the creation policy (option create_nodes), whitelist nodes, and the cleanup of a
deleted account's subscriptions and nodes. pubsub_service.sh sets create_nodes to
u44, u46 and u48 only."""
import os
import subprocess

import modlib as M
import peplib as P

SVC = "pubsub." + M.D


def sub(s, node, jid=None, to=SVC):
    return s.iq("set", "<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/></pubsub>"
                % (P.NS, node, jid or s.jid), to=to)


def discovery():
    s = M.connect("u44", "r")
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO_ITEMS, to=M.D)
    M.expect(SVC in [i.get("jid") for i in r.iter(M.q(P.NS_DISCO_ITEMS, "item"))],
             "host items: %s" % M.show(r))
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO, to=SVC)
    ids = [(i.get("category"), i.get("type")) for i in r.iter(M.q(P.NS_DISCO, "identity"))]
    feats = [f.get("var") for f in r.iter(M.q(P.NS_DISCO, "feature"))]
    M.expect(("pubsub", "service") in ids, "service identity: %s" % ids)
    for f in ("create-nodes", "publish", "subscribe", "purge-nodes", "delete-nodes",
              "instant-nodes", "publish-options", "retrieve-items"):
        M.expect(P.NS + "#" + f in feats, "service lacks %s" % f)
    P.expect_ok(s.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=SVC), "ping the service")
    M.expect_error(s.iq("get", "<query xmlns='jabber:iq:version'/>", to=SVC),
                   "service-unavailable", "an unknown namespace")
    s.send("<message to='%s' id='m1'><body>hi</body></message>" % SVC)
    err = s.wait_for(lambda e: e.tag == M.q(M.C, "message") and e.get("id") == "m1",
                     what="message bounce")
    M.expect(M.error_condition(err) == "service-unavailable", "bounce: %s" % M.show(err))
    s.close()


def create_subscribe_publish():
    o, s1, pub, nobody = (M.connect("u44", "o"), M.connect("u45", "s"), M.connect("u46", "p"),
                          M.connect("u47", "n"))
    node = "news"
    r = o.iq("set", "<pubsub xmlns='%s'><create node='%s'/><configure>%s</configure></pubsub>"
             % (P.NS, node, P.options_form({"pubsub#title": "News",
                                             "pubsub#max_items": "5"},
                                            P.NS + "#node_config")), to=SVC)
    P.expect_ok(r, "create and configure")
    r = s1.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO_ITEMS, to=SVC)
    M.expect([(i.get("node"), i.get("name")) for i in r.iter(M.q(P.NS_DISCO_ITEMS, "item"))]
             == [(node, "News")], "node list: %s" % M.show(r))
    r = s1.iq("get", "<query xmlns='%s' node='%s'/>" % (P.NS_DISCO, node), to=SVC)
    M.expect(("pubsub", "leaf") in [(i.get("category"), i.get("type"))
                                    for i in r.iter(M.q(P.NS_DISCO, "identity"))],
             "node info: %s" % M.show(r))
    # Creation rights: u45 is not in create_nodes.
    r = s1.iq("set", "<pubsub xmlns='%s'><create node='mine'/></pubsub>" % P.NS, to=SVC)
    M.expect_error(r, "forbidden", "create without the right")
    M.expect_error(P.publish(s1, "auto", "<v xmlns='urn:t'/>", to=SVC), "forbidden",
                   "auto-create without the right")
    # Instant node (§8.1.2).
    r = o.iq("set", "<pubsub xmlns='%s'><create/></pubsub>" % P.NS, to=SVC)
    P.expect_ok(r, "instant node")
    M.expect(r.find(".//{%s}create" % P.NS).get("node"), "instant node name: %s" % M.show(r))
    # Subscribe with the bare JID; notifications come from the service.
    r = sub(s1, node, M.jid("u45"))
    P.expect_ok(r, "subscribe")
    M.expect(r.find(".//{%s}subscription" % P.NS).get("subscription") == "subscribed",
             "subscription: %s" % M.show(r))
    r = P.publish(o, node, "<entry xmlns='http://www.w3.org/2005/Atom'><title>first</title>"
                           "</entry>", "e1", to=SVC)
    P.expect_ok(r, "owner publishes")
    ev = s1.wait_for(P.is_event(node, "item", "e1"), what="notification")
    M.expect(ev.get("from") == SVC and ev.find(".//{http://www.w3.org/2005/Atom}title").text
             == "first", "notification: %s" % M.show(ev))
    # Publish models: a publisher affiliation may publish, others may not.
    M.expect_error(P.publish(pub, node, "<v xmlns='urn:t'/>", to=SVC), "forbidden",
                   "publish without affiliation")
    r = P.owner(o, "<affiliations node='%s'><affiliation jid='%s' affiliation='publisher'/>"
                   "</affiliations>" % (node, M.jid("u46")), to=SVC)
    P.expect_ok(r, "grant publisher")
    P.expect_ok(P.publish(pub, node, "<v xmlns='urn:t'/>", "e2", to=SVC), "publisher")
    s1.wait_for(P.is_event(node, "item", "e2"), what="publisher's item")
    P.expect_ok(P.config_set(o, node, {"pubsub#publish_model": "open"}, to=SVC), "open model")
    P.expect_ok(P.publish(nobody, node, "<v xmlns='urn:t'/>", "e3", to=SVC), "open publish")
    M.expect(P.item_ids(P.items(s1, node, to=SVC)) == ["e1", "e2", "e3"], "items")
    # The last owner stays (§8.9.2.4).
    r = P.owner(o, "<affiliations node='%s'><affiliation jid='%s' affiliation='none'/>"
                   "</affiliations>" % (node, M.jid("u44")), to=SVC)
    M.expect_error(r, "not-acceptable", "removing the last owner")
    # Subscriptions: the subscriber's view and the owner's management.
    r = s1.iq("get", "<pubsub xmlns='%s'><subscriptions/></pubsub>" % P.NS, to=SVC)
    M.expect([(x.get("node"), x.get("jid")) for x in r.iter(M.q(P.NS, "subscription"))] ==
             [(node, M.jid("u45"))], "own subscriptions: %s" % M.show(r))
    r = P.owner(o, "<subscriptions node='%s'><subscription jid='%s' subscription='none'/>"
                   "</subscriptions>" % (node, M.jid("u45")), to=SVC)
    P.expect_ok(r, "owner removes a subscription")
    r = P.owner(o, "<subscriptions node='%s'/>" % node, "get", to=SVC)
    M.expect(not list(r.iter(M.q(P.NS_OWNER, "subscription"))), "left: %s" % M.show(r))
    P.expect_ok(P.owner(o, "<subscriptions node='%s'><subscription jid='%s' "
                           "subscription='subscribed'/></subscriptions>"
                        % (node, M.jid("u45")), to=SVC), "owner subscribes u45 again")
    # Purge and delete reach the subscriber.
    M.drain(s1)
    P.expect_ok(P.owner(o, "<purge node='%s'/>" % node, to=SVC), "purge")
    s1.wait_for(P.is_event(node, "purge"), what="purge notification")
    M.expect(P.item_ids(P.items(s1, node, to=SVC)) == [], "items after purge")
    P.expect_ok(P.owner(o, "<delete node='%s'/>" % node, to=SVC), "delete")
    s1.wait_for(P.is_event(node, "delete"), what="delete notification")
    M.expect_error(P.items(s1, node, to=SVC), "item-not-found", "deleted node")
    for x in (o, s1, pub, nobody):
        x.close()


def whitelist_and_unsubscribe():
    o, s1 = M.connect("u44", "o2"), M.connect("u45", "s2")
    node = "closed"
    P.expect_ok(P.publish(o, node, "<v xmlns='urn:t'/>", "1",
                          {"pubsub#access_model": "whitelist"}, to=SVC), "whitelist node")
    P.expect_error(sub(s1, node), "not-allowed", "closed-node", "subscribe to whitelist")
    P.expect_error(P.items(s1, node, to=SVC), "not-allowed", "closed-node", "items")
    P.expect_ok(P.owner(o, "<affiliations node='%s'><affiliation jid='%s' "
                           "affiliation='member'/></affiliations>" % (node, M.jid("u45")),
                        to=SVC), "member")
    r = sub(s1, node)
    P.expect_ok(r, "member subscribes")
    r = s1.iq("set", "<pubsub xmlns='%s'><unsubscribe node='%s' jid='%s'/></pubsub>"
              % (P.NS, node, s1.jid), to=SVC)
    P.expect_ok(r, "unsubscribe")
    # An outcast loses access.
    P.expect_ok(P.owner(o, "<affiliations node='%s'><affiliation jid='%s' "
                           "affiliation='outcast'/></affiliations>" % (node, M.jid("u45")),
                        to=SVC), "outcast")
    M.expect_error(P.items(s1, node, to=SVC), "forbidden", "outcast reads")
    o.close(), s1.close()


def deleted_account():
    conf, ctl = os.environ.get("E2E_CONF"), os.environ.get("E2E_MYNACTL")
    if not conf or not ctl:
        return
    o, gone = M.connect("u44", "o3"), M.connect("u48", "g")
    P.expect_ok(P.publish(o, "kept", "<v xmlns='urn:t'/>", "1", to=SVC), "node kept")
    P.expect_ok(sub(gone, "kept", M.jid("u48")), "subscribe")
    P.expect_ok(P.publish(gone, "theirs", "<v xmlns='urn:t'/>", "1", to=SVC), "own node")
    gone.close()
    r = subprocess.run([ctl, "-c", conf, "deluser", M.jid("u48")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    M.expect(r.returncode == 0, "deluser: %s" % r.stdout)
    r = P.owner(o, "<subscriptions node='kept'/>", "get", to=SVC)
    M.expect(not list(r.iter(M.q(P.NS_OWNER, "subscription"))),
             "subscription of a deleted account: %s" % M.show(r))
    M.expect_error(P.items(o, "theirs", to=SVC), "item-not-found",
                   "node of a deleted account")
    o.close()


def conversions_off():
    """convert_avatars and convert_bookmarks off: private XML bookmarks stay private XML,
    a vCard photo publishes nothing, no photo hash is added, no conversion features."""
    s = M.connect("u49", "r")
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO)
    feats = [f.get("var") for f in r.iter(M.q(P.NS_DISCO, "feature"))]
    for f in ("urn:xmpp:pep-vcard-conversion:0", "urn:xmpp:bookmarks-conversion:0",
              "urn:xmpp:bookmarks:1#compat"):
        M.expect(f not in feats, "%s advertised while off" % f)
    M.expect(P.NS + "#publish-options" in feats, "PEP still on")
    P.expect_ok(s.iq("set", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                            "<conference jid='r@c.myna.test'/></storage></query>"), "private set")
    M.expect_error(P.items(s, "urn:xmpp:bookmarks:1"), "item-not-found", "no XEP-0402 copy")
    r = s.iq("get", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/>"
                    "</query>")
    M.expect(r.find(".//{storage:bookmarks}conference") is not None, "private XML kept")
    P.expect_ok(s.iq("set", "<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>"
                            "aGVsbG8=</BINVAL></PHOTO></vCard>"), "vCard")
    M.expect_error(P.items(s, "urn:xmpp:avatar:metadata"), "item-not-found", "no PEP avatar")
    s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("discovery", discovery), ("create_subscribe_publish", create_subscribe_publish),
        ("whitelist_and_unsubscribe", whitelist_and_unsubscribe),
        ("deleted_account", deleted_account), ("conversions_off", conversions_off),
    ]))
