#!/usr/bin/python3
"""tests/modules/test_mam_crash.py — archive ids across a crash and a clean stop, with
fault injection: this test runs mynad itself (the harness's Myna class, restarted in place).
With write_delay = 10 s, archived messages wait in memory; mynad is killed with SIGKILL:
the messages not yet written are missing from the archive afterwards (the documented
trade-off of writing behind), but their ids are never given to other messages (the next
start is a new generation): the lost ids are item-not-found, the next message gets a new id.
A clean stop (SIGTERM) writes what was waiting: nothing is lost.
Usage: mam_crash.sh (make check), or test_mam_crash.py --builddir=DIR.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["MODTEST_MODULES"] = "mam"
os.environ["MODTEST_MYNA_CONF"] = "mam = { write_delay = 10000; };\n"
sys.path.insert(0, HERE)
import modharness  # noqa: E402,F401  (patches the harness's config writer)
import crashlib  # noqa: E402


def scenario(M, A):
    aj, bj = M.jid("u00"), M.jid("u01")

    def chat(body):
        a, b = M.connect("u00", "a"), M.connect("u01", "b")
        A.send_chats(a, bj, [body])
        M.barrier(b)
        ids = [A.stanza_ids(m, by=bj)[0][1] for m in M.drain(b)
               if m.tag == M.q(M.C, "message") and A.stanza_ids(m, by=bj)]
        M.expect(len(ids) == 1, "%s: delivered stanza-ids %s" % (body, ids))
        return a, b, ids[0]

    a, b, x1 = chat("kept")
    M.expect(A.query(b).ids == [x1], "first message archived")  # the query writes it
    time.sleep(1)  # and the loop's group commit makes it durable
    a.close(), b.close()
    a, b, x2 = chat("lost 1")
    a.close(), b.close()
    a, b, x3 = chat("lost 2")
    a.close(), b.close()
    return x1, x2, x3


def after_crash(M, A, x1, x2, x3):
    bj = M.jid("u01")
    b = M.connect("u01", "b")
    r = A.query(b)
    M.expect(r.ids == [x1] and r.bodies == ["kept"],
             "after SIGKILL the archive holds what was written: %s" % r.bodies)
    for lost in (x2, x3):
        A.expect_error(A.query(b, {"ids": [lost]}), "item-not-found", "an id lost in the crash")
    a = M.connect("u00", "a")
    A.send_chats(a, bj, ["after the crash"])
    M.barrier(b)
    new = [A.stanza_ids(m, by=bj)[0][1] for m in M.drain(b)
           if m.tag == M.q(M.C, "message") and A.stanza_ids(m, by=bj)]
    M.expect(len(new) == 1 and new[0] not in (x1, x2, x3),
             "the next message reused a lost id: %s vs %s" % (new, (x1, x2, x3)))
    r = A.query(b, {"after-id": x1})
    M.expect(r.ids == new, "after the crash: %s" % r.bodies)
    # Waiting in memory when the server stops cleanly: written at unload.
    A.send_chats(a, bj, ["before a clean stop"])
    M.barrier(b)
    a.close(), b.close()
    return new[0]


def after_clean_stop(M, A, x1, x4):
    b = M.connect("u01", "b")
    r = A.query(b)
    M.expect(r.bodies == ["kept", "after the crash", "before a clean stop"] and
             r.ids[:2] == [x1, x4], "after SIGTERM nothing is lost: %s" % r.bodies)
    b.close()


def body(server):
    import mamlib as A
    import modlib as M
    x1, x2, x3 = scenario(M, A)
    crashlib.kill9(server)
    crashlib.start_again(server)
    x4 = after_crash(M, A, x1, x2, x3)
    print("PASS: SIGKILL: unwritten messages are gone, their ids are never reused", flush=True)
    crashlib.stop_clean(server)
    crashlib.start_again(server)
    after_clean_stop(M, A, x1, x4)
    print("PASS: SIGTERM: messages waiting in memory are written", flush=True)


if __name__ == "__main__":
    sys.exit(crashlib.main(sys.argv[1:], "myna-mamcrash-", body))
