"""tests/modules/test_pep_nbxmpp.py — PEP as Gajim uses it, through python3-nbxmpp's own
modules (OMEMO, PubSub, NativeBookmarks, PrivateBookmarks, PEPBookmarks, UserAvatar,
VCardTemp, VCard4) with entity capabilities from nbxmpp's EntityCaps. Scenarios:
  omemo:     device list and bundle published with publish-options (nbxmpp's
             force_node_options: precondition-not-met, reconfigure, publish again when the
             access model changes), a subscribed contact gets the device list through caps
             +notify, a stranger is refused once the list is not public, the last device
             list arrives at the next login;
  bookmarks: XEP-0402 bookmarks with autojoin seen by another resource, read back as
             XEP-0048 private XML and PEP, written as private XML and seen as XEP-0402;
  avatar:    a PEP avatar read as vCard photo with the XEP-0153 hash in presence, a vCard
             photo read as PEP avatar, vCard4 over PEP.
Contacts are made subscribed on raw XML first (peplib); everything asserted is what
nbxmpp parsed."""
import hashlib
import sys

import peplib as P
import nbxlib as N
from nbxmpp.modules.user_avatar import Avatar
from nbxmpp.modules.vcard4 import VCard as VCard4
from nbxmpp.modules.vcard_temp import VCard
from nbxmpp.namespaces import Namespace
from nbxmpp.protocol import JID
from nbxmpp.structs import BookmarkData, OMEMOBundle

expect, call, ok, err, wait, login, logout = (N.expect, N.call, N.ok, N.err, N.wait, N.login,
                                              N.logout)

BUNDLE = OMEMOBundle(spk={"id": 1, "key": b"signed-prekey-public"},
                     spk_signature=b"signature", ik=b"identity-key",
                     otpks=[{"id": 1, "key": b"prekey-1"}, {"id": 2, "key": b"prekey-2"}])


def devicelist_event(peer, start, want):
    def find():
        for ev in peer.events[start:]:
            if ev.node == Namespace.OMEMO_TEMP_DL and ev.data == want:
                return ev
        return None
    return find


def omemo():
    a = N.Peer("u60", "gajim", notify=[Namespace.OMEMO_TEMP_DL])
    b = N.Peer("u61", "gajim", notify=[Namespace.OMEMO_TEMP_DL])
    x = N.Peer("u62", "stranger")
    try:
        yield from login(b)
        yield from login(a)
        yield from login(x)
        omemo_a, omemo_b, omemo_x = a.module("OMEMO"), b.module("OMEMO"), x.module("OMEMO")
        n = len(b.events)
        box = yield from call(omemo_a.set_devicelist, [1111], public=True)
        ok(box, "set_devicelist (publish-options access_model open)")
        yield wait(devicelist_event(b, n, [1111]), "contact's device list notification")
        N.passed("omemo: device list published; the contact got it through caps +notify")
        box = yield from call(omemo_a.set_bundle, BUNDLE, 1111, public=True)
        ok(box, "set_bundle")
        box = yield from call(omemo_b.request_devicelist, jid=JID.from_string(a.bare()))
        expect(ok(box, "request_devicelist") == [1111], "device list: %r" % box)
        box = yield from call(omemo_b.request_bundle, JID.from_string(a.bare()), 1111)
        got = ok(box, "request_bundle")
        expect(got.ik == BUNDLE.ik and got.spk == BUNDLE.spk and
               got.spk_signature == BUNDLE.spk_signature and
               sorted(k["id"] for k in got.otpks) == [1, 2], "bundle: %r" % (got,))
        box = yield from call(omemo_x.request_devicelist, jid=JID.from_string(a.bare()))
        expect(ok(box, "stranger reads a public list") == [1111], "stranger: %r" % box)
        N.passed("omemo: bundle and public device list fetched")
        # Not public any more: nbxmpp publishes with access_model presence, gets
        # precondition-not-met, reconfigures the node and publishes again.
        box = yield from call(omemo_a.set_devicelist, [1111], public=False)
        ok(box, "set_devicelist public=False")
        box = yield from call(a.module("PubSub").get_access_model, Namespace.OMEMO_TEMP_DL)
        expect(ok(box, "get_access_model") == "presence", "access model: %r" % box)
        box = yield from call(omemo_x.request_devicelist, jid=JID.from_string(a.bare()))
        cond = err(box, "stranger reads a presence-only list")
        expect(cond == ("not-authorized", "presence-subscription-required"),
               "stranger refused with %r" % (cond,))
        box = yield from call(omemo_b.request_devicelist, jid=JID.from_string(a.bare()))
        expect(ok(box, "contact reads") == [1111], "contact: %r" % box)
        N.passed("omemo: access model changed through publish-options; stranger refused")
        # The last item at the next login (XEP-0163 §4.3.4).
        yield from logout(b)
        box = yield from call(omemo_a.set_devicelist, [1111, 2222], public=False)
        ok(box, "set_devicelist while the contact is away")
        b.events.clear()
        yield from login(b)
        yield wait(devicelist_event(b, 0, [1111, 2222]), "last device list after login")
        N.passed("omemo: the last device list arrived after login")
    finally:
        for p in (a, b, x):
            if p.connected and not p.gone:
                yield from logout(p)


def bookmark_event(peer, start, jid, autojoin=None, retracted=False):
    def find():
        for ev in peer.events[start:]:
            if ev.node != Namespace.BOOKMARKS_1 or ev.id != jid:
                continue
            if retracted and ev.retracted:
                return ev
            if not retracted and ev.data is not None and \
                    (autojoin is None or ev.data.autojoin == autojoin):
                return ev
        return None
    return find


def bookmarks():
    a = N.Peer("u63", "one", notify=[Namespace.BOOKMARKS_1])
    a2 = N.Peer("u63", "two", notify=[Namespace.BOOKMARKS_1, Namespace.BOOKMARKS])
    room, room2 = "coven@conference.myna.test", "orchard@conference.myna.test"
    try:
        yield from login(a)
        yield from login(a2)
        n = len(a2.events)
        mark = BookmarkData(jid=JID.from_string(room), name="Coven", nick="puck",
                            autojoin=True)
        box = yield from call(a.module("NativeBookmarks").store_bookmarks, [mark])
        ok(box, "store XEP-0402 bookmark")
        ev = yield wait(bookmark_event(a2, n, room, autojoin=True),
                        "other resource's bookmark event with autojoin (events: %s)"
                        % a2.events)
        expect(ev.data.nick == "puck" and ev.data.name == "Coven", "event: %r" % (ev.data,))
        box = yield from call(a.module("PrivateBookmarks").request_bookmarks)
        got = {str(m.jid): m for m in ok(box, "private XML bookmarks")}
        expect(list(got) == [room] and got[room].autojoin and got[room].nick == "puck",
               "XEP-0048 private view: %r" % got)
        box = yield from call(a.module("PEPBookmarks").request_bookmarks)
        got = {str(m.jid): m for m in ok(box, "PEP storage:bookmarks")}
        expect(list(got) == [room] and got[room].autojoin, "XEP-0048 PEP view: %r" % got)
        N.passed("bookmarks: XEP-0402 bookmark with autojoin seen in all three forms")
        # A legacy client writes private XML: the XEP-0402 view follows, with events.
        n = len(a2.events)
        legacy = [mark, BookmarkData(jid=JID.from_string(room2), name="Orchard")]
        box = yield from call(a.module("PrivateBookmarks").store_bookmarks, legacy)
        ok(box, "store private XML bookmarks")
        yield wait(bookmark_event(a2, n, room2, autojoin=False), "event for the new room")
        box = yield from call(a.module("NativeBookmarks").request_bookmarks)
        got = {str(m.jid): m for m in ok(box, "XEP-0402 bookmarks")}
        expect(sorted(got) == sorted([room, room2]) and got[room].autojoin and
               not got[room2].autojoin, "XEP-0402 view of private XML: %r" % got)
        expect(not [e for e in a2.events[n:] if e.node == Namespace.BOOKMARKS_1 and
                    e.id == room], "the unchanged room was announced again")
        n = len(a2.events)
        box = yield from call(a.module("NativeBookmarks").retract_bookmark,
                              JID.from_string(room2))
        ok(box, "retract")
        yield wait(bookmark_event(a2, n, room2, retracted=True), "retract event")
        box = yield from call(a.module("PrivateBookmarks").request_bookmarks)
        expect([str(m.jid) for m in ok(box, "private XML")] == [room], "after retract")
        N.passed("bookmarks: private XML writes become XEP-0402 items; retract reaches both")
    finally:
        for p in (a, a2):
            if p.connected and not p.gone:
                yield from logout(p)


def avatar():
    a = N.Peer("u64", "gajim")
    b = N.Peer("u65", "gajim", notify=[Namespace.AVATAR_METADATA, Namespace.VCARD4_PUBSUB])
    c = N.Peer("u66", "legacy")
    image = bytes(range(200)) * 4
    try:
        yield from login(b)
        yield from login(a)
        yield from login(c)
        av = Avatar()
        av.add_image_source(image, "image/png", 32, 32)
        sha = av.metadata.default
        n = len(b.events)
        box = yield from call(a.module("UserAvatar").set_avatar, av, public=True)
        ok(box, "set_avatar (XEP-0084, public)")
        yield wait(lambda: b.event(Namespace.AVATAR_METADATA, lambda e: e.id == sha, n),
                   "metadata notification")
        box = yield from call(b.module("VCardTemp").request_vcard,
                              jid=JID.from_string(a.bare()))
        data, got_sha = ok(box, "vCard of the avatar's owner").get_avatar()
        expect(data == image and got_sha == sha, "vCard photo: %r %r" % (got_sha, sha))
        m = len(b.presences)
        a.send_presence()
        yield wait(lambda: [p for f, p in b.presences[m:] if f.startswith(a.bare()) and
                            getattr(p, "avatar_sha", None) == sha],
                   "XEP-0153 hash in the owner's presence")
        N.passed("avatar: PEP avatar read as vCard photo, hash in presence")
        vc = VCard()
        vc.set_avatar(image[::-1], "image/png")
        box = yield from call(c.module("VCardTemp").set_vcard, vc)
        ok(box, "vCard with photo")
        box = yield from call(a.module("UserAvatar").request_avatar_metadata,
                              jid=JID.from_string(c.bare()))
        meta = ok(box, "avatar metadata of a vCard-only client")
        sha2 = hashlib.sha1(image[::-1]).hexdigest()
        expect(meta is not None and meta.default == sha2 and meta.infos[0].bytes == len(image),
               "metadata: %r" % (meta,))
        box = yield from call(a.module("UserAvatar").request_avatar_data, sha2,
                              jid=JID.from_string(c.bare()))
        expect(ok(box, "avatar data").data == image[::-1], "avatar data differs")
        N.passed("avatar: vCard photo read as PEP avatar")
        card = VCard4()
        card.add_property("fn", value="Ada Lovelace")
        n = len(b.events)
        box = yield from call(a.module("VCard4").set_vcard, card, public=False)
        ok(box, "vCard4 (XEP-0292)")
        yield wait(lambda: b.event(Namespace.VCARD4_PUBSUB, start=n), "vCard4 notification")
        box = yield from call(b.module("VCard4").request_vcard, jid=JID.from_string(a.bare()))
        fn = [p.value for p in ok(box, "request vCard4").get_properties() if p.name == "fn"]
        expect(fn == ["Ada Lovelace"], "vCard4 fn: %r" % fn)
        N.passed("vcard4: published, notified, read by a contact")
    finally:
        for p in (a, b, c):
            if p.connected and not p.gone:
                yield from logout(p)


SCENARIOS = {"omemo": omemo, "bookmarks": bookmarks, "avatar": avatar}
SETUP = {"omemo": [("u60", "u61")], "avatar": [("u64", "u65")], "bookmarks": []}

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "omemo"
    for u, v in SETUP[name]:
        P.befriend(u, v)
    N.run(SCENARIOS, name)
