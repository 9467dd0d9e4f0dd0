"""tests/modules/test_stream_fuzz.py — mutated stanzas and nonzas (bytes flipped, cut,
duplicated, markup injected) from logged-in clients, with every feature module loaded, for
a fixed time and seed. The server must answer each broken stream with its error and go on:
after the run a fresh client still logs in and gets a ping answered, and the harness fails
the test on any sanitizer report or if the server died."""
import random
import sys
import time

import modlib as M
import xmpplib as X

E = M.E
USER, PW = "u10", M.PW["u10"]
seeds = [
 "<message to='u12@myna.test' type='chat' id='a1'><body>hi &amp; bye</body><x xmlns='urn:x'><y a='1'/></x></message>",
 "<presence><show>away</show><status>st</status><priority>5</priority></presence>",
 "<presence to='u12@myna.test' type='subscribe'/>",
 "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>",
 "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='x@y' name='n'><group>g</group></item></query></iq>",
 "<iq type='get' id='d1' to='myna.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
 "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='z@z'/></block></iq>",
 "<enable xmlns='urn:xmpp:sm:3'/>", "<r xmlns='urn:xmpp:sm:3'/>", "<a xmlns='urn:xmpp:sm:3' h='0'/>",
 "<inactive xmlns='urn:xmpp:csi:0'/>", "<active xmlns='urn:xmpp:csi:0'/>",
 "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>",
 "<iq type='set' id='p1'><query xmlns='jabber:iq:private'><q xmlns='urn:q'>v</q></query></iq>",
 "<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>x</FN></vCard></iq>",
 "<message to='myna.test'><body>x</body></message>",
 "<message to='u12@myna.test/x' type='chat'><body>c</body><request xmlns='urn:xmpp:receipts'/></message>",
 # MUC (XEP-0045): joins, talk, admin, configuration, registration, moderation.
 "<presence to='fz@conference.myna.test/nick'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='3' since='2020-01-01T00:00:00Z'/><password>p</password></x></presence>",
 "<message to='fz@conference.myna.test' type='groupchat'><body>b</body><subject>s</subject></message>",
 "<message to='fz@conference.myna.test/nick' type='chat'><body>pm</body></message>",
 "<message to='fz@conference.myna.test'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='u12@myna.test'><reason>r</reason></invite></x></message>",
 "<iq type='set' id='m1' to='fz@conference.myna.test'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_maxusers'><value>5</value></field></x></query></iq>",
 "<iq type='set' id='m2' to='fz@conference.myna.test'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='nick' role='visitor'><reason>x</reason></item><item jid='u12@myna.test' affiliation='outcast'/></query></iq>",
 "<iq type='set' id='m3' to='fz@conference.myna.test'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='muc#register_roomnick'><value>n</value></field></x></query></iq>",
 "<iq type='get' id='m4' to='conference.myna.test'><query xmlns='http://jabber.org/protocol/disco#items'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><after>a</after></set></query></iq>",
 "<iq type='set' id='m5' to='fz@conference.myna.test'><moderate xmlns='urn:xmpp:message-moderate:1' id='x'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>",
 "<presence to='fz@conference.myna.test/nick' type='unavailable'/>",
 # The room's archive (XEP-0313 on the room JID).
 "<iq type='set' id='mm1' to='fz@conference.myna.test'><query xmlns='urn:xmpp:mam:2' queryid='q'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>u12@myna.test</value></field><field var='start'><value>2020-01-01T00:00:00Z</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>5</max><before/></set><flip-page/></query></iq>",
 "<iq type='get' id='mm2' to='fz@conference.myna.test'><metadata xmlns='urn:xmpp:mam:2'/></iq>",
 # Publish-subscribe (XEP-0060, PEP): publish-options, items, configure, the generic
 # service, caps, bookmarks in private XML, a vCard photo.
 "<iq type='set' id='ps1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:n'><item id='i'><e xmlns='urn:e'>v</e></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#access_model'><value>open</value></field><field var='pubsub#max_items'><value>max</value></field></x></publish-options></pubsub></iq>",
 "<iq type='get' id='ps2' to='u12@myna.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:n' max_items='2'><item id='i'/></items></pubsub></iq>",
 "<iq type='set' id='ps3'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:n'><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>roster</value></field><field var='pubsub#roster_groups_allowed'><value>g</value></field></x></configure></pubsub></iq>",
 "<iq type='set' id='ps4' to='pubsub.myna.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='n' jid='u10@myna.test'/></pubsub></iq>",
 "<iq type='set' id='ps5'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='urn:n' notify='1'><item id='i'/></retract></pubsub></iq>",
 "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://n' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
 "<iq type='set' id='ps6'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='r@c.myna.test' autojoin='1'><nick>n</nick></conference></storage></query></iq>",
 "<iq type='set' id='ps7'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard></iq>",
 # Last activity, XEP-0319 idle, ad-hoc administration, push, external services.
 "<iq type='get' id='l1' to='u12@myna.test/x'><query xmlns='jabber:iq:last'/></iq>",
 "<presence><show>away</show><idle xmlns='urn:xmpp:idle:1' since='2024-01-01T10:00:00.5+02:00'/></presence>",
 "<iq type='set' id='a1' to='myna.test'><command xmlns='http://jabber.org/protocol/commands' node='http://jabber.org/protocol/admin#announce' action='complete' sessionid='adhoc-1-1'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/admin</value></field><field var='announcement'><value>l1</value><value>l2</value></field></x></command></iq>",
 "<iq type='set' id='a2' to='myna.test'><command xmlns='http://jabber.org/protocol/commands' node='http://jabber.org/protocol/admin#end-user-session'><x xmlns='jabber:x:data' type='submit'><field var='accountjids'><value>u12@myna.test/x</value></field></x></command></iq>",
 "<iq type='get' id='a3' to='myna.test'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>",
 "<iq type='set' id='p2'><enable xmlns='urn:xmpp:push:0' jid='bot.myna.test' node='n'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'><value>s</value></field></x></enable></iq>",
 "<iq type='set' id='p3'><disable xmlns='urn:xmpp:push:0' jid='bot.myna.test'/></iq>",
 "<iq type='get' id='e1' to='myna.test'><credentials xmlns='urn:xmpp:extdisco:2'><service host='turn.myna.test' type='turn' port='3478'/></credentials></iq>",
]
seeds = [x.replace("myna.test", M.D) for x in seeds]  # the harness's test domain


def mutate(s):
    b = bytearray(s.encode())
    for _ in range(random.randint(1, 4)):
        op = random.random(); i = random.randrange(len(b))
        if op < 0.3: b[i] = random.randrange(256)
        elif op < 0.5: del b[i]
        elif op < 0.7: b[i:i] = random.choice([b"<", b">", b"'", b"&", b"/", b"\x00", b"\xff", b"xmlns='q'", b" to='@/'"])
        else:
            j = random.randrange(len(b)); b[i:i] = b[j:j+random.randint(1,20)]
    return bytes(b)


def fuzz(seed, seconds):
    random.seed(seed)
    deadline = time.time() + seconds
    n = conns = 0
    while time.time() < deadline:
        try:
            s = X.login(E, USER, PW, resource="fz%d" % conns, name="fz")
            conns += 1
            for _ in range(50):
                pick = random.choice(seeds)
                s.send(mutate(pick) if random.random() < 0.8 else pick.encode())
                n += 1
            s.ping(M.D)
            s.close()
        except (X.Fail, X.StreamClosed, OSError, Exception):
            pass  # a stream the server ended: expected for broken input
    print("# seed %d: %d stanzas over %d connections" % (seed, n, conns))
    M.expect(conns > 10, "too few logins succeeded (%d): the server stopped serving" % conns)


def still_serving():
    s = M.connect("u11", "after")
    s.ping(M.D)
    s.close()


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    raise SystemExit(M.run([("fuzz seed 1", lambda: fuzz(1, secs)),
                            ("fuzz seed 2", lambda: fuzz(2, secs)),
                            ("still serving", still_serving)]))
