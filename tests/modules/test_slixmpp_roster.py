"""tests/modules/test_slixmpp_roster.py — the roster, subscriptions and presence as a real
client library sees them: two slixmpp clients (Debian's python3-slixmpp) subscribe to each
other with slixmpp's own roster handling (auto-authorize and auto-subscribe), and each must
end with a 'both' roster item and the other's presence; a third sees nothing of them."""
import asyncio
import os
import ssl
import sys

import slixmpp

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 10


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), USERS[user])
        self.ready = asyncio.Event()
        self.seen = {}  # bare JID -> last presence type seen
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.auto_authorize = True
        self.auto_subscribe = True
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("presence_available",
                               lambda p: self.seen.__setitem__(p["from"].bare, "available"))
        self.add_event_handler("presence_unavailable",
                               lambda p: self.seen.__setitem__(p["from"].bare, "unavailable"))

    async def on_start(self, _event):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def connect(user, resource):
    c = Client(user, resource)
    c.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
    await asyncio.wait_for(c.ready.wait(), WAIT)
    return c


async def until(pred, what):
    for _ in range(int(WAIT / 0.1)):
        if pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out: " + what)


async def main():
    a = await connect("u60", "sli")
    b = await connect("u61", "sli")
    x = await connect("u62", "sli")
    aj, bj = a.boundjid.bare, b.boundjid.bare
    failures = 0
    try:
        a.send_presence_subscription(pto=bj)
        await until(lambda: a.client_roster[bj]["subscription"] == "both" and
                    b.client_roster[aj]["subscription"] == "both",
                    "both rosters at 'both' (a: %s, b: %s)" % (
                        a.client_roster[bj]["subscription"],
                        b.client_roster[aj]["subscription"]))
        await until(lambda: a.seen.get(bj) == "available" and b.seen.get(aj) == "available",
                    "each sees the other available")
        print("PASS: mutual subscription with slixmpp", flush=True)
        b.disconnect()
        await until(lambda: a.seen.get(bj) == "unavailable", "a sees b go offline")
        print("PASS: unavailable seen by the contact", flush=True)
        if aj in x.seen or bj in x.seen:
            raise AssertionError("a stranger saw presence: %s" % x.seen)
        print("PASS: no presence to strangers", flush=True)
    except Exception as ex:
        failures += 1
        print("FAIL: slixmpp roster flow: %s: %s" % (type(ex).__name__, ex), flush=True)
    for c in (a, x):
        c.disconnect()
    await asyncio.sleep(0.5)
    return 1 if failures else 0


if __name__ == "__main__":
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        sys.exit(loop.run_until_complete(asyncio.wait_for(main(), 60)))
    except asyncio.TimeoutError:
        print("FAIL: timed out (login or delivery)")
        sys.exit(1)
