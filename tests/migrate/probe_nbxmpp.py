"""tests/migrate/probe_nbxmpp.py — logs in with Gajim's library (Debian's python3-nbxmpp)
and prints, as one JSON object, the SASL mechanism it used, the roster as nbxmpp's Roster
module parses it, and the chat messages and subscription requests delivered after initial
presence, in arrival order. nbxmpp, unlike slixmpp, never tries a second mechanism: if the
server offered one the account cannot complete, this login fails.

Usage: probe_nbxmpp.py IP PORT DOMAIN CAFILE USER PASSWORD
Exit status 0 with the JSON on stdout, 1 if the login failed.
"""
import json
import os
import sys

import gi
gi.require_version("Gio", "2.0")
from gi.repository import GLib  # noqa: E402

from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.protocol import Presence  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nbxtrust  # noqa: E402

IP, PORT, DOMAIN, CA, USER, PASSWORD = sys.argv[1:7]

nbxtrust.trust_only(CA)  # nbxmpp has no CA-file option

loop = GLib.MainLoop()
result = {"messages": [], "subscribe_from": []}


def on_message(_client, stanza, _props):
    if stanza.getBody():
        delay = stanza.getTag("delay", namespace="urn:xmpp:delay")
        result["messages"].append({"from": str(stanza.getFrom()), "body": stanza.getBody(),
                                   "delay": delay.getAttr("stamp") if delay else None})


def on_presence(_client, stanza, _props):
    if stanza.getType() == "subscribe":
        result["subscribe_from"].append(str(stanza.getFrom().bare))


def on_roster(task):
    try:
        data = task.finish()
    except Exception as e:  # noqa: BLE001
        result["error"] = "roster: %r" % e
        loop.quit()
        return
    result["roster"] = {str(i.jid): {"name": i.name or "", "subscription": i.subscription,
                                     "ask": i.ask == "subscribe", "groups": sorted(i.groups)}
                        for i in data.items}
    client.send_stanza(Presence())
    GLib.timeout_add(2000, finish)


def finish():
    result["ok"] = True
    loop.quit()
    return False


def on_connected(c, _signal):
    mech = getattr(getattr(c, "_sasl", None), "_mechanism", None)
    result["mechanism"] = getattr(mech, "name", None)
    c.get_module("Roster").request_roster(callback=on_roster)


def on_failed(c, _signal):
    result["error"] = "connection failed: %s" % (c.get_error(),)
    loop.quit()


client = Client()
client.set_domain(DOMAIN)
client.set_username(USER)
client.set_resource("probe")
client.set_password(PASSWORD)
client.set_custom_host("%s:%s" % (IP, PORT), ConnectionProtocol.TCP, ConnectionType.START_TLS)
client.subscribe("connected", on_connected)
client.subscribe("connection-failed", on_failed)
client.subscribe("disconnected", lambda c, _s: (result.setdefault(
    "error", "disconnected: %s" % (c.get_error(),)), loop.quit()))
client.register_handler(StanzaHandler(name="message", callback=on_message))
client.register_handler(StanzaHandler(name="presence", callback=on_presence))

if __name__ == "__main__":
    GLib.timeout_add(15000, lambda: (result.setdefault("error", "timeout"), loop.quit()))
    client.connect()
    loop.run()
    print(json.dumps(result))
    sys.exit(0 if result.get("ok") else 1)
