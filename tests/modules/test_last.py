"""tests/modules/test_last.py — Last Activity (XEP-0012) on raw XML: the server's uptime
(§5); an offline contact's last logout with the status of its unavailable presence, to a
subscribed contact (§3), and forbidden to anyone else, for bare and full JIDs (§3, §4, §8:
an unauthorised query to a full JID never reaches the client); 0 seconds for an account
that is online; a full JID answered by the server from the client's XEP-0319 idle time, and
otherwise delivered to the client (§4); the record surviving a restart; and hostile idle
stamps, which the server ignores (the query then goes to the client)."""
import time

import modlib as M

NS_LAST = "jabber:iq:last"
NS_IDLE = "urn:xmpp:idle:1"


def last(s, to):
    return s.iq("get", "<query xmlns='%s'/>" % NS_LAST, to=to)


def seconds(r, what):
    M.expect(r.get("type") == "result", "%s: %s" % (what, M.show(r)))
    q = r.find(M.q(NS_LAST, "query"))
    M.expect(q is not None and (q.get("seconds") or "").isdigit(),
             "%s: no seconds: %s" % (what, M.show(r)))
    return int(q.get("seconds")), (q.text or "")


def watch(watcher, target):
    """`watcher` gets a subscription to `target`'s presence (target's item: 'from')."""
    W = M.connect(watcher, "setup")
    T = M.connect(target, "setup")
    W.send("<presence type='subscribe' to='%s'/>" % M.jid(target))
    M.barrier(W, T)
    T.send("<presence type='subscribed' to='%s'/>" % M.jid(watcher))
    M.barrier(T, W)
    items, _ = M.roster(T)
    M.expect(M.item_state(items.get(M.jid(watcher))) in (("from", False), ("both", False)),
             "subscription not set up: %s" % M.show(items.get(M.jid(watcher))))
    W.close()
    T.close()


def uptime():
    s = M.connect("u00")
    first, text = seconds(last(s, M.D), "uptime")
    M.expect(0 <= first < 3600 and text == "", "uptime %d %r" % (first, text))
    time.sleep(1.1)
    later, _ = seconds(last(s, M.D), "uptime again")
    M.expect(later >= first + 1, "uptime does not grow: %d then %d" % (first, later))
    s.close()


def offline_contact():
    watch("u01", "u02")
    T = M.connect("u02", "t")
    T.send("<presence type='unavailable'><status>Heading Home</status></presence>")
    M.barrier(T)
    T.send("</stream:stream>")
    T.expect_close()
    W = M.connect("u01", "w")
    time.sleep(1.1)
    n, text = seconds(last(W, M.jid("u02")), "subscribed contact, offline")
    M.expect(n >= 1 and n < 600, "seconds since logout: %d" % n)
    M.expect(text == "Heading Home", "status of the last unavailable presence: %r" % text)
    # A stranger learns nothing (§3).
    X = M.connect("u03")
    M.expect_error(last(X, M.jid("u02")), "forbidden", "stranger asking an offline account")
    # The contact the account subscribed to is no viewer of the account (roster 'to').
    T = M.connect("u02", "t2")
    M.expect_error(last(T, M.jid("u01")), "forbidden",
                   "asking an account one only receives presence from")
    # Unavailable, then back, then gone without a word: no status from before.
    T.send("<presence type='unavailable'><status>brb</status></presence>")
    T.send("<presence/>")
    M.barrier(T)
    M.drain(W)
    T.sock.close()
    W.wait_for(lambda e: M.is_presence(e, "unavailable", M.jid("u02")),
               what="the session's end, seen by the subscribed contact")
    n, text = seconds(last(W, M.jid("u02")), "after an abrupt disconnect")
    M.expect(text == "", "a status from before the session came back: %r" % text)
    for s in (W, X):
        s.close()


def online_contact():
    watch("u04", "u05")
    T = M.connect("u05", "t")
    W = M.connect("u04", "w")
    n, text = seconds(last(W, M.jid("u05")), "online account, bare JID")
    M.expect(n == 0 and text == "", "online: %d %r" % (n, text))
    # Own account, while online (no 'to': the account itself).
    n, _ = seconds(T.iq("get", "<query xmlns='%s'/>" % NS_LAST), "own account")
    M.expect(n == 0, "own account online: %d" % n)
    # §4: no idle in presence: the query goes to the client, which answers itself.
    W.send("<iq type='get' id='full1' to='%s/t'><query xmlns='%s'/></iq>"
           % (M.jid("u05"), NS_LAST))
    req = T.wait_for(lambda e: e.tag == M.q(M.C, "iq") and e.get("id") == "full1",
                     what="the query at the client")
    M.expect(req.get("from") == M.jid("u04") + "/w", "query's from: %s" % M.show(req))
    T.send("<iq type='result' id='full1' to='%s'><query xmlns='%s' seconds='42'/></iq>"
           % (req.get("from"), NS_LAST))
    r = W.wait_for(lambda e: e.get("id") == "full1", what="the client's answer")
    n, _ = seconds(r, "client's answer")
    M.expect(n == 42 and r.get("from") == M.jid("u05") + "/t", "client answer: %s" % M.show(r))
    # A full JID that is not online: the RFC 6121 §8.5.3.2.1 answer.
    M.expect_error(last(W, M.jid("u05") + "/nobody"), "service-unavailable", "absent resource")
    # A stranger asking the full JID: forbidden, and the client never sees it (§4).
    X = M.connect("u06")
    X.send("<iq type='get' id='sneak' to='%s/t'><query xmlns='%s'/></iq>"
           % (M.jid("u05"), NS_LAST))
    r = X.wait_for(lambda e: e.get("id") == "sneak", what="answer to the stranger")
    M.expect_error(r, "forbidden", "stranger asking a full JID")
    M.barrier(X, T)
    M.expect(not any(e.get("id") == "sneak" for e in M.drain(T)),
             "the stranger's query was delivered to the client")
    for s in (W, T, X):
        s.close()


def idle_time():
    watch("u07", "u08")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
    T = M.connect("u08", "t", presence_xml="<presence><show>away</show><idle xmlns='%s' "
                  "since='%s'/></presence>" % (NS_IDLE, since))
    W = M.connect("u07", "w")
    n, _ = seconds(last(W, M.jid("u08") + "/t"), "idle from XEP-0319")
    M.expect(295 <= n <= 400, "idle seconds: %d" % n)
    # With a zone offset and fractions.
    t = time.time() - 7200
    since = time.strftime("%Y-%m-%dT%H:%M:%S.123+01:00", time.gmtime(t + 3600))
    T.send("<presence><idle xmlns='%s' since='%s'/></presence>" % (NS_IDLE, since))
    M.barrier(T)
    n, _ = seconds(last(W, M.jid("u08") + "/t"), "idle with an offset")
    M.expect(7195 <= n <= 7300, "idle with offset: %d" % n)
    M.barrier(T)
    M.expect(not any(e.tag == M.q(M.C, "iq") and e.get("type") == "get"
                     for e in M.drain(T)), "an idle query answered by the server reached the "
             "client")
    # Hostile stamps are ignored: the query is the client's to answer.
    for bad in ("yesterday", "2024-02-30T10:00:00Z", "2024-01-01T25:00:00Z",
                "2024-01-01T10:00:00", "2024-01-01T10:00:00+99:00", "", "9" * 300):
        T.send("<presence><idle xmlns='%s' since='%s'/></presence>" % (NS_IDLE, bad))
        M.barrier(T)
        W.send("<iq type='get' id='bad' to='%s/t'><query xmlns='%s'/></iq>"
               % (M.jid("u08"), NS_LAST))
        req = T.wait_for(lambda e: e.get("id") == "bad" and e.get("type") == "get",
                         what="query at the client for stamp %r" % bad)
        T.send("<iq type='error' id='bad' to='%s'><query xmlns='%s'/><error type='cancel'>"
               "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
               "</iq>" % (req.get("from"), NS_LAST))
        r = W.wait_for(lambda e: e.get("id") == "bad", what="answer for stamp %r" % bad)
        M.expect_error(r, "service-unavailable", "client's refusal for stamp %r" % bad)
    for s in (W, T):
        s.close()


def after_restart():
    watch("u09", "u10")  # u10 logged in and out while setting this up
    M.restart_server()
    W = M.connect("u09", "w")
    n, _ = seconds(last(W, M.jid("u10")), "record after a restart")
    M.expect(n < 600, "seconds after restart: %d" % n)
    W.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("uptime", uptime), ("offline_contact", offline_contact),
                            ("online_contact", online_contact), ("idle_time", idle_time),
                            ("after_restart", after_restart)]))
