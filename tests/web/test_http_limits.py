"""tests/web/test_http_limits.py — the `http` limits are settings and take effect (run by
tests/web/http-limits.sh with every one set away from its default): max_header_size
(431), max_body_size (413), request_timeout (408 within seconds), idle_timeout (an idle
keep-alive connection closed), rate_per_connection (429 past it on one connection),
rate_per_address (429 past it across several connections from one address while
another address is still served) and connections_per_address (503 for one more, others
served, room again once one closes). Each case connects from its own 127.0.0.x address,
so their per-address counts never mix."""
import socket
import sys
import time

import weblib
from weblib import Fail
import xmpplib

E = weblib.env()
IP, PORT = E["ip"], E["http_port"]
# http-limits.sh: max_header_size 2048, max_body_size 4096, request_timeout 3,
# idle_timeout 3, rate_per_connection 2, rate_per_address 5, connections_per_address 6.
WINDOW = 10
GET = b"GET /.well-known/host-meta.json HTTP/1.1\r\nHost: a\r\n\r\n"


def check(cond, what):
    if not cond:
        raise Fail(what)


def conn(src, timeout=10):
    return socket.create_connection((IP, PORT), timeout=timeout, source_address=(src, 0))


def ask(src, data, timeout=10):
    return weblib.http_raw(IP, PORT, data, timeout=timeout, sock=conn(src, timeout))[0]


def test_header_size():
    ok = b"GET /.well-known/host-meta.json HTTP/1.1\r\nHost: a\r\nX-A: %s\r\n\r\n"
    check(ask("127.0.0.11", ok % (b"a" * 1500)) == 200, "1500-byte header refused")
    check(ask("127.0.0.11", ok % (b"a" * 3000)) == 431, "3000-byte header not refused")


def test_body_size():
    status = ask("127.0.0.12", b"POST /http-bind HTTP/1.1\r\nHost: a\r\nContent-Length: 5000"
                 b"\r\n\r\n")
    check(status == 413, "a 5000-byte body announced: %d" % status)


def test_request_timeout():
    s = conn("127.0.0.13", timeout=20)
    s.sendall(b"GET /.well-known/host-meta HTTP/1.1\r\n")
    t0 = time.time()
    status = weblib.http_raw(IP, PORT, b"", sock=s, timeout=20)[0]
    took = time.time() - t0
    check(status == 408 and took < 9, "unfinished request: %d after %.1f s" % (status, took))


def test_idle_timeout():
    s = conn("127.0.0.14", timeout=20)
    check(weblib.http_raw(IP, PORT, GET, sock=s)[0] == 200, "first request")
    t0 = time.time()
    s.settimeout(20)
    got = s.recv(100)
    took = time.time() - t0
    check(got == b"" and took < 12, "idle connection: %r after %.1f s" % (got, took))


def test_rate_per_connection():
    s = conn("127.0.0.15")
    s.sendall(GET * 25)
    codes = [weblib.http_raw(IP, PORT, b"", sock=s)[0] for _ in range(25)]
    check(codes[:2 * WINDOW] == [200] * 2 * WINDOW and 429 in codes[2 * WINDOW:],
          "rate_per_connection 2: %s" % codes)


def test_rate_per_address():
    """Ten connections from one address, six requests each: 5/s over 10 s allows 50."""
    codes = []
    for _ in range(10):
        s = conn("127.0.0.16")
        s.sendall(GET * 6)
        codes += [weblib.http_raw(IP, PORT, b"", sock=s)[0] for _ in range(6)]
        s.close()
    check(codes[:5 * WINDOW] == [200] * 5 * WINDOW and codes[5 * WINDOW:] == [429] * 10,
          "rate_per_address 5 over several connections: %s" % codes)
    check(ask("127.0.0.17", GET) == 200, "another address refused too")


def test_connections_per_address():
    held = [conn("127.0.0.18") for _ in range(6)]
    for s in held:  # each one is counted (the server answers on it)
        s.sendall(GET)
        check(weblib.http_raw(IP, PORT, b"", sock=s)[0] == 200, "one of six")
    status = ask("127.0.0.18", GET)
    check(status == 503, "a seventh connection from one address: %d" % status)
    check(ask("127.0.0.19", GET) == 200, "another address refused too")
    held.pop().close()
    end = time.time() + 10
    status = 0
    while time.time() < end and status != 200:
        status = ask("127.0.0.18", GET)
        time.sleep(0.2)
    check(status == 200, "no room after one closed: %d" % status)
    for s in held:
        s.close()


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
