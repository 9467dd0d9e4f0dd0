"""tests/modules/test_pep_slixmpp.py — the OMEMO flow with slixmpp's generic PEP plugins
(xep_0030, xep_0115, xep_0163 interests, xep_0060 publish with a publish-options form,
xep_0223 for private data; slixmpp-omemo is not in Debian, so the OMEMO nodes of both
XEP-0384 generations are published with these generic calls): device lists and bundles
published with publish-options, the contact's notification through caps +notify, a
stranger refused by the access model with the pubsub#errors condition, the last device
list at the next login, and an XEP-0223 private node nobody else can read."""
import asyncio
import os
import ssl
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peplib as P  # noqa: E402

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 10
LEGACY_NS = "eu.siacs.conversations.axolotl"
LEGACY_DL = LEGACY_NS + ".devicelist"
V2_NS = "urn:xmpp:omemo:2"
V2_DL = V2_NS + ":devices"


def bare(user):
    return "%s@%s" % (user, DOMAIN)


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource, interests=()):
        super().__init__("%s/%s" % (bare(user), resource), USERS[user])
        self.interests = interests
        for p in ("xep_0030", "xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0223"):
            self.register_plugin(p)
        self["xep_0115"].caps_node = "https://slixmpp.test/%s-%s" % (user, resource)
        self.events = []
        self.ready = asyncio.Event()
        self.disco_asked = 0
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("pubsub_publish", self.events.append)
        self.register_handler(Callback("server asks our caps",
                                       StanzaPath("iq@type=get/disco_info"),
                                       self._asked))

    def _asked(self, _iq):
        self.disco_asked += 1

    async def on_start(self, _event):
        await self.get_roster()
        for ns in self.interests:
            self["xep_0030"].add_feature("%s+notify" % ns)
        self["xep_0030"].add_identity("client", "pc", name=str(self.boundjid))
        await self["xep_0115"].update_caps(broadcast=False)
        self.send_presence()
        self.ready.set()

    def event_on(self, node, start=0):
        for m in self.events[start:]:
            if m["pubsub_event"]["items"]["node"] == node:
                return m
        return None


async def until(pred, what, seconds=WAIT):
    end = asyncio.get_event_loop().time() + seconds
    while True:
        got = pred()
        if got:
            return got
        if asyncio.get_event_loop().time() > end:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.02)


async def connect(user, resource, interests=()):
    c = Client(user, resource, interests)
    c.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
    await asyncio.wait_for(c.ready.wait(), WAIT)
    if interests:
        # The server asks our caps node once; after its answer a round trip to the server
        # makes sure it has read it (one stream is processed in order).
        await until(lambda: c.disco_asked > 0, "%s: the server's disco#info" % c.boundjid)
    await c["xep_0030"].get_info(jid=DOMAIN)
    return c


def options(**fields):
    form = slixmpp.plugins.xep_0004.stanza.Form()
    form["type"] = "submit"
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    for k, v in fields.items():
        form.add_field(var="pubsub#" + k, value=v)
    return form


def device_list(ns, tag, ids):
    el = ET.Element("{%s}%s" % (ns, tag))
    for i in ids:
        ET.SubElement(el, "{%s}device" % ns, id=str(i))
    return el


def bundle(ns, key):
    el = ET.Element("{%s}bundle" % ns)
    ET.SubElement(el, "{%s}%s" % (ns, "identityKey" if ns == LEGACY_NS else "ik")).text = key
    return el


def devices_in(msg_or_items, ns):
    return sorted(int(d.get("id")) for d in msg_or_items.xml.iter("{%s}device" % ns))


def app_condition(iq):
    """The pubsub#errors condition (slixmpp's stanza plugin knows only some of them)."""
    err = iq.xml.find("{jabber:client}error")
    for ch in (err if err is not None else []):
        if ch.tag.startswith("{http://jabber.org/protocol/pubsub#errors}"):
            return ch.tag.split("}")[1]
    return None


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


async def main():
    alice, bob, eve = "u67", "u68", "u69"
    b = await connect(bob, "phone", [LEGACY_DL, V2_DL])
    a = await connect(alice, "laptop", [LEGACY_DL, V2_DL])
    x = await connect(eve, "stranger")
    pub = a["xep_0060"]
    failures = 0

    async def case(name, coro):
        nonlocal failures
        try:
            await coro
            print("PASS: " + name, flush=True)
        except Exception as ex:  # each case reports; the next one still runs
            failures += 1
            print("FAIL: %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)

    async def publish_and_notify():
        n = len(b.events)
        await pub.publish(None, LEGACY_DL, id="current",
                          payload=device_list(LEGACY_NS, "list", [4242]),
                          options=options(persist_items="true", access_model="open"))
        await pub.publish(None, LEGACY_DL.replace("devicelist", "bundles:4242"), id="current",
                          payload=bundle(LEGACY_NS, "S0VZ"),
                          options=options(persist_items="true", access_model="open"))
        await pub.publish(None, V2_DL, id="current",
                          payload=device_list(V2_NS, "devices", [4242]),
                          options=options(persist_items="true", access_model="open"))
        await pub.publish(None, V2_NS + ":bundles", id="4242", payload=bundle(V2_NS, "S0VZ"),
                          options=options(persist_items="true", access_model="open",
                                          max_items="max"))
        m = await until(lambda: b.event_on(LEGACY_DL, n), "legacy device list event")
        expect(devices_in(m, LEGACY_NS) == [4242] and str(m["from"]) == bare(alice),
               "event: %s" % m)
        m = await until(lambda: b.event_on(V2_DL, n), "omemo:2 device list event")
        expect(devices_in(m, V2_NS) == [4242], "omemo:2 event: %s" % m)

    async def fetch_both():
        r = await b["xep_0060"].get_items(bare(alice), V2_NS + ":bundles", item_ids=["4242"])
        expect(r.xml.find(".//{%s}ik" % V2_NS).text == "S0VZ", "bundle: %s" % r)
        r = await x["xep_0060"].get_items(bare(alice), LEGACY_DL, max_items=1)
        expect(devices_in(r, LEGACY_NS) == [4242], "stranger reads an open list: %s" % r)

    async def stranger_refused():
        # A non-public list: the precondition fails on the open node, the owner
        # reconfigures it (what clients do on precondition-not-met) and publishes again.
        form = options(persist_items="true", access_model="presence")
        try:
            await pub.publish(None, LEGACY_DL, id="current",
                              payload=device_list(LEGACY_NS, "list", [4242]), options=form)
            raise AssertionError("publish-options against an open node succeeded")
        except IqError as e:
            expect(e.iq["error"]["condition"] == "conflict" and
                   app_condition(e.iq) == "precondition-not-met",
                   "precondition error: %s" % e.iq)
        cfg = slixmpp.plugins.xep_0004.stanza.Form()
        cfg["type"] = "submit"
        cfg.add_field(var="FORM_TYPE", ftype="hidden",
                      value="http://jabber.org/protocol/pubsub#node_config")
        cfg.add_field(var="pubsub#access_model", value="presence")
        await pub.set_node_config(None, LEGACY_DL, cfg)
        await pub.publish(None, LEGACY_DL, id="current",
                          payload=device_list(LEGACY_NS, "list", [4242]), options=form)
        try:
            await x["xep_0060"].get_items(bare(alice), LEGACY_DL, max_items=1)
            raise AssertionError("the stranger read a presence-only device list")
        except IqError as e:
            expect(e.iq["error"]["condition"] == "not-authorized" and
                   app_condition(e.iq) == "presence-subscription-required",
                   "refusal: %s" % e.iq)
        r = await b["xep_0060"].get_items(bare(alice), LEGACY_DL, max_items=1)
        expect(devices_in(r, LEGACY_NS) == [4242], "the contact still reads it")

    async def last_item_after_login():
        nonlocal b
        b.disconnect()
        await b.disconnected
        await pub.publish(None, LEGACY_DL, id="current",
                          payload=device_list(LEGACY_NS, "list", [4242, 777]),
                          options=options(persist_items="true", access_model="presence"))
        b = Client(bob, "phone", [LEGACY_DL, V2_DL])  # same caps: already verified
        b.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
        await asyncio.wait_for(b.ready.wait(), WAIT)
        m = await until(lambda: b.event_on(LEGACY_DL), "last device list after login")
        expect(devices_in(m, LEGACY_NS) == [777, 4242], "last item: %s" % m)

    async def private_storage():
        el = ET.Element("{urn:test:prefs}prefs")
        el.text = "secret"
        await a["xep_0223"].store(slixmpp.xmlstream.ElementBase(el), node="urn:test:prefs",
                                  id="current")
        r = await a["xep_0223"].retrieve("urn:test:prefs")
        expect(r.xml.find(".//{urn:test:prefs}prefs").text == "secret", "own read: %s" % r)
        try:
            await b["xep_0060"].get_items(bare(alice), "urn:test:prefs")
            raise AssertionError("a contact read XEP-0223 private data")
        except IqError as e:
            expect(app_condition(e.iq) == "closed-node", "refusal: %s" % e.iq)

    await case("omemo: both device lists and bundles published, contact notified",
               publish_and_notify())
    await case("omemo: bundles and open device list fetched", fetch_both())
    await case("omemo: stranger refused by the access model", stranger_refused())
    await case("omemo: last device list at the next login", last_item_after_login())
    await case("xep-0223: private node", private_storage())
    for c in (a, b, x):
        c.disconnect()
        await asyncio.wait_for(c.disconnected, WAIT)
    return failures


if __name__ == "__main__":
    P.befriend("u67", "u68")
    loop = asyncio.get_event_loop()
    sys.exit(1 if loop.run_until_complete(asyncio.wait_for(main(), 90)) else 0)
