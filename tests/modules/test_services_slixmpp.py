"""tests/modules/test_services_slixmpp.py — last activity, contact addresses and service
administration as slixmpp (Debian's python3-slixmpp) sees them, with its own plugins:
xep_0012 (the server's uptime, an offline contact's logout status, forbidden to a
stranger, the idle time xep_0319 put in presence), xep_0128 (the serverinfo form of
XEP-0157 in disco#info), xep_0050 and xep_0133 (the command list, add-user with the form
filled through slixmpp's session flow, then a login to the new account; the online user
count; an announcement that every online client receives; a non-admin refused).
u60 is the admin (services_slixmpp.sh)."""
import asyncio
import datetime
import os
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004 import Form

E = os.environ
DOMAIN, IP, CA = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_CAFILE"]
PORT = int(E["E2E_STARTTLS_PORT"])
USERS = dict(u.split(":", 1) for u in E["E2E_USERS"].split())
WAIT = 10
PLUGINS = ["xep_0004", "xep_0012", "xep_0030", "xep_0050", "xep_0128", "xep_0133",
           "xep_0199", "xep_0319"]


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource, password=None):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), password or USERS[user])
        self.ready = asyncio.Event()
        self.messages = []
        self.ssl_context = ssl.create_default_context(cafile=CA)
        self.auto_authorize = True
        self.auto_subscribe = False
        for p in PLUGINS:
            self.register_plugin(p)
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.messages.append)

    async def on_start(self, _event):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def connect(user, resource="sli", password=None):
    c = Client(user, resource, password)
    c.connect(address=(IP, PORT), force_starttls=True, disable_starttls=False)
    # (slixmpp tries SCRAM-*-PLUS with tls-unique first, which TLS 1.3 lacks, and falls
    # back by itself: a failed_auth on the way is no failure.)
    try:
        await asyncio.wait_for(c.ready.wait(), WAIT)
    except asyncio.TimeoutError:
        raise AssertionError("%s could not log in" % user)
    return c


async def until(pred, what):
    for _ in range(int(WAIT / 0.1)):
        if pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out: " + what)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


async def last_activity(clients):
    t, w, x = clients["u61"], clients["u62"], clients["u63"]
    iq = await w["xep_0012"].get_last_activity(DOMAIN)
    expect(iq["last_activity"]["seconds"] >= 0, "uptime: %s" % iq)
    # w gets a subscription to t's presence (t authorizes automatically).
    w.send_presence_subscription(pto=t.boundjid.bare)
    await until(lambda: t.client_roster[w.boundjid.bare]["subscription"] in ("from", "both"),
                "the subscription")
    # Idle time from XEP-0319, answered by the server for t's full JID.
    # (xep_0319's idle() trips over xep_0012 in slixmpp 1.8.3: its stanza plugin is used.)
    p = t.make_presence(pshow="away")
    p["idle"]["since"] = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(minutes=10)
    p.send()
    await t["xep_0199"].ping(DOMAIN)
    iq = await w["xep_0012"].get_last_activity(t.boundjid.full)
    expect(590 <= iq["last_activity"]["seconds"] <= 700, "idle: %s" % iq)
    t.send_presence(ptype="unavailable", pstatus="gone fishing")
    t.disconnect()
    await t.disconnected
    iq = await w["xep_0012"].get_last_activity(t.boundjid.bare)
    expect(iq["last_activity"]["status"] == "gone fishing" and
           iq["last_activity"]["seconds"] < 600, "offline contact: %s" % iq)
    try:
        await x["xep_0012"].get_last_activity(t.boundjid.bare)
        raise AssertionError("a stranger got last activity")
    except IqError as e:
        expect(e.iq["error"]["condition"] == "forbidden", "stranger: %s" % e.iq)
    print("PASS: xep_0012 last activity", flush=True)


async def contact_addresses(clients):
    iq = await clients["u62"]["xep_0030"].get_info(jid=DOMAIN)
    forms = [f for f in iq["disco_info"].iterables if isinstance(f, Form)]
    values = {}
    for f in forms:
        v = f.get_values()
        if v.get("FORM_TYPE") in ("http://jabber.org/network/serverinfo",
                                  ["http://jabber.org/network/serverinfo"]):
            values = v
    expect(values.get("admin-addresses") == ["mailto:xmpp@myna.test"] and
           values.get("support-addresses") == ["https://myna.test/help",
                                               "xmpp:help@myna.test"],
           "serverinfo form through xep_0128: %s" % [f.get_values() for f in forms])
    print("PASS: xep_0128 contact addresses", flush=True)


def run_command(client, method, fill):
    """Starts an XEP-0133 command with slixmpp's workflow; `fill` gets the form and
    returns the values to submit (None: the command needs no form). Returns the final
    iq (completed or error)."""
    fut = asyncio.get_event_loop().create_future()

    def on_error(iq, session):
        if not fut.done():
            fut.set_result(iq)

    def on_completed(iq, session):
        if not fut.done():
            fut.set_result(iq)

    def on_form(iq, session):
        if iq["command"]["status"] == "completed":
            on_completed(iq, session)
            return
        form = iq["command"]["form"]
        values = fill(form)
        submit = Form()
        submit["type"] = "submit"
        submit.add_field(var="FORM_TYPE", ftype="hidden",
                         value="http://jabber.org/protocol/admin")
        for var, value in values.items():
            submit.add_field(var=var, value=value)
        session["payload"] = submit
        session["next"] = on_completed
        client["xep_0050"].complete_command(session)

    getattr(client["xep_0133"], method)(jid=DOMAIN, session={"next": on_form,
                                                              "error": on_error})
    return asyncio.wait_for(fut, WAIT)


async def administration(clients):
    a, x = clients["u60"], clients["u63"]
    iq = await a["xep_0050"].get_commands(DOMAIN)
    nodes = {item[1] for item in iq["disco_items"]["items"]}
    expect("http://jabber.org/protocol/admin#add-user" in nodes and len(nodes) == 8,
           "command list: %s" % nodes)
    iq = await run_command(a, "add_user", lambda form: {
        "accountjid": "slixnew@" + DOMAIN, "password": "Slix-new-1",
        "password-verify": "Slix-new-1"})
    expect(iq["type"] == "result" and iq["command"]["status"] == "completed",
           "add-user: %s" % iq)
    n = await connect("slixnew", password="Slix-new-1")
    print("PASS: xep_0133 add-user, then a login", flush=True)
    iq = await run_command(a, "get_online_users_num", None)
    count = int(iq["command"]["form"].get_values()["onlineusersnum"])
    expect(count >= 4, "online users: %s" % iq)
    iq = await run_command(a, "announce", lambda form: {
        "announcement": "Planned maintenance\nat noon"})
    expect(iq["command"]["status"] == "completed", "announce: %s" % iq)
    for c in (clients["u62"], clients["u63"], n, a):
        await until(lambda: any(m["type"] == "headline" and
                                m["body"] == "Planned maintenance\nat noon"
                                for m in c.messages), "the announcement at %s" % c.boundjid)
    print("PASS: xep_0133 online users and announcement", flush=True)
    iq = await run_command(x, "delete_user", lambda form: {"accountjids": [a.boundjid.bare]})
    expect(iq["type"] == "error" and iq["error"]["condition"] == "forbidden",
           "a non-admin's command: %s" % iq)
    print("PASS: xep_0133 refused to a non-admin", flush=True)
    n.disconnect()


async def main():
    clients = {}
    failures = 0
    try:
        for u in ("u60", "u61", "u62", "u63"):
            clients[u] = await connect(u)
    except Exception as ex:
        print("FAIL: login: %s" % ex, flush=True)
        return 1
    for name, fn in (("last activity", last_activity), ("contact addresses", contact_addresses),
                     ("administration", administration)):
        try:
            await fn(clients)
        except Exception as ex:
            failures += 1
            print("FAIL: %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)
    for c in clients.values():
        c.disconnect()
    await asyncio.sleep(0.5)
    return 1 if failures else 0


if __name__ == "__main__":
    if E.get("E2E_TRACE"):
        import logging
        logging.basicConfig(level=logging.DEBUG)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        sys.exit(loop.run_until_complete(asyncio.wait_for(main(), 80)))
    except asyncio.TimeoutError:
        print("FAIL: timed out")
        sys.exit(1)
