"""tests/web/test_upload.py — HTTP File Upload (XEP-0363) end to end: the service in disco
(host items, identity, feature, max-file-size), a slot requested over XMPP by a logged-in
client, PUT and GET with a real HTTP client (urllib) and the stored bytes, Content-Type
and Content-Disposition; a second PUT to the same slot (409), a bad signature, another
content type, another size and an expired slot (403/400), file too large (with the
limit), quota exceeded, a type not allowed, file names with paths refused, path traversal
on GET refused, expiry of old files, other requests to the service. Run by tests/web/upload.sh
(max_size 100000, quota 150000, types image/* and text/plain, slot_ttl 3 s, files kept
6 s)."""
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import weblib
from weblib import Fail, q
import xmpplib

E = weblib.env()
UP = "upload." + E["domain"]
NS_UP = "urn:xmpp:http:upload:0"
NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"
ALICE = xmpplib.login(E, *E["users"][0])


def check(cond, what):
    if not cond:
        raise Fail(what)


def slot(name, size, ctype="image/png", who=ALICE):
    r = who.iq("get", "<request xmlns='%s' filename='%s' size='%d' content-type='%s'/>"
               % (NS_UP, name, size, ctype), to=UP)
    if r.get("type") != "result":
        return None, r
    s = r.find(q(NS_UP, "slot"))
    return (s.find(q(NS_UP, "put")).get("url"), s.find(q(NS_UP, "get")).get("url")), r


def http(method, url, data=None, ctype=None):
    req = urllib.request.Request(url, data=data, method=method)
    if ctype is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def condition(r):
    return xmpplib.stanza_error_condition(r)


def test_disco():
    items = ALICE.iq("get", "<query xmlns='%s'/>" % NS_ITEMS, to=E["domain"])
    jids = [i.get("jid") for i in items.iter(q(NS_ITEMS, "item"))]
    check(UP in jids, "%s not in the host's items: %s" % (UP, jids))
    info = ALICE.iq("get", "<query xmlns='%s'/>" % NS_INFO, to=UP)
    ids = [(i.get("category"), i.get("type")) for i in info.iter(q(NS_INFO, "identity"))]
    feats = [f.get("var") for f in info.iter(q(NS_INFO, "feature"))]
    check(("store", "file") in ids and NS_UP in feats, "disco#info: %s" % xmpplib.show(info))
    sizes = [f.findtext(q("jabber:x:data", "value")) for f in info.iter(q("jabber:x:data", "field"))
             if f.get("var") == "max-file-size"]
    check(sizes == ["100000"], "max-file-size %s" % sizes)


def test_put_get_round_trip():
    data = bytes(range(256)) * 100  # 25600 bytes
    (put, get), _ = slot("photo één.png", len(data))
    check(put.startswith("http://%s:%d/upload/" % (E["ip"], E["http_port"])), put)
    status, _, _ = http("PUT", put, data, "image/png")
    check(status == 201, "PUT: %d" % status)
    status, h, body = http("GET", get)
    check(status == 200 and body == data, "GET: %d, %d bytes" % (status, len(body)))
    check(h.get("Content-Type") == "image/png", h)
    check(h.get("Content-Disposition") ==
          "inline; filename*=UTF-8''" + urllib.parse.quote("photo één.png", safe=""), h)
    check(h.get("X-Content-Type-Options") == "nosniff", h)
    status, _, _ = http("PUT", put, data, "image/png")
    check(status == 409, "second PUT to one slot: %d" % status)
    (put, get), _ = slot("notes.txt", 5, "text/plain")
    check(http("PUT", put, b"hello", "text/plain")[0] == 201, "text PUT")
    status, h, body = http("GET", get)
    check(body == b"hello" and h["Content-Disposition"].startswith("attachment;"), h)


def test_bad_puts():
    (put, get), _ = slot("a.png", 10)
    bad = put[:-1] + ("0" if put[-1] != "0" else "1")
    check(http("PUT", bad, b"0123456789", "image/png")[0] == 403, "bad signature")
    check(http("PUT", put.split("?")[0], b"0123456789", "image/png")[0] == 403, "unsigned")
    check(http("PUT", put, b"0123456789", "image/gif")[0] == 403, "another content type")
    check(http("PUT", put, b"012345678", "image/png")[0] == 400, "another size")
    check(http("GET", get)[0] == 404, "nothing stored by failed PUTs")
    (put, get), _ = slot("late.png", 3)
    time.sleep(4.2)  # slot_ttl is 3 s
    check(http("PUT", put, b"abc", "image/png")[0] == 403, "expired slot")


def test_limits():
    s, r = slot("big.png", 100001)
    check(s is None and condition(r) == "not-acceptable", "too large: %s" % xmpplib.show(r))
    ftl = r.find("%s/%s" % (q("jabber:client", "error"), q(NS_UP, "file-too-large")))
    check(ftl is not None and ftl.findtext(q(NS_UP, "max-file-size")) == "100000",
          "no file-too-large with the limit: %s" % xmpplib.show(r))
    s, r = slot("a.exe", 10, "application/x-msdownload")
    check(s is None and condition(r) == "not-acceptable", "type: %s" % xmpplib.show(r))
    for name in ("../../etc/passwd", "a/b.png", ".hidden.png", ""):
        s, r = slot(name, 10)
        check(s is None and condition(r) == "bad-request", "name %r: %s" % (name, xmpplib.show(r)))
    s, r = slot("x.png", -1)
    check(s is None and condition(r) == "bad-request", "negative size")


def test_quota():
    bob = xmpplib.login(E, *E["users"][1])
    for i in range(2):  # 2 x 70000 = 140000 of 150000
        (put, _), _ = slot("q%d.png" % i, 70000, who=bob)
        check(http("PUT", put, b"x" * 70000, "image/png")[0] == 201, "quota PUT %d" % i)
    s, r = slot("q2.png", 20000, who=bob)
    check(s is None and condition(r) == "resource-constraint", "quota: %s" % xmpplib.show(r))
    s, r = slot("q3.png", 9000, who=bob)
    check(s is not None, "under the quota: %s" % xmpplib.show(r))
    bob.close()


def test_slots_not_used_are_bounded():
    """At most 64 slots not yet used per user: the 65th is a resource-constraint, and the
    held ones stop counting when they expire (slot_ttl 3 s)."""
    carol = xmpplib.login(E, *E["users"][2])
    for i in range(64):
        s, r = slot("e%d.png" % i, 1, who=carol)
        check(s is not None, "slot %d: %s" % (i, xmpplib.show(r)))
    s, r = slot("e64.png", 1, who=carol)
    check(s is None and condition(r) == "resource-constraint", "65th: %s" % xmpplib.show(r))
    time.sleep(4.2)
    s, r = slot("e65.png", 1, who=carol)
    check(s is not None, "after the 64 expired: %s" % xmpplib.show(r))
    carol.close()


def test_quota_slots_at_once():
    """Slots asked for before any PUT count against the quota too (they used not to: two
    slots of 100,000 under a quota of 150,000 were both granted and both stored)."""
    carol = xmpplib.login(E, *E["users"][2])
    (put1, get1), _ = slot("c1.png", 100000, who=carol)
    s, r = slot("c2.png", 100000, who=carol)
    check(s is None and condition(r) == "resource-constraint",
          "a second slot past the quota with the first unused: %s" % xmpplib.show(r))
    s, r = slot("c3.png", 49998, who=carol)  # within the quota with c1 (and e65) held
    check(s is not None, "a slot within the quota: %s" % xmpplib.show(r))
    check(http("PUT", put1, b"y" * 100000, "image/png")[0] == 201, "first PUT")
    check(http("PUT", s[0], b"z" * 49998, "image/png")[0] == 201, "third PUT")
    s, r = slot("c4.png", 3, who=carol)
    check(s is None and condition(r) == "resource-constraint",
          "over the quota once both are stored: %s" % xmpplib.show(r))
    check(http("GET", get1)[2] == b"y" * 100000, "the first file")
    carol.close()


def test_unused_slot_expires():
    """A large slot never used stops counting against the quota when it expires."""
    (_, _), _ = slot("d1.png", 100000)
    s, r = slot("d2.png", 100000)
    check(s is None and condition(r) == "resource-constraint", "held: %s" % xmpplib.show(r))
    time.sleep(4.2)
    (put, get), r = slot("d2.png", 100000)
    check(http("PUT", put, b"d" * 100000, "image/png")[0] == 201, "PUT after the expiry")
    check(http("GET", get)[0] == 200, "GET")


def test_traversal_refused():
    (put, get), _ = slot("t.png", 1)
    check(http("PUT", put, b"t", "image/png")[0] == 201, "PUT")
    base = "http://%s:%d" % (E["ip"], E["http_port"])
    path = urllib.parse.urlparse(get).path
    owner, slotid = path.split("/")[2:4]
    for p in ("/upload/../../etc/passwd", "/upload/%s/%s/..%%2f..%%2f.secret" % (owner, slotid),
              "/upload/%s/%s/.type" % (owner, slotid), "/upload/%s/../.secret" % owner,
              "/upload/%s/%s/%%2e%%2e" % (owner, slotid), "/upload/.secret",
              "/upload/%s/%s/t.png%%00.txt" % (owner, slotid)):
        status, _, body = weblib.http_raw(E["ip"], E["http_port"],
                                          ("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % p).encode())
        check(status in (400, 404) and b"t" != body, "%s: %d %r" % (p, status, body[:40]))
    check(http("GET", base + path)[0] == 200, "the real file")


def test_expiry():
    (put, get), _ = slot("old.png", 2)
    check(http("PUT", put, b"ab", "image/png")[0] == 201, "PUT")
    check(http("GET", get)[0] == 200, "GET at once")
    end = time.time() + 6 + 2 + 2 + 3
    while time.time() < end and http("GET", get)[0] == 200:
        time.sleep(0.5)
    check(http("GET", get)[0] == 404, "the file outlived upload_expire")


def test_other_iqs():
    bad = ALICE.iq("get", "<query xmlns='jabber:iq:version'/>", to=UP)
    check(bad.get("type") == "error" and condition(bad) == "service-unavailable",
          "other iqs: %s" % xmpplib.show(bad))


if __name__ == "__main__":
    rc = xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")])
    ALICE.close()
    sys.exit(rc)
