"""tests/modules/test_pending_limit.py — subscription requests from strangers are stored
until answered (RFC 6121 §3.1.3) but not without bound: with roster max_items = 3 (set by
pending_limit.sh) at most 2 x 3 such records are kept, so a flood of requests cannot grow a
user's storage. The user, logging in afterwards, is offered exactly six requests."""
import modlib as M


def flood_of_requests():
    target = M.jid("u40")
    strangers = ["u%02d" % i for i in range(41, 49)]  # eight strangers
    for name in strangers:
        s = M.connect(name, "flood", roster=False, presence=False)
        s.send("<presence type='subscribe' to='%s'/>" % target)
        M.barrier(s)
        s.close()
    U = M.connect("u40", "late")
    got = [el.get("from") for el in M.drain(U) if M.is_presence(el, "subscribe")]
    M.expect(len(got) == 6, "expected 6 stored requests re-delivered, got %d: %s"
             % (len(got), got))
    M.expect(sorted(got) == sorted(M.jid(n) for n in strangers[:6]),
             "the first six requests are the ones kept: %s" % got)
    U.close()


if __name__ == "__main__":
    raise SystemExit(M.run([("flood_of_requests", flood_of_requests)]))
