"""tests/modules/test_mam_retention.py — archive retention (XEP-0313 §3.2): only the oldest
messages go, ids are never reused, and queries, metadata and ids agree afterwards.
Scenario "count" (mam_count.sh: max_messages = 5): an archive keeps its newest 5 messages.
Scenario "age" (mam_age.sh: max_age = 3 s): messages vanish from queries after 3 s and the
expiry timer deletes them (their ids become unknown: item-not-found); an emptied archive
gives its next message a new id; a younger archive is untouched.
"""
import sys
import time

import mamlib as A
import modlib as M


def delivered_ids(s, by):
    return [A.stanza_ids(m, by=by)[0][1] for m in M.drain(s)
            if m.tag == M.q(M.C, "message") and A.stanza_ids(m, by=by)]


def count():
    a, b = M.connect("u00", "a"), M.connect("u01", "b")
    bj = M.jid("u01")
    A.send_chats(a, bj, ["m%d" % i for i in range(8)])
    M.barrier(b)
    seen = delivered_ids(b, bj)
    M.expect(len(seen) == 8, "b received %d" % len(seen))
    for s, who in ((a, "sender"), (b, "recipient")):
        r = A.query(s)
        M.expect(r.bodies == ["m%d" % i for i in range(3, 8)] and r.count == 5,
                 "%s keeps the newest 5: %s (count %s)" % (who, r.bodies, r.count))
    r = A.query(b)
    M.expect(r.ids == seen[3:], "b's ids: %s vs delivered %s" % (r.ids, seen))
    for old in seen[:3]:
        A.expect_error(A.query(b, {"after-id": old}), "item-not-found", "a trimmed id")
    md = b.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM)
    M.expect(md.find(".//" + M.q(A.NS_MAM, "start")).get("id") == seen[3],
             "metadata start after trimming: %s" % M.show(md))
    A.send_chats(a, bj, ["m8"])
    M.barrier(b)
    new = delivered_ids(b, bj)
    M.expect(len(new) == 1 and new[0] not in seen, "a reused id: %s" % new)
    M.expect(A.query(b).ids == seen[4:] + new, "after one more: %s" % A.query(b).bodies)
    a.close(), b.close()


def wait_until(pred, what, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return
        time.sleep(0.25)
    raise M.Fail("timed out after %d s: %s" % (seconds, what))


def age():
    a, b = M.connect("u02", "a"), M.connect("u03", "b")
    bj = M.jid("u03")
    A.send_chats(a, bj, ["old %d" % i for i in range(3)])
    M.barrier(b)
    old = delivered_ids(b, bj)
    M.expect(len(old) == 3, "b received %d" % len(old))
    wait_until(lambda: not A.query(b).results, "messages older than max_age leave queries")
    # The timer deletes them, oldest first and maybe over more than one run: the ids
    # become unknown, the newest one last.
    wait_until(lambda: A.query(b, {"after-id": old[2]}).reply.get("type") == "error",
               "the expiry deletes old messages")
    A.expect_error(A.query(b, {"ids": [old[2]]}), "item-not-found", "an expired id")
    md = b.iq("get", "<metadata xmlns='%s'/>" % A.NS_MAM)
    M.expect(len(md.find(M.q(A.NS_MAM, "metadata"))) == 0, "metadata of an expired archive: %s"
             % M.show(md))
    A.send_chats(a, bj, ["new"])
    M.barrier(b)
    new = delivered_ids(b, bj)
    M.expect(len(new) == 1 and new[0] not in old, "an emptied archive reused an id: %s" % new)
    r = A.query(b)
    M.expect(r.bodies == ["new"] and r.ids == new and r.count == 1, "after expiry: %s"
             % M.show(r.reply))
    a.close(), b.close()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "count"
    raise SystemExit(M.run([(which, {"count": count, "age": age}[which])]))
