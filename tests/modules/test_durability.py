"""tests/modules/test_durability.py — acknowledged means durable (kill -9 between an
acknowledgement and the end of the server's loop iteration):

- a client with XEP-0198 acks sends 1,000 messages to an offline contact in one burst and
  asks for an ack, followed by enough other work (5,000 pings) to keep the server busy in
  the same loop iteration; the moment <a h='1000'/> arrives, mynad gets SIGKILL. After a
  restart on the same data directory the contact logs in and receives all 1,000, in
  order, exactly once;
- the same for writes answered with an iq result: 100 roster items, a blocklist entry,
  private XML storage and a vCard; the moment the last result arrives: SIGKILL, restart,
  and every one of them is there.
Without output held until the commit, the acknowledgement leaves while the batch holding
the writes is still open, and the kill loses them."""
import modlib as M
import xmpplib as X

NS_SM = "urn:xmpp:sm:3"
NS_PRIVATE = "jabber:iq:private"
N_MESSAGES = 1000
N_ITEMS = 100
BUSY_PINGS = 5000


def sm_login(user, resource):
    s = M.connect(user, resource)
    s.send("<enable xmlns='%s'/>" % NS_SM)
    el = s.wait_for(lambda e: e.tag in (M.q(NS_SM, "enabled"), M.q(NS_SM, "failed")),
                    what="<enabled/>")
    M.expect(el.tag == M.q(NS_SM, "enabled"), "enable refused: %s" % M.show(el))
    return s


def busy_work(prefix):
    """Pings that keep the server's loop iteration going after what must be durable."""
    return "".join("<iq type='get' id='%s%d' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                   % (prefix, i, M.D) for i in range(BUSY_PINGS))


def crash_and_restart():
    X.kill_server()
    X.server_control("start")


def crash_on(s, marker, timeout=60):
    """Reads the raw stream until `marker` shows up, then kills the server at once (no XML
    parsing in between: the kill must land while the server may still be in the loop
    iteration that produced the acknowledgement). Returns what was read."""
    buf = b""
    s.sock.settimeout(timeout)
    while marker not in buf:
        data = s.sock.recv(65536)
        if not data:
            raise M.Fail("%s: stream closed before %r" % (s.name, marker))
        buf += data
    crash_and_restart()
    return buf


def messages_survive():
    a = sm_login("u01", "phone")
    to = M.jid("u02")
    burst = "".join("<message to='%s' type='chat' id='d%d'><body>m%04d</body></message>"
                    % (to, i, i) for i in range(N_MESSAGES))
    a.send(burst + "<r xmlns='%s'/>" % NS_SM + busy_work("busy"))
    crash_on(a, b"<a xmlns='urn:xmpp:sm:3' h='%d'/>" % N_MESSAGES)
    a.close()

    b = M.connect("u02", "laptop", presence=False)
    b.send("<presence/>")
    bodies = []
    try:
        while len(bodies) < N_MESSAGES:
            el = b.wait_for(lambda e: e.tag == M.q(M.C, "message"), timeout=10, what="message")
            body = el.find(M.q(M.C, "body"))
            bodies.append(body.text if body is not None else None)
    except TimeoutError:
        pass  # counted below
    bodies += [e.find(M.q(M.C, "body")).text for e in M.drain(b)
               if e.tag == M.q(M.C, "message") and e.find(M.q(M.C, "body")) is not None]
    want = ["m%04d" % i for i in range(N_MESSAGES)]
    lost = sorted(set(want) - set(bodies))
    M.expect(not lost, "%d acknowledged messages lost, first %s" % (len(lost), lost[:5]))
    M.expect(bodies == want, "not in order or not exactly once: %d received, first wrong at "
             "%s" % (len(bodies), next((i for i, (x, y) in enumerate(zip(bodies, want))
                                         if x != y), len(want))))
    b.close()
    b = M.connect("u02", "again")
    again = [e for e in M.drain(b) if e.tag == M.q(M.C, "message")]
    M.expect(not again, "%d messages delivered a second time" % len(again))
    b.close()


def iq_writes_survive():
    a = M.connect("u03", "desk")
    sets = ["<iq type='set' id='r%d'><query xmlns='%s'><item jid='c%03d@%s' name='Contact %d'>"
            "<group>Crash</group></item></query></iq>" % (i, M.NS_ROSTER, i, M.D, i)
            for i in range(N_ITEMS)]
    sets.append("<iq type='set' id='blk'><block xmlns='%s'><item jid='spam@example.net'/>"
                "</block></iq>" % M.NS_BLOCKING)
    sets.append("<iq type='set' id='prv'><query xmlns='%s'><notes xmlns='urn:x:crash'>"
                "kept</notes></query></iq>" % NS_PRIVATE)
    sets.append("<iq type='set' id='vc'><vCard xmlns='vcard-temp'><FN>Crash Test</FN></vCard>"
                "</iq>")
    a.send("".join(sets) + busy_work("busy"))
    # Results are built "type, id, from, to" and errors "id, type": the last result means
    # every write before it was answered, and no error may be among them.
    got = crash_on(a, b"type='result' id='vc'")
    M.expect(b"type='error'" not in got, "a write was refused: %r" % got[:2000])
    a.close()

    a = M.connect("u03", "after", roster=False)
    items, _ = M.roster(a)
    missing = [i for i in range(N_ITEMS) if "c%03d@%s" % (i, M.D) not in items]
    M.expect(not missing, "%d acknowledged roster items lost, e.g. %s" % (len(missing),
                                                                          missing[:5]))
    it = items["c042@%s" % M.D]
    M.expect(it.get("name") == "Contact 42" and
             [g.text for g in it.findall(M.q(M.NS_ROSTER, "group"))] == ["Crash"],
             "item kept whole: %s" % M.show(it))
    r = a.iq("get", "<blocklist xmlns='%s'/>" % M.NS_BLOCKING)
    jids = [i.get("jid") for i in r.iter(M.q(M.NS_BLOCKING, "item"))]
    M.expect(jids == ["spam@example.net"], "blocklist after the crash: %s" % M.show(r))
    r = a.iq("get", "<query xmlns='%s'><notes xmlns='urn:x:crash'/></query>" % NS_PRIVATE)
    notes = r.find(".//{urn:x:crash}notes")
    M.expect(notes is not None and notes.text == "kept", "private storage: %s" % M.show(r))
    r = a.iq("get", "<vCard xmlns='vcard-temp'/>")
    fn = r.find(".//{vcard-temp}FN")
    M.expect(fn is not None and fn.text == "Crash Test", "vCard: %s" % M.show(r))
    a.close()


if __name__ == "__main__":
    raise SystemExit(M.run([
        ("messages_survive", messages_survive),
        ("iq_writes_survive", iq_writes_survive)]))
