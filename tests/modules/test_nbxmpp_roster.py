"""tests/modules/test_nbxmpp_roster.py — roster, subscriptions, presence and blocking as
Gajim's library sees them: Debian's python3-nbxmpp clients on a GLib main loop, using
nbxmpp's own Roster, BasePresence and Blocking modules (raw stanzas only for chat messages).
Scenario "flows" (default): RFC 6121 §2.1-2.5 roster set/remove with pushes, the §3
subscription handshake to 'both' on both sides, §4 presence (initial, unavailable on logout,
after removal), XEP-0191 block/unblock with pushes and enforcement against a control sender.
Scenario "limit" (run with the roster module's max_items = 3): the 4th item is refused with
not-allowed and the roster keeps 3 items (docs/modules-builtin.md); "limit_subscriptions":
subscribe/subscribed at the limit must not add items either.
Every check is on what the client received; any miss fails the test.
"""
import os
import sys
import time  # noqa: F401 (the tests built on this one use R.time)

import gi
gi.require_version("Gio", "2.0")
from gi.repository import GLib  # noqa: E402,F401

import nbxmpp  # noqa: E402,F401

from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.namespaces import Namespace  # noqa: E402
from nbxmpp.protocol import JID, Message, NodeProcessed  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402
# The runner comes from nbxlib; the MAM, MUC and services tests reach it through this module
# (import test_nbxmpp_roster as R: R.drive, R.loop, R.outcome, R.Fail ...).
from nbxlib import (DOMAIN, IP, PORT, USERS, Fail, bare, call, drive, expect, loop,  # noqa: E402,F401
                    ok, outcome, passed, run, sleep, wait)

E = os.environ
LIMIT = 3  # the max_items the "limit" scenario's .sh configures


# --- a client and everything it received -------------------------------------------------

class Peer:
    def __init__(self, user, resource):
        self.user, self.resource = user, resource
        self.pushes = []      # RosterItem of each roster push, in order
        self.presences = []   # (type, from) of each presence received
        self.messages = []    # (from, body) of each chat message with a body
        self.errors = []      # (from, condition, app condition ns) of each error message
        self.block_pushes = []  # BlockingPush of each blocking push
        self.connected = False
        self.gone = False
        self.closing = False
        c = Client()
        c.set_domain(DOMAIN)
        c.set_username(user)
        c.set_resource(resource)
        c.set_password(USERS[user])
        c.set_custom_host("%s:%d" % (IP, PORT), ConnectionProtocol.TCP,
                          ConnectionType.START_TLS)
        c.subscribe("connected", self._connected)
        c.subscribe("connection-failed", self._failed)
        c.subscribe("disconnected", self._disconnected)
        # After nbxmpp's own handlers (priority 10-15) have parsed the stanza.
        c.register_handler(StanzaHandler(name="iq", callback=self._roster_push, typ="set",
                                         ns=Namespace.ROSTER, priority=20))
        c.register_handler(StanzaHandler(name="iq", callback=self._block_push, typ="set",
                                         ns=Namespace.BLOCKING, priority=20))
        c.register_handler(StanzaHandler(name="presence", callback=self._presence,
                                         priority=20))
        c.register_handler(StanzaHandler(name="message", callback=self._message,
                                         priority=20))
        self.client = c

    def __repr__(self):
        return self.user

    # events
    def _connected(self, client, _signal):
        if client.tls_version is None:
            self.failure = "%s connected without TLS" % self.user
        self.connected = True

    def _failed(self, client, _signal):
        self.gone = True
        self.failure = "%s: connection failed: %s" % (self.user, client.get_error())

    def _disconnected(self, client, _signal):
        self.gone = True
        if not self.closing:
            self.failure = "%s: disconnected unexpectedly: %s" % (self.user,
                                                                   client.get_error())

    def _roster_push(self, _client, _stanza, props):
        if props.roster is not None:
            self.pushes.append(props.roster.item)
        raise NodeProcessed

    def _block_push(self, _client, _stanza, props):
        if props.blocking is not None:
            self.block_pushes.append(props.blocking)
        raise NodeProcessed

    def _presence(self, _client, stanza, props):
        # nbxmpp's PresenceType.AVAILABLE has the value None (no type attribute).
        self.presences.append((props.type.value or "available", str(props.jid)))

    def _message(self, _client, stanza, _props):
        frm = str(stanza.getFrom())
        if stanza.getType() == "error":
            err = stanza.getTag("error")
            apps = [ch.getNamespace() for ch in err.getChildren()] if err else []
            self.errors.append((frm, stanza.getError(), apps))
        elif stanza.getBody():
            self.messages.append((frm, stanza.getBody()))

    # helpers
    def jid(self):
        return str(self.client.get_bound_jid())

    def bare(self):
        return bare(self.user)

    def roster(self):
        return self.client.get_module("Roster")

    def presence(self):
        return self.client.get_module("BasePresence")

    def blocking(self):
        return self.client.get_module("Blocking")

    def send_chat(self, to, body):
        self.client.send_stanza(Message(to=to, body=body, typ="chat"))


def login(peer, initial_presence=True):
    """Connects, fetches the roster (becoming an interested resource) and optionally sends
    initial presence; yields the roster items {bare: RosterItem}."""
    peer.connected = peer.gone = peer.closing = False
    peer.failure = None
    peer.client.connect()
    yield wait(lambda: peer.connected or peer.gone, "%s to log in" % peer.user, 20)
    expect(peer.connected and not peer.failure, getattr(peer, "failure", None) or "login")
    box = yield from call(peer.roster().request_roster)
    data = ok(box, "%s roster get" % peer.user)
    expect(data.version is not None, "%s: roster result without ver although the server "
           "advertises rosterver" % peer.user)
    if initial_presence:
        peer.presence().send()
    return {str(i.jid): i for i in (data.items or [])}


def logout(peer):
    peer.closing = True
    peer.client.disconnect()
    yield wait(lambda: peer.gone, "%s to disconnect" % peer.user)


def get_roster(peer):
    box = yield from call(peer.roster().request_roster)
    data = ok(box, "%s roster get" % peer.user)
    return {str(i.jid): i for i in (data.items or [])}


def push_for(peer, contact, start, check, what):
    """Waits for a roster push about `contact` after index `start` satisfying check(item);
    yields the item."""
    def find():
        for it in peer.pushes[start:]:
            if str(it.jid) == contact and check(it):
                return it
        return None
    item = yield wait(find, "%s: %s (pushes so far: %s)" % (peer.user, what,
                                                          [describe(i) for i in peer.pushes]))
    return item


def presence_from(peer, start, type_, frm, what):
    def find():
        for t, f in peer.presences[start:]:
            if t == type_ and (f == frm or f.split("/")[0] == frm):
                return (t, f)
        return None
    got = yield wait(find, "%s: %s (presences so far: %s)" % (peer.user, what,
                                                            peer.presences[start:]))
    return got


def describe(item):
    if item is None:
        return None
    return "%s sub=%s ask=%s name=%s groups=%s" % (item.jid, item.subscription, item.ask,
                                                   item.name, sorted(item.groups))


def state(item):
    return None if item is None else (item.subscription, item.ask)


# --- scenario "flows" ----------------------------------------------------------------------

def flows():
    a, b, x = Peer("u50", "gajim"), Peer("u51", "gajim"), Peer("u52", "control")
    peers = [a, b, x]
    try:
        for p in peers:
            items = yield from login(p)
            expect(items == {}, "%s: fresh account has roster %s" % (p, list(items)))
        aj, bj = a.bare(), b.bare()
        box = yield from call(a.blocking().request_blocking_list)
        expect(ok(box, "blocklist get") == set(), "fresh blocklist not empty: %r" % box)
        yield sleep(0.3)

        # RFC 6121 §2.3: roster set -> result and a push to the interested resource.
        n = len(a.pushes)
        box = yield from call(a.roster().set_item, bj, "Bob", ["Friends"])
        ok(box, "roster set")
        it = yield from push_for(a, bj, n, lambda i: True, "push of the new item")
        expect(it.name == "Bob" and it.groups == {"Friends"} and it.subscription == "none"
               and it.ask is None, "bad push for the new item: %s" % describe(it))
        passed("roster set: push with name, group, subscription none")

        # §3.1.2: A subscribes -> push with ask='subscribe'; B gets the request.
        na, nb, pb = len(a.pushes), len(b.pushes), len(b.presences)
        a.presence().subscribe(bj)
        it = yield from push_for(a, bj, na, lambda i: i.ask == "subscribe",
                                 "push with ask='subscribe'")
        expect(it.subscription == "none" and it.name == "Bob",
               "pending-out push: %s" % describe(it))
        got = yield from presence_from(b, pb, "subscribe", aj, "subscription request")
        expect(got[1] == aj, "subscribe arrived from %s, expected the bare JID %s"
               % (got[1], aj))
        passed("subscribe: A's push has ask, B got the request from A's bare JID")

        # §3.1.5: B approves -> B's roster gets A with 'from'; A gets 'to', 'subscribed'
        # and B's current presence.
        na, nb, pa = len(a.pushes), len(b.pushes), len(a.presences)
        b.presence().subscribed(aj)
        it = yield from push_for(b, aj, nb, lambda i: True, "push after approving")
        expect(state(it) == ("from", None), "B after approving: %s" % describe(it))
        it = yield from push_for(a, bj, na, lambda i: i.subscription == "to",
                                 "push with subscription 'to'")
        expect(it.ask is None and it.name == "Bob", "A after approval: %s" % describe(it))
        yield from presence_from(a, pa, "subscribed", bj, "'subscribed' from B")
        got = yield from presence_from(a, pa, "available", bj, "B's available presence")
        expect(got[1] == b.jid(), "B's presence from %s, expected %s" % (got[1], b.jid()))
        passed("subscribed: A has 'to', B has 'from', A sees B available")

        # B subscribes back, A approves -> 'both' on both sides.
        na, nb, pa = len(a.pushes), len(b.pushes), len(a.presences)
        b.presence().subscribe(aj)
        it = yield from push_for(b, aj, nb, lambda i: i.ask == "subscribe",
                                 "push with ask='subscribe'")
        expect(it.subscription == "from", "B pending out: %s" % describe(it))
        yield from presence_from(a, pa, "subscribe", bj, "B's subscription request")
        na, nb, pb = len(a.pushes), len(b.pushes), len(b.presences)
        a.presence().subscribed(bj)
        it = yield from push_for(a, bj, na, lambda i: i.subscription == "both",
                                 "push with 'both'")
        expect(it.ask is None and it.name == "Bob" and it.groups == {"Friends"},
               "A at both: %s" % describe(it))
        it = yield from push_for(b, aj, nb, lambda i: i.subscription == "both",
                                 "push with 'both'")
        expect(it.ask is None, "B at both: %s" % describe(it))
        got = yield from presence_from(b, pb, "available", aj, "A's available presence")
        expect(got[1] == a.jid(), "A's presence from %s, expected %s" % (got[1], a.jid()))
        ra = yield from get_roster(a)
        rb = yield from get_roster(b)
        expect(state(ra.get(bj)) == ("both", None) and list(ra) == [bj],
               "A's roster: %s" % [describe(i) for i in ra.values()])
        expect(state(rb.get(aj)) == ("both", None) and list(rb) == [aj],
               "B's roster: %s" % [describe(i) for i in rb.values()])
        passed("both: pushes and roster gets agree on both sides, both see each other")

        # The third account saw none of this.
        stray = [(t, f) for t, f in x.presences if f.split("/")[0] in (aj, bj)]
        expect(not stray and not x.pushes, "control account saw %s / %s" % (stray, x.pushes))

        # §4.5.2: B logs out -> A receives unavailable from B's full JID.
        bfull, pa = b.jid(), len(a.presences)
        yield from logout(b)
        yield from presence_from(a, pa, "unavailable", bfull, "B's unavailable")
        passed("logout: A got unavailable from %s" % bfull)

        # B back: the server probes and broadcasts (§4.2, §4.3) both ways.
        pa, pb = len(a.presences), len(b.presences)
        rb = yield from login(b)
        expect(state(rb.get(aj)) == ("both", None), "B's roster after login: %s"
               % [describe(i) for i in rb.values()])
        got = yield from presence_from(a, pa, "available", bj, "B's presence after login")
        expect(got[1] == b.jid(), "B's presence from %s" % got[1])
        got = yield from presence_from(b, pb, "available", aj, "A's presence (probe answer)")
        expect(got[1] == a.jid(), "probe answer from %s" % got[1])
        passed("login: initial presence and probe answer both ways")

        # §2.5.2: A removes B -> A gets a 'remove' push, B loses both directions (pushes
        # down to 'none'), B receives unavailable from A.
        na, nb, pb = len(a.pushes), len(b.pushes), len(b.presences)
        box = yield from call(a.roster().delete_item, bj)
        ok(box, "roster remove")
        yield from push_for(a, bj, na, lambda i: i.subscription == "remove", "'remove' push")
        it = yield from push_for(b, aj, nb, lambda i: i.subscription == "none",
                                 "push down to 'none'")
        expect(it.ask is None, "B after removal: %s" % describe(it))
        yield from presence_from(b, pb, "unavailable", aj, "A's unavailable after removal")
        ra = yield from get_roster(a)
        rb = yield from get_roster(b)
        expect(bj not in ra, "A's roster still has B: %s" % describe(ra.get(bj)))
        expect(state(rb.get(aj)) == ("none", None), "B's item for A after removal: %s"
               % describe(rb.get(aj)))
        passed("remove: A's item gone, B's item at 'none', B saw A go unavailable")

        # XEP-0191: A blocks B -> push; B's message is refused, X's (sent after) arrives.
        nblk, ma, eb = len(a.block_pushes), len(a.messages), len(b.errors)
        box = yield from call(a.blocking().block, [JID.from_string(bj)])
        ok(box, "block")
        push = yield wait(lambda: next((p for p in a.block_pushes[nblk:]
                                        if JID.from_string(bj) in p.block), None),
                          "block push (got %s)" % a.block_pushes)
        expect(push.block == {JID.from_string(bj)} and not push.unblock,
               "block push: %r" % (push,))
        box = yield from call(a.blocking().request_blocking_list)
        expect(ok(box, "blocklist get") == {JID.from_string(bj)},
               "blocklist after block: %r" % box)
        b.send_chat(aj, "from blocked B")
        yield sleep(0.2)
        x.send_chat(aj, "control from X")
        got = yield wait(lambda: next((m for m in a.messages[ma:]
                                       if m[1] == "control from X"), None),
                         "X's control message at A")
        expect(got[0] == x.jid(), "control message from %s" % got[0])
        yield wait(lambda: len(b.errors) > eb, "B's error reply for the blocked message")
        yield sleep(0.5)
        leaked = [m for m in a.messages[ma:] if m[0].split("/")[0] == bj]
        expect(not leaked, "a blocked contact's message arrived: %s" % leaked)
        expect(b.errors[eb][1] == "service-unavailable" and b.errors[eb][0] == aj,
               "B's bounce: %s" % (b.errors[eb],))
        # Outbound to a blocked JID: not-acceptable with the blocking error (XEP-0191 §3.5).
        ea = len(a.errors)
        a.send_chat(bj, "to blocked B")
        yield wait(lambda: len(a.errors) > ea, "A's error for messaging a blocked JID")
        expect(a.errors[ea][1] == "not-acceptable" and
               "urn:xmpp:blocking:errors" in a.errors[ea][2], "A's bounce: %s"
               % (a.errors[ea],))
        passed("block: push, blocked message refused (service-unavailable), control "
               "message delivered, outbound not-acceptable")

        # Unblock -> push, delivery restored.
        nblk, ma = len(a.block_pushes), len(a.messages)
        box = yield from call(a.blocking().unblock, [JID.from_string(bj)])
        ok(box, "unblock")
        push = yield wait(lambda: next((p for p in a.block_pushes[nblk:]
                                        if JID.from_string(bj) in p.unblock), None),
                          "unblock push (got %s)" % a.block_pushes)
        expect(not push.block and not push.unblock_all, "unblock push: %r" % (push,))
        b.send_chat(aj, "from unblocked B")
        got = yield wait(lambda: next((m for m in a.messages[ma:]
                                       if m[1] == "from unblocked B"), None),
                         "B's message after unblock")
        expect(got[0] == b.jid(), "message after unblock from %s" % got[0])
        box = yield from call(a.blocking().request_blocking_list)
        expect(ok(box, "blocklist get") == set(), "blocklist after unblock: %r" % box)
        passed("unblock: push, delivery restored, blocklist empty")
        failures = [p.failure for p in peers if getattr(p, "failure", None)]
        expect(not failures, "; ".join(failures))
    finally:
        for p in peers:
            p.closing = True
            if p.connected and not p.gone:
                p.client.disconnect()


# --- scenario "limit" ----------------------------------------------------------------------

def limit():
    a = Peer("u53", "gajim")
    try:
        items = yield from login(a)
        expect(items == {}, "fresh roster: %s" % list(items))
        contacts = [bare("c%d" % i) for i in range(LIMIT + 1)]
        for c in contacts[:LIMIT]:
            n = len(a.pushes)
            box = yield from call(a.roster().set_item, c, None, ["G"])
            ok(box, "roster set %s" % c)
            yield from push_for(a, c, n, lambda i: True, "push for %s" % c)
        passed("%d items accepted with pushes" % LIMIT)

        n = len(a.pushes)
        box = yield from call(a.roster().set_item, contacts[LIMIT], "one too many", None)
        err = box.get("error")
        expect(err is not None, "item %d accepted past max_items = %d" % (LIMIT + 1, LIMIT))
        expect(getattr(err, "condition", None) == "not-allowed",
               "item %d refused with %r, expected not-allowed" % (LIMIT + 1, err))
        yield sleep(0.3)
        expect(len(a.pushes) == n, "a refused item was pushed: %s"
               % [describe(i) for i in a.pushes[n:]])
        items = yield from get_roster(a)
        expect(sorted(items) == sorted(contacts[:LIMIT]), "roster after refusal: %s"
               % sorted(items))
        passed("item %d refused with not-allowed, no push, roster still has %d"
               % (LIMIT + 1, LIMIT))

        # An update of an existing item is no new item: still allowed at the limit.
        n = len(a.pushes)
        box = yield from call(a.roster().set_item, contacts[0], "renamed", ["G", "H"])
        ok(box, "update at the limit")
        it = yield from push_for(a, contacts[0], n, lambda i: i.name == "renamed",
                                 "push of the update")
        expect(it.groups == {"G", "H"}, "update push: %s" % describe(it))
        # Removing one makes room again.
        box = yield from call(a.roster().delete_item, contacts[1])
        ok(box, "remove")
        box = yield from call(a.roster().set_item, contacts[LIMIT], None, None)
        ok(box, "add after a removal")
        items = yield from get_roster(a)
        expect(sorted(items) == sorted([contacts[0], contacts[2], contacts[3]]),
               "roster after remove + add: %s" % sorted(items))
        passed("update at the limit allowed; removal makes room")

        expect(not getattr(a, "failure", None), str(getattr(a, "failure", None)))
    finally:
        a.closing = True
        if a.connected and not a.gone:
            a.client.disconnect()


def limit_subscriptions():
    """Presence subscriptions add roster items too: an outbound subscribe (RFC 6121 §3.1.2)
    and the approval of an inbound request (§3.1.5) must not grow a full roster past
    max_items either."""
    a, s = Peer("u53", "gajim"), Peer("u54", "gajim")
    try:
        yield from login(a)
        yield from login(s)
        contacts = [bare("c%d" % i) for i in range(LIMIT)]
        for c in contacts:
            ok((yield from call(a.roster().set_item, c, None, None)), "roster set %s" % c)
        items = yield from get_roster(a)
        expect(sorted(items) == contacts, "roster at the limit: %s" % sorted(items))

        n = len(a.pushes)
        a.presence().subscribe(bare("c9"))
        yield sleep(0.5)
        items = yield from get_roster(a)
        expect(len(items) == LIMIT, "an outbound subscribe grew the full roster to %d items: "
               "%s (pushes %s)" % (len(items), sorted(items),
                                   [describe(i) for i in a.pushes[n:]]))
        passed("outbound subscribe at the limit did not grow the roster")

        pa = len(a.presences)
        s.presence().subscribe(a.bare())
        yield from presence_from(a, pa, "subscribe", s.bare(), "the stranger's request")
        n = len(a.pushes)
        a.presence().subscribed(s.bare())
        yield sleep(0.5)
        items = yield from get_roster(a)
        expect(len(items) == LIMIT, "approving an inbound request grew the full roster to %d "
               "items: %s (pushes %s)" % (len(items), sorted(items),
                                          [describe(i) for i in a.pushes[n:]]))
        passed("approving a request at the limit did not grow the roster")
    finally:
        for p in (a, s):
            p.closing = True
            if p.connected and not p.gone:
                p.client.disconnect()


SCENARIOS = {"flows": flows, "limit": limit, "limit_subscriptions": limit_subscriptions}

if __name__ == "__main__":
    run(SCENARIOS, sys.argv[1] if len(sys.argv) > 1 else "flows")
