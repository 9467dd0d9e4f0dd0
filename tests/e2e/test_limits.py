"""tests/e2e/test_limits.py — resource limits a hostile or broken client hits.

rate: with limits.c2s_rate/c2s_burst small, a client flooding messages is slowed to its rate
      (its messages all arrive, in order, but no faster than the rate allows) while another
      session's ping is still answered at once.
slowreader: a client that never reads its socket while others send to it is dropped once
      the server has queued its limit for it; the senders stay connected and healthy.
Run through limits-rate.sh / limits-slowreader.sh, which set the limits.
"""
import os
import socket
import sys
import time

import xmpplib as X

E = X.env()
MODE = sys.argv[1] if len(sys.argv) > 1 else "rate"
(U0, P0), (U1, P1), (U2, P2) = E["users"][:3]
RATE = 50000  # must match limits-rate.sh


def body(i, size):
    return ("%06d-" % i) + "x" * (size - 7)


def test_rate():
    sender = X.login(E, U0, P0, resource="flood", name="sender")
    receiver = X.login(E, U1, P1, resource="sink", name="receiver")
    watcher = X.login(E, U2, P2, resource="watch", name="watcher")
    n, size = 300, 1000
    to = "%s@%s/sink" % (U1, E["domain"])
    start = time.monotonic()
    chunk = "".join("<message to='%s' type='chat'><body>%s</body></message>"
                    % (to, body(i, size)) for i in range(n))
    total = len(chunk.encode())
    sender.send(chunk)
    # While the flood is throttled, another session is served at once.
    t0 = time.monotonic()
    watcher.ping()
    ping_s = time.monotonic() - t0
    got = 0
    while got < n:
        el = receiver.next(timeout=30)
        if el.tag != X.q(X.NS_CLIENT, "message"):
            continue
        b = el.find(X.q(X.NS_CLIENT, "body")).text
        if b != body(got, size):
            raise AssertionError("message %d out of order or altered: %r" % (got, b[:12]))
        got += 1
    elapsed = time.monotonic() - start
    floor = (total - 4 * 16384) / RATE * 0.8
    print("# %d bytes delivered in %.2f s (rate %d B/s, expected at least %.2f s); ping %.3f s"
          % (total, elapsed, RATE, floor, ping_s))
    if elapsed < floor:
        raise AssertionError("flood was not slowed: %.2f s < %.2f s" % (elapsed, floor))
    if ping_s > 1.0:
        raise AssertionError("another session waited %.2f s for a ping" % ping_s)
    sender.ping()  # the throttled sender itself is still connected and served


def test_slowreader():
    slow = X.login(E, U1, P1, resource="slow", name="slow")
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    senders = [X.login(E, u, p, resource="s", name="sender%d" % i)
               for i, (u, p) in enumerate([(U0, P0), (U2, P2)])]
    to = "%s@%s/slow" % (U1, E["domain"])
    msg = ("<message to='%s' type='chat'><body>%s</body></message>" % (to, "y" * 8000)).encode()
    dropped = False
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline and not dropped:
        for s in senders:
            s.send(msg * 64)
            sent += len(msg) * 64
        # Each sender's ping proves the server is still serving it (and drains its socket).
        for s in senders:
            s.ping()
        if sent > 64 << 20:
            break
        # Is the slow client's connection gone? The server logs the drop; its socket
        # backlog is never read here.
        with open(os.environ["E2E_SERVER_LOG"], errors="replace") as f:
            dropped = "does not read" in f.read()
    if not dropped:
        raise AssertionError("server kept queueing for a client that never reads "
                             "(%d bytes sent)" % sent)
    print("# slow reader dropped after about %d MB sent to it" % (sent >> 20))
    for s in senders:
        s.ping()


sys.exit(X.run({"rate": [("rate", test_rate)],
                "slowreader": [("slowreader", test_slowreader)]}[MODE]))
