"""tests/modules/test_nbxmpp_muc.py — Multi-User Chat as Gajim's library sees it: Debian's
python3-nbxmpp clients using nbxmpp's MUC module (status codes, muc#user items, subject,
config form request/submit, roles, affiliations, XEP-0425 retraction) and its Discovery
module; the join presence is built as Gajim builds it. Flow: create (201/110), configure
through the form nbxmpp parsed, a second client joins and both talk, the subject is set,
a private message, voice is revoked and the visitor is refused, a retraction arrives,
the owner destroys the room. Every check is on what the clients received."""
import sys
import time

import nbxmpp  # noqa: F401
from gi.repository import GLib
from nbxmpp.namespaces import Namespace
from nbxmpp.protocol import JID, Message, Presence
from nbxmpp.structs import StanzaHandler

import test_nbxmpp_roster as R
from test_nbxmpp_roster import Fail, expect, login, logout, wait, call, ok

ROOM = "gajimroom@conference." + R.DOMAIN


class MucPeer(R.Peer):
    def __init__(self, user, resource):
        super().__init__(user, resource)
        self.muc_pres = []   # (nick, type, status codes, muc_user) of room presence
        self.muc_msgs = []   # (nick, body, stanza-id by the room, props)
        self.subjects = []
        self.pms = []
        self.errors_seen = []
        self.retractions = []
        c = self.client
        c.register_handler(StanzaHandler(name="presence", callback=self._muc_presence,
                                         priority=30))
        c.register_handler(StanzaHandler(name="message", callback=self._muc_message,
                                         priority=30))

    def _muc_presence(self, _client, stanza, props):
        if str(props.jid.bare) != ROOM:
            return
        if props.type.is_error:
            self.errors_seen.append(stanza.getError())
            return
        codes = {int(c.value) for c in (props.muc_status_codes or set())}
        mu = props.muc_user
        self.muc_pres.append((props.jid.resource, props.type.value or "available", codes,
                              mu))

    def _muc_message(self, _client, stanza, props):
        if str(props.jid.bare) != ROOM:
            return
        if props.type.is_error:
            self.errors_seen.append(stanza.getError())
        elif props.muc_subject is not None:
            self.subjects.append(props.muc_subject.text)
        elif props.muc_private_message and props.body:
            self.pms.append((props.jid.resource, props.body))
        elif props.body:
            sid = stanza.getTag("stanza-id", namespace=Namespace.SID)
            self.muc_msgs.append((props.jid.resource, props.body,
                                  sid.getAttr("id") if sid else None, props))
        elif stanza.getTag("retract", namespace="urn:xmpp:message-retract:1") is not None or \
                stanza.getTag("apply-to", namespace="urn:xmpp:fasten:0") is not None:
            self.retractions.append(stanza)

    def join(self, nick):
        # As Gajim does: presence to room/nick with <x xmlns='muc'><history .../></x>.
        p = Presence(to="%s/%s" % (ROOM, nick))
        p.setTag("x", namespace=Namespace.MUC).setTag("history", attrs={"maxstanzas": "20"})
        self.client.send_stanza(p)

    def muc(self):
        return self.client.get_module("MUC")


def find_pres(peer, nick, codes=(), type_="available"):
    def pred():
        for n, t, c, mu in peer.muc_pres:
            if n == nick and t == type_ and set(codes) <= c:
                return (n, t, c, mu)
        return None
    return wait(pred, "%s: presence %s of %s with %s (got %s)" % (
        peer, type_, nick, codes, [(n, t, c) for n, t, c, _ in peer.muc_pres]))


def flow():
    a, b = MucPeer("u60", "gajim"), MucPeer("u61", "gajim")
    try:
        for p in (a, b):
            yield from login(p)
        a.join("alice")
        n, t, codes, mu = yield find_pres(a, "alice", (110, 201))
        expect(mu.affiliation.value == "owner" and mu.role.value == "moderator",
               "creator: %s %s" % (mu.affiliation, mu.role))
        R.passed("room created (201, 110, owner/moderator)")
        box = yield from call(a.muc().request_config, JID.from_string(ROOM))
        form = ok(box, "config request").form
        expect(form is not None and form["muc#roomconfig_roomname"] is not None,
               "config form parsed by nbxmpp")
        form["muc#roomconfig_roomname"].value = "Gajim room"
        form["muc#roomconfig_whois"].value = "anyone"
        box = yield from call(a.muc().set_config, JID.from_string(ROOM), form)
        ok(box, "config submit")
        box = yield from call(a.client.get_module("Discovery").disco_info,
                              JID.from_string(ROOM))
        info = ok(box, "disco#info")
        expect(info.get_field_value(Namespace.MUC_INFO, "muc#roomconfig_roomname")
               == "Gajim room" and "muc_nonanonymous" in info.features,
               "disco#info after configuration: %s" % info.features)
        R.passed("configured through nbxmpp's data form; disco#info shows it")
        b.join("bob")
        n, t, codes, mu = yield find_pres(b, "bob", (110, 100))
        yield find_pres(b, "alice")
        yield find_pres(a, "bob")
        yield wait(lambda: b.subjects, "%s: subject after join" % b)
        R.passed("second client joined (110, 100), sees the owner and the subject")
        a.client.send_stanza(Message(to=ROOM, body="hello from gajim", typ="groupchat"))
        b.client.send_stanza(Message(to=ROOM, body="hi alice", typ="groupchat"))
        for p in (a, b):
            yield wait(lambda p=p: [m[1] for m in p.muc_msgs] == ["hello from gajim",
                                                                   "hi alice"],
                       "%s: both messages (got %s)" % (p, [m[1] for m in p.muc_msgs]))
            expect(all(m[2] for m in p.muc_msgs), "stanza-ids on room messages")
            expect(all(m[3].occupant_id for m in p.muc_msgs), "occupant ids parsed")
        R.passed("groupchat both ways with stanza-id and occupant-id")
        a.muc().set_subject(JID.from_string(ROOM), "nbxmpp topic")
        yield wait(lambda: "nbxmpp topic" in b.subjects, "%s: new subject" % b)
        b.client.send_stanza(Message(to=ROOM + "/alice", body="private", typ="chat"))
        yield wait(lambda: ("bob", "private") in a.pms, "%s: private message" % a)
        R.passed("subject change and private message")
        box = yield from call(a.muc().set_role, JID.from_string(ROOM), "bob", "visitor")
        ok(box, "revoke voice")
        yield find_pres(b, "bob", (110,))
        yield wait(lambda: any(n == "bob" and mu and mu.role.value == "visitor"
                               for n, t, c, mu in b.muc_pres), "%s: visitor" % b)
        b.client.send_stanza(Message(to=ROOM, body="can I talk?", typ="groupchat"))
        yield wait(lambda: "forbidden" in b.errors_seen, "%s: forbidden (%s)"
                   % (b, b.errors_seen))
        R.passed("voice revoked; a visitor's message is refused with forbidden")
        sid = a.muc_msgs[1][2]
        a.muc().retract_message(JID.from_string(ROOM), sid, "rude")
        yield wait(lambda: b.retractions, "%s: retraction" % b)
        R.passed("XEP-0425 retraction sent by nbxmpp reaches the occupants")
        box = yield from call(a.muc().destroy, JID.from_string(ROOM), "done")
        ok(box, "destroy")
        yield wait(lambda: any(n == "bob" and t == "unavailable" for n, t, c, mu in b.muc_pres),
                   "%s: unavailable on destroy" % b)
        R.passed("room destroyed")
        for p in (a, b):
            yield from logout(p)
    finally:
        for p in (a, b):
            p.closing = True
            if p.connected and not p.gone:
                p.client.disconnect()


if __name__ == "__main__":
    R.drive(flow())
    GLib.timeout_add_seconds(80, lambda: (R.outcome.__setitem__(
        "error", Fail("scenario did not finish in 80 s")), R.loop.quit()))
    R.loop.run()
    ctx = GLib.MainContext.default()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.01)
    if R.outcome["error"] is not None:
        print("FAIL: %s" % R.outcome["error"], flush=True)
        sys.exit(1)
    sys.exit(0 if R.outcome["done"] else 1)
