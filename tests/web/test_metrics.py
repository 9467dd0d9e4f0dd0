"""tests/web/test_metrics.py — /metrics (Prometheus text format) and /health on a listener
of their own: absent from the web listener, the web endpoints absent from it; every line
well-formed; sessions counted by transport (TCP, WebSocket, BOSH), logins and failures,
stanzas in and out by kind, storage commits with their latency histogram; /health ok.
Run by tests/web/metrics.sh."""
import os
import re
import sys

import weblib
from weblib import Fail, Bosh, WebSocket
import xmpplib

E = weblib.env()
MPORT = int(os.environ["E2E_METRICS_PORT"])
LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? '
                  r'[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$')


def check(cond, what):
    if not cond:
        raise Fail(what)


def scrape():
    status, h, body = weblib.http_raw(E["ip"], MPORT, b"GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
    check(status == 200 and h["content-type"].startswith("text/plain; version=0.0.4"),
          "%d %s" % (status, h))
    values = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) [a-z0-9_]+ .+$", line), "bad comment %r" % line)
            continue
        check(LINE.match(line), "not Prometheus text: %r" % line)
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def test_where_served():
    status, _, _ = weblib.http_raw(E["ip"], E["http_port"], b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
    check(status == 404, "metrics on the web listener: %d" % status)
    status, _, _ = weblib.http_raw(E["ip"], MPORT, b"GET /.well-known/host-meta HTTP/1.1\r\n"
                                   b"Host: a\r\n\r\n")
    check(status == 404, "web endpoints on the metrics listener: %d" % status)
    status, _, body = weblib.http_raw(E["ip"], MPORT, b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
    check(status == 200 and b'"status":"ok"' in body, "health: %d %r" % (status, body))


def test_counts():
    before = scrape()
    tcp = xmpplib.login(E, *E["users"][0], resource="tcp")
    ws = WebSocket(E)
    ws.login(*E["users"][1], resource="ws")
    b = Bosh(E)
    b.create()
    b.login(*E["users"][2], resource="bosh")
    bad = xmpplib.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"])
    bad.open()
    bad.starttls()
    ok, _ = bad.auth(E["users"][0][0], "wrong-password")
    check(not ok, "a wrong password logged in")
    tcp.send("<message to='%s' type='chat' id='m1'><body>hi</body></message>" % ws.jid)
    ws.next()
    tcp.ping()
    r = tcp.iq("set", "<query xmlns='jabber:iq:private'><n xmlns='x:metrics'>1</n></query>")
    check(r.get("type") == "result", "private storage write: %s" % xmpplib.show(r))
    after = scrape()
    for t in ("tcp", "websocket", "bosh"):
        check(after['myna_sessions{transport="%s"}' % t] ==
              before['myna_sessions{transport="%s"}' % t] + 1, "sessions %s: %s" % (t, after))
    check(after["myna_logins_total"] - before["myna_logins_total"] == 3, "logins")
    check(after["myna_login_failures_total"] - before["myna_login_failures_total"] == 1, "failures")
    check(after['myna_stanzas_in_total{kind="message"}'] -
          before['myna_stanzas_in_total{kind="message"}'] == 1, "messages in")
    check(after['myna_stanzas_out_total{kind="message"}'] -
          before['myna_stanzas_out_total{kind="message"}'] >= 1, "messages out")
    check(after['myna_stanzas_in_total{kind="iq"}'] > before['myna_stanzas_in_total{kind="iq"}'],
          "iqs in")
    check(after["myna_store_commits_total"] > before["myna_store_commits_total"] and
          after["myna_store_commit_seconds_count"] > before["myna_store_commit_seconds_count"],
          "commits: %s" % after)
    check(after['myna_store_commit_seconds_bucket{le="+Inf"}'] ==
          after["myna_store_commit_seconds_count"], "histogram")
    check(after["myna_bosh_sessions"] >= 1 and after["myna_store_used_bytes"] > 0, "store, bosh")
    tcp.close()


if __name__ == "__main__":
    sys.exit(xmpplib.run([(n, f) for n, f in globals().items() if n.startswith("test_")]))
