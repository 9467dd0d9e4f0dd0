"""tests/modules/test_disk_full.py — the file system under the database fills up (disk_full.sh:
the data directory is a tmpfs of its own, shrunk here to what is in use plus a little), as
opposed to LMDB's map (test_store_full.py). Writes that do not fit are refused with an error
to the one who asked, never answered as done; what was answered with a result survives a
kill -9 and a start on the still full disk; every message to an offline user is either
refused back to its sender or delivered once, in order, when the disk has room again and
the user logs in; and the server serves throughout."""
import os
import subprocess
import time

import modlib as M
import xmpplib as X

NS_PRIVATE = "jabber:iq:private"
REFUSED = ("resource-constraint", "internal-server-error")


def data_dir():
    return os.path.join(os.environ["E2E_TMPDIR"], "data")


def resize(kib):
    subprocess.run(["mount", "-o", "remount,size=%dk" % kib, data_dir()], check=True)


def used_kib():
    st = os.statvfs(data_dir())
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


def private_set(s, name, size):
    iid = "set-" + name
    s.send("<iq type='set' id='%s'><query xmlns='%s'><blob xmlns='urn:fill:%s'>%s</blob>"
           "</query></iq>" % (iid, NS_PRIVATE, name, "x" * size))
    r = s.wait_for(lambda e: e.tag == M.q(M.C, "iq") and e.get("id") == iid, timeout=30,
                   what="reply to " + iid)
    if r.get("type") == "result":
        return True
    got = M.error_condition(r) if r.get("type") == "error" else r.get("type")
    M.expect(got in REFUSED, "a write that does not fit: expected %s, got %s"
             % ("/".join(REFUSED), got))
    return False


def private_get(s, name):
    r = s.iq("get", "<query xmlns='%s'><blob xmlns='urn:fill:%s'/></query>" % (NS_PRIVATE, name))
    M.expect(r.get("type") == "result", "read of %s: %s" % (name, M.show(r)[:200]))
    blob = r.find(".//{urn:fill:%s}blob" % name)
    return len(blob.text or "") if blob is not None else 0


def fill(s, prefix, size, limit):
    """Private elements of `size` bytes until one is refused: the names that were stored."""
    stored = []
    for n in range(limit):
        name = "%s%d" % (prefix, n)
        if not private_set(s, name, size):
            return stored
        stored.append(name)
    raise M.Fail("%d elements of %d bytes never filled the disk" % (limit, size))


def stats():
    out = subprocess.run([os.environ["E2E_MYNACTL"], "-c", os.environ["E2E_CONF"], "stats"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)
    return dict(line.split("=", 1) for line in out.stdout.decode().splitlines()
                if "=" in line and not line.startswith("host="))


def disk_full():
    a = M.connect("u30", "writer", roster=False, presence=False)
    resize(used_kib() + 768)
    stored = fill(a, "big", 48 * 1024, 2000)
    M.expect(stored, "nothing fitted on the disk")
    stored += fill(a, "small", 2 * 1024, 2000)

    # Messages to an offline user while the disk is full: each one is stored or comes back.
    sent = ["m%d" % i for i in range(40)]
    for iid in sent:
        a.send("<message to='%s' id='%s' type='chat'><body>%s %s</body></message>"
               % (M.jid("u32"), iid, iid, "y" * 3000))
    M.barrier(a)
    refused = {}
    try:
        while len(refused) < len(sent):
            e = a.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=5,
                           what="bounce")
            M.expect(e.get("type") == "error" and e.get("id") in sent,
                     "unexpected message: %s" % M.show(e)[:300])
            M.expect(M.error_condition(e) in REFUSED, "bounce: %s" % M.show(e)[:300])
            M.expect(e.get("id") not in refused, "bounced twice: %s" % e.get("id"))
            refused[e.get("id")] = True
    except TimeoutError:
        pass  # the rest were stored
    M.expect(refused, "no message to the offline user was refused on a full disk")

    # Still serving: reads, a new login, messages between online users.
    M.expect(private_get(a, "big0") == 48 * 1024, "a stored element reads back")
    b = M.connect("u31", "reader")
    c = M.connect("u33", "late")
    c.send("<message to='%s/reader' type='chat'><body>still here</body></message>"
           % M.jid("u31"))
    msg = b.wait_for(lambda e: e.tag == M.q(M.C, "message"), what="message")
    M.expect(msg.find(M.q(M.C, "body")).text == "still here", "message: %s" % M.show(msg))
    st = stats()
    M.expect(int(st["store.write_failures"]) + int(st["store.commit_failures"]) >= 1,
             "refused writes are counted: %s" % st)
    for s in (a, b, c):
        s.close()

    # A crash, and a start on the disk that is still full: what got a result is there.
    X.server_control("restart")
    a = M.connect("u30", "again", roster=False, presence=False)
    for name in stored:
        want = 48 * 1024 if name.startswith("big") else 2 * 1024
        M.expect(private_get(a, name) == want, "%s after kill -9 on a full disk" % name)

    # Room again: writes work, and the offline user gets each unrefused message once, in order.
    # The store looks for disk space again at most once a second.
    resize(64 * 1024)
    deadline = time.time() + 10
    while not private_set(a, "after", 48 * 1024):
        M.expect(time.time() < deadline, "writes still refused 10 s after the disk has room")
        time.sleep(0.2)
    d = M.connect("u32", "home", roster=False, presence=False)
    d.send("<presence/>")
    got = []
    try:
        while True:
            e = d.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=3, what="offline")
            got.append(e.get("id"))
    except TimeoutError:
        pass
    want = [i for i in sent if i not in refused]
    M.expect(got == want, "offline messages delivered %s, expected %s (refused %s)"
             % (got, want, sorted(refused)))
    a.close()
    d.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("disk_full", disk_full)]))
