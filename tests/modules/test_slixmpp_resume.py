"""tests/modules/test_slixmpp_resume.py — XEP-0198 resumption through slixmpp's own xep_0198
plugin (Debian's python3-slixmpp): the receiver's TCP connection is cut while 40 messages
are in flight (closed without a stream close, then reset with RST), slixmpp reconnects and
resumes with its handled count; the receiver must see every message exactly once and in
order, and the sender (also with stream management) must see all of its stanzas
acknowledged and no error.
"""
import asyncio
import os
import socket
import ssl
import struct

import slixmpp

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 30


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), USERS[user])
        self.ready = asyncio.Event()
        self.sm_enabled = asyncio.Event()
        self.resumed = asyncio.Event()
        self.gone = asyncio.Event()
        self.bodies, self.errors = [], []
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.register_plugin("xep_0198")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("session_resumed", lambda _e: self.resumed.set())
        # session_start may come before <enabled/>: the id is known only after this.
        self.add_event_handler("sm_enabled", lambda _e: self.sm_enabled.set())
        self.add_event_handler("disconnected", lambda _e: self.gone.set())
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _event):
        self.send_presence()
        self.ready.set()

    def on_message(self, msg):
        if msg["type"] == "error":
            self.errors.append(str(msg))
        elif msg["body"]:
            self.bodies.append(msg["body"])

    def go(self):
        self.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)


async def until(pred, what, seconds=WAIT):
    for _ in range(int(seconds / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out: " + what)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def cut(c, reset):
    """The connection dies under the client: no stream close, no TLS close_notify."""
    sock = c.transport.get_extra_info("socket")
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.transport.abort()


async def round_trip(sender, b, reset, tag):
    want = ["%s-%02d" % (tag, i) for i in range(1, 41)]
    b.bodies.clear()
    b.resumed.clear()
    b.gone.clear()
    sm_id = b["xep_0198"].sm_id
    check(sm_id, "no resumable stream management session")
    for w in want[:30]:
        sender.send_message(mto=b.boundjid.full, mbody=w, mtype="chat")
    await until(lambda: len(b.bodies) >= 10, "the first messages")
    cut(b, reset)
    await asyncio.wait_for(b.gone.wait(), WAIT)
    seen = list(b.bodies)
    for w in want[30:]:
        sender.send_message(mto=b.boundjid.full, mbody=w, mtype="chat")
    b.go()
    await asyncio.wait_for(b.resumed.wait(), WAIT)
    check(b["xep_0198"].sm_id == sm_id, "a new session instead of the resumed one")
    await until(lambda: len(b.bodies) >= 40 or b.bodies[-1:] == [want[-1]], "the last message")
    sender["xep_0198"].request_ack()
    b["xep_0198"].request_ack()
    await until(lambda: not sender["xep_0198"].unacked_queue, "the sender's acks")
    await until(lambda: not b["xep_0198"].unacked_queue, "the receiver's acks")
    check(b.bodies == want, "%s: the client saw %s (before the cut: %d)" % (tag, b.bodies,
                                                                           len(seen)))


async def main():
    a, b = Client("u20", "sender"), Client("u21", "phone")
    for c in (a, b):
        c.go()
    await asyncio.wait_for(asyncio.gather(a.ready.wait(), b.ready.wait(), a.sm_enabled.wait(),
                                          b.sm_enabled.wait()), WAIT)
    await round_trip(a, b, False, "close")
    await round_trip(a, b, True, "reset")
    check(not a.errors and not b.errors, "errors: %s %s" % (a.errors, b.errors))
    for c in (a, b):
        c.gone.clear()
        c.disconnect()
    await asyncio.gather(a.gone.wait(), b.gone.wait())
    print("PASS: slixmpp resumption (close and reset)")


if __name__ == "__main__":
    asyncio.run(main())
