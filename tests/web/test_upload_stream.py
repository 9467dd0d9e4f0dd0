"""tests/web/test_upload_stream.py — HTTP upload bodies stream to disk (server/web/upload.c):
a 64 MiB PUT (the module's max_size raised to allow it) leaves mynad's peak RSS far below
the file's size (the peak is reset through /proc/PID/clear_refs first), and the file then
GETs back byte for byte; a PUT cut off halfway leaves nothing (no temporary file, no slot
directory, a 404, and the slot can be used again); a Content-Length other than the
slot's size is refused before any body byte is sent (400), a chunked PUT with 411, and a
bad signature with `Expect: 100-continue` gets its 403 without a 100 first, and a GET
body over http.max_body_size is 413 (only PUT bodies may be upload-sized). Run by
tests/web/upload-stream.sh."""
import hashlib
import os
import socket
import sys
import time
import urllib.parse

import weblib
from weblib import Fail, q
import xmpplib

E = weblib.env()
UP = "upload." + E["domain"]
NS_UP = "urn:xmpp:http:upload:0"
ALICE = xmpplib.login(E, *E["users"][0])
PID = int(os.environ["E2E_SERVER_PID"])
DATA_DIR = os.path.join(os.environ["E2E_TMPDIR"], "data")
MIB = 1 << 20
BIG = 64 * MIB
BLOCK = hashlib.sha256(b"myna").digest() * (MIB // 32)  # 1 MiB, not all one byte


def check(cond, what):
    if not cond:
        raise Fail(what)


def slot(name, size, ctype="image/png"):
    r = ALICE.iq("get", "<request xmlns='%s' filename='%s' size='%d' content-type='%s'/>"
                 % (NS_UP, name, size, ctype), to=UP)
    check(r.get("type") == "result", "slot: %s" % xmpplib.show(r))
    s = r.find(q(NS_UP, "slot"))
    return s.find(q(NS_UP, "put")).get("url"), s.find(q(NS_UP, "get")).get("url")


def status_of(buf):
    return int(buf.split(b"\r\n", 1)[0].split()[1]) if buf.startswith(b"HTTP/1.1 ") else 0


def put_head(url, length, ctype="image/png", extra=""):
    u = urllib.parse.urlsplit(url)
    return ("PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
            % (u.path, u.query, u.netloc, ctype, length, extra)).encode()


def kib(field):
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise Fail("no %s for mynad" % field)


def upload_files(slot_url=None):
    """Files in DATA_DIR/upload/.tmp, and in the slot of slot_url (its directory too)."""
    out = []
    dirs = [os.path.join(DATA_DIR, "upload", ".tmp")]
    if slot_url:
        owner, slot_id = urllib.parse.urlsplit(slot_url).path.split("/")[2:4]
        d = os.path.join(DATA_DIR, "upload", owner, slot_id)
        dirs.append(d)
        if os.path.isdir(d):
            out.append(d + "/")
    for d in dirs:
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in os.listdir(d)]
    return out


def test_big_upload_streams():
    put, get = slot("big.png", BIG)
    with open("/proc/%d/clear_refs" % PID, "w") as f:
        f.write("5")  # resets VmHWM (peak RSS) to the current RSS
    before = kib("VmHWM")
    s = socket.create_connection((E["ip"], E["http_port"]), timeout=60)
    s.sendall(put_head(put, BIG))
    sha = hashlib.sha256()
    for _ in range(BIG // MIB):
        s.sendall(BLOCK)
        sha.update(BLOCK)
    resp = s.recv(4096)
    s.close()
    check(status_of(resp) == 201, "PUT: %r" % resp[:100])
    grew = kib("VmHWM") - before
    print("# peak RSS grew by %d KiB during a %d KiB upload" % (grew, BIG // 1024))
    check(grew < 16 * 1024, "mynad's peak RSS grew by %d KiB for a 64 MiB upload" % grew)
    u = urllib.parse.urlsplit(get)
    s = socket.create_connection((E["ip"], E["http_port"]), timeout=60)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (u.path, u.netloc)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    check(status_of(head) == 200, "GET: %r" % head[:100])
    got = hashlib.sha256(rest)
    n = len(rest)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got.update(chunk)
        n += len(chunk)
    s.close()
    check(n == BIG and got.digest() == sha.digest(), "GET returned %d bytes, other bytes" % n)


def test_aborted_upload_leaves_nothing():
    size = 4 * MIB
    put, get = slot("cut.png", size)
    s = socket.create_connection((E["ip"], E["http_port"]), timeout=10)
    s.sendall(put_head(put, size))
    s.sendall(BLOCK * 2)  # half
    end = time.time() + 10
    while time.time() < end and not any("/.tmp/" in f for f in upload_files()):
        time.sleep(0.05)
    check(any("/.tmp/" in f for f in upload_files()), "no temporary file while the PUT ran: %s"
          % upload_files(put))
    s.close()
    end = time.time() + 15
    while time.time() < end and upload_files(put):
        time.sleep(0.1)
    check(upload_files(put) == [], "left behind by an aborted PUT: %s" % upload_files(put))
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], (
        "GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % urllib.parse.urlsplit(get).path).encode())
    check(status == 404, "GET after an aborted PUT: %d" % status)
    # The slot is free again: the whole body now succeeds.
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], put_head(put, size) + BLOCK * 4)
    check(status == 201, "PUT again after the abort: %d" % status)


def test_refused_before_the_body():
    put, _ = slot("x.png", 1000)
    # No body byte is sent: the answer must come from the headers alone.
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], put_head(put, 999), timeout=5)
    check(status == 400, "Content-Length other than the slot's size: %d" % status)
    u = urllib.parse.urlsplit(put)
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], (
        "PUT %s?%s HTTP/1.1\r\nHost: a\r\nContent-Type: image/png\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" % (u.path, u.query)).encode(), timeout=5)
    check(status == 411, "chunked PUT: %d" % status)
    bad = put[:-1] + ("0" if put[-1] != "0" else "1")
    s = socket.create_connection((E["ip"], E["http_port"]), timeout=5)
    s.sendall(put_head(bad, 1000, extra="Expect: 100-continue\r\n"))
    resp = s.recv(4096)
    s.close()
    check(status_of(resp) == 403, "bad signature with Expect: %r" % resp[:60])
    check(upload_files(put) == [], "files after refused PUTs: %s" % upload_files(put))
    # Bodies the route does not stream (a GET's) keep the ordinary limit, not 64 MiB.
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], (
        "GET %s HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n" % u.path).encode(),
        timeout=5)
    check(status == 413, "a GET announcing a 2 MB body: %d" % status)


if __name__ == "__main__":
    rc = xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")])
    ALICE.close()
    sys.exit(rc)
