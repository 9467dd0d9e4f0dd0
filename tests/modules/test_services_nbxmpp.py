"""tests/modules/test_services_nbxmpp.py — last activity and ad-hoc administration as Gajim's
library sees them: python3-nbxmpp's LastActivity module (the server's uptime; the idle time
Gajim puts in presence with BasePresence.send(idle_time=...), answered by the server; an
offline contact's logout status; forbidden to a stranger) and its AdHoc module (the
command list; add-user with the form filled through nbxmpp's data forms, completing with
AdHocAction.COMPLETE, then a login to the new account; get-online-users-num; a non-admin
refused). u70 is the admin (services_nbxmpp.sh). Helpers: test_nbxmpp_roster.py."""
import sys
import time

import test_nbxmpp_roster as NB
from nbxmpp.const import AdHocAction, AdHocStatus
from nbxmpp.modules.dataforms import extend_form
from nbxmpp.protocol import Presence
from gi.repository import GLib

DOMAIN = NB.DOMAIN
expect, wait, call, ok, passed = NB.expect, NB.wait, NB.call, NB.ok, NB.passed


def last_activity(w, t, x):
    box = yield from call(w.client.get_module("LastActivity").request_last_activity, DOMAIN)
    expect(ok(box, "uptime").seconds >= 0, "uptime: %r" % box)
    # w gets a subscription to t's presence.
    w.presence().subscribe(t.bare())
    yield wait(lambda: any(ty == "subscribe" for ty, _ in t.presences), "the request at t")
    t.presence().subscribed(w.bare())
    items = {}
    for _ in range(100):
        items = yield from NB.get_roster(t)
        if items.get(w.bare()) and items[w.bare()].subscription in ("from", "both"):
            break
        yield NB.sleep(0.05)
    expect(items.get(w.bare()) and items[w.bare()].subscription in ("from", "both"),
           "subscription: %s" % NB.describe(items.get(w.bare())))
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120))
    t.presence().send(show="away", idle_time=since)  # as Gajim does when idle (XEP-0319)
    yield NB.sleep(0.3)
    box = yield from call(w.client.get_module("LastActivity").request_last_activity, t.jid())
    idle = ok(box, "idle time").seconds
    expect(115 <= idle <= 200, "idle time answered by the server: %d" % idle)
    t.client.send_stanza(Presence(typ="unavailable", status="off to bed"))
    yield from NB.logout(t)
    box = yield from call(w.client.get_module("LastActivity").request_last_activity, t.bare())
    data = ok(box, "offline contact")
    expect(data.status == "off to bed" and data.seconds < 600, "offline contact: %r" % (data,))
    box = yield from call(x.client.get_module("LastActivity").request_last_activity, t.bare())
    err = box.get("error")
    expect(err is not None and getattr(err, "condition", None) == "forbidden",
           "a stranger: %r" % box)
    passed("nbxmpp LastActivity")


def execute(peer, cmd, action=None, dataform=None):
    box = yield from call(peer.client.get_module("AdHoc").execute_command, cmd, action=action,
                          dataform=dataform)
    return box


def administration(a, x):
    box = yield from call(a.client.get_module("AdHoc").request_command_list, DOMAIN)
    cmds = {c.node: c for c in ok(box, "command list")}
    expect(len(cmds) == 8, "commands: %s" % sorted(cmds))
    add = cmds["http://jabber.org/protocol/admin#add-user"]
    box = yield from execute(a, add)
    stage = ok(box, "add-user, first stage")
    expect(stage.status == AdHocStatus.EXECUTING and stage.data is not None and
           AdHocAction.COMPLETE in stage.actions, "first stage: %r" % (stage,))
    form = extend_form(node=stage.data)
    form["accountjid"].value = "nbnew@" + DOMAIN
    form["password"].value = "Nb-new-pw-1"
    form["password-verify"].value = "Nb-new-pw-1"
    form.type_ = "submit"
    box = yield from execute(a, stage, AdHocAction.COMPLETE, form.get_purged())
    done = ok(box, "add-user, completed")
    expect(done.status == AdHocStatus.COMPLETED, "add-user: %r" % (done,))
    NB.USERS["nbnew"] = "Nb-new-pw-1"
    n = NB.Peer("nbnew", "check")
    yield from NB.login(n)
    yield from NB.logout(n)
    passed("nbxmpp AdHoc add-user, then a login")
    box = yield from execute(a, cmds["http://jabber.org/protocol/admin#get-online-users-num"])
    done = ok(box, "get-online-users-num")
    num = extend_form(node=done.data)["onlineusersnum"].value
    expect(done.status == AdHocStatus.COMPLETED and int(num) >= 2, "online: %r" % (done,))
    passed("nbxmpp AdHoc get-online-users-num")
    box = yield from execute(x, add)
    err = box.get("error")
    expect(err is not None and getattr(err, "condition", None) == "forbidden",
           "a non-admin: %r" % box)
    passed("nbxmpp AdHoc refused to a non-admin")


def scenario():
    a, w, t, x = (NB.Peer("u70", "gajim"), NB.Peer("u71", "gajim"), NB.Peer("u68", "gajim"),
                  NB.Peer("u69", "gajim"))
    for p in (a, w, t, x):
        yield from NB.login(p)
    yield from last_activity(w, t, x)
    yield from administration(a, x)
    for p in (a, w, x):
        yield from NB.logout(p)


if __name__ == "__main__":
    NB.drive(scenario())
    GLib.timeout_add_seconds(80, lambda: (NB.outcome.__setitem__(
        "error", NB.Fail("scenario did not finish in 80 s")), NB.loop.quit()))
    NB.loop.run()
    ctx = GLib.MainContext.default()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.01)
    if NB.outcome["error"] is not None:
        print("FAIL: %s" % NB.outcome["error"], flush=True)
        sys.exit(1)
    sys.exit(0 if NB.outcome["done"] else 1)
