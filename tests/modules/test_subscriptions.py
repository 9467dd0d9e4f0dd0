"""tests/modules/test_subscriptions.py — the subscription state machine, table-driven over
RFC 6121 appendix A: every (state, stanza) row a client can trigger. For each row a fresh
pair of accounts (U, C) with each other in their rosters is brought into the row's state by
client actions, U sends the stanza, and then both sides are checked: U's item (table A.2),
C's item (the mirror state, table A.3), and whether C's client received the stanza.

States are U's view: N none, T to, F from, B both; +O pending out (ask), +I pending in.
"""
import modlib as M

# State -> visible (subscription, ask) of U's item.
VISIBLE = {"N": ("none", False), "N+O": ("none", True), "N+I": ("none", False),
           "N+O+I": ("none", True), "T": ("to", False), "T+I": ("to", False),
           "F": ("from", False), "F+O": ("from", True), "B": ("both", False)}
# U's state -> C's state (to<->from, out<->in).
MIRROR = {"N": "N", "N+O": "N+I", "N+I": "N+O", "N+O+I": "N+O+I", "T": "F", "T+I": "F+O",
          "F": "T", "F+O": "T+I", "B": "B"}
# Client actions that reach each state from N/N: (who, type).
SETUP = {"N": [], "N+O": [("U", "subscribe")], "N+I": [("C", "subscribe")],
         "N+O+I": [("U", "subscribe"), ("C", "subscribe")],
         "T": [("U", "subscribe"), ("C", "subscribed")],
         "T+I": [("U", "subscribe"), ("C", "subscribed"), ("C", "subscribe")],
         "F": [("C", "subscribe"), ("U", "subscribed")],
         "F+O": [("C", "subscribe"), ("U", "subscribed"), ("U", "subscribe")],
         "B": [("U", "subscribe"), ("C", "subscribed"), ("C", "subscribe"),
               ("U", "subscribed")]}

# (U's state, stanza U sends) -> (U's new state, C receives the stanza, U pre-approved).
TABLE = {
    ("N", "subscribe"): ("N+O", True, False),
    ("N+O", "subscribe"): ("N+O", False, False),
    ("N+I", "subscribe"): ("N+O+I", True, False),
    ("N+O+I", "subscribe"): ("N+O+I", False, False),
    ("T", "subscribe"): ("T", False, False),
    ("T+I", "subscribe"): ("T+I", False, False),
    ("F", "subscribe"): ("F+O", True, False),
    ("F+O", "subscribe"): ("F+O", False, False),
    ("B", "subscribe"): ("B", False, False),

    ("N", "unsubscribe"): ("N", False, False),
    ("N+O", "unsubscribe"): ("N", True, False),
    ("N+I", "unsubscribe"): ("N+I", False, False),
    ("N+O+I", "unsubscribe"): ("N+I", True, False),
    ("T", "unsubscribe"): ("N", True, False),
    ("T+I", "unsubscribe"): ("N+I", True, False),
    ("F", "unsubscribe"): ("F", False, False),
    ("F+O", "unsubscribe"): ("F", True, False),
    ("B", "unsubscribe"): ("F", True, False),

    ("N", "subscribed"): ("N", False, True),       # pre-approval (§3.4)
    ("N+O", "subscribed"): ("N+O", False, True),   # pre-approval
    ("N+I", "subscribed"): ("F", True, False),
    ("N+O+I", "subscribed"): ("F+O", True, False),
    ("T", "subscribed"): ("T", False, True),       # pre-approval
    ("T+I", "subscribed"): ("B", True, False),
    ("F", "subscribed"): ("F", False, False),
    ("F+O", "subscribed"): ("F+O", False, False),
    ("B", "subscribed"): ("B", False, False),

    ("N", "unsubscribed"): ("N", False, False),
    ("N+O", "unsubscribed"): ("N+O", False, False),
    ("N+I", "unsubscribed"): ("N", True, False),
    ("N+O+I", "unsubscribed"): ("N+O", True, False),
    ("T", "unsubscribed"): ("T", False, False),
    ("T+I", "unsubscribed"): ("T", True, False),
    ("F", "unsubscribed"): ("N", True, False),
    ("F+O", "unsubscribed"): ("N+O", True, False),
    ("B", "unsubscribed"): ("T", True, False),
}

STATES = ["N", "N+O", "N+I", "N+O+I", "T", "T+I", "F", "F+O", "B"]
TYPES = ["subscribe", "unsubscribe", "subscribed", "unsubscribed"]


def send_sub(s, type_, to):
    s.send("<presence type='%s' to='%s'/>" % (type_, to))


def check_state(s, contact, state, who):
    items, _ = M.roster(s)
    got = M.item_state(items.get(contact))
    if got != VISIBLE[state]:
        raise M.Fail("%s: expected %s %s, got %s (%s)" % (who, state, VISIBLE[state], got,
                     M.show(items.get(contact))))
    return items.get(contact)


def run_row(pair, state, type_):
    uname, cname = pair
    U = M.connect(uname)
    C = M.connect(cname)
    try:
        uj, cj = M.jid(uname), M.jid(cname)
        for s, other in ((U, cj), (C, uj)):
            r = M.roster_set(s, "<item jid='%s'/>" % other)
            M.expect(r.get("type") == "result", "roster set: %s" % M.show(r))
        for who, t in SETUP[state]:
            s, other = (U, cj) if who == "U" else (C, uj)
            send_sub(s, t, other)
            M.barrier(s, U, C)
        M.drain(U)
        M.drain(C)
        check_state(U, cj, state, "setup U")
        check_state(C, uj, MIRROR[state], "setup C")

        send_sub(U, type_, cj)
        M.barrier(U, C)
        got = M.drain(C)
        M.drain(U)
        new_state, delivered, approved = TABLE[(state, type_)]
        uitem = check_state(U, cj, new_state, "after U")
        check_state(C, uj, MIRROR[new_state], "after C")
        seen = any(M.is_presence(e, type_, uj) for e in got)
        if seen != delivered:
            raise M.Fail("C %s the %s (expected %s): %s" % (
                "received" if seen else "did not receive", type_,
                "delivery" if delivered else "none", [M.show(e) for e in got]))
        if approved and M.E["server"] == "myna" and uitem.get("approved") != "true":
            raise M.Fail("pre-approval not shown as approved='true': %s" % M.show(uitem))
    finally:
        U.close()
        C.close()


def make_case(pair, state, type_):
    return lambda: run_row(pair, state, type_)


def main():
    users = [u for u, _ in M.E["users"] if u.startswith("u")]
    cases = []
    n = 0
    for state in STATES:
        for type_ in TYPES:
            pair = (users[2 * n % len(users)], users[(2 * n + 1) % len(users)])
            n += 1
            cases.append(("%s %s" % (state, type_), make_case(pair, state, type_)))
    return M.run(cases)


if __name__ == "__main__":
    raise SystemExit(main())
