"""tests/e2e/test_slixmpp.py — slixmpp clients: several resources with priorities.

RFC 6121 §8.5.2.1.1: a message of type chat to the bare JID goes to the available resource(s)
with the highest non-negative priority (the server may pick one or several of them); never to
a resource with negative priority. A message to a full JID goes to that resource only, even
with negative priority (§8.5.3.1). Each client verifies the certificate against the test CA
while connecting to the IP.
"""
import asyncio
import logging
import os
import ssl
import sys

import slixmpp

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = [u.split(":", 1) for u in E["E2E_USERS"].split()]
WAIT = 10


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, priority):
        super().__init__(jid, password)
        self.priority = priority
        self.inbox = asyncio.Queue()
        self.ready = asyncio.Event()
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", 
                               lambda _e: print("# slixmpp: a SASL mechanism failed for %s; "
                                                "it tries the next one" % jid))

    async def on_start(self, _event):
        self.send_presence(ppriority=self.priority)
        self.ready.set()

    def on_message(self, msg):
        if msg["body"]:
            self.inbox.put_nowait(msg)


async def connect(user, password, resource, priority):
    c = Client("%s@%s/%s" % (user, DOMAIN, resource), password, priority)
    c.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
    await asyncio.wait_for(c.ready.wait(), WAIT)
    return c


async def none_arrives(clients, seconds=1.0):
    await asyncio.sleep(seconds)
    for c in clients:
        if not c.inbox.empty():
            m = c.inbox.get_nowait()
            raise AssertionError("%s unexpectedly received %r" % (c.boundjid, m["body"]))


async def main():
    (a, pa), (b, pb) = USERS[0], USERS[1]
    sender = await connect(a, pa, "sender", 0)
    high = await connect(b, pb, "high", 10)
    low = await connect(b, pb, "low", 1)
    neg = await connect(b, pb, "neg", -1)
    await asyncio.sleep(0.5)  # presence settles
    failures = 0

    async def case(name, coro):
        nonlocal failures
        try:
            await coro
            print("PASS: " + name, flush=True)
        except Exception as ex:
            failures += 1
            print("FAIL: %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)

    async def bare_goes_to_highest():
        sender.send_message(mto="%s@%s" % (b, DOMAIN), mbody="bare-1", mtype="chat")
        m = await asyncio.wait_for(high.inbox.get(), WAIT)
        assert m["body"] == "bare-1", m["body"]
        assert m["from"] == sender.boundjid, "from %s, expected %s" % (m["from"], sender.boundjid)
        await none_arrives([low, neg])

    async def full_jid_even_negative():
        sender.send_message(mto=neg.boundjid.full, mbody="to-neg", mtype="chat")
        m = await asyncio.wait_for(neg.inbox.get(), WAIT)
        assert m["body"] == "to-neg"
        await none_arrives([high, low])

    async def priority_change_moves_delivery():
        high.send_presence(ppriority=0)   # now low (1) is the highest
        await asyncio.sleep(0.5)
        sender.send_message(mto="%s@%s" % (b, DOMAIN), mbody="bare-2", mtype="chat")
        m = await asyncio.wait_for(low.inbox.get(), WAIT)
        assert m["body"] == "bare-2"
        await none_arrives([high, neg])

    async def reply_reaches_sender():
        low.send_message(mto=sender.boundjid.full, mbody="pong", mtype="chat")
        m = await asyncio.wait_for(sender.inbox.get(), WAIT)
        assert m["body"] == "pong" and m["from"] == low.boundjid

    await case("bare JID -> highest priority resource only", bare_goes_to_highest())
    await case("full JID reaches a negative-priority resource", full_jid_even_negative())
    await case("priority change moves bare-JID delivery", priority_change_moves_delivery())
    await case("reply to the sender's full JID", reply_reaches_sender())
    for c in (sender, high, low, neg):
        c.disconnect()
    await asyncio.sleep(0.5)
    return 1 if failures else 0


if __name__ == "__main__":
    if E.get("E2E_TRACE"):
        logging.basicConfig(level=logging.DEBUG)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        sys.exit(loop.run_until_complete(asyncio.wait_for(main(), 60)))
    except asyncio.TimeoutError:
        print("FAIL: timed out (login or delivery)")
        sys.exit(1)
