"""tests/modules/test_offline_order.py — ordering across the login transition: a sender keeps
sending numbered messages to a user's bare JID while the user logs in. 2,000 are stored
before the login (about 1 MB, more than one delivery step); the user's client does not
read for a second after its initial presence, so the delivery of the stored messages
waits on it while the sender's next 2,000 arrive. The user must receive all 4,000 in the
order they were sent, each once: none of the new ones before a stored one. mynactl stats
shows that messages were indeed held back behind the stored ones (offline.held)."""
import os
import subprocess
import threading
import time

import modlib as M

N_BEFORE = 2000
N_DURING = 2000
PAD = "z" * 400


def msg(to, i):
    return "<message to='%s' type='chat' id='o%d'><body>%05d %s</body></message>" % (to, i, i, PAD)


def metric(name):
    out = subprocess.run([os.environ["E2E_MYNACTL"], "-c", os.environ["E2E_CONF"], "stats"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    for line in out.splitlines():
        if line.startswith("metric.%s=" % name):
            return int(line.split("=", 1)[1])
    return 0


def racing_login():
    s = M.connect("u01", "sender")
    to = M.jid("u02")
    s.send("".join(msg(to, i) for i in range(N_BEFORE)))
    M.barrier(s)  # all stored: the user has no session yet

    def keep_sending():
        for lo in range(N_BEFORE, N_BEFORE + N_DURING, 50):
            s.send("".join(msg(to, i) for i in range(lo, lo + 50)))
            time.sleep(0.01)

    r = M.connect("u02", "late", presence=False)
    sender = threading.Thread(target=keep_sending)
    sender.start()
    time.sleep(0.05)  # the sender is under way: some of its messages go live or offline
    r.send("<presence/>")
    time.sleep(1.0)  # not reading: the server cannot hand the stored messages over at once
    sender.join()
    got = []
    try:
        while len(got) < N_BEFORE + N_DURING:
            el = r.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=20, what="message")
            got.append(int(el.find(M.q(M.C, "body")).text.split()[0]))
    except TimeoutError:
        pass
    bad = next((i for i, n in enumerate(got) if n != i), None)
    M.expect(got == list(range(N_BEFORE + N_DURING)),
             "%d received; first out of place at position %s: %s" %
             (len(got), bad, got[bad:bad + 5] if bad is not None else None))
    M.barrier(s)
    errs = [e for e in M.drain(s) if e.get("type") == "error"]
    M.expect(not errs, "the sender got errors: %s" % [M.show(e) for e in errs[:3]])
    held = metric("offline.held")
    M.expect(held > 0, "no message arrived during the delivery (offline.held=%d): the race "
             "was not exercised" % held)
    s.close(), r.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("racing_login", racing_login)]))
