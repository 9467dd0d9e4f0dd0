"""tests/modules/test_muc_restart.py — persistent rooms survive a restart of mynad
(XEP-0045 §10.2 muc#roomconfig_persistentroom): configuration, affiliations (with a
registered nickname), subject and history are back; temporary rooms are not."""
import modlib as M
import muclib as U

C = M.C


def connect(user, res="r"):
    return M.connect(user, res, roster=False)


def main():
    a, b = connect("u50"), connect("u51")
    room, temp = U.new_room("keep"), U.new_room("temp")
    U.create(a, room, "owner", {"muc#roomconfig_persistentroom": "1",
                                "muc#roomconfig_roomname": "Kept room",
                                "muc#roomconfig_roomdesc": "survives restarts",
                                "muc#roomconfig_moderatedroom": "1",
                                "muc#roomconfig_maxusers": "30",
                                "muc#maxhistoryfetch": "10"})
    U.create(a, temp, "owner")
    U.join(b, temp, "bob")
    r = U.admin(a, room, "<item jid='%s' affiliation='admin'/><item jid='%s' "
                "affiliation='outcast'><reason>troll</reason></item>"
                % (M.jid("u51"), M.jid("u53")))
    M.expect(r.get("type") == "result", "affiliations set: %s" % M.show(r))
    r = b.iq("set", "<query xmlns='jabber:iq:register'>%s</query>"
             % U.form({"muc#register_roomnick": "bobby"},
                      form_type="http://jabber.org/protocol/muc#register"), room)
    M.expect(r.get("type") == "result", "nick registered: %s" % M.show(r))
    a.send("<message to='%s' type='groupchat'><subject>Persistent topic</subject></message>"
           % room)
    for i in range(3):
        U.groupchat(a, room, "before restart %d" % i)
        U.wait_msg(a, "before restart %d" % i)
    a.close(), b.close()

    M.restart_server()

    a, b, c, d = connect("u50"), connect("u51"), connect("u52"), connect("u53")
    r = c.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", room)
    feats = {f.get("var") for f in r.iter("{http://jabber.org/protocol/disco#info}feature")}
    M.expect({"muc_persistent", "muc_moderated"} <= feats, "room back: %s" % M.show(r))
    M.expect("Kept room" in M.show(r) and "survives restarts" in M.show(r), "name/desc back")
    r = c.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", temp)
    M.expect_error(r, "item-not-found", "temporary room not back")
    r = a.iq("get", "<query xmlns='%s'/>" % U.NS_OWNER, room)
    vals = {f.get("var"): f.findtext(M.q(U.NS_DATA, "value")) for f in r.iter(M.q(U.NS_DATA, "field"))}
    M.expect(vals.get("muc#roomconfig_maxusers") == "30" and
             vals.get("muc#roomconfig_moderatedroom") == "1" and
             vals.get("muc#roomconfig_persistentroom") == "1", "config back: %s" % vals)
    r = a.iq("get", "<query xmlns='%s'><item affiliation='admin'/></query>" % U.NS_ADMIN, room)
    M.expect([i.get("jid") for i in r.iter(M.q(U.NS_ADMIN, "item"))] == [M.jid("u51")],
             "admin list back: %s" % M.show(r))
    M.expect(U.join_error(d, room, "dave") == "forbidden", "outcast still banned")
    M.expect(U.join_error(c, room, "bobby") == "conflict", "registered nick still reserved")
    seq = U.join(c, room, "carol")
    bodies = [e.findtext(M.q(C, "body")) for e in seq if e.find(M.q(C, "body")) is not None]
    M.expect(bodies == ["before restart %d" % i for i in range(3)], "history back: %s" % bodies)
    M.expect(seq[-1].findtext(M.q(C, "subject")) == "Persistent topic" and
             seq[-1].get("from") == room + "/owner", "subject back: %s" % M.show(seq[-1]))
    me = U.self_presence(seq)
    M.expect(U.item(me).get("role") == "visitor", "moderated: newcomer is a visitor")
    seq = U.join(b, room, "bobby")
    M.expect(U.item(U.self_presence(seq)).get("affiliation") == "admin", "bob still admin")
    for s in (a, b, c, d):
        s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("persistent_rooms_survive_restart", main)]))
