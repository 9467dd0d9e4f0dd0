"""tests/e2e/test_nbxmpp.py — Gajim's XMPP library (python-nbxmpp, GLib main loop).

Two nbxmpp clients log in over STARTTLS to the server's IP, verifying the certificate against
the test CA and the test domain (GLib's TLS stack gets a file database holding only the test
CA, so a certificate not issued by it, or for another name, fails), then exchange chat
messages both ways. Asserts body and the sender's full JID in `from`.
"""
import os
import sys

import gi
gi.require_version("Gio", "2.0")
from gi.repository import GLib  # noqa: E402

import nbxmpp  # noqa: E402
from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.protocol import Message, Presence  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402
import nbxtrust  # noqa: E402

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = [u.split(":", 1) for u in E["E2E_USERS"].split()]

nbxtrust.trust_only(CA)  # nbxmpp has no CA-file option

loop = GLib.MainLoop()
state = {"failures": [], "steps": []}


def fail(msg):
    state["failures"].append(msg)
    print("FAIL: " + msg, flush=True)
    loop.quit()


class Peer:
    def __init__(self, user, password, resource):
        self.inbox = []
        self.connected = False
        c = Client()
        c.set_domain(DOMAIN)
        c.set_username(user)
        c.set_resource(resource)
        c.set_password(password)
        c.set_custom_host("%s:%d" % (IP, PORT), ConnectionProtocol.TCP, ConnectionType.START_TLS)
        c.subscribe("connected", self.on_connected)
        c.subscribe("connection-failed", self.on_failed)
        c.subscribe("disconnected", self.on_disconnected)
        c.register_handler(StanzaHandler(name="message", callback=self.on_message))
        self.client = c
        self.name = user

    def on_connected(self, client, _signal):
        self.connected = True
        if client.tls_version is None and not client.is_websocket:
            fail("%s: connected without TLS" % self.name)
        client.send_stanza(Presence())
        advance()

    def on_failed(self, client, _signal):
        fail("%s: connection failed: %s" % (self.name, client.get_error()))

    def on_disconnected(self, client, _signal):
        if not state.get("closing"):
            fail("%s: disconnected unexpectedly: %s" % (self.name, client.get_error()))

    def on_message(self, _client, stanza, _props):
        body = stanza.getBody()
        if body:
            self.inbox.append((str(stanza.getFrom()), body))
            advance()

    def jid(self):
        return str(self.client.get_bound_jid())


alice = Peer(USERS[0][0], USERS[0][1], "gajim")
bob = Peer(USERS[1][0], USERS[1][1], "gajim-too")


def advance():
    """A tiny script: each step runs once its precondition holds."""
    if state["failures"]:
        return
    if not (alice.connected and bob.connected):
        return
    if "sent1" not in state["steps"]:
        state["steps"].append("sent1")
        GLib.timeout_add(300, lambda: alice.client.send_stanza(
            Message(to=bob.jid(), body="hello from nbxmpp \u00e9", typ="chat")) and False)
        return
    if bob.inbox and "sent2" not in state["steps"]:
        frm, body = bob.inbox[0]
        if body != "hello from nbxmpp \u00e9" or frm != alice.jid():
            fail("bob got %r from %s, expected %s" % (body, frm, alice.jid()))
            return
        print("PASS: nbxmpp alice -> bob (full JID)", flush=True)
        state["steps"].append("sent2")
        bob.client.send_stanza(Message(to="%s@%s" % (USERS[0][0], DOMAIN), body="hi back",
                                       typ="chat"))
        return
    if alice.inbox and "done" not in state["steps"]:
        frm, body = alice.inbox[0]
        if body != "hi back" or frm != bob.jid():
            fail("alice got %r from %s" % (body, frm))
            return
        print("PASS: nbxmpp bob -> alice (bare JID)", flush=True)
        state["steps"].append("done")
        state["closing"] = True
        alice.client.disconnect()
        bob.client.disconnect()
        GLib.timeout_add(500, loop.quit)


def timeout():
    fail("timed out; steps done: %s" % state["steps"])
    return False


if __name__ == "__main__":
    if E.get("E2E_TRACE"):
        import logging
        logging.basicConfig(level=logging.DEBUG)
    print("# nbxmpp %s" % getattr(nbxmpp, "__version__", "?"))
    alice.client.connect()
    bob.client.connect()
    GLib.timeout_add_seconds(30, timeout)
    loop.run()
    sys.exit(1 if state["failures"] or "done" not in state["steps"] else 0)
