"""tests/modules/test_pep_data.py — what clients keep in PEP, on raw XML: bookmarks in their
three forms (XEP-0402 items, XEP-0048 in private XML and in the storage:bookmarks node)
with autojoin and extensions kept and notifications only for changed rooms; avatars both
ways between PEP (XEP-0084) and vcard-temp (XEP-0398), with the XEP-0153 hash in presence;
vCard4 (XEP-0292), user nickname (XEP-0172) and both OMEMO node sets (XEP-0384) published
with their publish-options and read by whom their access models admit."""
import base64
import hashlib

import modlib as M
import peplib as P

BM2 = "urn:xmpp:bookmarks:1"
BM = "storage:bookmarks"
PRIVATE = "jabber:iq:private"
META = "urn:xmpp:avatar:metadata"
DATA = "urn:xmpp:avatar:data"
VCARD = "vcard-temp"
UPDATE = "vcard-temp:x:update"
BM2_OPTIONS = {"pubsub#notify_delete": "true", "pubsub#notify_retract": "true",
               "pubsub#persist_items": "true", "pubsub#max_items": "max",
               "pubsub#access_model": "whitelist", "pubsub#send_last_published_item": "never"}
# A tiny PNG-like blob; only its bytes and SHA-1 matter to the server.
IMAGE = bytes(range(256)) * 3
IMAGE_ID = hashlib.sha1(IMAGE).hexdigest()
IMAGE_B64 = base64.b64encode(IMAGE).decode()


def private_get(s):
    r = s.iq("get", "<query xmlns='%s'><storage xmlns='%s'/></query>" % (PRIVATE, BM))
    P.expect_ok(r, "private get")
    return {c.get("jid"): c for c in r.iter(M.q(BM, "conference"))}


def private_set(s, confs):
    return s.iq("set", "<query xmlns='%s'><storage xmlns='%s'>%s</storage></query>"
                % (PRIVATE, BM, "".join(confs)))


def native(s):
    return {i.get("id"): i.find(M.q(BM2, "conference")) for i in
            P.items(s, BM2).iter(M.q(P.NS, "item"))}


def bookmarks_private_to_pep():
    caps = P.Caps(notify=[BM2, BM])
    s = P.connect_caps("u30", "r", caps)
    rooms = ["<conference jid='one@conf.myna.test' name='One' autojoin='true'><nick>ada</nick>"
             "<password>pw</password><minimized xmlns='urn:test:client'/></conference>",
             "<conference jid='two@conf.myna.test' name='Two'/>"]
    P.expect_ok(private_set(s, rooms), "private set")
    got = native(s)
    M.expect(sorted(got) == ["one@conf.myna.test", "two@conf.myna.test"], "items: %s" % got)
    one = got["one@conf.myna.test"]
    M.expect(one.get("autojoin") in ("true", "1") and one.findtext(M.q(BM2, "nick")) == "ada"
             and one.findtext(M.q(BM2, "password")) == "pw" and one.get("name") == "One",
             "converted conference: %s" % M.show(one))
    M.expect(one.find("%s/{urn:test:client}minimized" % M.q(BM2, "extensions")) is not None,
             "extensions kept: %s" % M.show(one))
    M.expect(got["two@conf.myna.test"].get("autojoin") in (None, "false", "0"), "autojoin off")
    cfg = P.config_get(s, BM2)
    M.expect(cfg["pubsub#access_model"] == "whitelist", "bookmarks node whitelist: %s" % cfg)
    # Both rooms were announced to the resource that asked for them.
    evs = P.events(M.drain(s), BM2)
    M.expect(sorted(i.get("id") for k, i, _ in evs if k == "item") ==
             ["one@conf.myna.test", "two@conf.myna.test"], "bookmarks:1 events: %s" % evs)
    # The XEP-0048 PEP node holds the same list.
    r = P.items(s, BM)
    M.expect(sorted(c.get("jid") for c in r.iter(M.q(BM, "conference"))) ==
             ["one@conf.myna.test", "two@conf.myna.test"], "storage:bookmarks: %s" % M.show(r))
    # Changing one room and dropping the other: one publish, one retract, nothing else.
    P.expect_ok(private_set(s, [rooms[0].replace("ada", "lovelace")]), "private set 2")
    M.barrier(s)
    evs = [(k, i.get("id")) for k, i, _ in P.events(M.drain(s), BM2)]
    M.expect(sorted(evs) == [("item", "one@conf.myna.test"), ("retract", "two@conf.myna.test")],
             "events for a changed list: %s" % evs)
    M.expect(list(native(s)) == ["one@conf.myna.test"], "after the second set")
    back = private_get(s)
    M.expect(list(back) == ["one@conf.myna.test"] and
             back["one@conf.myna.test"].findtext(M.q(BM, "nick")) == "lovelace" and
             back["one@conf.myna.test"].get("autojoin") == "true",
             "private view: %s" % {k: M.show(v) for k, v in back.items()})
    s.close()


def bookmarks_pep_to_private():
    s = M.connect("u31", "r")
    r = P.publish(s, BM2, "<conference xmlns='%s' name='Coven' autojoin='true'><nick>puck</nick>"
                          "</conference>" % BM2, "coven@conf.myna.test", BM2_OPTIONS)
    P.expect_ok(r, "XEP-0402 publish with its publish-options")
    P.expect_ok(P.publish(s, BM2, "<conference xmlns='%s'/>" % BM2, "bare@conf.myna.test",
                          BM2_OPTIONS), "minimal conference")
    got = private_get(s)
    M.expect(sorted(got) == ["bare@conf.myna.test", "coven@conf.myna.test"],
             "private view: %s" % list(got))
    M.expect(got["coven@conf.myna.test"].get("autojoin") == "true" and
             got["coven@conf.myna.test"].get("name") == "Coven" and
             got["coven@conf.myna.test"].findtext(M.q(BM, "nick")) == "puck",
             "legacy conference: %s" % M.show(got["coven@conf.myna.test"]))
    r = s.iq("set", "<pubsub xmlns='%s'><retract node='%s' notify='true'><item "
             "id='bare@conf.myna.test'/></retract></pubsub>" % (P.NS, BM2))
    P.expect_ok(r, "retract")
    M.expect(list(private_get(s)) == ["coven@conf.myna.test"], "after retract")
    # XEP-0048 over PEP (XEP-0223): the whole list as one item.
    r = P.publish(s, BM, "<storage xmlns='%s'><conference jid='pep@conf.myna.test' "
                         "autojoin='1'><nick>oberon</nick></conference></storage>" % BM,
                  "current", {"pubsub#persist_items": "true",
                              "pubsub#access_model": "whitelist"})
    P.expect_ok(r, "storage:bookmarks publish")
    got = native(s)
    M.expect(list(got) == ["pep@conf.myna.test"] and
             got["pep@conf.myna.test"].get("autojoin") in ("true", "1"),
             "bookmarks:1 from storage:bookmarks: %s" % {k: M.show(v) for k, v in got.items()})
    M.expect(list(private_get(s)) == ["pep@conf.myna.test"], "private after PEP legacy")
    other = M.connect("u32", "r")
    P.expect_error(P.items(other, BM2, to=M.jid("u31")), "not-allowed", "closed-node",
                   "someone else's bookmarks")
    s.close(), other.close()


def avatar_pep_to_vcard():
    P.befriend("u33", "u34")
    s = M.connect("u33", "r")
    P.expect_ok(P.publish(s, DATA, "<data xmlns='%s'>%s</data>" % (DATA, IMAGE_B64), IMAGE_ID,
                          {"pubsub#access_model": "open"}), "avatar data")
    P.expect_ok(P.publish(s, META, "<metadata xmlns='%s'><info id='%s' bytes='%d' "
                                   "type='image/png'/><info id='x' url='https://x/y.png' "
                                   "type='image/png' bytes='1'/></metadata>"
                          % (META, IMAGE_ID, len(IMAGE)), IMAGE_ID,
                          {"pubsub#access_model": "open"}), "avatar metadata")
    v = M.connect("u35", "r")
    r = v.iq("get", "<vCard xmlns='%s'/>" % VCARD, to=M.jid("u33"))
    M.expect(r.findtext(".//{%s}BINVAL" % VCARD) == IMAGE_B64 and
             r.findtext(".//{%s}TYPE" % VCARD) == "image/png", "vCard photo: %s" % M.show(r))
    # XEP-0153 hash in the presence the contact receives.
    c = M.connect("u34", "c")
    M.drain(c)
    s.send("<presence><status>pic</status></presence>")
    p = c.wait_for(lambda e: M.is_presence(e, "available", M.jid("u33")), what="presence")
    M.expect(p.findtext(".//{%s}photo" % UPDATE) == IMAGE_ID, "photo hash: %s" % M.show(p))
    # A client that says it is not ready (empty <photo/>) is left alone (XEP-0398 §4).
    s.send("<presence><x xmlns='%s'><photo/></x></presence>" % UPDATE)
    p = c.wait_for(lambda e: M.is_presence(e, "available", M.jid("u33")), what="presence 2")
    M.expect(p.find(".//{%s}photo" % UPDATE) is not None and
             not p.findtext(".//{%s}photo" % UPDATE), "empty photo kept: %s" % M.show(p))
    # Switching the avatar off empties the vCard photo and the hash.
    P.expect_ok(P.publish(s, META, "<metadata xmlns='%s'/>" % META, "off"), "avatar off")
    r = v.iq("get", "<vCard xmlns='%s'/>" % VCARD, to=M.jid("u33"))
    M.expect(r.find(".//{%s}PHOTO" % VCARD) is None, "photo left: %s" % M.show(r))
    s.send("<presence/>")
    p = c.wait_for(lambda e: M.is_presence(e, "available", M.jid("u33")), what="presence 3")
    M.expect(p.find(".//{%s}photo" % UPDATE) is not None and
             not p.findtext(".//{%s}photo" % UPDATE), "no-avatar hash: %s" % M.show(p))
    # A data node readable by contacts only is not copied to the public vCard (§7).
    P.expect_ok(P.config_set(s, DATA, {"pubsub#access_model": "presence"}), "data presence")
    P.expect_ok(P.publish(s, META, "<metadata xmlns='%s'><info id='%s' bytes='%d' type='image"
                                   "/png'/></metadata>" % (META, IMAGE_ID, len(IMAGE)),
                          IMAGE_ID), "metadata again")
    r = v.iq("get", "<vCard xmlns='%s'/>" % VCARD, to=M.jid("u33"))
    M.expect(r.find(".//{%s}PHOTO" % VCARD) is None, "private avatar copied: %s" % M.show(r))
    for x in (s, v, c):
        x.close()


def avatar_vcard_to_pep():
    P.befriend("u36", "u37")
    caps = P.Caps(notify=[META])
    c = P.connect_caps("u37", "c", caps)
    s = M.connect("u36", "r")
    M.drain(c)
    folded = "\n".join(IMAGE_B64[i:i + 76] for i in range(0, len(IMAGE_B64), 76))
    r = s.iq("set", "<vCard xmlns='%s'><FN>Pic</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>%s"
                    "</BINVAL></PHOTO></vCard>" % (VCARD, folded))
    P.expect_ok(r, "vCard set")
    ev = c.wait_for(P.is_event(META, "item", IMAGE_ID), what="metadata notification")
    info = ev.find(".//{%s}info" % META)
    M.expect(info is not None and info.get("id") == IMAGE_ID and
             info.get("bytes") == str(len(IMAGE)) and info.get("type") == "image/png",
             "metadata from the vCard: %s" % M.show(ev))
    r = P.items(c, DATA, to=M.jid("u36"), ids=[IMAGE_ID])
    M.expect(r.findtext(".//{%s}data" % DATA) == IMAGE_B64, "avatar data: %s" % M.show(r)[:300])
    M.drain(c)
    s.send("<presence/>")
    p = c.wait_for(lambda e: M.is_presence(e, "available", M.jid("u36")), what="presence")
    M.expect(p.findtext(".//{%s}photo" % UPDATE) == IMAGE_ID, "photo hash: %s" % M.show(p))
    # The same vCard again: no new avatar events.
    P.expect_ok(s.iq("set", "<vCard xmlns='%s'><FN>Pic 2</FN><PHOTO><TYPE>image/png</TYPE>"
                            "<BINVAL>%s</BINVAL></PHOTO></vCard>" % (VCARD, IMAGE_B64)), "same")
    M.barrier(s, c)
    M.expect(not P.events(M.drain(c), META), "an unchanged photo was republished")
    # A vCard without photo switches the PEP avatar off.
    P.expect_ok(s.iq("set", "<vCard xmlns='%s'><FN>None</FN></vCard>" % VCARD), "no photo")
    ev = c.wait_for(P.is_event(META), what="avatar off")
    M.expect(ev.find(".//{%s}info" % META) is None, "empty metadata: %s" % M.show(ev))
    s.close(), c.close()


def vcard4_and_nick():
    P.befriend("u38", "u39")
    vc4 = "urn:xmpp:vcard4"
    nick = "http://jabber.org/protocol/nick"
    caps = P.Caps(notify=[vc4, nick])
    c = P.connect_caps("u39", "c", caps)
    s = M.connect("u38", "r")
    card = ("<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Ada Lovelace</text>"
            "</fn><nickname><text>ada</text></nickname></vcard>")
    P.expect_ok(P.publish(s, vc4, card, "current"), "vCard4 publish (XEP-0292 §4.1.2)")
    ev = c.wait_for(P.is_event(vc4, "item", "current"), what="vCard4 notification")
    M.expect(ev.findtext(".//{urn:ietf:params:xml:ns:vcard-4.0}text") == "Ada Lovelace",
             "vCard4 event: %s" % M.show(ev))
    r = P.items(c, vc4, to=M.jid("u38"))
    M.expect(r.findtext(".//{urn:ietf:params:xml:ns:vcard-4.0}text") == "Ada Lovelace",
             "vCard4 retrieval (§4.1.1): %s" % M.show(r))
    stranger = M.connect("u40", "x")
    P.expect_error(P.items(stranger, vc4, to=M.jid("u38")), "not-authorized",
                   "presence-subscription-required", "stranger reads vCard4")
    P.expect_ok(P.publish(s, nick, "<nick xmlns='%s'>Ada</nick>" % nick), "nick (XEP-0172)")
    ev = c.wait_for(P.is_event(nick), what="nick notification")
    M.expect(ev.findtext(".//{%s}nick" % nick) == "Ada", "nick event: %s" % M.show(ev))
    for x in (s, c, stranger):
        x.close()


def omemo_nodes():
    """XEP-0384 both generations: device list and bundles public by publish-options."""
    P.befriend("u41", "u42")
    legacy_dl = "eu.siacs.conversations.axolotl.devicelist"
    legacy_b = "eu.siacs.conversations.axolotl.bundles:31415"
    v2_dl, v2_b = "urn:xmpp:omemo:2:devices", "urn:xmpp:omemo:2:bundles"
    caps = P.Caps(notify=[legacy_dl, v2_dl])
    c = P.connect_caps("u42", "c", caps)
    s = M.connect("u41", "r")
    open_ = {"pubsub#persist_items": "true", "pubsub#access_model": "open"}
    P.expect_ok(P.publish(s, legacy_dl, "<list xmlns='eu.siacs.conversations.axolotl'>"
                          "<device id='31415'/></list>", "current", open_), "legacy list")
    P.expect_ok(P.publish(s, legacy_b, "<bundle xmlns='eu.siacs.conversations.axolotl'>"
                          "<identityKey>AAAA</identityKey></bundle>", "current", open_),
                "legacy bundle")
    P.expect_ok(P.publish(s, v2_dl, "<devices xmlns='urn:xmpp:omemo:2'><device id='31415'/>"
                          "</devices>", "current", open_), "omemo:2 devices")
    P.expect_ok(P.publish(s, v2_b, "<bundle xmlns='urn:xmpp:omemo:2'><ik>AAAA</ik></bundle>",
                          "31415", dict(open_, **{"pubsub#max_items": "max"})),
                "omemo:2 bundle (one item per device, max_items max)")
    for node in (legacy_dl, v2_dl):
        c.wait_for(P.is_event(node, "item", "current"), what="%s notification" % node)
    stranger = M.connect("u43", "x")
    for node, item in ((legacy_dl, "current"), (legacy_b, "current"), (v2_dl, "current"),
                       (v2_b, "31415")):
        M.expect(P.item_ids(P.items(stranger, node, to=M.jid("u41"))) == [item],
                 "stranger reads open %s" % node)
    for x in (s, c, stranger):
        x.close()


def service_domain_taken():
    """pep_data.sh points the generic service at the component's domain: the module loads
    without it (the component keeps its domain) and PEP works (every test above)."""
    s = M.connect("u44", "r")
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO_ITEMS, to=M.D)
    names = [i.get("name") for i in r.iter(M.q(P.NS_DISCO_ITEMS, "item"))]
    M.expect("Publish-Subscribe" not in names, "generic service announced: %s" % M.show(r))
    r = s.iq("get", "<query xmlns='%s'/>" % P.NS_DISCO, to="bot." + M.D)
    M.expect_error(r, "service-unavailable", "the component's domain (not connected)")
    s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("bookmarks_private_to_pep", bookmarks_private_to_pep),
        ("bookmarks_pep_to_private", bookmarks_pep_to_private),
        ("avatar_pep_to_vcard", avatar_pep_to_vcard),
        ("avatar_vcard_to_pep", avatar_vcard_to_pep),
        ("vcard4_and_nick", vcard4_and_nick), ("omemo_nodes", omemo_nodes),
        ("service_domain_taken", service_domain_taken),
    ]))
