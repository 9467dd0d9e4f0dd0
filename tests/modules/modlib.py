"""tests/modules/modlib.py — helpers shared by the module tests: logins that become
interested and available resources, roster reads, barriers and stanza predicates.
Built on tests/e2e/xmpplib.py (raw XML client, exact wire control).

Barrier: the server handles one client's stanzas in order and routes local stanzas at once,
so after a ping answer to A and then one to B, everything A's earlier stanzas caused for B
has been written to B before B's ping result.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import xmpplib as X  # noqa: E402

E = X.env()
PW = dict(E["users"])
D = E["domain"]
NS_ROSTER = "jabber:iq:roster"
NS_BLOCKING = "urn:xmpp:blocking"
C = X.NS_CLIENT


def jid(user):
    return "%s@%s" % (user, D)


def connect(user, resource="r1", roster=True, presence=True, presence_xml="<presence/>"):
    s = X.login(E, user, PW[user], resource, name="%s/%s" % (user, resource))
    if roster:
        r = s.iq("get", "<query xmlns='%s'/>" % NS_ROSTER)
        if r.get("type") != "result":
            raise X.Fail("%s: roster get failed: %s" % (s.name, X.show(r)))
    if presence:
        s.send(presence_xml)
    barrier(s)
    return s


def barrier(*streams):
    """Ping each stream in turn (see the module comment)."""
    for s in streams:
        s.ping(D)


def drain(s):
    """Everything queued on s after a barrier (and the barrier itself removed)."""
    barrier(s)
    out, s.pending = s.pending, []
    return out


def is_presence(el, type_=None, frm=None):
    if el.tag != X.q(C, "presence"):
        return False
    if type_ is not None and (el.get("type") or "available") != type_:
        return False
    if frm is not None and el.get("from") != frm and (el.get("from") or "").split("/")[0] != frm:
        return False
    return True


def is_push(el):
    return (el.tag == X.q(C, "iq") and el.get("type") == "set" and
            el.find(X.q(NS_ROSTER, "query")) is not None)


def ack_pushes(s, els):
    for el in els:
        if el.tag == X.q(C, "iq") and el.get("type") == "set":
            s.send("<iq type='result' id='%s'/>" % el.get("id"))


def roster(s, ver=None):
    """{jid: item-element} of s's roster, and the reply."""
    v = "" if ver is None else " ver='%s'" % ver
    r = s.iq("get", "<query xmlns='%s'%s/>" % (NS_ROSTER, v))
    if r.get("type") != "result":
        raise X.Fail("%s: roster get failed: %s" % (s.name, X.show(r)))
    q = r.find(X.q(NS_ROSTER, "query"))
    items = {} if q is None else {i.get("jid"): i for i in q.findall(X.q(NS_ROSTER, "item"))}
    return items, r


def item_state(item):
    if item is None:
        return None
    return (item.get("subscription") or "none", item.get("ask") == "subscribe")


def roster_set(s, item_xml):
    return s.iq("set", "<query xmlns='%s'>%s</query>" % (NS_ROSTER, item_xml))


def error_condition(el):
    return X.stanza_error_condition(el)


def expect_error(r, conds, what):
    if isinstance(conds, str):
        conds = [conds]
    if r.get("type") != "error" or error_condition(r) not in conds:
        raise X.Fail("%s: expected error %s, got %s" % (what, "/".join(conds), X.show(r)))


def expect(cond, msg):
    if not cond:
        raise X.Fail(msg)


run = X.run
Fail = X.Fail
show = X.show
q = X.q


def restart_server(timeout=60):
    """Asks the harness (our parent process) to restart the server on the same data and
    waits until it has (see tests/e2e/harness.py, SIGUSR1)."""
    import signal
    import time
    marker = os.path.join(os.environ["E2E_TMPDIR"], "restarted")
    before = os.path.getsize(marker) if os.path.exists(marker) else 0
    os.kill(os.getppid(), signal.SIGUSR1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(marker) and os.path.getsize(marker) > before:
            return
        time.sleep(0.05)
    raise X.Fail("the harness did not restart the server")
