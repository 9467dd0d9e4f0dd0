"""tests/web/test_upload_gajim.py — a Gajim user sends an image through HTTP File Upload
(XEP-0363), the way Gajim does it, with Gajim's library python-nbxmpp: alice logs in over
STARTTLS, asks upload.HOST for a slot with nbxmpp's HTTPUpload module, PUTs a PNG file
with nbxmpp's HTTP layer (libsoup 3, the request body streamed from the file's path) and
sends bob a chat message whose body is the GET URL with the same URL in a XEP-0066 `jabber:x:oob`
element. bob (nbxmpp too) receives it, checks body and OOB URL, and GETs the URL with
nbxmpp's HTTP layer, as Gajim's preview does: the bytes must be the file's, the
Content-Type image/png and the Content-Disposition inline with the RFC 8187 file name
(docs/protocols.md). Run by tests/web/upload-gajim.sh."""
import os
import struct
import sys
import urllib.parse
import zlib
from pathlib import Path

import gi
gi.require_version("Gio", "2.0")
gi.require_version("Soup", "3.0")
from gi.repository import GLib  # noqa: E402

from nbxmpp.client import Client  # noqa: E402
from nbxmpp.const import ConnectionProtocol, ConnectionType  # noqa: E402
from nbxmpp.http import HTTPSession  # noqa: E402
from nbxmpp.protocol import Message, Presence  # noqa: E402
from nbxmpp.structs import StanzaHandler  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nbxtrust  # noqa: E402

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = [u.split(":", 1) for u in E["E2E_USERS"].split()]
NS_OOB = "jabber:x:oob"
FILENAME = "sunset é.png"

nbxtrust.trust_only(CA)  # nbxmpp has no CA-file option

loop = GLib.MainLoop()
state = {"failures": [], "passed": []}


def fail(msg):
    state["failures"].append(msg)
    print("FAIL: " + msg, flush=True)
    loop.quit()


def passed(msg):
    state["passed"].append(msg)
    print("PASS: " + msg, flush=True)


def png(width, height):
    """A real PNG (RGB, one IDAT) with varied pixel bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"".join(b"\0" + bytes((x * 7 + y * 13) & 0xff for x in range(width * 3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class Peer:
    def __init__(self, user, password, resource):
        self.connected = False
        c = Client()
        c.set_domain(DOMAIN)
        c.set_username(user)
        c.set_resource(resource)
        c.set_password(password)
        c.set_custom_host("%s:%d" % (IP, PORT), ConnectionProtocol.TCP, ConnectionType.START_TLS)
        c.subscribe("connected", self.on_connected)
        c.subscribe("connection-failed",
                    lambda cl, _s: fail("%s: connection failed: %s" % (user, cl.get_error())))
        c.subscribe("disconnected", lambda cl, _s: state.get("closing") or fail(
            "%s: disconnected: %s" % (user, cl.get_error())))
        self.client = c

    def on_connected(self, client, _signal):
        self.connected = True
        client.send_stanza(Presence())
        if alice.connected and bob.connected:
            GLib.timeout_add(200, request_slot)

    def jid(self):
        return str(self.client.get_bound_jid())


alice = Peer(USERS[0][0], USERS[0][1], "gajim")
bob = Peer(USERS[1][0], USERS[1][1], "gajim")
http = HTTPSession(user_agent="Gajim")
DATA = png(160, 120)
PATH = Path(E["E2E_TMPDIR"]) / FILENAME
PATH.write_bytes(DATA)


def request_slot():
    alice.client.get_module("HTTPUpload").request_slot(
        "upload." + DOMAIN, FILENAME, len(DATA), "image/png", callback=got_slot)
    return False


def got_slot(task):
    try:
        slot = task.finish()
    except Exception as e:  # nbxmpp raises its stanza errors here
        fail("slot request: %r" % e)
        return
    passed("nbxmpp's HTTPUpload module got a slot")
    # As Gajim's httpupload module: body from the file's path, the slot's headers, PUT.
    req = http.create_request()
    req.set_request_body_from_path("image/png", PATH)
    for name, value in slot.headers.items():
        req.get_request_headers().append(name, value)
    req.send("PUT", slot.put_uri, timeout=30, callback=lambda r: put_done(r, slot))


def put_done(req, slot):
    if not req.is_complete():
        fail("PUT failed: %s (status %s)" % (req.get_error_string(), req.get_status()))
        return
    passed("PUT with libsoup through nbxmpp.http: %s" % int(req.get_status()))
    msg = Message(to="%s@%s" % (USERS[1][0], DOMAIN), body=slot.get_uri, typ="chat")
    msg.setTag("x", namespace=NS_OOB).setTagData("url", slot.get_uri)
    alice.client.send_stanza(msg)


def on_bob_message(_client, stanza, _props):
    body = stanza.getBody()
    if not body:
        return
    oob = stanza.getTag("x", namespace=NS_OOB)
    url = oob.getTagData("url") if oob is not None else None
    if str(stanza.getFrom()) != alice.jid() or url != body:
        fail("bob got %r (OOB %r) from %s" % (body, url, stanza.getFrom()))
        return
    passed("bob got the URL in the body and in jabber:x:oob")
    req = http.create_request()
    req.send("GET", url, timeout=30, callback=got_file)


def got_file(req):
    if not req.is_complete():
        fail("GET failed: %s (status %s)" % (req.get_error_string(), req.get_status()))
        return
    h = req.get_response_headers()
    ctype, disp = h.get_one("Content-Type"), h.get_one("Content-Disposition")
    want_disp = "inline; filename*=UTF-8''" + urllib.parse.quote(FILENAME, safe="")
    data = req.get_data()
    if data != DATA:
        fail("GET returned %d bytes, not the %d of the file" % (len(data), len(DATA)))
    elif ctype != "image/png":
        fail("Content-Type %r" % ctype)
    elif disp != want_disp:
        fail("Content-Disposition %r, expected %r" % (disp, want_disp))
    else:
        passed("bob's GET: the same %d bytes, image/png, %s" % (len(data), disp))
        state["closing"] = True
        alice.client.disconnect()
        bob.client.disconnect()
        GLib.timeout_add(300, loop.quit)


def timeout():
    fail("timed out after: %s" % state["passed"])
    return False


if __name__ == "__main__":
    bob.client.register_handler(StanzaHandler(name="message", callback=on_bob_message))
    alice.client.connect()
    bob.client.connect()
    GLib.timeout_add_seconds(40, timeout)
    loop.run()
    sys.exit(1 if state["failures"] or len(state["passed"]) < 4 else 0)
