#!/usr/bin/python3
"""tests/modules/test_mam_durable.py — with the default configuration, a message that was
delivered is in the archive after mynad is killed with SIGKILL. Output is held until the
storage commit, and the archive writes a message in the iteration that delivers it
(write_delay = 0 by default), so delivery itself proves the archive record durable: 200
chat messages are sent to an online recipient, the moment the last one arrives mynad is
killed, and after a restart both archives (sender's and recipient's) hold all 200, in
order, under the stanza-ids that were delivered.
Usage: mam_durable.sh (make check), or test_mam_durable.py --builddir=DIR.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["MODTEST_MODULES"] = "mam"
sys.path.insert(0, HERE)
import modharness  # noqa: E402,F401  (patches the harness's config writer)
import crashlib  # noqa: E402

N = 200


def scenario(M, A):
    aj, bj = M.jid("u00"), M.jid("u01")
    a, b = M.connect("u00", "a"), M.connect("u01", "b")
    bodies = ["durable %03d" % i for i in range(N)]
    A.send_chats(a, bj, bodies)
    got, ids = [], []
    while len(got) < N:
        m = b.wait_for(lambda e: e.tag == M.q(M.C, "message"), what="message %d" % len(got))
        body = m.find(M.q(M.C, "body"))
        if body is not None and body.text.startswith("durable "):
            got.append(body.text)
            sid = A.stanza_ids(m, by=bj)
            M.expect(len(sid) == 1, "message %s without the archive's stanza-id" % body.text)
            ids.append(sid[0][1])
    M.expect(got == bodies, "delivered out of order or incomplete")
    return bodies, ids


def body(server):
    import mamlib as A
    import modlib as M
    bodies, ids = scenario(M, A)
    crashlib.kill9(server)  # the moment the last message arrived
    crashlib.start_again(server)
    rsm = "<set xmlns='http://jabber.org/protocol/rsm'><max>%d</max></set>" % (N + 10)
    b = M.connect("u01", "b2")
    r = A.query(b, set_xml=rsm)
    M.expect(r.bodies == bodies, "recipient's archive after SIGKILL: %d of %d messages"
             % (len(r.bodies), N))
    M.expect(r.ids == ids, "recipient's archive ids differ from the delivered stanza-ids")
    a = M.connect("u00", "a2")
    r = A.query(a, set_xml=rsm)
    M.expect(r.bodies == bodies, "sender's archive after SIGKILL: %d of %d messages"
             % (len(r.bodies), N))
    a.close(), b.close()
    print("PASS: %d delivered messages are in both archives after SIGKILL" % N, flush=True)


if __name__ == "__main__":
    sys.exit(crashlib.main(sys.argv[1:], "myna-mamdurable-", body))
