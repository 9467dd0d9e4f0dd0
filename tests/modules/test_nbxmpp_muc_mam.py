"""tests/modules/test_nbxmpp_muc_mam.py — a room's archive as Gajim syncs it, with Debian's
python3-nbxmpp (Gajim's library) on a GLib loop, the muc and mam modules loaded:
- an owner configures a non-anonymous room through nbxmpp's form; nbxmpp's disco#info
  parse finds mam:2 on the room (Gajim's DiscoInfo.mam_namespace);
- 300 messages from two occupants; a third account syncs the room archive as Gajim does
  on a first join (nbxmpp's make_query to the room JID: start = a day ago, pages of 70,
  RSM after until complete) and every result passes Gajim's checks (a MAM message of type
  groupchat from the room's archive, archive JID matching the sender's room), in order,
  with the stanza-ids the occupants saw live, the sender's nick and real JID;
- a later catch-up as Gajim does it (after the last live stanza-id by the room; a chat
  state carries no room stanza-id, so Gajim never remembers an id the archive lacks): only
  the new messages, then a moderation (nbxmpp's own retraction request) reaches the syncing
  client through the archive as nbxmpp's moderation data;
- a members-only room's archive refuses a non-member with forbidden (nbxmpp StanzaError).
"""
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import test_nbxmpp_roster as R
from gi.repository import GLib
from nbxmpp.errors import StanzaError
from nbxmpp.namespaces import Namespace
from nbxmpp.protocol import JID, Message, Presence
from nbxmpp.structs import StanzaHandler

wait, call, ok, expect, Fail = R.wait, R.call, R.ok, R.expect, R.Fail
ROOM = "gajimarchive@conference." + R.DOMAIN
CLOSED = "gajimmembers@conference." + R.DOMAIN
N_A, N_B = 200, 100


class Occupant(R.Peer):
    """A client that keeps what it receives from rooms: live groupchat messages and MAM
    results (as Gajim's handlers see them, after nbxmpp's parsers)."""

    def __init__(self, user, resource):
        super().__init__(user, resource)
        self.live = []       # (room, nick, body, stanza-id by the room, props)
        self.states = []     # body-less groupchat stanzas (chat states, notices)
        self.mam = {}        # queryid -> [props]
        self.joined = set()
        self.client.register_handler(StanzaHandler(name="message", callback=self._room_message,
                                                   priority=51))
        self.client.register_handler(StanzaHandler(name="presence", callback=self._room_presence,
                                                   priority=51))

    def _room_presence(self, _client, stanza, props):
        if props.muc_status_codes and 110 in {int(c.value) for c in props.muc_status_codes}:
            self.joined.add(str(props.jid.bare))

    def _room_message(self, _client, stanza, props):
        if props.is_mam_message:
            self.mam.setdefault(props.mam.query_id, []).append(props)
            return
        if not props.type.is_groupchat or props.muc_subject is not None:
            return
        room = str(props.jid.bare)
        ids = [s.id for s in props.stanza_ids if s.by == room]
        if props.body:
            self.live.append((room, props.jid.resource, props.body, ids[0] if ids else None,
                              props))
        else:
            self.states.append((stanza, ids))

    def join(self, room, nick):
        p = Presence(to="%s/%s" % (room, nick))
        p.setTag("x", namespace=Namespace.MUC).setTag("history", attrs={"maxchars": "0"})
        self.client.send_stanza(p)
        return wait(lambda: room in self.joined, "%s joined %s" % (self, room))

    def say(self, room, body):
        self.client.send_stanza(Message(to=room, body=body, typ="groupchat"))

    def bodies(self, room):
        return [x[2] for x in self.live if x[0] == room]


def gajim_sync(p, room, after=None, start=None):
    """Gajim's MAM sync of a room (mam.py _execute_query): make_query pages of nbxmpp's
    default size (70) with RSM after, until complete; yields (results, pages, last)."""
    out, pages = [], 0
    while True:
        qid = str(uuid.uuid4())
        box = yield from call(p.client.get_module("MAM").make_query, JID.from_string(room),
                              queryid=qid, after=after, start=start)
        data = ok(box, "make_query %s after %s" % (room, after))
        res = p.mam.pop(qid, [])
        pages += 1
        for props in res:
            # Gajim's _from_valid_archive and _get_unique_id for groupchat results.
            expect(props.type.is_groupchat and props.mam.archive.bare_match(props.jid) and
                   str(props.mam.archive) == room,
                   "result from the room's archive: %s %s" % (props.mam.archive, props.jid))
        if res:
            expect(data.rsm.first == res[0].mam.id and data.rsm.last == res[-1].mam.id,
                   "page %d: first/last match the results" % pages)
        out += res
        if data.complete:
            return out, pages, data.rsm.last
        after = data.rsm.last


def scenario():
    a, b, g = Occupant("u60", "gajim"), Occupant("u61", "gajim"), Occupant("u62", "gajim")
    try:
        for p in (a, b, g):
            yield from R.login(p)
        yield a.join(ROOM, "alice")
        box = yield from call(a.client.get_module("MUC").request_config, JID.from_string(ROOM))
        form = ok(box, "config request").form
        expect(form["muc#roomconfig_enablelogging"].value is True,
               "logging on by default where the archive is: %r"
               % form["muc#roomconfig_enablelogging"].value)
        form["muc#roomconfig_whois"].value = "anyone"
        ok((yield from call(a.client.get_module("MUC").set_config, JID.from_string(ROOM),
                            form)), "config submit")
        box = yield from call(g.client.get_module("Discovery").disco_info,
                              JID.from_string(ROOM))
        info = ok(box, "disco#info of the room")
        expect(info.mam_namespace == Namespace.MAM_2 and
               "urn:xmpp:mam:2#extended" in info.features, "mam on the room: %s"
               % info.features)
        R.passed("a non-anonymous room configured through nbxmpp; disco#info has mam:2")

        yield b.join(ROOM, "bob")
        for i in range(N_A):
            a.say(ROOM, "from alice %03d" % i)
        yield wait(lambda: len(b.bodies(ROOM)) >= N_A, "alice's messages at bob", 60)
        for i in range(N_B):
            b.say(ROOM, "from bob %03d" % i)
        yield wait(lambda: len(b.bodies(ROOM)) >= N_A + N_B, "bob's own messages", 60)
        live = [x for x in b.live if x[0] == ROOM]
        expect(all(x[3] for x in live), "every room message carries the room's stanza-id")

        # Gajim's first join: a day back, pages of 70.
        start = datetime.now(timezone.utc) - timedelta(days=1)
        res, pages, last = yield from gajim_sync(g, ROOM, start=start)
        expect([r.body for r in res] == [x[2] for x in live] and pages == 5,
               "first sync: %d results in %d pages" % (len(res), pages))
        expect([r.mam.id for r in res] == [x[3] for x in live],
               "the archive ids are the stanza-ids seen live")
        nicks = [r.jid.resource for r in res]
        reals = [str(r.muc_user.jid) if r.muc_user else None for r in res]
        expect(nicks == ["alice"] * N_A + ["bob"] * N_B and
               reals == [R.bare("u60")] * N_A + [R.bare("u61")] * N_B,
               "nick and real JID of each sender: %s %s" % (nicks[0], reals[0]))
        stamps = [r.mam.timestamp for r in res]
        expect(stamps == sorted(stamps) and all(r.occupant_id for r in res),
               "stamps in order, occupant ids")
        R.passed("Gajim's first sync of the room: %d messages, %d pages, live ids" %
                 (len(res), pages))

        # Gajim's catch-up after the last id it saw live (a chat state has none).
        last_live = b.live[-1][3]
        chat_state = Message(to=ROOM, typ="groupchat")
        chat_state.setTag("composing", namespace=Namespace.CHATSTATES)
        a.client.send_stanza(chat_state)
        yield wait(lambda: b.states, "the chat state at bob")
        expect(not b.states[-1][1], "a chat state carries no stanza-id by the room: %s"
               % b.states[-1][0])
        for i in range(5):
            a.say(ROOM, "later %d" % i)
        yield wait(lambda: len(b.bodies(ROOM)) >= N_A + N_B + 5, "the later messages")
        res, pages, last = yield from gajim_sync(g, ROOM, after=last_live)
        expect([r.body for r in res] == ["later %d" % i for i in range(5)] and pages == 1,
               "catch-up after the last live id: %s" % [r.body for r in res])
        R.passed("catch-up from the last live stanza-id: only the 5 new messages")

        # A moderation, sent as nbxmpp sends it, reaches the syncing client via the archive.
        target = live[3][3]
        a.client.get_module("MUC").retract_message(JID.from_string(ROOM), target, "spam")
        yield wait(lambda: any(s[0].getTag("apply-to", namespace=Namespace.FASTEN)
                               for s in b.states), "the retraction at bob")
        res, pages, _ = yield from gajim_sync(g, ROOM, after=last)
        mods = [r.moderation for r in res if r.moderation is not None]
        expect(len(res) == 1 and len(mods) == 1 and mods[0].stanza_id == target and
               mods[0].moderator_jid == ROOM + "/alice",
               "the retraction comes through the archive: %s" % mods)
        box = yield from call(g.client.get_module("MAM").make_query, JID.from_string(ROOM),
                              queryid="four", max_=4)
        ok(box, "the first four messages")
        four = g.mam.pop("four", [])
        expect([r.body for r in four] == [x[2] for x in live[:3]] + [None] and
               four[3].mam.id == target and four[3].jid.resource == "alice",
               "the moderated message is a tombstone in its place: %s"
               % [r.body for r in four])
        R.passed("moderation: the tombstone in place, the retraction archived")

        # Members-only: a non-member is refused.
        yield a.join(CLOSED, "alice")
        box = yield from call(a.client.get_module("MUC").request_config,
                              JID.from_string(CLOSED))
        form = ok(box, "config request").form
        form["muc#roomconfig_membersonly"].value = True
        ok((yield from call(a.client.get_module("MUC").set_config, JID.from_string(CLOSED),
                            form)), "members-only")
        box = yield from call(g.client.get_module("MAM").make_query, JID.from_string(CLOSED),
                              queryid=str(uuid.uuid4()))
        err = box.get("error")
        expect(isinstance(err, StanzaError) and err.condition == "forbidden",
               "non-member: %r" % err)
        R.passed("a members-only room's archive refuses a non-member (forbidden)")
        for p in (a, b, g):
            yield from R.logout(p)
    finally:
        for p in (a, b, g):
            p.closing = True
            if p.connected and not p.gone:
                p.client.disconnect()


if __name__ == "__main__":
    print("# nbxmpp %s" % getattr(R.nbxmpp, "__version__", "?"), flush=True)
    R.drive(scenario())
    GLib.timeout_add_seconds(170, lambda: (R.outcome.__setitem__(
        "error", Fail("scenario did not finish in 170 s")), R.loop.quit()))
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
