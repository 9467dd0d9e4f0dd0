"""tests/modules/test_nbxmpp_resume.py — XEP-0198 resumption as Gajim does it: Debian's
python3-nbxmpp client with its own stream management (enable with resume, then on a lost
connection connect() again, which authenticates and sends <resume/> with its h). The
receiver's TCP connection is shut down under it (no stream close) while 40 messages are in
flight; after the resume it must have seen every message exactly once and in order, and
its session must be the same (same full JID, no new binding).
"""
import os
import socket

import nbxlib as N
from nbxmpp.protocol import Message
from nbxmpp.structs import StanzaHandler

WANT = ["g%02d" % i for i in range(1, 41)]


def cut(peer):
    """The connection dies: FIN both ways under the client, no </stream:stream>."""
    fd = peer.client._con._con.get_socket().get_fd()
    s = socket.socket(fileno=os.dup(fd))
    s.shutdown(socket.SHUT_RDWR)
    s.close()


def send(sender, to, bodies):
    for b in bodies:
        sender.client.send_stanza(Message(to=to, body=b, typ="chat"))


def scenario():
    A, B = N.Peer("u22", "sender"), N.Peer("u23", "gajim")
    got, resumed = [], {}

    def on_message(_client, stanza, _props):
        if stanza.getBody():
            got.append(stanza.getBody())

    B.client.register_handler(StanzaHandler(name="message", callback=on_message, priority=30))
    B.client.subscribe("resume-successful", lambda *_a: resumed.__setitem__("ok", True))
    B.client.subscribe("resume-failed", lambda *_a: resumed.__setitem__("failed", True))
    for p in (A, B):
        yield from N.login(p, presence=False)
        p.send_presence()
    yield N.wait(lambda: B.client.resumeable, "stream management with resumption")
    jid = str(B.client.get_bound_jid())
    send(A, jid, WANT[:30])
    yield N.wait(lambda: len(got) >= 10, "the first messages")
    B.closing, B.gone = True, False
    cut(B)
    yield N.wait(lambda: B.gone, "the client to see its connection lost")
    N.expect(B.client.resumeable, "nbxmpp dropped its session on a lost connection")
    send(A, jid, WANT[30:])
    B.closing = False
    B.client.connect()
    yield N.wait(lambda: resumed, "the resume")
    N.expect("ok" in resumed, "resumption failed")
    N.expect(str(B.client.get_bound_jid()) == jid, "not the same session")
    yield N.wait(lambda: len(got) >= len(WANT), "every message")
    yield from N.call(B.module("Discovery").disco_info, N.DOMAIN)  # anything later is here
    N.expect(got == WANT, "the client saw %s" % got)
    N.passed("nbxmpp resumption")
    yield from N.logout(A)
    yield from N.logout(B)


if __name__ == "__main__":
    N.run({"resume": scenario}, "resume")
