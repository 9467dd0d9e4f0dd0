"""tests/modules/test_pep_migrate.py — bookmarks kept in private XML (XEP-0049) before the
pubsub module was enabled are moved into PEP (XEP-0411 §4, XEP-0402 §5.3) when the account
first uses them, and the module can be loaded into a running server (mynactl reload) with
sessions open. pep_migrate.sh starts mynad without the pubsub module."""
import os
import subprocess

import modlib as M
import peplib as P

BM, BM2 = "storage:bookmarks", "urn:xmpp:bookmarks:1"


def migrate():
    conf, ctl = os.environ.get("E2E_CONF"), os.environ.get("E2E_MYNACTL")
    if not conf or not ctl:
        return
    s = M.connect("u70", "r")
    r = s.iq("set", "<query xmlns='jabber:iq:private'><storage xmlns='%s'><conference "
                    "jid='old@conf.myna.test' name='Old' autojoin='true'><nick>n</nick>"
                    "</conference></storage></query>" % BM)
    P.expect_ok(r, "private XML bookmarks without PEP")
    M.expect_error(P.items(s, BM2), "service-unavailable", "PEP before the module is loaded")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace('"private" ]', '"private", "pubsub" ]'))
    r = subprocess.run([ctl, "-c", conf, "reload"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    M.expect(r.returncode == 0 and b"1 modules loaded" in r.stdout, "reload: %s" % r.stdout)
    s.ping(M.D)  # the session survived the reload
    r = P.items(s, BM2)
    items = {i.get("id"): i.find(M.q(BM2, "conference")) for i in r.iter(M.q(P.NS, "item"))}
    M.expect(list(items) == ["old@conf.myna.test"] and
             items["old@conf.myna.test"].get("autojoin") in ("true", "1"),
             "migrated bookmarks: %s" % M.show(r))
    r = s.iq("get", "<query xmlns='jabber:iq:private'><storage xmlns='%s'/></query>" % BM)
    M.expect([c.get("jid") for c in r.iter(M.q(BM, "conference"))] == ["old@conf.myna.test"],
             "private view after migration: %s" % M.show(r))
    # Deleting the PEP bookmarks does not bring the old private copy back.
    P.expect_ok(P.owner(s, "<delete node='%s'/>" % BM2), "delete bookmarks")
    r = s.iq("get", "<query xmlns='jabber:iq:private'><storage xmlns='%s'/></query>" % BM)
    M.expect(not list(r.iter(M.q(BM, "conference"))), "old copy came back: %s" % M.show(r))
    s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("migrate", migrate)]))
