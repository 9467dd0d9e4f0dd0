"""tests/modules/nbxlib.py — python3-nbxmpp (Gajim's library) clients for the module tests:
a sequential scenario runner on the GLib main loop (a scenario is a generator yielding
waits), nbxmpp task calls that yield their result, and a Peer that logs in over STARTTLS
trusting only the test CA, advertises entity capabilities the way Gajim does (nbxmpp's
EntityCaps module answers the server's disco#info; <c/> in every presence) and records
the PEP events and presences it receives as nbxmpp parsed them."""
import os
import sys
import time

import gi
gi.require_version("Gio", "2.0")
from gi.repository import GLib  # noqa: E402

import nbxmpp  # noqa: E402,F401
from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.namespaces import Namespace  # noqa: E402
from nbxmpp.protocol import Presence  # noqa: E402
from nbxmpp.structs import DiscoIdentity, StanzaHandler  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nbxtrust  # noqa: E402

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 10.0

nbxtrust.trust_only(CA)  # nbxmpp has no CA-file option


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def bare(user):
    return "%s@%s" % (user, DOMAIN)


# --- the runner --------------------------------------------------------------------------

loop = GLib.MainLoop()
outcome = {"error": None, "done": False}


def wait(pred, what, seconds=WAIT):
    return ("wait", pred, what, seconds)


def sleep(seconds):
    return ("sleep", seconds)


def drive(gen):
    """Runs the scenario; a timeout is thrown into it (so its finally: blocks can log out
    cleanly) and reported once the generator has finished."""
    state = {"cmd": None, "deadline": 0.0, "error": None}

    def finish(error=None):
        error = state["error"] or error
        outcome["error"] = error
        outcome["done"] = error is None
        loop.quit()
        return False

    def start(cmd):
        state["cmd"] = cmd
        state["deadline"] = time.monotonic() + (cmd[-1] if cmd[0] == "wait" else cmd[1])
        return True

    def resume(how, value=None):
        try:
            return start(gen.send(value) if how == "send" else gen.throw(value))
        except StopIteration:
            return finish()
        except Exception as e:  # noqa: BLE001 (a Fail or a client library error)
            return finish(e)

    def poll():
        cmd = state["cmd"]
        if cmd[0] == "sleep":
            return resume("send") if time.monotonic() >= state["deadline"] else True
        try:
            ok_ = cmd[1]()
        except Exception as e:  # noqa: BLE001
            state["error"] = state["error"] or e
            return resume("throw", e)
        if ok_:
            return resume("send", ok_)
        if time.monotonic() > state["deadline"]:
            e = Fail("timed out after %.0f s waiting for %s" % (cmd[3], cmd[2]))
            state["error"] = state["error"] or e
            return resume("throw", e)
        return True

    if resume("send"):
        GLib.timeout_add(20, poll)


def call(method, *args, **kwargs):
    """Runs an nbxmpp task (a module method taking callback=) to completion; yields a box
    with "result" or "error"."""
    box = {}

    def done(task):
        try:
            box["result"] = task.finish()
        except Exception as e:  # noqa: BLE001
            box["error"] = e
        box["done"] = True

    method(*args, callback=done, **kwargs)
    yield wait(lambda: box.get("done"), "reply to %s" % method.__qualname__)
    return box


def ok(box, what):
    if "error" in box:
        raise Fail("%s failed: %r" % (what, box["error"]))
    return box["result"]


def err(box, what):
    """The StanzaError of a failed task (condition, app_condition)."""
    e = box.get("error")
    expect(e is not None, "%s succeeded but should have failed: %r" % (what, box.get("result")))
    return getattr(e, "condition", None), getattr(e, "app_condition", None)


# --- a client ----------------------------------------------------------------------------

class Peer:
    def __init__(self, user, resource, notify=()):
        self.user, self.resource = user, resource
        self.events = []     # nbxmpp's PubSubEventData of each pubsub event message
        self.presences = []  # (from, properties) of each presence
        self.connected = self.gone = self.closing = False
        self.failure = None
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
        # After nbxmpp's own modules (priorities up to 16) have parsed the stanza.
        c.register_handler(StanzaHandler(name="message", callback=self._message,
                                         ns=Namespace.PUBSUB_EVENT, priority=30))
        c.register_handler(StanzaHandler(name="presence", callback=self._presence,
                                         priority=30))
        # Before EntityCaps (20) answers the server's disco#info about our caps.
        c.register_handler(StanzaHandler(name="iq", callback=self._disco, typ="get",
                                         ns=Namespace.DISCO_INFO, priority=19))
        self.disco_requests = 0
        features = [Namespace.DISCO_INFO, Namespace.CAPS, Namespace.PING]
        features += ["%s+notify" % n for n in notify]
        # A name of its own, so the server has to ask each peer once (no shared cache hit).
        c.get_module("EntityCaps").set_caps(
            [DiscoIdentity(category="client", type="pc", name="nbxmpp-test %s" % self)],
            features, "https://gajim.org")
        self.client = c

    def __repr__(self):
        return "%s/%s" % (self.user, self.resource)

    def _connected(self, client, _signal):
        self.connected = True

    def _failed(self, client, _signal):
        self.gone = True
        self.failure = "%s: connection failed: %s" % (self, client.get_error())

    def _disconnected(self, client, _signal):
        self.gone = True
        if not self.closing:
            self.failure = "%s: disconnected unexpectedly: %s" % (self, client.get_error())

    def _message(self, _client, _stanza, props):
        if props.is_pubsub_event:
            self.events.append(props.pubsub_event)

    def _disco(self, _client, _stanza, _props):
        self.disco_requests += 1

    def _presence(self, _client, _stanza, props):
        self.presences.append((str(props.jid), props))

    def module(self, name):
        return self.client.get_module(name)

    def bare(self):
        return bare(self.user)

    def send_presence(self):
        """Available presence with caps, as Gajim sends it."""
        caps = self.module("EntityCaps").caps
        p = Presence()
        p.setTag("c", namespace=Namespace.CAPS,
                 attrs={"hash": caps.hash, "node": caps.node, "ver": caps.ver})
        self.client.send_stanza(p)

    def event(self, node, pred=lambda ev: True, start=0):
        for ev in self.events[start:]:
            if ev.node == node and pred(ev):
                return ev
        return None


def login(peer, presence=True):
    """Connects and sends presence with caps. The first time, waits until the server has
    asked for the caps and read the answer (a disco#info of the server after it is the
    barrier: a stream is processed in order), so PEP events reach this peer from then."""
    peer.connected = peer.gone = peer.closing = False
    peer.failure = None
    peer.client.connect()
    yield wait(lambda: peer.connected or peer.gone, "%s to log in" % peer, 20)
    expect(peer.connected and not peer.failure, peer.failure or "login")
    if presence:
        first = not getattr(peer, "caps_known", False)
        peer.send_presence()
        if first:
            yield wait(lambda: peer.disco_requests > 0, "%s: the server's disco#info" % peer)
            peer.caps_known = True
        yield from call(peer.module("Discovery").disco_info, DOMAIN)
    return peer


def logout(peer):
    peer.closing = True
    peer.client.disconnect()
    yield wait(lambda: peer.gone, "%s to disconnect" % peer)


def passed(msg):
    print("PASS: " + msg, flush=True)


def run(scenarios, name):
    if E.get("E2E_TRACE"):
        import logging
        logging.basicConfig(level=logging.DEBUG)
    print("# nbxmpp %s, scenario %s" % (getattr(nbxmpp, "__version__", "?"), name), flush=True)
    drive(scenarios[name]())
    GLib.timeout_add_seconds(100, lambda: (outcome.__setitem__(
        "error", Fail("scenario did not finish in 100 s")), loop.quit()))
    loop.run()
    ctx = GLib.MainContext.default()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # let the disconnects go out
        ctx.iteration(False)
        time.sleep(0.01)
    if outcome["error"] is not None:
        print("FAIL: %s" % outcome["error"], flush=True)
        sys.exit(1)
    sys.exit(0 if outcome["done"] else 1)
