"""tests/modules/test_muc_mam_upgrade.py — rooms' archives over the server's life, run by
muc_mam_upgrade.sh, which starts mynad with the muc module and without mam:
1. Without mam, rooms keep their history in the local store (also a room set to log):
   no archive feature, MAM queries answered service-unavailable.
2. The mam module is added to the running server (mynactl reload), with a retention of
   30 messages per archive: the logging room's earlier history moves into its archive
   with the times it was said (history on entering and MAM show it, with archive ids);
   a room that does not log keeps its local history until its owner turns logging on,
   which moves it too; a busy room's archive keeps its newest 30 (the archive's retention
   applies to rooms).
3. mynad restarts: the archives, their ids, history on entering and the rooms' logging
   setting are all back, and new messages follow with new ids.
"""
import os
import subprocess

import mamlib as A
import modlib as M
import muclib as U
import test_muc_mam as T

C = M.C


def connect(user, res="r"):
    return M.connect(user, res, roster=False)


def say(s, room, bodies):
    for b in bodies:
        U.groupchat(s, room, b)
        m = U.wait_msg(s, b)
        M.expect(m.get("type") == "groupchat", "%s said in %s: %s" % (s.name, room, M.show(m)))


def history(s, room, nick):
    seq = U.join(s, room, nick)
    hist = [m for m in seq if m.tag == M.q(C, "message") and m.find(M.q(C, "body")) is not None]
    s.send("<presence to='%s/%s' type='unavailable'/>" % (room, nick))
    M.drain(s)
    return [(m.findtext(M.q(C, "body")), T.room_sid(m, room),
             T.stamp_ms(m.find(M.q(U.NS_DELAY, "delay")).get("stamp"))) for m in hist]


def add_mam():
    conf, ctl = os.environ["E2E_CONF"], os.environ["E2E_MYNACTL"]
    with open(conf) as f:
        text = f.read()
    M.expect('"muc" ]' in text, "module list in the config: %s" % text)
    text = text.replace('"muc" ]', '"muc", "mam" ]') + "mam = { max_messages = 30; };\n"
    with open(conf, "w") as f:
        f.write(text)
    r = subprocess.run([ctl, "-c", conf, "reload"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    M.expect(r.returncode == 0 and b"1 modules loaded" in r.stdout, "reload: %s" % r.stdout)


def upgrade_and_restart():
    if not os.environ.get("E2E_CONF") or not os.environ.get("E2E_MYNACTL"):
        raise M.Fail("needs E2E_CONF and E2E_MYNACTL from the harness")
    a, b = connect("u00"), connect("u01")
    logged, quiet = U.new_room("logged"), U.new_room("quiet")
    persistent = {"muc#roomconfig_persistentroom": "1", "muc#maxhistoryfetch": "20"}
    seq = U.create(a, logged, "owner", dict(persistent, **{"muc#roomconfig_enablelogging": "1"}))
    M.expect(170 not in U.codes(U.self_presence(seq)), "no archive: logging is off by default")
    U.create(a, quiet, "owner", persistent)
    say(a, logged, ["before %d" % i for i in range(5)])
    say(a, quiet, ["quiet %d" % i for i in range(3)])
    old = history(b, logged, "bob")
    M.expect([x[0] for x in old] == ["before %d" % i for i in range(5)], "local history: %s"
             % old)
    M.expect(A.NS_MAM not in T.features(b, logged), "no archive without the mam module")
    A.expect_error(A.query(b, to=logged), "service-unavailable", "MAM without the mam module")

    add_mam()
    M.expect({A.NS_MAM, A.NS_MAM + "#extended"} <= T.features(b, logged),
             "the logging room is archived now")
    q = A.query(b, to=logged)
    M.expect(q.bodies == ["before %d" % i for i in range(5)] and
             [T.stamp_ms(st) // 1000 for _, st, _ in q.results] == [t // 1000 for _, _, t in old],
             "earlier history moved into the archive with its times: %s %s"
             % (q.bodies, [st for _, st, _ in q.results]))
    moved = history(b, logged, "bob")
    M.expect([(x[0], x[2]) for x in moved] == [(x[0], x[2]) for x in old] and
             [x[1] for x in moved] == q.ids, "history on entering from the archive, archive ids")
    say(a, logged, ["after %d" % i for i in range(2)])
    M.expect(A.query(b, to=logged).bodies[-2:] == ["after 0", "after 1"], "new ones follow")
    # The room that does not log: still the local history, until logging is turned on.
    M.expect(A.NS_MAM not in T.features(b, quiet), "no archive for a room that does not log")
    M.expect([x[0] for x in history(b, quiet, "bob")] == ["quiet %d" % i for i in range(3)],
             "local history still served")
    r = U.configure(a, quiet, {"muc#roomconfig_enablelogging": "1"})
    M.expect(r.get("type") == "result", "logging on: %s" % M.show(r))
    n = a.wait_for(lambda e: e.tag == M.q(C, "message") and 104 in U.codes(e), what="104")
    M.expect(170 in U.codes(n), "170: logging enabled: %s" % M.show(n))
    q = A.query(b, to=quiet)
    M.expect(q.bodies == ["quiet %d" % i for i in range(3)] + [None] and
             170 in U.codes(q.results[3][2]),
             "the local history, then the notice: %s" % q.bodies)
    M.expect([x[0] for x in history(b, quiet, "bob")] == ["quiet %d" % i for i in range(3)],
             "history on entering from the archive")
    # Retention (mam.max_messages = 30) applies to rooms.
    busy = U.new_room("busy")
    U.create(a, busy, "owner")
    say(a, busy, ["busy %02d" % i for i in range(45)])
    q = A.query(b, to=busy)
    M.expect(q.count == 30 and q.bodies == ["busy %02d" % i for i in range(15, 45)],
             "the newest 30 kept: count %s, first %s" % (q.count, q.bodies[:1]))
    before = {room: A.query(b, to=room) for room in (logged, quiet)}
    hist_before = history(b, logged, "bob")
    a.close(), b.close()

    M.restart_server()

    a, b = connect("u00"), connect("u01")
    for room in (logged, quiet):
        q = A.query(b, to=room)
        M.expect(q.ids == before[room].ids and q.bodies == before[room].bodies,
                 "%s: archive back with its ids: %s" % (room, q.bodies))
    M.expect(history(b, logged, "bob") == hist_before, "history on entering back")
    me = U.self_presence(U.join(b, quiet, "bob"))
    M.expect(170 in U.codes(me), "logging setting back: %s" % M.show(me))
    U.join(a, logged, "owner")
    say(a, logged, ["after restart"])
    q = A.query(b, to=logged)
    M.expect(q.bodies[-1] == "after restart" and q.ids[:-1] == before[logged].ids and
             q.ids[-1] not in before[logged].ids, "a new message after the restart: %s"
             % q.bodies[-3:])
    a.close(), b.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("upgrade_and_restart", upgrade_and_restart)]))
