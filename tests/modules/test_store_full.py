"""tests/modules/test_store_full.py — a full database (store_map_mb = 1, see store_full.sh):
the writer whose write does not fit gets <resource-constraint/>, while another user's
write handled in the same loop iteration is answered with a result and survives a kill -9;
the server keeps serving (logins, pings, messages between online users, reads), and
`mynactl stats` reports the refused writes."""
import os
import subprocess
import time

import modlib as M
import xmpplib as X

NS_PRIVATE = "jabber:iq:private"


def private_set(ns, size, iid):
    return ("<iq type='set' id='%s'><query xmlns='%s'><blob xmlns='%s'>%s</blob></query></iq>"
            % (iid, NS_PRIVATE, ns, "x" * size))


def reply(s, iid):
    return s.wait_for(lambda e: e.tag == M.q(M.C, "iq") and e.get("id") == iid, timeout=30,
                      what="reply " + iid)


def expect_condition(r, cond, what):
    """Like modlib.expect_error, without echoing the 100 KiB payload the error carries."""
    got = M.error_condition(r) if r.get("type") == "error" else r.get("type")
    M.expect(got == cond, "%s: expected %s, got %s" % (what, cond, got))


def stats():
    out = subprocess.run([M.E_ENV["E2E_MYNACTL"], "-c", M.E_ENV["E2E_CONF"], "stats"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)
    return dict(line.split("=", 1) for line in out.stdout.decode().splitlines()
                if "=" in line and not line.startswith("host="))


def fill(a):
    """Stores 100 KiB elements until one is refused; returns how many fitted."""
    for n in range(64):
        iid = "fill%d" % n
        a.send(private_set("urn:fill:%d" % n, 100 * 1024, iid))
        r = reply(a, iid)
        if r.get("type") == "error":
            expect_condition(r, "resource-constraint", "the write that does not fit")
            return n
    raise M.Fail("1 MiB never filled up")


def full_store_isolates_requests():
    a = M.connect("u20", "writer", roster=False)
    b = M.connect("u21", "other")
    busy = M.connect("u22", "busy", roster=False, presence=False)
    fitted = fill(a)
    M.expect(fitted > 0, "nothing fitted in the database")
    # The same loop iteration: the writer's big stanza is sent but for its last bytes and
    # the server has parsed it that far; while it answers a burst of pings from a third
    # client, another user sends a small write and the writer the rest of its stanza, so
    # both sockets are ready together (the other user's first).
    big = private_set("urn:fill:big", 240 * 1024, "big")
    a.send(big[:-5])
    M.barrier(b)
    time.sleep(0.3)
    busy.send("".join("<iq type='get' id='p%d'><ping xmlns='urn:xmpp:ping'/></iq>" % i
                      for i in range(3000)))
    b.send("<iq type='set' id='keep'><query xmlns='%s'><item jid='kept@%s' name='Kept'/>"
           "</query></iq>" % (M.NS_ROSTER, M.D))
    a.send(big[-5:])
    expect_condition(reply(a, "big"), "resource-constraint", "writer over the limit")
    r = reply(b, "keep")
    M.expect(r.get("type") == "result", "the other user's write: %s" % M.show(r))
    reply(busy, "p2999")

    # Still serving: reads, pings, a new login, messages between online users.
    r = a.iq("get", "<query xmlns='%s'><blob xmlns='urn:fill:0'/></query>" % NS_PRIVATE)
    blob = r.find(".//{urn:fill:0}blob")
    M.expect(blob is not None and len(blob.text or "") == 100 * 1024,
             "a stored element reads back: %s" % M.show(r)[:200])
    c = M.connect("u23", "late")
    c.send("<message to='%s/other' type='chat'><body>still here</body></message>"
           % M.jid("u21"))
    msg = b.wait_for(lambda e: e.tag == M.q(M.C, "message"), what="message")
    M.expect(msg.find(M.q(M.C, "body")).text == "still here", "message: %s" % M.show(msg))
    M.barrier(a, b, c)

    st = stats()
    M.expect(int(st["store.map_bytes"]) == 1024 * 1024, "map size: %s" % st)
    M.expect(int(st["store.full"]) >= 2 and int(st["store.write_failures"]) >= 2,
             "refused writes are counted: %s" % st)
    M.expect(int(st["store.used_bytes"]) > 512 * 1024, "used bytes: %s" % st)
    M.expect(int(st["store.commit_failures"]) == 0, "no commit failed: %s" % st)
    for s in (a, b, c, busy):
        s.close()

    # What was answered with a result is on disk.
    X.server_control("restart")
    b = M.connect("u21", "after", roster=False)
    items, _ = M.roster(b)
    M.expect("kept@%s" % M.D in items, "the other user's roster item after a crash: %s"
             % sorted(items))
    b.close()


if __name__ == "__main__":
    M.E_ENV = os.environ
    raise SystemExit(M.run([("full_store_isolates_requests", full_store_isolates_requests)]))
