#!/usr/bin/python3
"""bench/wsbench.py — XMPP over WebSocket (RFC 7395) next to TCP, for bench/run.sh:
memory per idle session and messages per second, the same client code over both
transports so the difference is the server's. Stdlib only (asyncio); SCRAM-SHA-1 with
the salted password cached per salt, so logins cost the server, not this tool.

  idle: --sessions N clients log in (bind, initial presence) and stay; the server's RSS
        (--server-pid) is read before and after: KiB per idle session.
  chat: --pairs P senders each send to their own receiver at --rate msg/s in total for
        --duration s; delivered msg/s and latency percentiles.
  --transport ws (--url ws://HOST:PORT/PATH) or tcp (--host, port 5222, STARTTLS with
  --cafile). Output: one JSON object on stdout, a summary on stderr.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import ssl
import struct
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
SCRAM_CACHE = {}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class WsTransport:
    def __init__(self, url):
        self.url = urllib.parse.urlparse(url)

    async def connect(self):
        u = self.url
        self.r, self.w = await asyncio.open_connection(u.hostname, u.port or 80)
        key = base64.b64encode(os.urandom(16)).decode()
        self.w.write(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade"
                      "\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Protocol: xmpp\r\n\r\n" % (u.path, u.netloc, key)).encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("handshake: %r" % head[:100])

    def send(self, text):
        p = text.encode()
        n = len(p)
        h = b"\x81" + (bytes([0x80 | n]) if n < 126 else b"\xfe" + struct.pack(">H", n))
        mask = os.urandom(4)
        self.w.write(h + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(p)))

    async def recv(self):
        while True:
            b0, b1 = await self.r.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", await self.r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await self.r.readexactly(8))[0]
            p = await self.r.readexactly(n)
            op = b0 & 0x0F
            if op == 1:
                return ET.fromstring(p)
            if op == 8:
                raise EOFError
            if op == 9:
                self.w.write(b"\x8a\x80" + b"\0\0\0\0")

    async def open(self, domain):
        self.send("<open xmlns='%s' to='%s' version='1.0'/>" % (NS_FRAMING, domain))
        await self.recv()  # <open/>
        return await self.recv()  # features

    def close(self):
        self.send("<close xmlns='%s'/>" % NS_FRAMING)


class TcpTransport:
    def __init__(self, host, port, cafile):
        self.host, self.port, self.cafile = host, port, cafile

    async def connect(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port)

    def _parser(self):
        self.p = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending = []

    def send(self, text):
        self.w.write(text.encode())

    async def recv(self):
        while True:
            for ev, el in self.p.read_events():
                if ev == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.pending.append(el)
            if self.pending:
                return self.pending.pop(0)
            data = await self.r.read(65536)
            if not data:
                raise EOFError
            self.p.feed(data)

    async def open(self, domain):
        self._parser()
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream="
                  "'http://etherx.jabber.org/streams' to='%s' version='1.0'>" % domain)
        f = await self.recv()
        if f.find("{urn:ietf:params:xml:ns:xmpp-tls}starttls") is not None:
            self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            await self.recv()
            ctx = ssl.create_default_context(cafile=self.cafile)
            ctx.check_hostname = False
            await self.w.start_tls(ctx, server_hostname=domain)
            return await self.open(domain)
        return f

    def close(self):
        self.send("</stream:stream>")


async def login(t, domain, user, password, resource):
    await t.connect()
    await t.open(domain)
    cnonce = base64.b64encode(os.urandom(12)).decode()
    bare = "n=%s,r=%s" % (user, cnonce)
    t.send("<auth xmlns='%s' mechanism='SCRAM-SHA-1'>%s</auth>"
           % (NS_SASL, base64.b64encode(("n,," + bare).encode()).decode()))
    ch = await t.recv()
    first = base64.b64decode(ch.text).decode()
    a = dict(kv.split("=", 1) for kv in first.split(","))
    key = (a["s"], a["i"], password)
    if key not in SCRAM_CACHE:
        SCRAM_CACHE[key] = hashlib.pbkdf2_hmac("sha1", password.encode(),
                                               base64.b64decode(a["s"]), int(a["i"]))
    salted = SCRAM_CACHE[key]
    ck = hmac.new(salted, b"Client Key", "sha1").digest()
    final_wo = "c=biws,r=" + a["r"]
    msg = ",".join([bare, first, final_wo]).encode()
    sig = hmac.new(hashlib.sha1(ck).digest(), msg, "sha1").digest()
    proof = base64.b64encode(bytes(x ^ y for x, y in zip(ck, sig))).decode()
    t.send("<response xmlns='%s'>%s</response>"
           % (NS_SASL, base64.b64encode((final_wo + ",p=" + proof).encode()).decode()))
    ok = await t.recv()
    if not ok.tag.endswith("success"):
        raise RuntimeError("login %s failed" % user)
    await t.open(domain)
    t.send("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='%s'><resource>%s"
           "</resource></bind></iq>" % (NS_BIND, resource))
    r = await t.recv()
    jid = r.find("{%s}bind/{%s}jid" % (NS_BIND, NS_BIND)).text
    t.send("<presence xmlns='jabber:client'/>")
    return jid


def transport(args):
    if args.transport == "ws":
        return WsTransport(args.url)
    return TcpTransport(args.host, args.port, args.cafile)


async def connect_many(args, n, first):
    sem = asyncio.Semaphore(args.concurrency)
    out = [None] * n

    async def one(i):
        async with sem:
            t = transport(args)
            jid = await login(t, args.domain, "u%d" % (first + i), args.password, "b%d" % i)
            out[i] = (t, jid)
    await asyncio.gather(*(one(i) for i in range(n)))
    return out


async def idle(args):
    before = rss_kb(args.server_pid) if args.server_pid else 0
    t0 = time.time()
    sessions = await connect_many(args, args.sessions, args.first)
    took = time.time() - t0
    await asyncio.sleep(args.settle)
    after = rss_kb(args.server_pid) if args.server_pid else 0
    for t, _ in sessions:
        t.close()
    per = (after - before) / args.sessions if args.server_pid else None
    return {"sessions": args.sessions, "login_s": round(took, 2), "server_rss_kb_before": before,
            "server_rss_kb_after": after,
            "kib_per_session": round(per, 2) if per is not None else None}


async def chat(args):
    sessions = await connect_many(args, 2 * args.pairs, args.first)
    lat = []
    received = 0
    stop = time.time() + args.duration + 5

    async def reader(t):
        nonlocal received
        while time.time() < stop:
            try:
                el = await asyncio.wait_for(t.recv(), timeout=1)
            except asyncio.TimeoutError:
                continue
            except (EOFError, asyncio.IncompleteReadError):
                return
            if el.tag.endswith("message"):
                body = el.findtext("{jabber:client}body")
                if body:
                    lat.append(time.time() - float(body))
                    received += 1
    readers = [asyncio.ensure_future(reader(sessions[2 * i + 1][0])) for i in range(args.pairs)]
    interval = args.pairs / args.rate
    sent = 0
    t_start = time.time()

    async def sender(i):
        nonlocal sent
        t, _ = sessions[2 * i]
        to = sessions[2 * i + 1][1]
        nxt = time.time() + (i / args.pairs) * interval
        while time.time() < t_start + args.duration:
            t.send("<message xmlns='jabber:client' to='%s' type='chat'><body>%.6f</body>"
                   "</message>" % (to, time.time()))
            sent += 1
            nxt += interval
            await asyncio.sleep(max(0, nxt - time.time()))
    await asyncio.gather(*(sender(i) for i in range(args.pairs)))
    end = time.time() + 5
    while received < sent and time.time() < end:
        await asyncio.sleep(0.05)
    elapsed = time.time() - t_start
    for r in readers:
        r.cancel()
    lat.sort()

    def pct(p):
        return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
    return {"pairs": args.pairs, "sent": sent, "received": received,
            "msgs_per_s": round(received / elapsed, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=["idle", "chat"])
    ap.add_argument("--transport", choices=["ws", "tcp"], default="ws")
    ap.add_argument("--url", default="ws://127.0.0.1:5280/xmpp-websocket")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5222)
    ap.add_argument("--cafile")
    ap.add_argument("--domain", required=True)
    ap.add_argument("--password", default="benchpass")
    ap.add_argument("--first", type=int, default=1, help="first account number (uN)")
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    res = asyncio.run(idle(args) if args.scenario == "idle" else chat(args))
    res.update({"scenario": "%s-%s" % (args.scenario, args.transport), "server": args.label})
    print(json.dumps(res))
    print("%s %s: %s" % (args.label, res["scenario"], res), file=sys.stderr)


if __name__ == "__main__":
    main()
