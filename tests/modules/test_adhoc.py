"""tests/modules/test_adhoc.py — ad-hoc commands (XEP-0050) and service administration
(XEP-0133) on raw XML, with u00 the only admin (adhoc.sh configures it):
discovery of the command list and nodes (admins only); every command refused to a
non-admin with forbidden; add user, change password and delete user (the account's roster,
offline messages, vCard and private data gone with it, its sessions ended, as `mynactl
deluser` does); end user session (all of an account's, or one); online users counted and
listed; an announcement received by every online session; last login time; and the
protocol's errors for hostile requests (unknown node, missing node, bad action, bad or
expired session ids, foreign sessions, bad forms, bad JIDs, an oversized announcement)."""
import time
from xml.sax.saxutils import escape, quoteattr

import modlib as M
import xmpplib as X

NS_CMD = "http://jabber.org/protocol/commands"
NS_XDATA = "jabber:x:data"
NS_ADMIN = "http://jabber.org/protocol/admin"
NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"
NS_VCARD = "vcard-temp"
NS_PRIVATE = "jabber:iq:private"
ADMIN = "u00"
NODES = ["add-user", "delete-user", "end-user-session", "change-user-password",
         "get-user-lastlogin", "get-online-users-num", "get-online-users-list", "announce"]


def node(name):
    return "http://jabber.org/protocol/admin#" + name


def form(fields, ftype="submit", form_type=NS_ADMIN):
    """A data form: fields is [(var, [values])]."""
    out = "<x xmlns='%s' type='%s'>" % (NS_XDATA, ftype)
    if form_type:
        out += "<field var='FORM_TYPE' type='hidden'><value>%s</value></field>" % form_type
    for var, values in fields:
        out += "<field var=%s>%s</field>" % (
            quoteattr(var), "".join("<value>%s</value>" % escape(v) for v in values))
    return out + "</x>"


def command(s, name, action=None, sid=None, payload="", raw_node=None):
    attrs = " node='%s'" % (raw_node if raw_node is not None else node(name))
    if action:
        attrs += " action='%s'" % action
    if sid:
        attrs += " sessionid=%s" % quoteattr(sid)
    return s.iq("set", "<command xmlns='%s'%s>%s</command>" % (NS_CMD, attrs, payload),
                to=M.D)


def cmd_el(r):
    return r.find(M.q(NS_CMD, "command"))


def expect_cmd_error(r, cond, app, what):
    M.expect_error(r, cond, what)
    if app:
        err = r.find(M.q(M.C, "error"))
        M.expect(err is not None and err.find(M.q(NS_CMD, app)) is not None,
                 "%s: no <%s/> in %s" % (what, app, M.show(r)))


def field_values(x, var):
    for f in x.findall(M.q(NS_XDATA, "field")):
        if f.get("var") == var:
            return [v.text or "" for v in f.findall(M.q(NS_XDATA, "value"))]
    return None


def run(s, name, fields):
    """Both stages: execute (the form), then complete with `fields`. Returns the result."""
    r = command(s, name)
    c = cmd_el(r)
    M.expect(r.get("type") == "result" and c is not None and c.get("status") == "executing",
             "%s: first stage: %s" % (name, M.show(r)))
    x = c.find(M.q(NS_XDATA, "x"))
    M.expect(x is not None and x.get("type") == "form" and
             field_values(x, "FORM_TYPE") == [NS_ADMIN], "%s: no admin form: %s"
             % (name, M.show(r)))
    actions = c.find(M.q(NS_CMD, "actions"))
    M.expect(actions is not None and actions.find(M.q(NS_CMD, "complete")) is not None,
             "%s: actions: %s" % (name, M.show(r)))
    return command(s, name, "complete", c.get("sessionid"), form(fields))


def completed(r, what):
    c = cmd_el(r)
    M.expect(r.get("type") == "result" and c is not None and c.get("status") == "completed",
             "%s: not completed: %s" % (what, M.show(r)))
    for n in c.findall(M.q(NS_CMD, "note")):
        M.expect(n.get("type") != "error", "%s: error note: %s" % (what, M.show(r)))
    return c


def can_login(user, pw):
    try:
        X.login(M.E, user, pw, "check").close()
        return True
    except X.Fail:
        return False


def discovery():
    a = M.connect(ADMIN)
    u = M.connect("u01")
    r = a.iq("get", "<query xmlns='%s'/>" % NS_INFO, to=M.D)
    M.expect(any(f.get("var") == NS_CMD for f in r.iter(M.q(NS_INFO, "feature"))),
             "commands feature missing: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s' node='%s'/>" % (NS_ITEMS, NS_CMD), to=M.D)
    items = {i.get("node"): i for i in r.iter(M.q(NS_ITEMS, "item"))}
    M.expect(set(items) == {node(n) for n in NODES}, "admin's command list: %s" % M.show(r))
    M.expect(all(i.get("jid") == M.D and i.get("name") for i in items.values()),
             "item attributes: %s" % M.show(r))
    r = u.iq("get", "<query xmlns='%s' node='%s'/>" % (NS_ITEMS, NS_CMD), to=M.D)
    M.expect(r.get("type") == "result" and not list(r.iter(M.q(NS_ITEMS, "item"))),
             "a non-admin sees commands: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s' node='%s'/>" % (NS_INFO, node("announce")), to=M.D)
    ident = r.find(".//" + M.q(NS_INFO, "identity"))
    feats = {f.get("var") for f in r.iter(M.q(NS_INFO, "feature"))}
    M.expect(ident is not None and ident.get("category") == "automation" and
             ident.get("type") == "command-node" and {NS_CMD, NS_XDATA} <= feats,
             "command node info: %s" % M.show(r))
    r = u.iq("get", "<query xmlns='%s' node='%s'/>" % (NS_INFO, node("announce")), to=M.D)
    M.expect_error(r, "forbidden", "command node info for a non-admin")
    r = a.iq("get", "<query xmlns='%s' node='%s'/>" % (NS_INFO, NS_CMD), to=M.D)
    ident = r.find(".//" + M.q(NS_INFO, "identity"))
    M.expect(ident is not None and ident.get("type") == "command-list",
             "command list node info: %s" % M.show(r))
    a.close(), u.close()


def refused_to_non_admins():
    u = M.connect("u02")
    for n in NODES:
        expect_cmd_error(command(u, n), "forbidden", None, "%s by a non-admin" % n)
        expect_cmd_error(command(u, n, "complete", None,
                                 form([("accountjids", [M.jid("u03")])])),
                         "forbidden", None, "%s submitted by a non-admin" % n)
    M.expect(can_login("u03", M.PW["u03"]), "u03 survived")
    u.close()


def add_and_change_password():
    a = M.connect(ADMIN)
    new = "newbie"
    r = run(a, "add-user", [("accountjid", [new + "@" + M.D]), ("password", ["Fresh-pw-1"]),
                            ("password-verify", ["Fresh-pw-1"])])
    completed(r, "add-user")
    M.expect(can_login(new, "Fresh-pw-1"), "the new account cannot log in")
    r = run(a, "add-user", [("accountjid", [new + "@" + M.D]), ("password", ["x"])])
    M.expect_error(r, "conflict", "adding an existing account")
    r = run(a, "add-user", [("accountjid", ["other@" + M.D]), ("password", ["a"]),
                            ("password-verify", ["b"])])
    expect_cmd_error(r, "bad-request", "bad-payload", "passwords that differ")
    M.expect(not can_login("other", "a"), "an account was made from differing passwords")
    r = run(a, "change-user-password", [("accountjid", [new + "@" + M.D]),
                                        ("password", ["Second-pw-2"])])
    completed(r, "change-user-password")
    M.expect(can_login(new, "Second-pw-2"), "new password refused")
    M.expect(not can_login(new, "Fresh-pw-1"), "old password still works")
    r = run(a, "change-user-password", [("accountjid", ["ghost@" + M.D]),
                                        ("password", ["x"])])
    M.expect_error(r, "item-not-found", "password of a missing account")
    a.close()


def delete_user_wipes_data():
    a = M.connect(ADMIN)
    victim, pw = "u10", M.PW["u10"]
    v = M.connect(victim, "v")
    r = M.roster_set(v, "<item jid='%s' name='Friend'/>" % M.jid("u11"))
    M.expect(r.get("type") == "result", "roster set: %s" % M.show(r))
    r = v.iq("set", "<vCard xmlns='%s'><FN>Victim</FN></vCard>" % NS_VCARD)
    M.expect(r.get("type") == "result", "vcard set: %s" % M.show(r))
    r = v.iq("set", "<query xmlns='%s'><n xmlns='urn:test:n'>secret</n></query>" % NS_PRIVATE)
    M.expect(r.get("type") == "result", "private set: %s" % M.show(r))
    v.send("</stream:stream>")
    v.expect_close()
    s = M.connect("u11")
    s.send("<message type='chat' to='%s' id='off1'><body>while you were out</body></message>"
           % M.jid(victim))
    M.barrier(s)
    v = M.connect(victim, "again", presence=False)  # online, to see its session end
    r = run(a, "delete-user", [("accountjids", [M.jid(victim)])])
    completed(r, "delete-user")
    v.expect_stream_error("not-authorized")
    M.expect(not can_login(victim, pw), "the deleted account can still log in")
    # The same name made again starts empty: nothing of the old account is left.
    completed(run(a, "add-user", [("accountjid", [M.jid(victim)]), ("password", [pw])]),
              "add-user again")
    v = M.connect(victim, "fresh", roster=False, presence=False)
    items, _ = M.roster(v)
    M.expect(not items, "roster survived the deletion: %s" % list(items))
    r = v.iq("get", "<vCard xmlns='%s'/>" % NS_VCARD)
    M.expect(r.find(".//" + M.q(NS_VCARD, "FN")) is None, "vCard survived: %s" % M.show(r))
    r = v.iq("get", "<query xmlns='%s'><n xmlns='urn:test:n'/></query>" % NS_PRIVATE)
    n = r.find(".//{urn:test:n}n")
    M.expect(n is not None and not (n.text or ""), "private data survived: %s" % M.show(r))
    v.send("<presence/>")
    M.barrier(v)
    M.expect(not any(e.tag == M.q(M.C, "message") for e in M.drain(v)),
             "an offline message survived the deletion")
    r = run(a, "delete-user", [("accountjids", ["nobody@" + M.D])])
    M.expect_error(r, "item-not-found", "deleting a missing account")
    for x in (a, s, v):
        x.close()


def end_user_session():
    a = M.connect(ADMIN)
    r1 = M.connect("u12", "one")
    r2 = M.connect("u12", "two")
    o = M.connect("u13", "keep")
    completed(run(a, "end-user-session", [("accountjids", [M.jid("u12") + "/one"])]),
              "end one session")
    r1.expect_stream_error("policy-violation")
    M.barrier(r2, o)  # still served
    completed(run(a, "end-user-session", [("accountjids", [M.jid("u12")])]),
              "end every session")
    r2.expect_stream_error("policy-violation")
    M.barrier(o)
    r = run(a, "end-user-session", [("accountjids", [M.jid("u12") + "/gone"])])
    M.expect_error(r, "item-not-found", "ending a session that does not exist")
    a.close(), o.close()


def online_users():
    a = M.connect(ADMIN)
    p = [M.connect("u14", "x"), M.connect("u14", "y"), M.connect("u15")]
    r = command(a, "get-online-users-num")
    c = completed(r, "get-online-users-num")
    n = int(field_values(c.find(M.q(NS_XDATA, "x")), "onlineusersnum")[0])
    M.expect(n >= 3, "online users counted: %d (u00, u14, u15 at least)" % n)
    r = run(a, "get-online-users-list", [("max_items", ["none"])])
    c = completed(r, "get-online-users-list")
    jids = field_values(c.find(M.q(NS_XDATA, "x")), "onlineuserjids")
    M.expect({M.jid("u00"), M.jid("u14"), M.jid("u15")} <= set(jids) and
             len(jids) == len(set(jids)) and len(jids) == n,
             "online list: %s (count %d)" % (jids, n))
    c = completed(run(a, "get-online-users-list", [("max_items", ["1"])]), "list of 1")
    M.expect(len(field_values(c.find(M.q(NS_XDATA, "x")), "onlineuserjids")) == 1,
             "max_items not honoured: %s" % M.show(c))
    r = run(a, "get-online-users-list", [("max_items", ["lots"])])
    expect_cmd_error(r, "bad-request", "bad-payload", "max_items not a number")
    for s in p + [a]:
        s.close()


def announce():
    a = M.connect(ADMIN)
    others = [M.connect("u16", "x"), M.connect("u16", "y"), M.connect("u17"),
              M.connect("u18", presence=False)]
    r = run(a, "announce", [("subject", ["Maintenance"]),
                            ("announcement", ["Going down in 2 minutes.", "Sorry & thanks."])])
    c = completed(r, "announce")
    for s in others + [a]:
        msg = s.wait_for(lambda e: e.tag == M.q(M.C, "message") and e.get("from") == M.D,
                         what="the announcement at %s" % s.name)
        M.expect(msg.get("type") == "headline" and
                 msg.findtext(M.q(M.C, "subject")) == "Maintenance" and
                 msg.findtext(M.q(M.C, "body")) == "Going down in 2 minutes.\nSorry & thanks.",
                 "announcement as received: %s" % M.show(msg))
    M.expect(c.find(M.q(NS_CMD, "note")) is not None, "no note: %s" % M.show(c))
    # Too long (adhoc.sh sets max_announcement = 2000), and empty.
    r = run(a, "announce", [("announcement", ["x" * 1000, "y" * 1001])])
    expect_cmd_error(r, "bad-request", "bad-payload", "oversized announcement")
    r = run(a, "announce", [("announcement", [""])])
    expect_cmd_error(r, "bad-request", "bad-payload", "empty announcement")
    r = run(a, "announce", [("subject", ["s" * 1100]), ("announcement", ["x"])])
    expect_cmd_error(r, "bad-request", "bad-payload", "oversized subject")
    r = run(a, "announce", [("subject", ["no text"])])
    expect_cmd_error(r, "bad-request", "bad-payload", "announcement missing")
    M.barrier(*others)
    M.expect(not any(e.tag == M.q(M.C, "message") for s in others for e in M.drain(s)),
             "a refused announcement was sent")
    for s in others + [a]:
        s.close()


def last_login():
    t0 = time.time()
    M.connect("u19").close()
    a = M.connect(ADMIN)
    c = completed(run(a, "get-user-lastlogin", [("accountjids", [M.jid("u19")])]),
                  "get-user-lastlogin")
    x = c.find(M.q(NS_XDATA, "x"))
    when = field_values(x, "lastlogin")
    M.expect(when and len(when) == 1, "no lastlogin: %s" % M.show(c))
    t = time.mktime(time.strptime(when[0], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    M.expect(abs(t - t0) < 120, "lastlogin %s is not now" % when[0])
    r = run(a, "get-user-lastlogin", [("accountjids", ["nobody@" + M.D])])
    M.expect_error(r, "item-not-found", "last login of a missing account")
    a.close()


def hostile():
    a = M.connect(ADMIN)
    expect_cmd_error(command(a, None, raw_node="urn:nothing"), "item-not-found", None,
                     "unknown node")
    r = a.iq("set", "<command xmlns='%s' action='execute'/>" % NS_CMD, to=M.D)
    expect_cmd_error(r, "bad-request", None, "no node")
    expect_cmd_error(command(a, "announce", "dance"), "bad-request", "malformed-action",
                     "unknown action")
    expect_cmd_error(command(a, "announce", "next"), "bad-request", "bad-action",
                     "next without a session")
    expect_cmd_error(command(a, "announce", "complete", "adhoc-999999-1", form([])),
                     "bad-request", "bad-sessionid", "made-up session id")
    expect_cmd_error(command(a, "announce", "complete", "'\"<&", form([])),
                     "bad-request", "bad-sessionid", "garbage session id")
    # Stages out of order and foreign sessions.
    sid = cmd_el(command(a, "announce")).get("sessionid")
    expect_cmd_error(command(a, "announce", "prev", sid), "bad-request", "bad-action", "prev")
    expect_cmd_error(command(a, "add-user", "complete", sid, form([])), "bad-request",
                     "bad-sessionid", "another command's session")
    a2 = M.connect(ADMIN, "second")
    expect_cmd_error(command(a2, "announce", "complete", sid,
                             form([("announcement", ["hi"])])),
                     "bad-request", "bad-sessionid", "another resource's session")
    r = command(a, "announce", "cancel", sid)
    c = cmd_el(r)
    M.expect(r.get("type") == "result" and c.get("status") == "canceled",
             "cancel: %s" % M.show(r))
    expect_cmd_error(command(a, "announce", "complete", sid, form([("announcement", ["x"])])),
                     "not-allowed", "session-expired", "a canceled session")
    # Bad forms.
    bad_forms = [
        ("no form", ""),
        ("wrong FORM_TYPE", form([("announcement", ["x"])], form_type="urn:other")),
        ("form of type form", form([("announcement", ["x"])], ftype="form")),
        ("unknown form type", form([("announcement", ["x"])], ftype="bogus")),
        ("repeated var", form([("announcement", ["x"]), ("announcement", ["y"])])),
        ("too many fields", form([("f%d" % i, ["v"]) for i in range(40)])),
        ("not a data form", "<x xmlns='urn:other'/>"),
    ]
    for what, payload in bad_forms:
        sid = cmd_el(command(a, "announce")).get("sessionid")
        expect_cmd_error(command(a, "announce", "complete", sid, payload), "bad-request",
                         "bad-payload", what)
    # Bad JIDs in fields.
    bad_jids = [
        ("malformed JID", ["@@" + M.D]),
        ("a JID too long", ["a" * 1100 + "@" + M.D]),
        ("another domain", ["someone@elsewhere.example"]),
        ("the server itself", [M.D]),
        ("a full JID", [M.jid("u20") + "/res"]),
        ("no value", []),
        ("two accounts in a single field", [M.jid("u20"), M.jid("u21")]),
    ]
    for what, values in bad_jids:
        r = run(a, "change-user-password", [("accountjid", values), ("password", ["p"])])
        expect_cmd_error(r, "bad-request", "bad-payload", what)
    r = run(a, "delete-user", [("accountjids", ["u%d@%s" % (i, M.D) for i in range(101)])])
    expect_cmd_error(r, "bad-request", "bad-payload", "101 accounts at once")
    r = run(a, "add-user", [("accountjid", ["fine@" + M.D]), ("password", [""])])
    expect_cmd_error(r, "bad-request", "bad-payload", "empty password")
    r = run(a, "add-user", [("accountjid", ["ctl@" + M.D]), ("password", ["a\u0081b"])])
    M.expect(r.get("type") == "error", "a password SASLprep refuses: %s" % M.show(r))
    M.expect(can_login("u20", M.PW["u20"]) and can_login("u21", M.PW["u21"]),
             "accounts changed by refused requests")
    M.barrier(a)
    a.close(), a2.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("discovery", discovery), ("refused_to_non_admins", refused_to_non_admins),
        ("add_and_change_password", add_and_change_password),
        ("delete_user_wipes_data", delete_user_wipes_data),
        ("end_user_session", end_user_session), ("online_users", online_users),
        ("announce", announce), ("last_login", last_login), ("hostile", hostile)]))
