#!/usr/bin/python3
"""tests/migrate/migrate.py — XEP-0227 migration, end to end, with the peers' own tools.

Scenarios (one per test, argument 1):
  prosody    a real Prosody 0.12 is populated over XMPP (accounts, rosters with groups and
             every subscription state, vCard, private XML, messages for an offline user),
             exported with Debian's prosody-migrator to XEP-0227, and imported into a
             running Myna through its control socket (dry run first). Then real clients log
             in with their old passwords: nbxmpp with SCRAM-SHA-1 (Prosody stores SHA-1
             keys only, 10,000 iterations, which Myna keeps), slixmpp; the host offers no
             SCRAM-SHA-256 until those accounts have logged in once with PLAIN.
  ejabberd   a real ejabberd 23.01 with two hosts (plaintext passwords; SCRAM-SHA-256 keys,
             which it exports base64-encoded twice) is populated the same way, exported with
             `ejabberdctl export_piefxis` (a main file with XIncludes), and imported into a
             stopped Myna (mynactl runs mynad --batch); offline messages arrive in order.
  roundtrip  Myna to Myna: accounts made with the bulk `mynactl adduser -f`, rosters, vCard,
             private XML, offline messages and a persistent MUC room are exported (live and
             batch) and imported into a fresh Myna, whose export is the same; a dry run
             changes nothing.
  hostile    hostile or broken files are refused cleanly (DTDs and entities, deep nesting,
             oversized tags and elements, bad base64, unknown hosts, includes outside the
             directory, truncation), mynad stays up and keeps what was valid.
Exit codes as the e2e harness: 0 pass, 77 skip, 99 harness error, 1 failure.
Usage: migrate.py [--builddir=DIR] SCENARIO
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
import xmpplib as X  # noqa: E402

D = harness.DOMAIN
D2 = "b." + D                  # a second host (the test certificate covers *.D)
PY = "/usr/bin/python3"
PW = {u: u + "-Old-Pass-1" for u in ("romeo", "juliet", "nurse", "benvolio", "tybalt")}
MODULES = '"roster", "blocking", "offline", "private", "muc", "pubsub", "mam"'
failures = []


def J(user, dom=D):
    return "%s@%s" % (user, dom)


def check(name, cond, detail=""):
    if cond:
        print("PASS: " + name, flush=True)
    else:
        failures.append(name)
        print("FAIL: %s%s" % (name, (": " + str(detail)) if detail else ""), flush=True)
    return cond


# ---- Myna instances ----------------------------------------------------------------------

class Myna(harness.Myna):
    """A Myna with the data modules, optionally a second host, prepared without starting
    (for imports into a stopped server)."""

    def __init__(self, tmp, opts, hosts=(D,)):
        os.makedirs(tmp, exist_ok=True)
        super().__init__(tmp, opts)
        self.hosts = hosts

    def write_config(self):
        super().write_config()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace('"time" ]', '"time", %s ]' % MODULES)
        c = self.certdir
        extra = "".join(',\n    { domain = "%s"; certificate = "%s/%s.crt"; key = "%s/%s.key"; }'
                        % (h, c, D, c, D) for h in self.hosts if h != D)
        text = re.sub(r'(key = "[^"]*"; \})\n\);', r'\1' + extra.replace("\\", "\\\\") + "\n);",
                      text, count=1)
        with open(self.conf, "w") as f:
            f.write(text)

    def prepare(self):
        subprocess.run(["sh", os.path.join(harness.HERE, "mkcerts.sh"), self.certdir, D],
                       check=True, env=dict(os.environ, MKCERTS_IPS=harness.IP))
        self.write_config()

    def run(self):
        """Starts mynad on what prepare() made, and adds the harness's users."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.tmp, env=self.server_env())
        if not harness.wait_port(self.starttls_port, self.proc, 30):
            raise RuntimeError("mynad did not start (see %s)" % self.log_path)
        # The ports are bound before the modules load; the control socket (what mynactl
        # checks for a running mynad) comes after them: wait for it too.
        with open(self.conf) as f:
            m = re.search(r'data_dir = "([^"]*)";', f.read())
        sock = os.path.join(m.group(1) if m else os.path.join(self.tmp, "data"), "mynad.sock")
        end = time.time() + 30
        while not os.path.exists(sock) and time.time() < end and self.proc.poll() is None:
            time.sleep(0.05)
        for user, pw in harness.USERS:
            rc, out, err = self.ctl("adduser", J(user), pw)
            if rc not in (0, 2):  # 2: imported already
                raise RuntimeError("mynactl adduser %s: %s" % (user, out + err))

    def ctl(self, *args, stdin=None):
        r = subprocess.run([self.mynactl, "-c", self.conf] + list(args), input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(self.server_env(), MYNAD=self.mynad))
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        for line in err.splitlines():
            if "running as root" not in line:
                print("#   mynactl: " + line)
        return r.returncode, out, err

    def e(self, domain=D):
        return {"ip": harness.IP, "starttls_port": self.starttls_port, "direct_port": None,
                "domain": domain, "cafile": os.path.join(self.certdir, "ca.crt")}

    def probe(self, lib, user, password, domain=D, private_ns=None):
        args = [PY, os.path.join(HERE, "probe_%s.py" % lib), harness.IP,
                str(self.starttls_port), domain, os.path.join(self.certdir, "ca.crt"), user,
                password] + ([private_ns] if private_ns else [])
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        try:
            return json.loads(r.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "probe printed nothing: " + r.stderr.decode()[-500:]}

    def mechanisms(self, domain=D):
        s = X.Stream(harness.IP, self.starttls_port, domain, self.e()["cafile"])
        s.open()
        s.starttls()
        m = s.mechanisms()
        s.close()
        return m

    def scram_iterations(self, user, mech, domain=D):
        """The iteration count in the server's first SCRAM message for `user`."""
        import base64
        s = X.Stream(harness.IP, self.starttls_port, domain, self.e()["cafile"])
        s.open()
        s.starttls()
        first = base64.b64encode(("n,,n=%s,r=abcdefghijklmnop" % user).encode()).decode()
        s.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (X.NS_SASL, mech, first))
        el = s.next()
        s.close()
        if el.tag != X.q(X.NS_SASL, "challenge"):
            return None
        attrs = dict(kv.split("=", 1) for kv in base64.b64decode(el.text).decode().split(","))
        return int(attrs["i"])

    def finish(self):
        problem = self.stop()
        check("mynad (%s) stopped cleanly without sanitizer reports" % os.path.basename(self.tmp),
              problem is None, problem)


def login_ok(node, user, password, mech, domain=D):
    s = X.Stream(harness.IP, node.starttls_port, domain, node.e()["cafile"])
    s.open()
    s.starttls()
    ok, el = s.auth(user, password, mech)
    s.close()
    return ok, X.show(el)


# ---- populating a server over XMPP ---------------------------------------------------------

NS_NICK = "http://jabber.org/protocol/nick"


def populate(e, dom=D, offline=True, pep=False):
    """The same data on any server: rosters in every subscription state with groups, a
    vCard, private XML, (optionally) three messages for the offline nurse and a PEP
    nickname (XEP-0172) for romeo."""
    def login(u):
        return X.login(dict(e, domain=dom), u, PW[u], resource="pop")
    r, j = login("romeo"), login("juliet")
    for s in (r, j):
        s.iq("get", "<query xmlns='jabber:iq:roster'/>")
        s.send("<presence/>")
    r.iq("set", "<query xmlns='jabber:iq:roster'><item jid='%s' name='Juliet'><group>Capulets"
         "</group><group>Lovers</group></item></query>" % J("juliet", dom))
    r.send("<presence to='%s' type='subscribe'/>" % J("juliet", dom))
    r.ping()
    j.send("<presence to='%s' type='subscribed'/>" % J("romeo", dom))
    j.send("<presence to='%s' type='subscribe'/>" % J("romeo", dom))
    j.ping()
    r.send("<presence to='%s' type='subscribed'/>" % J("juliet", dom))
    r.iq("set", "<query xmlns='jabber:iq:roster'><item jid='%s'><group>Capulets</group></item>"
         "</query>" % J("nurse", dom))
    r.send("<presence to='%s' type='subscribe'/>" % J("nurse", dom))
    r.iq("set", "<query xmlns='jabber:iq:roster'><item jid='mercutio@verona.example' "
         "name='Mercutio'><group>Friends</group></item></query>")
    v = r.iq("set", "<vCard xmlns='vcard-temp'><FN>Romeo Montague</FN><NICKNAME>romy"
             "</NICKNAME></vCard>")
    p = r.iq("set", "<query xmlns='jabber:iq:private'><notes xmlns='urn:example:notes'>"
             "<note>balcony at nine</note></notes></query>")
    if pep:
        n = r.iq("set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='%s'>"
                 "<item id='current'><nick xmlns='%s'>Romy</nick></item></publish></pubsub>"
                 % (NS_NICK, NS_NICK))
        if n.get("type") != "result":
            raise RuntimeError("PEP publish failed: %s" % X.show(n))
    if offline:
        for body in ("first", "second", "third"):
            r.send("<message to='%s' type='chat'><body>%s</body></message>"
                   % (J("nurse", dom), body))
    r.ping()
    j.ping()
    time.sleep(0.5)
    r.close()
    j.close()
    if v.get("type") != "result" or p.get("type") != "result":
        raise RuntimeError("populating failed: vCard %s, private %s" % (X.show(v), X.show(p)))


def pep_nick(node, user, password, dom=D):
    """The PEP nickname an account has published, as the account reads it back."""
    s = X.login(node.e(dom), user, password, resource="pep")
    r = s.iq("get", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='%s'/>"
             "</pubsub>" % NS_NICK, J(user, dom))
    s.close()
    nick = r.find(".//{%s}nick" % NS_NICK)
    return nick.text if nick is not None else X.show(r)


def mam_bodies(node, user, password, dom=D):
    """The bodies and stamps of an account's archive, oldest first (XEP-0313 query)."""
    s = X.login(node.e(dom), user, password, resource="mam")
    s.send("<iq type='set' id='mamq'><query xmlns='urn:xmpp:mam:2' queryid='q1'/></iq>")
    out = []
    while True:
        el = s.next()
        if el.tag == X.q(X.NS_CLIENT, "iq") and el.get("id") == "mamq":
            break
        body = el.find(".//{jabber:client}message/{jabber:client}body")
        delay = el.find(".//{urn:xmpp:delay}delay")
        if body is not None:
            out.append((body.text, delay.get("stamp") if delay is not None else None))
    s.close()
    return out


def expected_romeo(dom=D):
    return {J("juliet", dom): {"name": "Juliet", "subscription": "both", "ask": False,
                               "groups": ["Capulets", "Lovers"]},
            J("nurse", dom): {"name": "", "subscription": "none", "ask": True,
                              "groups": ["Capulets"]},
            "mercutio@verona.example": {"name": "Mercutio", "subscription": "none",
                                        "ask": False, "groups": ["Friends"]}}


def check_romeo(node, lib, what, password, dom=D, mech=None):
    got = node.probe(lib, "romeo", password, dom, "urn:example:notes")
    if not check("%s: romeo logs in with %s (%s)" % (what, lib, got.get("mechanism")),
                 got.get("ok"), got):
        return got
    if mech:
        check("%s: %s used %s" % (what, lib, mech), got.get("mechanism") == mech, got)
    check("%s: romeo's roster (names, groups, both/none, pending out)" % what,
          got.get("roster") == expected_romeo(dom), got.get("roster"))
    if lib == "slixmpp":
        check("%s: romeo's vCard" % what, got.get("vcard_fn") == "Romeo Montague", got)
        check("%s: romeo's private XML" % what, got.get("private_note") == "balcony at nine",
              got)
    return got


def check_juliet_nurse(node, what, dom=D, offline=True):
    got = node.probe("nbxmpp", "juliet", PW["juliet"], dom)
    check("%s: juliet has romeo with subscription both" % what,
          got.get("roster") == {J("romeo", dom): {"name": "", "subscription": "both",
                                                  "ask": False, "groups": []}}, got)
    got = node.probe("nbxmpp", "nurse", PW["nurse"], dom)
    check("%s: nurse gets romeo's pending subscription request" % what,
          got.get("subscribe_from") == [J("romeo", dom)] and got.get("roster") == {}, got)
    if offline:
        bodies = [m["body"] for m in got.get("messages", [])]
        check("%s: nurse gets the offline messages in order" % what,
              bodies == ["first", "second", "third"], got.get("messages"))
        check("%s: the offline messages keep their delay stamps" % what,
              all(m.get("delay") for m in got.get("messages", [])), got.get("messages"))
    return got


# ---- Prosody -----------------------------------------------------------------------------

class Prosody(harness.Prosody):
    def write_config(self):
        super().write_config()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace('"posix" }', '"posix"; "vcard"; "private"; "offline"; "pep"; "mam" }')
        with open(self.conf, "w") as f:
            f.write(text)

    def start_peer(self, users):
        subprocess.run(["sh", os.path.join(harness.HERE, "mkcerts.sh"), self.certdir, D],
                       check=True, env=dict(os.environ, MKCERTS_IPS=harness.IP))
        self.write_config()
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.tmp)
        if not harness.wait_port(self.starttls_port, self.proc, 30):
            raise RuntimeError("prosody did not start")
        for u in users:
            self.adduser(u, PW[u])

    def export(self, outdir):
        """prosody-migrator to XEP-0227. Debian's migrator writes the files into its
        compiled-in data directory (/var/lib/prosody), so a copy pointing elsewhere runs;
        --root keeps it from switching to the prosody user."""
        os.makedirs(outdir, exist_ok=True)
        with open("/usr/bin/prosody-migrator") as f:
            script = f.read()
        script = re.sub(r"^CFG_DATADIR=.*$", "CFG_DATADIR='%s';" % outdir, script, flags=re.M)
        copy = os.path.join(self.tmp, "prosody-migrator")
        with open(copy, "w") as f:
            f.write(script)
        cfg = os.path.join(self.tmp, "migrator.cfg.lua")
        with open(cfg, "w") as f:
            f.write('local vhost = { "accounts", "roster", "vcard", "private", "pep-pubsub", '
                    '"archive-archive" }\n'
                    'input { hosts = { ["%s"] = vhost }; type = "internal"; path = "%s" }\n'
                    'output { type = "xep0227" }\n' % (D, os.path.join(self.tmp, "data")))
        lua = shutil.which("lua5.4") or "lua"
        r = subprocess.run([lua, copy, "--root", "--config=" + cfg, "input", "output"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return r.returncode, r.stdout.decode("utf-8", "replace")


def scenario_prosody(tmp, opts):
    users = ("romeo", "juliet", "nurse")
    pro = Prosody(os.path.join(tmp, "prosody"), opts)
    os.makedirs(pro.tmp, exist_ok=True)
    pro.start_peer(users)
    try:
        populate({"ip": harness.IP, "starttls_port": pro.starttls_port, "direct_port": None,
                  "domain": D, "cafile": os.path.join(pro.certdir, "ca.crt")}, pep=True)
    finally:
        pro.stop()
    export = os.path.join(tmp, "prosody-export")
    rc, out = pro.export(export)
    files = sorted(os.listdir(export)) if os.path.isdir(export) else []
    if not check("prosody-migrator exported one XEP-0227 file per user",
                 rc == 0 and files == ["%s.xml" % J(u) for u in sorted(users)], out[-800:]):
        return
    text = "".join(open(os.path.join(export, f)).read() for f in files)
    check("Prosody's export holds SCRAM-SHA-1 keys only, 10,000 iterations",
          "mechanism='SCRAM-SHA-1'" in text and "SCRAM-SHA-256" not in text and
          "<iter-count>10000</iter-count>" in text)
    # Prosody 0.12's XEP-0227 writer has no store for offline messages (the migrator stops
    # with "unsupported-datastore" if asked): they cannot come across from Prosody.
    check("Prosody 0.12's export carries no offline messages (documented limit)",
          "offline-messages" not in text)
    check("Prosody's export holds romeo's PEP node (configuration and item)",
          "<items node='%s'>" % NS_NICK in text and "pubsub#owner" in text, text[-1500:])
    check("Prosody's export holds message archives", "urn:xmpp:pie:0#mam" in text)

    myna = Myna(os.path.join(tmp, "myna"), opts)
    myna.prepare()
    myna.run()
    try:
        check("before the import Myna offers SCRAM-SHA-256",
              "SCRAM-SHA-256" in myna.mechanisms(), myna.mechanisms())
        rc, out, err = myna.ctl("import", "--dry-run", export)
        check("dry run: 3 users would be imported",
              rc == 0 and "dry run" in out and "users: 3 imported" in out, out + err)
        rc, users_out, _ = myna.ctl("users", D)
        check("dry run: no account was created", "romeo" not in users_out, users_out)
        check("dry run: romeo cannot log in",
              not login_ok(myna, "romeo", PW["romeo"], "PLAIN")[0])

        rc, out, err = myna.ctl("import", export)
        check("live import through the control socket",
              rc == 0 and "users: 3 imported" in out and
              "<query xmlns='jabber:iq:roster'> items: 4 imported" in out, out + err)
        mechs = myna.mechanisms()
        check("accounts with SHA-1 keys only: the host offers SCRAM-SHA-1 and PLAIN, not "
              "SCRAM-SHA-256", "SCRAM-SHA-1" in mechs and "PLAIN" in mechs and
              not any(m.startswith("SCRAM-SHA-256") for m in mechs), mechs)
        check("the stored iteration count (10,000) is used",
              myna.scram_iterations("romeo", "SCRAM-SHA-1") == 10000)
        check("a native account logs in with SCRAM-SHA-1 meanwhile",
              login_ok(myna, harness.USERS[0][0], harness.USERS[0][1], "SCRAM-SHA-1")[0])
        rc, out, _ = myna.ctl("import", export)
        check("a second import skips the existing users",
              rc == 0 and "3 already existed" in out, out)

        check("the PEP nickname came across", pep_nick(myna, "romeo", PW["romeo"]) == "Romy",
              pep_nick(myna, "romeo", PW["romeo"]))
        arch = mam_bodies(myna, "romeo", PW["romeo"])
        check("romeo's archive came across in order with its stamps",
              [b for b, _ in arch] == ["first", "second", "third"] and all(t for _, t in arch),
              arch)
        check_romeo(myna, "nbxmpp", "Prosody", PW["romeo"], mech="SCRAM-SHA-1")
        check_juliet_nurse(myna, "Prosody", offline=False)
        # slixmpp cannot do the channel binding Myna offers and falls back to PLAIN: that
        # PLAIN login gives romeo SHA-256 keys.
        check_romeo(myna, "slixmpp", "Prosody", PW["romeo"])
        check("wrong password still refused", not login_ok(myna, "juliet", "nope", "PLAIN")[0])
        for u in ("juliet", "nurse"):
            check("%s logs in with PLAIN and the old password" % u,
                  login_ok(myna, u, PW[u], "PLAIN")[0])
        mechs = myna.mechanisms()
        check("after a PLAIN login of each, SCRAM-SHA-256 is offered again",
              "SCRAM-SHA-256" in mechs and "SCRAM-SHA-256-PLUS" in mechs, mechs)
        check("romeo's new SHA-256 keys keep the 10,000 iterations",
              myna.scram_iterations("romeo", "SCRAM-SHA-256") == 10000)
        check_romeo(myna, "nbxmpp", "Prosody", PW["romeo"], mech="SCRAM-SHA-256")
    finally:
        myna.finish()


# ---- ejabberd ----------------------------------------------------------------------------

class Ejabberd:
    def __init__(self, tmp):
        self.tmp = tmp
        os.makedirs(tmp, exist_ok=True)
        self.certdir = os.path.join(tmp, "certs")
        self.port, = harness.free_ports(1)
        self.node = "mynamig%d@localhost" % os.getpid()

    def ctl(self, *args, timeout=60):
        t = self.tmp
        cmd = [os.path.join(t, "ejabberdctl"), "--config-dir", t, "--config",
               os.path.join(t, "ejabberd.yml"), "--ctl-config", os.path.join(t, "ejabberdctl.cfg"),
               "--logs", os.path.join(t, "log"), "--spool", os.path.join(t, "db"),
               "--node", self.node] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=dict(os.environ, EJABBERD_BYPASS_WARNINGS="true"))
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def start(self, users):
        t, c = self.tmp, self.certdir
        subprocess.run(["sh", os.path.join(harness.HERE, "mkcerts.sh"), c, D], check=True,
                       env=dict(os.environ, MKCERTS_IPS=harness.IP))
        with open(os.path.join(c, D + ".pem"), "w") as f:
            f.write(open(os.path.join(c, D + ".crt")).read() +
                    open(os.path.join(c, D + ".key")).read())
        os.chmod(os.path.join(c, D + ".pem"), 0o600)
        shutil.copy("/etc/ejabberd/inetrc", os.path.join(t, "inetrc"))
        with open("/usr/sbin/ejabberdctl") as f:
            script = f.read().replace("\nINSTALLUSER=ejabberd\n", "\nINSTALLUSER=\n")
        with open(os.path.join(t, "ejabberdctl"), "w") as f:
            f.write(script)
        os.chmod(os.path.join(t, "ejabberdctl"), 0o755)
        with open(os.path.join(t, "ejabberdctl.cfg"), "w") as f:
            f.write("ERLANG_NODE=%s\nEJABBERD_PID_PATH=%s/ejabberd.pid\n"
                    "EJABBERD_CONFIG_PATH=%s/ejabberd.yml\nINET_DIST_INTERFACE=127.0.0.1\n"
                    % (self.node, t, t))
        with open(os.path.join(t, "ejabberd.yml"), "w") as f:
            f.write("""hosts:
  - "%(d)s"
  - "%(d2)s"
loglevel: warning
certfiles:
  - "%(c)s/%(d)s.pem"
ca_file: "%(c)s/ca.crt"
auth_method: internal
host_config:
  "%(d2)s":
    auth_password_format: scram
    auth_scram_hash: sha256
listen:
  -
    port: %(port)d
    ip: "%(ip)s"
    module: ejabberd_c2s
    starttls_required: true
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: all
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_offline: {}
  mod_vcard: {}
  mod_private: {}
""" % {"d": D, "d2": D2, "c": c, "port": self.port, "ip": harness.IP})
        rc, out = self.ctl("start")
        rc2, out2 = self.ctl("started", timeout=90)
        if rc2 != 0:
            raise RuntimeError("ejabberd did not start: %s %s" % (out, out2))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection((harness.IP, self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        for u, dom in users:
            rc, out = self.ctl("register", u, dom, PW[u])
            if rc != 0:
                raise RuntimeError("ejabberdctl register %s: %s" % (u, out))

    def e(self, dom=D):
        return {"ip": harness.IP, "starttls_port": self.port, "direct_port": None,
                "domain": dom, "cafile": os.path.join(self.certdir, "ca.crt")}

    def stop(self):
        self.ctl("stop")
        self.ctl("stopped", timeout=60)


def scenario_ejabberd(tmp, opts):
    ej = Ejabberd(os.path.join(tmp, "ejabberd"))
    users = [("romeo", D), ("juliet", D), ("nurse", D), ("benvolio", D2)]
    export = os.path.join(tmp, "ejabberd-export")
    os.makedirs(export)
    try:
        ej.start(users)
        populate(ej.e())
        b = X.login(ej.e(D2), "benvolio", PW["benvolio"], resource="pop")
        b.iq("set", "<vCard xmlns='vcard-temp'><FN>Benvolio</FN></vCard>")
        b.close()
        rc, out = ej.ctl("export_piefxis", export)
        check("ejabberdctl export_piefxis", rc == 0, out)
    finally:
        ej.stop()
    files = sorted(os.listdir(export))
    text = "".join(open(os.path.join(export, f)).read() for f in files)
    check("ejabberd wrote a main file with XIncludes and one file per host",
          len(files) == 3 and "xi:include" in text, files)
    check("ejabberd exported plaintext passwords on one host, SHA-256 keys on the other",
          "password='%s'" % PW["romeo"] in text and "mechanism='SCRAM-SHA-256'" in text)
    check("ejabberd exported the offline messages", text.count("<body>") >= 3)
    main_file = [f for f in files if "xi:include" in open(os.path.join(export, f)).read()][0]

    myna = Myna(os.path.join(tmp, "myna"), opts, hosts=(D, D2))
    myna.prepare()
    rc, out, err = myna.ctl("import", "--dry-run", os.path.join(export, main_file))
    check("dry run with mynad stopped (mynactl runs mynad --batch)",
          rc == 0 and "users: 4 imported" in out, out + err)
    rc, out, _ = myna.ctl("users", D)
    check("dry run left no account behind", out.strip() == "", out)
    # The main file: its XIncludes are followed.
    rc, out, err = myna.ctl("import", os.path.join(export, main_file))
    check("import with mynad stopped",
          rc == 0 and "users: 4 imported" in out and
          "<offline-messages xmlns='urn:xmpp:pie:0'> items: 3 imported" in out and
          "<vCard xmlns='vcard-temp'>: 2 imported" in out, out + err)
    st = os.stat(os.path.join(myna.tmp, "data", "data.mdb"))
    check("the batch import left the data files to the user mynad runs as",
          st.st_uid == os.getuid())
    myna.run()
    try:
        mechs = myna.mechanisms(D2)
        check("%s (SHA-256 keys only) offers SCRAM-SHA-256 and PLAIN, not SCRAM-SHA-1" % D2,
              "SCRAM-SHA-256" in mechs and "PLAIN" in mechs and
              not any(m.startswith("SCRAM-SHA-1") for m in mechs), mechs)
        check("%s (plaintext passwords, hashed at import) offers everything" % D,
              "SCRAM-SHA-256" in myna.mechanisms(D) and "SCRAM-SHA-1" in myna.mechanisms(D))
        check("benvolio logs in with SCRAM-SHA-256 and the old password (keys ejabberd "
              "encoded twice)", login_ok(myna, "benvolio", PW["benvolio"], "SCRAM-SHA-256",
                                         D2)[0])
        check_romeo(myna, "nbxmpp", "ejabberd", PW["romeo"], mech="SCRAM-SHA-256")
        check_romeo(myna, "slixmpp", "ejabberd", PW["romeo"])
        check_juliet_nurse(myna, "ejabberd")
        got = myna.probe("nbxmpp", "nurse", PW["nurse"])
        check("delivered offline messages are gone from storage", got.get("messages") == [],
              got)
    finally:
        myna.finish()


# ---- Myna to Myna ------------------------------------------------------------------------

ROOM = "council@conference." + D


def make_room(e):
    s = X.login(e, "romeo", PW["romeo"], resource="muc")
    s.send("<presence to='%s/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
           % ROOM)
    s.wait_for(lambda el: el.tag == X.q(X.NS_CLIENT, "message") and
               el.find(X.q(X.NS_CLIENT, "subject")) is not None, what="room subject")
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
            "http://jabber.org/protocol/muc#roomconfig</value></field>"
            "<field var='muc#roomconfig_persistentroom'><value>1</value></field>"
            "<field var='muc#roomconfig_roomname'><value>The Council</value></field>"
            "<field var='muc#roomconfig_membersonly'><value>1</value></field></x>")
    r = s.iq("set", "<query xmlns='http://jabber.org/protocol/muc#owner'>%s</query>" % form,
             ROOM)
    a = s.iq("set", "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='%s' "
             "affiliation='member' nick='jules'/></query>" % J("juliet"), ROOM)
    s.send("<message to='%s' type='groupchat'><subject>Verona matters</subject></message>"
           % ROOM)
    s.ping()
    s.close()
    if r.get("type") != "result" or a.get("type") != "result":
        raise RuntimeError("room setup failed: %s %s" % (X.show(r), X.show(a)))


def room_info(node):
    s = X.login(node.e(), harness.USERS[0][0], harness.USERS[0][1], resource="info")
    r = s.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", ROOM)
    s.close()
    ident = r.find(".//{http://jabber.org/protocol/disco#info}identity")
    feats = {f.get("var") for f in r.iter("{http://jabber.org/protocol/disco#info}feature")}
    return (ident.get("name") if ident is not None else None,
            "muc_persistent" in feats, "muc_membersonly" in feats)


def normalized(path):
    """An export without what legitimately differs: roster version counters, archive ids
    and the stanza ids that name them (each archive makes its own)."""
    with open(path) as f:
        text = re.sub(r" version='\d+'", "", f.read())
    text = re.sub(r"(<result xmlns='urn:xmpp:mam:2') id='[^']*'", r"\1", text)
    return re.sub(r"<stanza-id xmlns='urn:xmpp:sid:0'[^>]*/>", "", text)


def scenario_roundtrip(tmp, opts):
    archived_a = {}
    a = Myna(os.path.join(tmp, "a"), opts)
    a.prepare()
    a.run()
    try:
        lines = "# bulk accounts: JID PASSWORD, one per line\n" + "".join(
            "%s %s\n" % (J(u), PW[u]) for u in ("romeo", "juliet", "nurse"))
        rc, out, _ = a.ctl("adduser", "-f", "-", stdin=lines.encode())
        check("bulk adduser from stdin", rc == 0 and "created 3 accounts" in out, out)
        rc, out, _ = a.ctl("adduser", "-f", "-", stdin=lines.encode())
        check("bulk adduser skips existing accounts", rc == 2 and "3 already existed" in out, out)
        populate(a.e(), pep=True)
        make_room(a.e())
        archived_a["nurse"] = mam_bodies(a, "nurse", PW["nurse"])
        e1 = os.path.join(tmp, "a-live.xml")
        rc, out, err = a.ctl("export", e1)
        check("export while mynad runs", rc == 0 and "exported 6 users" in err, out + err)
        mode = os.stat(e1).st_mode & 0o777
        check("the export file is private (mode 0600)", mode == 0o600, oct(mode))
        backup = os.path.join(tmp, "backup")
        rc, out, err = a.ctl("backup", backup)
        check("hot backup while mynad runs", rc == 0 and os.path.exists(
            os.path.join(backup, "data.mdb")), out + err)
        text = open(e1).read()
        check("the export holds both SCRAM hashes, rosters, vCard, private XML, offline "
              "messages and the room",
              text.count("<scram-credentials") == 12 and "<vCard" in text and
              "urn:example:notes" in text and "<offline-messages>" in text and
              "The Council" in text and "Verona matters" in text and
              "<items node='%s'>" % NS_NICK in text and "urn:xmpp:pie:0#mam" in text)
    finally:
        a.finish()
    e1b = os.path.join(tmp, "a-batch.xml")
    rc, out, err = a.ctl("export", e1b)
    check("export with mynad stopped equals the live one",
          rc == 0 and normalized(e1b) == normalized(e1), err)

    # The backup is a whole database: a config pointing at it exports the same data.
    with open(a.conf) as f:
        conf = f.read()
    bconf = os.path.join(tmp, "backup.conf")
    with open(bconf, "w") as f:
        f.write(re.sub(r'data_dir = "[^"]*";', 'data_dir = "%s";' % backup, conf))
    e1c = os.path.join(tmp, "backup.xml")
    r = subprocess.run([a.mynactl, "-c", bconf, "export", e1c], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=dict(a.server_env(), MYNAD=a.mynad))
    check("the backup holds the same data", r.returncode == 0 and
          normalized(e1c) == normalized(e1), r.stderr.decode()[-500:])

    b = Myna(os.path.join(tmp, "b"), opts)
    b.prepare()
    rc, out, err = b.ctl("import", e1)
    check("import into a fresh, stopped Myna",
          rc == 0 and "users: 6 imported" in out and
          "<room xmlns='urn:myna:muc:room:1'>: 1 imported" in out, out + err)
    b.run()   # its harness users exist already: adduser reports them, harmless
    try:
        e2 = os.path.join(tmp, "b.xml")
        rc, out, err = b.ctl("export", e2)
        check("Myna -> Myna: the new server exports the same data",
              rc == 0 and normalized(e2) == normalized(e1),
              "diff %s %s" % (e1, e2))
        check_romeo(b, "nbxmpp", "Myna", PW["romeo"], mech="SCRAM-SHA-256")
        check("Myna -> Myna: the PEP nickname", pep_nick(b, "romeo", PW["romeo"]) == "Romy",
              pep_nick(b, "romeo", PW["romeo"]))
        arch = mam_bodies(b, "nurse", PW["nurse"])
        check("Myna -> Myna: nurse's archive, in order, with the original stamps",
              [x for x, _ in arch] == ["first", "second", "third"] and all(t for _, t in arch)
              and arch == archived_a.get("nurse"), (arch, archived_a.get("nurse")))
        check_juliet_nurse(b, "Myna")
        check("the persistent room came across (name, persistent, members-only)",
              room_info(b) == ("The Council", True, True), room_info(b))
        rc, out, _ = b.ctl("import", "--dry-run", e1)
        check("dry run of existing data: everything skipped, nothing refused",
              rc == 0 and "users: 0 imported, 6 already existed" in out, out)
    finally:
        b.finish()

    c = Myna(os.path.join(tmp, "c"), opts)
    c.prepare()
    c.run()
    try:
        before = os.path.join(tmp, "c-before.xml")
        after = os.path.join(tmp, "c-after.xml")
        c.ctl("export", before)
        rc, out, err = c.ctl("import", "--dry-run", e1)
        check("dry run on a running server reports what it would do",
              rc == 0 and "users: 3 imported, 3 already existed" in out and
              "<room xmlns='urn:myna:muc:room:1'>: 1 imported" in out, out + err)
        c.ctl("export", after)
        check("a dry run changes nothing", open(before).read() == open(after).read())
        check("a dry run makes no room", room_info(c)[0] is None, room_info(c))
    finally:
        c.finish()


# ---- hostile input -----------------------------------------------------------------------

def scram_user(name, salt="c2FsdHNhbHRzYWx0", key="AAAAAAAAAAAAAAAAAAAAAAAAAAA="):
    return ("<user name='%s'><scram-credentials xmlns='urn:xmpp:pie:0#scram' "
            "mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>%s</salt>"
            "<server-key>%s</server-key><stored-key>%s</stored-key></scram-credentials>"
            % (name, salt, key, key))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def scenario_hostile(tmp, opts):
    node = Myna(os.path.join(tmp, "myna"), opts)
    node.prepare()
    node.run()
    d = os.path.join(tmp, "files")
    os.makedirs(d)

    def write(name, data):
        p = os.path.join(d, name)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return p

    def refused(what, path, word):
        rc, out, err = node.ctl("import", path)
        check("%s: refused cleanly" % what, rc == 1 and word in (out + err), out + err)
        check("%s: mynad still serves" % what, node.alive() and login_ok(
            node, harness.USERS[0][0], harness.USERS[0][1], "PLAIN")[0])
        return out

    head = "<server-data xmlns='urn:xmpp:pie:0'><host jid='%s'>" % D
    try:
        refused("billion laughs", write("laughs.xml",
                "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
                "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
                "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
                "<server-data xmlns='urn:xmpp:pie:0'>&lol3;</server-data>"), "DTD")
        refused("external entity", write("xxe.xml",
                "<!DOCTYPE s [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                "<server-data xmlns='urn:xmpp:pie:0'>&x;</server-data>"), "DTD")
        refused("undeclared entity", write("ent.xml", head + "&x;</host></server-data>"),
                "entity")
        refused("deep nesting", write("deep.xml", head + scram_user("deep") + "<a>" * 50000 +
                                      "</a>" * 50000 + "</user></host></server-data>"),
                "nested too deep")
        refused("a 10 MiB start tag", write("tag.xml", head + "<user name='" + "x" * (10 << 20)
                                            + "'/></host></server-data>"), "longer than 1 MiB")
        refused("not XEP-0227", write("other.xml", "<html><body/></html>"), "not a XEP-0227")
        refused("truncated", write("cut.xml", head + scram_user("cut")), "no element found")
        refused("not UTF-8", write("latin.xml", "<?xml version='1.0' encoding='ISO-8859-1'?>"
                                   "<server-data xmlns='urn:xmpp:pie:0'/>"), "UTF-8")
        out = refused("not well-formed after a valid user", write(
            "bad.xml", head + scram_user("early") + "</user><user name='late'></oops>"),
            "mismatched tag")
        check("what came before the error was imported (one batch per slice)",
              "users: 1 imported" in out, out)
        rc, out, err = node.ctl("import", write("inc.xml",
                                "<server-data xmlns='urn:xmpp:pie:0' xmlns:xi="
                                "'http://www.w3.org/2001/XInclude'><xi:include "
                                "href='../../../../etc/passwd'/></server-data>"))
        check("an XInclude outside the file's directory is refused before anything is sent",
              rc == 1 and "only file names in the same directory" in err, err)

        # Recoverable problems: the rest of the file is imported.
        big_vcard = "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>%s</BINVAL></PHOTO></vCard>" % (
            "QUJD" * (6 << 18))
        doc = (head + scram_user("badb64", salt="!!!notbase64!!!") + "</user>" +
               scram_user("shortkey", key="AAAA") + "</user>" +
               "<user name='nocreds'><vCard xmlns='vcard-temp'><FN>x</FN></vCard></user>" +
               "<user name='bad@name'/>" +
               scram_user("bigcard") + big_vcard + "</user>" +
               scram_user("fine") + "<unknown xmlns='urn:example'>" + "y" * (100 << 20) +
               "</unknown></user></host><host jid='elsewhere.example'>" +
               scram_user("stranger") + "</user></host></server-data>")
        path = write("mixed.xml", doc)
        hwm = vm_hwm_kib(node.proc.pid)
        rc, out, err = node.ctl("import", path)
        grew = vm_hwm_kib(node.proc.pid) - hwm
        check("recoverable problems: the valid users are imported",
              rc == 0 and "users: 2 imported" in out and "4 refused" in out, out + err)
        check("bad base64 and wrong key lengths refuse the user",
              "user badb64@%s: unusable SCRAM-SHA-1" % D in err and
              "user shortkey@%s: unusable" % D in err, err)
        check("a user without credentials is refused", "nocreds" in err, err)
        check("an oversized vCard (6 MiB) is skipped, its user kept",
              "over 4 MiB" in err and "elements over 4 MiB (skipped): 1" in out, out)
        check("an unknown host is skipped", "elsewhere.example" in err and
              "hosts not served here (skipped): 1" in out, out)
        check("a 100 MiB element costs mynad less than 48 MiB (streamed, skipped)",
              grew < 48 * 1024, "%d KiB" % grew)
        check("mynad still serves after the mixed file", node.alive())
    finally:
        node.finish()


SCENARIOS = {"prosody": scenario_prosody, "ejabberd": scenario_ejabberd,
             "roundtrip": scenario_roundtrip, "hostile": scenario_hostile}


def main(argv):
    opts = {"builddir": os.environ.get("E2E_BUILDDIR", os.getcwd())}
    while argv and argv[0].startswith("--"):
        key, _, val = argv.pop(0)[2:].partition("=")
        opts[key] = val
    if len(argv) != 1 or argv[0] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 99
    name = argv[0]
    if name == "prosody" and not shutil.which("prosody"):
        print("SKIP: prosody is not installed")
        return 77
    if name == "ejabberd" and not os.path.exists("/usr/sbin/ejabberdctl"):
        print("SKIP: ejabberd is not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="myna-migrate-")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("scenario")))
    signal.alarm(int(os.environ.get("MIGRATE_TIMEOUT", 400)))
    rc = 0
    try:
        SCENARIOS[name](tmp, opts)
    except Exception as e:  # a harness or peer problem: report it with its context
        import traceback
        traceback.print_exc()
        print("ERROR: %s: %s" % (type(e).__name__, e))
        rc = 99
    signal.alarm(0)
    if failures and rc == 0:
        rc = 1
    if rc != 0 or os.environ.get("E2E_KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
