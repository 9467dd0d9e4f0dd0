"""tests/e2e/test_tls.py — the TLS layer under real OpenSSL clients (openssl s_client):
TLS 1.3 KeyUpdate in both directions on the compact record layer (RFC 8446 §4.6.3), TLS 1.2
clients (which keep OpenSSL's record layer), and TLS 1.1 refused. Each exchange must carry
XMPP data after the event, proving both sides still decrypt what the other sends."""
import subprocess
import sys
import time

import xmpplib as X

E = X.env()
HEADER = ("<stream:stream to='%s' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n" % E["domain"])


def s_client(lines, *opts):
    """Runs s_client against the direct-TLS port, feeding `lines` with pauses; returns
    (exit code, everything it printed)."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (E["ip"], E["direct_port"]),
           "-servername", E["domain"], "-CAfile", E["cafile"], "-verify_return_error",
           "-quiet", "-ign_eof"] + list(opts)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    for line in lines:
        time.sleep(0.4)
        try:
            p.stdin.write(line.encode())
            p.stdin.flush()
        except BrokenPipeError:
            break
    time.sleep(0.8)
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.stdin = None  # communicate() must not touch it again
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return p.returncode, out.decode(errors="replace")


def key_update_requested():
    # "K": KeyUpdate with update_requested: the server must switch its receive keys, answer
    # with its own KeyUpdate and switch its send keys; the stanza after it must get its
    # stream error back, readable.
    rc, out = s_client([HEADER, "K\n", "<iq type='get' id='k1'><ping xmlns='urn:xmpp:ping'/></iq>\n"],
                       "-tls1_3")
    if "<stream:features>" not in out or "not-authorized" not in out:
        raise X.Fail("after KeyUpdate: expected features then <not-authorized/>, got %r"
                     % out[-400:])


def key_update_not_requested():
    rc, out = s_client([HEADER, "k\n", "</stream:stream>\n"], "-tls1_3")
    if "<stream:features>" not in out or not out.rstrip().endswith("</stream:stream>"):
        raise X.Fail("after KeyUpdate (not requested): expected </stream:stream>, got %r"
                     % out[-400:])


def tls12_client():
    rc, out = s_client([HEADER, "</stream:stream>\n"], "-tls1_2")
    if "<stream:features>" not in out or "</stream:stream>" not in out:
        raise X.Fail("TLS 1.2 client: got %r" % out[-400:])


def tls11_refused():
    rc, out = s_client([HEADER], "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    if "<stream:features>" in out:
        raise X.Fail("a TLS 1.1 client got a stream")


if E["server"] != "myna" or not E["direct_port"]:
    print("SKIP: needs Myna with a direct TLS listener")
    sys.exit(77)
sys.exit(X.run([("TLS 1.3 KeyUpdate, update requested", key_update_requested),
                ("TLS 1.3 KeyUpdate, not requested", key_update_not_requested),
                ("TLS 1.2 client", tls12_client),
                ("TLS 1.1 refused", tls11_refused)]))
