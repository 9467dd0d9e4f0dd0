"""tests/modules/test_muc_big.py — a room with 200 occupants (XEP-0045 §7.4 broadcast through
the core's shared fan-out): every occupant receives every message exactly once and in the
same order as everyone else; the 200th occupant sees the 199 others before itself; the
service limit (max_occupants = 200 in muc_big.sh) refuses the 201st with
service-unavailable."""
import modlib as M
import muclib as U

C = M.C
N = 200
SENDERS, PER_SENDER = 4, 15


def main():
    clients = [M.connect("u%02d" % i, "r", roster=False)
               for i in range(N)]
    room = U.new_room("big")
    U.create(clients[0], room, "n0")
    for i, s in enumerate(clients[1:], 1):
        seq = U.join(s, room, "n%d" % i)
        if i == N - 1:
            pres = U.presences(seq, room)
            M.expect(len(pres) == N and 110 in U.codes(pres[-1]) and
                     len({p.get("from") for p in pres[:-1]}) == N - 1,
                     "the last joiner sees %d others, then itself" % (N - 1))
    extra = M.connect("u%d" % N, "r", roster=False)
    M.expect(U.join_error(extra, room, "late") == "service-unavailable", "room at the limit")
    M.barrier(*clients)
    for s in clients:
        M.drain(s)
    sent = []
    for k in range(PER_SENDER):
        for j in range(SENDERS):
            body = "m-%d-%d" % (j, k)
            U.groupchat(clients[j * 7], room, body)
            sent.append(body)
    M.barrier(*clients)
    first = None
    for s in clients:
        got = [e.findtext(M.q(C, "body")) for e in M.drain(s)
               if e.tag == M.q(C, "message") and e.find(M.q(C, "body")) is not None]
        M.expect(sorted(got) == sorted(sent), "%s: every message exactly once (%d of %d)"
                 % (s.name, len(got), len(sent)))
        for j in range(SENDERS):
            mine = [b for b in got if b.startswith("m-%d-" % j)]
            M.expect(mine == ["m-%d-%d" % (j, k) for k in range(PER_SENDER)],
                     "%s: each sender's messages in order" % s.name)
        first = first or got
        M.expect(got == first, "%s: the same order as every other occupant" % s.name)
    for s in clients + [extra]:
        s.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("two_hundred_occupants", main)]))
