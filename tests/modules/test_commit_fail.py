"""tests/modules/test_commit_fail.py — the disk fails under a commit (commit_fail.sh: the
database file's syncs fail with EIO while a flag file exists), after the writes themselves
went through: nothing that was lost is acknowledged. A message stored for an offline user
in the failed batch comes back to its sender as an error (the sender has no other way to
learn it was lost); a private XML write gets no result (the connection that held it is
dropped instead); and once the disk works again the server goes on, the offline user gets
what was stored after the failure and not the lost message."""
import os

import modlib as M
import xmpplib as X

NS_PRIVATE = "jabber:iq:private"
FLAG = os.environ["MYNA_TEST_FAILSYNC_FLAG"]


def disk(failing):
    if failing:
        open(FLAG, "w").close()
    elif os.path.exists(FLAG):
        os.unlink(FLAG)


def message(s, to, iid):
    s.send("<message to='%s' id='%s' type='chat'><body>%s</body></message>" % (to, iid, iid))


def commit_fails():
    a = M.connect("u40", "sender", roster=False)
    disk(True)
    message(a, M.jid("u41"), "lost1")
    e = a.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=10, what="the bounce")
    M.expect(e.get("type") == "error" and e.get("id") == "lost1"
             and e.get("from") == M.jid("u41") and e.get("to") == M.jid("u40") + "/sender",
             "the lost message comes back as an error: %s" % M.show(e))
    M.expect(M.error_condition(e) == "internal-server-error", "condition: %s" % M.show(e))
    M.expect(e.find(M.q(M.C, "body")) is not None, "the bounce carries the message: %s"
             % M.show(e))
    M.barrier(a)  # still connected, and reads need no commit

    # A write answered with a result would claim what is not on disk.
    a.send("<iq type='set' id='w1'><query xmlns='%s'><note xmlns='urn:x:failsync'>n</note>"
           "</query></iq>" % NS_PRIVATE)
    try:
        r = a.wait_for(lambda e: e.tag == M.q(M.C, "iq") and e.get("id") == "w1", timeout=10,
                       what="reply to w1")
        M.expect(r.get("type") == "error", "a write whose commit failed: %s" % M.show(r))
    except X.StreamClosed:
        pass  # dropped, never acknowledged
    a.close()

    disk(False)
    a = M.connect("u40", "again", roster=False)
    message(a, M.jid("u41"), "kept1")
    M.barrier(a)
    r = a.iq("get", "<query xmlns='%s'><note xmlns='urn:x:failsync'/></query>" % NS_PRIVATE)
    note = r.find(".//{urn:x:failsync}note")
    M.expect(r.get("type") == "result" and note is not None and not (note.text or ""),
             "the failed write is not there: %s" % M.show(r))
    b = M.connect("u41", "home", roster=False)
    got = []
    try:
        while True:
            got.append(b.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=3,
                                  what="offline").get("id"))
    except TimeoutError:
        pass
    M.expect(got == ["kept1"], "offline messages after the failure: %s" % got)
    a.close()
    b.close()


if __name__ == "__main__":
    try:
        rc = M.run([("commit_fails", commit_fails)])
    finally:
        disk(False)
    raise SystemExit(rc)
