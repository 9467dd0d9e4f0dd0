#!/usr/bin/python3
"""tests/s2s/gajim_peer.py — the Prosody side of the closing-criterion test (peers.py purple):
"a Gajim user on Prosody", driven with python3-nbxmpp, Gajim's own library (through
tests/modules/nbxlib.py: STARTTLS trusting only the test CA, entity capabilities as Gajim
sends them). juliet logs in to Prosody, opens a room there, then answers the Pidgin user
on Myna: approves and returns its subscription, replies to its chat message, answers in
the Prosody room, and enters the Myna room once it exists, answering there too.

Environment: nbxlib's E2E_* for Prosody (E2E_USERS holds juliet), FED_MYNA_USER (the
Pidgin user's bare JID), FED_PEER_ROOM, FED_MYNA_ROOM. Prints "READY" once the Prosody
room is open, then one "SEEN key value" line per step; runs until SIGTERM."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "modules"))
import nbxlib as N  # noqa: E402
from gi.repository import GLib  # noqa: E402
from nbxmpp.protocol import Iq, Message, Presence  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402

NS_MUC = "http://jabber.org/protocol/muc"
MYNA_USER = os.environ["FED_MYNA_USER"]
PEER_ROOM, MYNA_ROOM = os.environ["FED_PEER_ROOM"], os.environ["FED_MYNA_ROOM"]
seen = {}


def report(key, value):
    if key not in seen:
        seen[key] = value
        print("SEEN %s %s" % (key, value), flush=True)


def main():
    j = N.Peer("juliet", "gajim")
    send = j.client.send_stanza

    def join(room, nick):
        p = Presence(to="%s/%s" % (room, nick))
        p.setTag("x", namespace=NS_MUC)
        send(p)

    def on_presence(_client, stanza, _props):
        frm, typ = str(stanza.getFrom() or ""), stanza.getType() or "available"
        if typ == "subscribe" and frm == MYNA_USER:
            send(Presence(to=MYNA_USER, typ="subscribed"))
            send(Presence(to=MYNA_USER, typ="subscribe"))
            report("subscribe", frm)
        elif frm.startswith(MYNA_USER + "/") and typ == "available":
            report("presence-from", frm)  # the subscription works both ways
        elif frm == PEER_ROOM + "/Juliet" and typ != "error":
            x = stanza.getTag("x", namespace=NS_MUC + "#user")
            codes = [s.getAttr("code") for s in x.getTags("status")] if x else []
            if "201" in codes:  # a new room: accept the default configuration (instant)
                iq = Iq(typ="set", queryNS=NS_MUC + "#owner", to=PEER_ROOM)
                iq.getQuery().setTag("x", namespace="jabber:x:data", attrs={"type": "submit"})
                send(iq)
            report("peer-room-open", frm)
        elif frm == MYNA_ROOM + "/Juliet" and typ != "error":
            report("myna-room-joined", frm)

    def on_message(_client, stanza, _props):
        frm, typ, body = str(stanza.getFrom() or ""), stanza.getType(), stanza.getBody()
        if typ != "groupchat" and body == "hello from pidgin":
            report("chat-from", frm)
            send(Message(to=frm, body="hi pidgin", typ="chat"))
        elif typ == "groupchat" and body == "pidgin in the peer's room":
            report("peer-room", frm)
            send(Message(to=PEER_ROOM, body="juliet in the peer's room", typ="groupchat"))
        elif typ == "groupchat" and body == "pidgin in the Myna room":
            report("myna-room", frm)
            send(Message(to=MYNA_ROOM, body="juliet in the Myna room", typ="groupchat"))

    j.client.register_handler(StanzaHandler(name="presence", callback=on_presence, priority=31))
    j.client.register_handler(StanzaHandler(name="message", callback=on_message, priority=31))

    def try_myna_room():
        # The room exists once Pidgin has created it; until then Myna answers an error.
        if "peer-room" in seen and "myna-room-joined" not in seen:
            join(MYNA_ROOM, "Juliet")
        return "myna-room-joined" not in seen

    def scenario():
        yield from N.login(j)
        box = yield from N.call(j.module("Roster").request_roster, None)
        N.ok(box, "roster")
        join(PEER_ROOM, "Juliet")
        yield N.wait(lambda: "peer-room-open" in seen, "the room on Prosody", 20)
        print("READY", flush=True)
        GLib.timeout_add(1000, try_myna_room)
        yield N.wait(lambda: False, "the end of the test (SIGTERM)", 600)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("# nbxmpp %s" % N.nbxmpp.__version__, flush=True)
    N.drive(scenario())
    N.loop.run()  # until SIGTERM, or a failed step
    print("FAIL: %s" % N.outcome["error"], flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
