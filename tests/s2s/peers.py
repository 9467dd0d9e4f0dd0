#!/usr/bin/python3
"""tests/s2s/peers.py — Myna federating with Debian's Prosody (and later ejabberd), each
on its own loopback address with the standard ports and one CA for both (tests/s2s/fed.py).

Scenarios "prosody" and "ejabberd" (each peer requires verified certificates: SASL
EXTERNAL both ways): messages both ways; vCards (vcard-temp) read both ways; the subscription handshake both
ways, then presence updates both ways; with Prosody, PEP events (a XEP-0118 tune) both ways
through +notify in entity capabilities; a Myna user joins a room on the peer and a peer user joins a
Myna room, with messages both ways in each room; iq ping to the remote server both ways.
Prosody finds Myna through a hosts file, ejabberd through SRV records from the world's
tiny DNS server (fed.TinyDNS); Myna finds both through its config map.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fed  # noqa: E402
import xmpplib as X  # noqa: E402
from fed import check  # noqa: E402

NS_C = X.NS_CLIENT
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = NS_MUC + "#user"
NS_MUC_OWNER = NS_MUC + "#owner"
WAIT = 30


def tag(name):
    return X.q(NS_C, name)


def chat(c, to, body, typ="chat"):
    c.send("<message to='%s' type='%s'><body>%s</body></message>" % (to, typ, body))


def got_message(c, body, frm, what):
    m = c.wait_for(lambda e: e.tag == tag("message") and e.findtext(tag("body")) == body,
                   WAIT, what)
    check(what, (m.get("from") or "").startswith(frm), X.show(m))


def got_presence(c, frm, typ, what, pred=None):
    def match(e):
        return (e.tag == tag("presence") and (e.get("from") or "").startswith(frm) and
                (e.get("type") or "available") == typ and (pred is None or pred(e)))
    p = c.wait_for(match, WAIT, what)
    check(what, p is not None, X.show(p))
    return p


def messages(alice, juliet, a, p, peer_user="juliet"):
    chat(alice, "%s@%s" % (peer_user, p), "hello from myna")
    got_message(juliet, "hello from myna", "alice@%s" % a, "a message Myna -> peer")
    chat(juliet, "alice@%s" % a, "hello from the peer")
    got_message(alice, "hello from the peer", "%s@%s" % (peer_user, p), "a message peer -> Myna")


def subscriptions(alice, juliet, a, p, peer_user="juliet"):
    ja, jj = "alice@%s" % a, "%s@%s" % (peer_user, p)
    # RFC 6121 §2.1.6: only "interested resources" (that asked for the roster) get
    # subscription states; Prosody holds to that.
    for c in (alice, juliet):
        r = c.iq("get", "<query xmlns='jabber:iq:roster'/>", timeout=WAIT)
        check("%s gets its roster" % c.name, r.get("type") == "result", X.show(r))
    alice.send("<presence type='subscribe' to='%s'/>" % jj)
    got_presence(juliet, ja, "subscribe", "the peer user gets Myna's subscription request")
    juliet.send("<presence type='subscribed' to='%s'/>" % ja)
    got_presence(alice, jj, "subscribed", "Myna's user hears it was approved")
    got_presence(alice, jj, "available", "... and gets the peer user's presence")
    juliet.send("<presence type='subscribe' to='%s'/>" % ja)
    got_presence(alice, jj, "subscribe", "Myna's user gets the peer's subscription request")
    alice.send("<presence type='subscribed' to='%s'/>" % jj)
    got_presence(juliet, ja, "subscribed", "the peer user hears it was approved")
    got_presence(juliet, ja, "available", "... and gets Myna's user's presence")
    alice.send("<presence><show>away</show><status>lunch</status></presence>")
    got_presence(juliet, ja, "available", "a presence update Myna -> peer",
                 lambda e: e.findtext(tag("show")) == "away")
    juliet.send("<presence><show>dnd</show></presence>")
    got_presence(alice, jj, "available", "a presence update peer -> Myna",
                 lambda e: e.findtext(tag("show")) == "dnd")


def join(c, room, nick, what):
    c.send("<presence to='%s/%s'><x xmlns='%s'/></presence>" % (room, nick, NS_MUC))
    p = c.wait_for(lambda e: e.tag == tag("presence") and e.get("from") == "%s/%s" % (room, nick),
                   WAIT, what)
    check(what, p.get("type") in (None, "available"), X.show(p))
    x = p.find(X.q(NS_MUC_USER, "x"))
    codes = [s.get("code") for s in x.findall(X.q(NS_MUC_USER, "status"))] if x is not None else []
    if "201" in codes:  # a new room: make it an instant room (XEP-0045 §10.1.2)
        r = c.iq("set", "<query xmlns='%s'><x xmlns='jabber:x:data' type='submit'/></query>"
                 % NS_MUC_OWNER, room, timeout=WAIT)
        check(what + " (instant room)", r.get("type") == "result", X.show(r))


def room(owner, guest, room_jid, what):
    join(owner, room_jid, "Owner", what + ": the first user enters")
    join(guest, room_jid, "Guest", what + ": the other server's user enters")
    got_presence(owner, room_jid + "/Guest", "available", what + ": the guest's presence "
                 "reaches the first user")
    chat(owner, room_jid, "hi from the owner " + what, "groupchat")
    got_message(guest, "hi from the owner " + what, room_jid + "/Owner",
                what + ": a room message reaches the guest")
    chat(guest, room_jid, "hi from the guest " + what, "groupchat")
    got_message(owner, "hi from the guest " + what, room_jid + "/Guest",
                 what + ": the guest's room message reaches the first user")


def pings(alice, juliet, a, p):
    r = alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", p, timeout=WAIT)
    check("iq ping Myna user -> peer server", r.get("type") == "result", X.show(r))
    r = juliet.iq("get", "<ping xmlns='urn:xmpp:ping'/>", a, timeout=WAIT)
    check("iq ping peer user -> Myna server", r.get("type") == "result", X.show(r))


def vcards(alice, juliet, a, p, peer_user="juliet"):
    """vcard-temp (XEP-0054) both ways: each user sets a vCard on its own server and reads
    the other's through federation; nothing in Myna's s2s knows about vCards."""
    for c, name in ((alice, "Alice of Myna"), (juliet, "Peer User")):
        r = c.iq("set", "<vCard xmlns='vcard-temp'><FN>%s</FN></vCard>" % name, timeout=WAIT)
        check("%s sets a vCard" % c.name, r.get("type") == "result", X.show(r))
    r = alice.iq("get", "<vCard xmlns='vcard-temp'/>", "%s@%s" % (peer_user, p), timeout=WAIT)
    fn = r.findtext("{vcard-temp}vCard/{vcard-temp}FN")
    check("Myna's user reads the peer user's vCard", r.get("type") == "result" and
          fn == "Peer User", X.show(r))
    r = juliet.iq("get", "<vCard xmlns='vcard-temp'/>", "alice@%s" % a, timeout=WAIT)
    fn = r.findtext("{vcard-temp}vCard/{vcard-temp}FN")
    check("the peer user reads Myna's user's vCard", r.get("type") == "result" and
          fn == "Alice of Myna", X.show(r))


NS_TUNE = "http://jabber.org/protocol/tune"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_DISCO = "http://jabber.org/protocol/disco#info"
CAPS_NODE = "https://myna.example/tests"
CAPS_FEATURES = sorted([NS_DISCO, "http://jabber.org/protocol/caps", NS_TUNE,
                        NS_TUNE + "+notify"])


def caps_ver():
    """XEP-0115 §5.1 over our one identity and CAPS_FEATURES."""
    import base64
    import hashlib
    s = "client/pc//Myna tests<" + "".join(f + "<" for f in CAPS_FEATURES)
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def answer_disco(c, answered):
    """A predicate side: answers each disco#info request for our caps node once (the
    servers ask through federation to learn who wants +notify)."""
    def pred(e):
        q = e.find(X.q(NS_DISCO, "query"))
        if e.tag == tag("iq") and e.get("type") == "get" and q is not None and \
                (e.get("from"), e.get("id")) not in answered:
            answered.add((e.get("from"), e.get("id")))
            node = q.get("node")
            feats = "".join("<feature var='%s'/>" % f for f in CAPS_FEATURES)
            c.send("<iq type='result' to='%s' id='%s'><query xmlns='%s'%s>"
                   "<identity category='client' type='pc' name='Myna tests'/>%s</query></iq>"
                   % (e.get("from"), e.get("id"), NS_DISCO,
                      " node='%s'" % node if node else "", feats))
        return False
    return pred


def pep(alice, juliet, a, p, peer_user="juliet"):
    """PEP (XEP-0163) across servers: each user announces tune+notify in its caps (XEP-0115)
    and answers its server's and the other server's disco#info; each publishes a tune
    (XEP-0118) and the other user receives the event with the payload. Needs the mutual
    subscription of subscriptions()."""
    ver = caps_ver()
    for c in (alice, juliet):
        c.send("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
               "node='%s' ver='%s'/></presence>" % (CAPS_NODE, ver))
    answered = set()
    for pub, sub, frm, artist in ((alice, juliet, "alice@" + a, "Myna Band"),
                                  (juliet, alice, "%s@%s" % (peer_user, p), "Peer Band")):
        def event(e, artist=artist, frm=frm, sub=sub):
            answer_disco(sub, answered)(e)
            ev = e.find("{%s#event}event" % NS_PUBSUB)
            return (e.tag == tag("message") and e.get("from") == frm and ev is not None and
                    ev.findtext(".//{%s}artist" % NS_TUNE) == artist)
        deadline = time.time() + WAIT
        got = None
        while got is None and time.time() < deadline:
            # Publish (again) until the other side's +notify is known to the publisher's
            # server: it learns it from a disco#info answer that crosses the federation.
            r = pub.iq("set", "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
                       "<tune xmlns='%s'><artist>%s</artist><title>Song</title></tune>"
                       "</item></publish></pubsub>" % (NS_PUBSUB, NS_TUNE, NS_TUNE, artist),
                       timeout=WAIT)
            check("%s publishes a tune" % pub.name, r.get("type") == "result", X.show(r))
            try:
                pub.wait_for(answer_disco(pub, answered), 0.5, "disco")
            except TimeoutError:
                pass
            try:
                got = sub.wait_for(event, 3, "PEP event")
            except TimeoutError:
                pass
        check("%s receives %s's tune through federation (PEP, +notify)" % (sub.name, frm),
              got is not None, "")
        if got is not None:
            ev = got.find("{%s#event}event" % NS_PUBSUB)
            items = ev.find("{%s#event}items" % NS_PUBSUB)
            check("... for the tune node, with the payload",
                  items is not None and items.get("node") == NS_TUNE and
                  ev.findtext(".//{%s}title" % NS_TUNE) == "Song", X.show(got))


def with_peer(alice, user, a, p, name, peer_room, subscribed=None):
    """Everything both peers are tested for, between alice@a (Myna) and name@p (the peer):
    messages, pings, vCards, the subscription handshake (then `subscribed`, if any), a room
    on the peer (peer_room@conference.p) and one on Myna."""
    messages(alice, user, a, p, name)
    pings(alice, user, a, p)
    vcards(alice, user, a, p, name)
    subscriptions(alice, user, a, p, name)
    if subscribed:
        subscribed(alice, user, a, p, name)
    room(user, alice, "%s@conference.%s" % (peer_room, p), "a room on the peer")
    room(alice, user, "garden@conference." + a, "a room on Myna")


def prosody(w):
    a, p = "a.test", "p.test"
    w.certs(a, p)
    myna = fed.Myna(w, a, 1)
    pro = fed.Prosody(w, p, 2)
    myna.start()
    pro.start()
    alice = myna.login("alice")
    juliet = pro.login("juliet")
    with_peer(alice, juliet, a, p, "juliet", "balcony", pep)
    rc, out = myna.ctl("s2s")
    check("XEP-0288 with Prosody (mod_s2s_bidi): a bidirectional stream with the peer",
          "a.test p.test" in out and " bidi" in out, out)
    alice.close()
    juliet.close()


def ejabberd(w):
    a, e = "a.test", "e.test"
    w.certs(a, e)
    myna = fed.Myna(w, a, 1)
    ej = fed.Ejabberd(w, e, 2)
    myna.start()
    ej.start()
    alice = myna.login("alice")
    romeo = ej.login("romeo")
    with_peer(alice, romeo, a, e, "romeo", "plaza")
    rc, out = myna.ctl("s2s")
    check("mynactl s2s shows both directions with the peer",
          "out a.test e.test ready" in out and "in a.test e.test authenticated" in out, out)
    alice.close()
    romeo.close()


def purple(w):
    """The closing criterion: a Pidgin (libpurple) user on Myna and a user on Prosody add
    each other, see each other's presence, chat both ways and meet in a room on either
    server. tests/s2s/purple_fed.c drives Pidgin; juliet on Prosody is a Gajim user
    (python3-nbxmpp, tests/s2s/gajim_peer.py) and answers it."""
    import subprocess
    import threading
    a, p = "a.test", "p.test"
    w.certs(a, ips=[w.ip(1)])
    w.certs(p)
    myna = fed.Myna(w, a, 1, users=(("alice", "alice-pw-1"), ("bob", "bob-pw-2"),
                                    ("carol", "carol-pw-3")))
    pro = fed.Prosody(w, p, 2)
    myna.start()
    pro.start()
    prog = os.path.join(w.builddir, "tests", "s2s", "purple_fed")
    if not os.access(prog, os.X_OK):
        print("SKIP: tests/s2s/purple_fed not built (no libpurple)")
        return
    peer_room, myna_room = "balcony@conference." + p, "garden@conference." + a
    # juliet is a Gajim user: python3-nbxmpp, Gajim's library (tests/s2s/gajim_peer.py).
    jenv = dict(os.environ, E2E_IP=pro.ip, E2E_DOMAIN=p, E2E_CAFILE=w.cafile(),
                E2E_STARTTLS_PORT="5222", E2E_USERS="juliet:" + pro.password("juliet"),
                FED_MYNA_USER="alice@" + a, FED_PEER_ROOM=peer_room, FED_MYNA_ROOM=myna_room)
    gajim = subprocess.Popen(["/usr/bin/python3", os.path.join(fed.HERE, "gajim_peer.py")],
                             env=jenv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    seen, ready = {}, threading.Event()

    def gajim_side():
        for line in gajim.stdout:
            sys.stdout.write("gajim: " + line)
            if line.startswith("READY"):
                ready.set()
            elif line.startswith("SEEN "):
                _, key, value = line.split(None, 2)
                seen[key] = value.strip()

    t = threading.Thread(target=gajim_side, daemon=True)
    t.start()
    check("juliet (nbxmpp) logs in to Prosody and opens a room there", ready.wait(60))
    env = dict(os.environ, E2E_IP=myna.ip, E2E_DOMAIN=a, E2E_CAFILE=w.cafile(),
               E2E_STARTTLS_PORT="5222", E2E_DIRECT_PORT="",
               E2E_USERS=" ".join("%s:%s" % u for u in myna.users), E2E_TMPDIR=w.tmp,
               FED_PEER="juliet@" + p, FED_PEER_ROOM=peer_room, FED_MYNA_ROOM=myna_room)
    # Leaks inside libpurple and GLib are not what this test measures (as in the harness).
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    try:
        r = subprocess.run([prog], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=150)
    finally:
        gajim.terminate()
        gajim.wait(10)
    t.join(5)
    out = r.stdout.decode(errors="replace")
    sys.stdout.write(out)
    check("Pidgin on Myna completed every step with the Prosody user", r.returncode == 0,
          "exit %d" % r.returncode)
    check("the Prosody user got Pidgin's chat message from alice@a.test/pidgin",
          seen.get("chat-from") == "alice@%s/pidgin" % a, seen)
    check("the Prosody user got Pidgin's message in the Prosody room",
          seen.get("peer-room") == peer_room + "/Pidgin", seen)
    check("the Prosody user got Pidgin's message in the Myna room",
          seen.get("myna-room") == myna_room + "/Pidgin", seen)
    check("the Prosody user sees the Pidgin user's presence",
          seen.get("presence-from", "").startswith("alice@%s/" % a), seen)
    check("the Prosody user got Pidgin's subscription request and entered the Myna room",
          seen.get("subscribe") == "alice@" + a and
          seen.get("myna-room-joined") == myna_room + "/Juliet", seen)


if __name__ == "__main__":
    sys.exit(fed.main({"prosody": prosody, "ejabberd": ejabberd, "purple": purple},
                      sys.argv[1:]))
