#!/usr/bin/python3
"""tests/ops/ops.py — running Myna as an admin does: checks, certificates, giving up root.

Scenarios (argument 1):
  check   `mynactl check`: module validation, certificates for the host and for every
          sub-domain a module claims (MUC's conference.HOST), expiry warnings, SRV records
          from a resolver (a tiny DNS server in a private network namespace) and a silent
          resolver (never a failure), ports in use, a running mynad.
  cert    `mynactl cert import DIR` from a certbot-style live directory (symlinks into
          archive/): the right certificate is picked per host, written over the configured
          files, and the running mynad reloads: a new connection sees the new certificate.
          Broken input changes nothing.
  user    mynad started as root with `user` set binds its ports and then runs as that user
          (checked in /proc), files it and mynactl create belong to that user, an unknown
          user or an unreadable key is refused at start, and mynactl check reports the key
          as the service user sees it.
  unit    the systemd unit make builds passes `systemd-analyze verify`, and
          `systemd-analyze security` rates its exposure 3.0 or lower.
Exit codes as the e2e harness: 0 pass, 77 skip, 99 harness error, 1 failure.
"""
import os
import pwd
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
import migrate as MG  # noqa: E402
import xmpplib as X  # noqa: E402

D = harness.DOMAIN
check = MG.check


def make_cert(certdir, name, sans, days=365, ca="ca"):
    """A certificate for `sans` signed by the CA `ca` in certdir (made if missing)."""
    os.makedirs(certdir, exist_ok=True)
    run = lambda *a: subprocess.run(a, cwd=certdir, check=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    if not os.path.exists(os.path.join(certdir, ca + ".crt")):
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca + ".key")
        run("openssl", "req", "-x509", "-new", "-key", ca + ".key", "-sha256", "-days", "3650",
            "-subj", "/CN=" + ca, "-addext", "basicConstraints=critical,CA:TRUE",
            "-out", ca + ".crt")
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".key")
    run("openssl", "req", "-new", "-key", name + ".key", "-subj", "/CN=" + sans[0],
        "-out", name + ".csr")
    with open(os.path.join(certdir, name + ".ext"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
    run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
        ca + ".key", "-CAcreateserial", "-sha256", "-days", str(days), "-extfile", name + ".ext",
        "-out", name + ".leaf")
    with open(os.path.join(certdir, name + ".crt"), "w") as f:
        f.write(open(os.path.join(certdir, name + ".leaf")).read() +
                open(os.path.join(certdir, ca + ".crt")).read())
    return os.path.join(certdir, name + ".crt"), os.path.join(certdir, name + ".key")


def use_cert(node, crt, key):
    shutil.copy(crt, os.path.join(node.certdir, D + ".crt"))
    shutil.copy(key, os.path.join(node.certdir, D + ".key"))


def served_cert_ok(node, cafile):
    """True if a new TLS connection verifies against cafile (direct TLS, SNI = D)."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((harness.IP, node.direct_port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=D):
                return True
    except ssl.SSLError:
        return False


# ---- check -------------------------------------------------------------------------------

DNS_SERVER = r'''
import socket, struct, sys
def name(b, i):
    out = []
    while b[i]:
        out.append(b[i + 1:i + 1 + b[i]].decode()); i += 1 + b[i]
    return ".".join(out), i + 1
def enc(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
srv = {sys.argv[2]: (0, 5, int(sys.argv[3]), sys.argv[4])}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    qname, end = name(q, 12)
    qtype = struct.unpack(">H", q[end:end + 2])[0]
    question = q[12:end + 4]
    rec = srv.get(qname.lower()) if qtype == 33 else None
    flags = 0x8180 if rec else 0x8183
    head = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if rec else 0, 0, 0)
    ans = b""
    if rec:
        rdata = struct.pack(">HHH", *rec[:3]) + enc(rec[3])
        ans = struct.pack(">HHHIH", 0xC00C, 33, 1, 60, len(rdata)) + rdata
    s.sendto(head + question + ans, peer)
'''


def in_netns(node, tmp, with_dns):
    """Runs mynactl check in a private network and mount namespace whose resolv.conf names
    127.0.0.53, with or without a DNS server answering there."""
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.53\noptions timeout:1 attempts:1\n")
    dns = os.path.join(tmp, "dns.py")
    with open(dns, "w") as f:
        f.write(DNS_SERVER)
    script = "mount --bind %s /etc/resolv.conf && ip link set lo up || exit 99; " % resolv
    if with_dns:
        # The DNS server lives as long as this shell: killed when the check is done.
        script += ("%s %s 127.0.0.53 _xmpp-client._tcp.%s 5999 xmpp.%s > %s/dns.out 2>&1 & "
                   "dns=$!; trap 'kill $dns' EXIT; "
                   "for i in $(seq 50); do grep -q ready %s/dns.out 2>/dev/null && break; "
                   "sleep 0.1; done; " % (MG.PY, dns, D, D, tmp, tmp))
    script += "%s -c %s check" % (node.mynactl, node.conf)
    r = subprocess.run(["unshare", "-m", "-n", "sh", "-c", script], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60,
                       env=dict(node.server_env(), MYNAD=node.mynad))
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def scenario_check(tmp, opts):
    node = MG.Myna(os.path.join(tmp, "myna"), opts)
    node.prepare()
    rc, out, err = node.ctl("check")
    check("a good config: exit 0", rc == 0, out + err)
    check("the certificate is checked for the sub-domain MUC claims",
          "certificate also valid for conference.%s" % D in out, out)
    check("ports are checked while mynad is stopped",
          "listener %s port %d: free" % (harness.IP, node.starttls_port) in out, out)

    certs = os.path.join(tmp, "other-certs")
    use_cert(node, *make_cert(certs, "bare", [D]))
    rc, out, err = node.ctl("check")
    check("a certificate without the MUC sub-domain is a problem",
          rc == 1 and "not valid for conference.%s (claimed by a module" % D in out, out)
    use_cert(node, *make_cert(certs, "short", [D, "*." + D], days=10))
    rc, out, err = node.ctl("check")
    check("a certificate expiring within 30 days is a warning, not a failure",
          rc == 0 and "warning: host %s: the certificate expires in" % D in out, out)
    use_cert(node, *make_cert(certs, "other", ["other.example"]))
    rc, out, err = node.ctl("check")
    check("a certificate for another name is a problem",
          rc == 1 and "not valid for %s" % D in out, out)
    use_cert(node, *make_cert(certs, "good", [D, "*." + D]))

    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((harness.IP, node.starttls_port))
    busy.listen(1)
    rc, out, err = node.ctl("check")
    busy.close()
    check("a port taken by another program is a problem",
          rc == 1 and "port %d: in use by another program" % node.starttls_port in out, out)

    if shutil.which("unshare") and shutil.which("ip"):
        rc, out = in_netns(node, tmp, with_dns=True)
        check("SRV records are read from the resolver",
              "dns: _xmpp-client._tcp.%s -> xmpp.%s port 5999" % (D, D) in out, out)
        check("an SRV record pointing at a port nobody listens on is a warning",
              rc == 0 and "points to port 5999, where no c2s listener" in out, out)
        rc, out = in_netns(node, tmp, with_dns=False)
        check("a resolver that does not answer is reported, never a failure",
              rc == 0 and "resolver does not answer" in out, out)
    else:
        print("# unshare or ip missing: DNS cases not run")

    node.run()
    try:
        rc, out, err = node.ctl("check")
        check("with mynad running: exit 0, sub-domains from the live server, no port check",
              rc == 0 and "mynad is running: listening ports not checked" in out and
              "conference.%s" % D in out, out)
    finally:
        node.finish()


# ---- cert import -------------------------------------------------------------------------

def certbot_dir(root, name, crt, key, n=1):
    """root/live/NAME/{fullchain,privkey}.pem as symlinks into root/archive/NAME/, as
    certbot keeps them."""
    arch = os.path.join(root, "archive", name)
    live = os.path.join(root, "live", name)
    os.makedirs(arch, exist_ok=True)
    os.makedirs(live, exist_ok=True)
    for src, base in ((crt, "fullchain"), (key, "privkey")):
        dst = os.path.join(arch, "%s%d.pem" % (base, n))
        shutil.copy(src, dst)
        link = os.path.join(live, base + ".pem")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.relpath(dst, live), link)
    return os.path.join(root, "live")


def scenario_cert(tmp, opts):
    node = MG.Myna(os.path.join(tmp, "myna"), opts)
    node.prepare()
    node.run()
    keyfile = os.path.join(node.certdir, D + ".key")
    try:
        oldca = os.path.join(node.certdir, "ca.crt")
        check("before: the test CA's certificate is served", served_cert_ok(node, oldca))
        certs = os.path.join(tmp, "le")
        crt, key = make_cert(certs, "new", [D, "*." + D], ca="le-ca")
        ocrt, okey = make_cert(certs, "decoy", ["other.example"], ca="le-ca")
        root = os.path.join(tmp, "letsencrypt")
        live = certbot_dir(root, D, crt, key)
        certbot_dir(root, "other.example", ocrt, okey)
        mode = os.stat(keyfile).st_mode & 0o777
        rc, out, err = node.ctl("cert", "import", live)
        check("cert import takes the host's certificate and reloads mynad",
              rc == 0 and "taken from %s/%s" % (live, D) in out and "reloaded" in out, out + err)
        newca = os.path.join(certs, "le-ca.crt")
        check("a new connection gets the new certificate", served_cert_ok(node, newca) and
              not served_cert_ok(node, oldca))
        check("the key keeps the mode of the file it replaced",
              os.stat(keyfile).st_mode & 0o777 == mode, oct(os.stat(keyfile).st_mode))
        s = X.login(dict(node.e(), cafile=newca), harness.USERS[0][0], harness.USERS[0][1])
        s.close()
        check("clients log in over the new certificate", True)
        rc, out, err = node.ctl("cert", "import", live)
        check("importing the same again changes nothing", rc == 0 and "unchanged" in out, out)

        before = open(os.path.join(node.certdir, D + ".crt")).read()
        bad = os.path.join(tmp, "bad")
        crt2, _ = make_cert(certs, "new2", [D], ca="le-ca")
        certbot_dir(bad, D, crt2, okey)  # a key that belongs to another certificate
        rc, out, err = node.ctl("cert", "import", os.path.join(bad, "live"))
        check("a key that does not match its certificate is refused, nothing changes",
              rc == 1 and "does not match" in err and
              open(os.path.join(node.certdir, D + ".crt")).read() == before, out + err)
        none = os.path.join(tmp, "none")
        certbot_dir(none, "other.example", ocrt, okey)
        rc, out, err = node.ctl("cert", "import", os.path.join(none, "live"))
        check("no certificate for the host: reported, exit 1",
              rc == 1 and "no valid certificate for it" in out, out + err)
        check("mynad still serves the imported certificate", served_cert_ok(node, newca))
    finally:
        node.finish()


# ---- user --------------------------------------------------------------------------------

def proc_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("Uid:", "Gid:")):
                ids[line[:3]] = [int(x) for x in line.split()[1:]]
    return ids


def scenario_user(tmp, opts):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        print("SKIP: no user 'nobody'")
        return
    os.chmod(tmp, 0o711)
    node = MG.Myna(os.path.join(tmp, "myna"), opts)
    os.chmod(node.tmp, 0o711)
    node.prepare()
    with open(node.conf, "a") as f:
        f.write('user = "nobody";\n')
    data = os.path.join(node.tmp, "data")
    os.makedirs(data, mode=0o700)
    os.chown(data, nobody.pw_uid, nobody.pw_gid)
    keyfile = os.path.join(node.certdir, D + ".key")
    os.chmod(node.certdir, 0o755)

    rc, out, err = node.ctl("check")
    check("mynactl check reads the key as the service user: unreadable is a problem",
          rc == 1 and "cannot read the private key" in out, out + err)
    r = subprocess.run(node.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30, env=node.server_env())
    check("mynad refuses to start when the key is not readable by its user",
          r.returncode != 0 and b"key" in r.stdout, r.stdout.decode()[-400:])

    os.chown(keyfile, 0, nobody.pw_gid)
    os.chmod(keyfile, 0o640)
    rc, out, err = node.ctl("check")
    check("mynactl check: key readable by the service user's group", rc == 0, out + err)
    node.run()
    try:
        ids = proc_ids(node.proc.pid)
        check("mynad started as root runs as the configured user (real, effective, saved)",
              ids["Uid"][:3] == [nobody.pw_uid] * 3 and ids["Gid"][:3] == [nobody.pw_gid] * 3,
              ids)
        rc, out, err = node.ctl("adduser", MG.J("romeo"), "x-Secret-9")
        check("mynactl adduser as root works", rc == 0, out + err)
        owners = {f: os.stat(os.path.join(data, f)).st_uid for f in os.listdir(data)}
        check("nothing in the data directory belongs to root", owners and
              all(uid == nobody.pw_uid for uid in owners.values()), owners)
        ok, el = MG.login_ok(node, "romeo", "x-Secret-9", "SCRAM-SHA-256")
        check("a client logs in", ok, el)
    finally:
        node.finish()

    with open(node.conf) as f:
        text = f.read()
    with open(node.conf, "w") as f:
        f.write(text.replace('user = "nobody";', 'user = "no-such-user-here";'))
    r = subprocess.run(node.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30, env=node.server_env())
    check("an unknown user is refused at start", r.returncode == 1 and
          b"does not exist" in r.stdout, r.stdout.decode()[-400:])


def scenario_unit(tmp, opts):
    unit = os.path.join(opts["builddir"], "contrib", "myna.service")
    if not shutil.which("systemd-analyze"):
        print("# systemd-analyze missing: unit not checked")
        return
    with open(unit) as f:
        text = f.read()
    check("the unit runs mynad as myna with the sandboxing options",
          "User=myna" in text and "NoNewPrivileges=true" in text and
          "ProtectSystem=strict" in text and "PrivateTmp=true" in text and
          "StateDirectory=myna" in text and "ReadWritePaths=/var/lib/myna" in text and
          "ExecReload=/bin/kill -HUP $MAINPID" in text, text)
    # The installed mynad is not on this machine: point ExecStart at the built one.
    mynad = os.path.join(opts["builddir"], "mynad")
    local = os.path.join(tmp, "myna.service")
    with open(local, "w") as f:
        f.write(re.sub(r"^ExecStart=\S+/mynad", "ExecStart=" + mynad, text, flags=re.M))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", local],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check("systemd-analyze verify accepts the unit", r.returncode == 0, r.stdout.decode())
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", local],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout.decode())
    check("systemd-analyze security: exposure 3.0 or lower (%s)" % (m.group(1) if m else "?"),
          m and float(m.group(1)) <= 3.0, r.stdout.decode()[-800:])


SCENARIOS = {"check": scenario_check, "cert": scenario_cert, "user": scenario_user,
             "unit": scenario_unit}


def main(argv):
    opts = {"builddir": os.environ.get("E2E_BUILDDIR", os.getcwd())}
    while argv and argv[0].startswith("--"):
        key, _, val = argv.pop(0)[2:].partition("=")
        opts[key] = val
    if len(argv) != 1 or argv[0] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 99
    if os.getuid() != 0 and argv[0] in ("user",):
        print("SKIP: needs root")
        return 77
    tmp = tempfile.mkdtemp(prefix="myna-ops-")
    rc = 0
    try:
        SCENARIOS[argv[0]](tmp, opts)
    except Exception as e:  # harness problem: report with context
        import traceback
        traceback.print_exc()
        print("ERROR: %s: %s" % (type(e).__name__, e))
        rc = 99
    if MG.failures and rc == 0:
        rc = 1
    if rc != 0 or os.environ.get("E2E_KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
