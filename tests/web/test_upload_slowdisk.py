"""tests/web/test_upload_slowdisk.py — an upload's fsync does not stall the server
(server/web/upload.c makes a complete PUT durable on a worker thread). mynad runs with
fsync of upload files slowed to 3 s (tests/web/slowfsync.c): while a PUT waits for its
201, an XMPP ping is answered at once; the 201 comes after the slow fsync and the file
GETs back; a PUT whose client hangs up before the 201 still stores the file, which a GET
then returns. Run by tests/web/upload-slowdisk.sh."""
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import weblib
from weblib import Fail, q
import xmpplib

E = weblib.env()
UP = "upload." + E["domain"]
NS_UP = "urn:xmpp:http:upload:0"
ALICE = xmpplib.login(E, *E["users"][0])
DATA = bytes(range(256)) * 400  # 102,400 bytes


def check(cond, what):
    if not cond:
        raise Fail(what)


def slot(name, size):
    r = ALICE.iq("get", "<request xmlns='%s' filename='%s' size='%d' content-type='image/png'/>"
                 % (NS_UP, name, size), to=UP)
    check(r.get("type") == "result", "slot: %s" % xmpplib.show(r))
    s = r.find(q(NS_UP, "slot"))
    return s.find(q(NS_UP, "put")).get("url"), s.find(q(NS_UP, "get")).get("url")


def http(method, url, data=None, ctype=None, timeout=20):
    req = urllib.request.Request(url, data=data, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_ping_answered_while_a_put_syncs():
    put, get = slot("slow.png", len(DATA))
    result = {}

    def do_put():
        t0 = time.monotonic()
        result["status"] = http("PUT", put, DATA, "image/png")[0]
        result["seconds"] = time.monotonic() - t0

    th = threading.Thread(target=do_put)
    th.start()
    time.sleep(0.8)  # the body (100 KiB on loopback) is in; the fsync sleeps
    check(th.is_alive(), "the PUT was answered before its slow fsync: %r" % result)
    t0 = time.monotonic()
    r = ALICE.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=E["domain"])
    took = time.monotonic() - t0
    check(r.get("type") == "result", "ping: %s" % xmpplib.show(r))
    check(th.is_alive(), "the PUT finished during the ping: %r" % result)
    check(took < 1.0, "a ping took %.2f s while an upload synced (the loop waited)" % took)
    th.join(20)
    check(result.get("status") == 201, "PUT: %r" % result)
    check(result["seconds"] >= 2.5, "201 after %.2f s: before the fsync?" % result["seconds"])
    status, body = http("GET", get)
    check(status == 200 and body == DATA, "GET: %d, %d bytes" % (status, len(body)))


def test_stored_when_the_uploader_hangs_up():
    put, get = slot("gone.png", len(DATA))
    u = urllib.parse.urlparse(put)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(("PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: image/png\r\n"
               "Content-Length: %d\r\n\r\n" % (u.path, u.query, u.netloc, len(DATA))).encode()
              + DATA)
    time.sleep(0.8)
    s.close()  # before the 201
    time.sleep(3.5)
    status, body = http("GET", get)
    check(status == 200 and body == DATA, "GET after the uploader left: %d, %d bytes"
          % (status, len(body)))
    check(http("PUT", put, DATA, "image/png")[0] == 409, "the slot is used")


if __name__ == "__main__":
    rc = xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")])
    ALICE.close()
    sys.exit(rc)
