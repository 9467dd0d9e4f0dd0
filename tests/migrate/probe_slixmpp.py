"""tests/migrate/probe_slixmpp.py — logs in with slixmpp (Debian's python3-slixmpp) and
prints, as one JSON object, what this account sees after a migration: the SASL mechanism
slixmpp ended up using, the roster (name, subscription, ask, groups), the vCard's FN, one
private XML element, and the messages and subscription requests delivered after initial
presence (offline storage), in arrival order.

Usage: probe_slixmpp.py IP PORT DOMAIN CAFILE USER PASSWORD [PRIVATE_NS]
Exit status 0 with the JSON on stdout, 1 if the login failed.
"""
import asyncio
import json
import logging
import ssl
import sys

import slixmpp
from slixmpp.xmlstream import ET

IP, PORT, DOMAIN, CA, USER, PASSWORD = sys.argv[1:7]
PRIVATE_NS = sys.argv[7] if len(sys.argv) > 7 else None
WAIT = 15


class Probe(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__("%s@%s/probe" % (USER, DOMAIN), PASSWORD)
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.result = {"messages": [], "subscribe_from": [], "failed_mechs": []}
        self.done = asyncio.Event()
        self.register_plugin("xep_0054")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("presence_subscribe",
                               lambda p: self.result["subscribe_from"].append(p["from"].bare))
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("failed_all_auth", lambda _e: self.done.set())

    def on_failed_auth(self, _event):
        mech = self.plugin["feature_mechanisms"].mech
        self.result["failed_mechs"].append(mech.name if mech else "?")

    def on_message(self, msg):
        if msg["body"]:
            delay = msg.xml.find("{urn:xmpp:delay}delay")
            self.result["messages"].append({
                "from": str(msg["from"]), "body": msg["body"],
                "delay": delay.get("stamp") if delay is not None else None})

    async def on_start(self, _event):
        self.result["mechanism"] = self.plugin["feature_mechanisms"].mech.name
        await self.get_roster()
        roster = {}
        for jid in self.client_roster:
            item = self.client_roster[jid]
            roster[jid] = {"name": item["name"], "subscription": item["subscription"],
                           "ask": bool(item["pending_out"]), "groups": sorted(item["groups"])}
        self.result["roster"] = roster
        iq = await self.plugin["xep_0054"].get_vcard(local=False, cached=False)
        fn = iq.xml.find("{vcard-temp}vCard/{vcard-temp}FN")
        self.result["vcard_fn"] = fn.text if fn is not None else None
        if PRIVATE_NS:
            req = self.make_iq_get(ito=None)
            q = ET.Element("{jabber:iq:private}query")
            q.append(ET.Element("{%s}notes" % PRIVATE_NS))
            req.append(q)
            res = await req.send()
            note = res.xml.find("{jabber:iq:private}query/{%s}notes/{%s}note"
                                % (PRIVATE_NS, PRIVATE_NS))
            self.result["private_note"] = note.text if note is not None else None
        self.send_presence()
        await asyncio.sleep(2)  # offline messages and stored requests arrive now
        self.result["ok"] = True
        self.done.set()


async def main():
    p = Probe()
    p.connect(address=(IP, int(PORT)), force_starttls=True, disable_starttls=False)
    try:
        await asyncio.wait_for(p.done.wait(), WAIT)
    except asyncio.TimeoutError:
        p.result["timeout"] = True
    p.disconnect()
    await asyncio.sleep(0.2)
    print(json.dumps(p.result))
    return 0 if p.result.get("ok") else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG if __import__("os").environ.get("PROBE_DEBUG") else logging.CRITICAL)
    sys.exit(asyncio.run(main()))
