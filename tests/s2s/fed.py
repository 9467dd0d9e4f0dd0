#!/usr/bin/python3
"""tests/s2s/fed.py — federation test scaffolding: servers side by side, each on its own
loopback address with the standard ports (5222, 5269), one throwaway CA for all of them.

Addresses: each scenario gets a /24 of 127.0.0.0/8 derived from its name (127.X.Y.0), so
scenarios run in parallel (make check -j2) never share an address or a port. Every domain
resolves through the servers' own config maps (s2s.domains), never DNS.
Node kinds: Myna (mynad from the build tree). Prosody and ejabberd come later.
"""
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import xmpplib as X  # noqa: E402
from procs import sanitizer_problem, stop_process, wait_port  # noqa: E402,F401

MKCERTS = os.path.join(HERE, "..", "e2e", "mkcerts.sh")
failures = []


def check(name, cond, detail=""):
    if cond:
        print("PASS: " + name, flush=True)
    else:
        failures.append(name)
        print("FAIL: %s%s" % (name, (": " + str(detail)) if detail else ""), flush=True)
    return cond


def subnet(scenario):
    """127.X.Y for a scenario name: stable, and apart from 127.0.0.x that other tests use."""
    h = hashlib.sha256(scenario.encode()).digest()
    return "127.%d.%d" % (100 + h[0] % 100, 10 + h[1] % 200)


class World:
    """A temp dir, a CA, and the nodes of one scenario; stop() cleans everything up."""

    def __init__(self, scenario, builddir):
        self.scenario, self.builddir = scenario, builddir
        self.tmp = tempfile.mkdtemp(prefix="myna-s2s-")
        self.certdir = os.path.join(self.tmp, "certs")
        self.net = subnet(scenario)
        self.nodes = []
        self.routes = {}  # domain -> ip of its server, for every node's s2s.domains

    def ip(self, n):
        return "%s.%d" % (self.net, n)

    def certs(self, *domains, certdir=None, ips=()):
        """ips: IP subjectAltNames too (libpurple checks the certificate against the
        address it connects to)."""
        subprocess.run(["sh", MKCERTS, certdir or self.certdir] + list(domains), check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ, MKCERTS_IPS=" ".join(ips)))

    def cafile(self):
        return os.path.join(self.certdir, "ca.crt")

    def stop(self):
        problems = []
        for n in self.nodes:
            p = n.stop()
            if p:
                problems.append(p)
        if getattr(self, "dns", None):
            self.dns.stop()
        return problems

    def dump_logs(self):
        for n in self.nodes:
            print("==== %s log (%s) ====" % (n.domain, n.log_path))
            try:
                with open(n.log_path, errors="replace") as f:
                    sys.stdout.write(f.read()[-20000:])
            except OSError:
                pass

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class Node:
    """What every server of a world offers the scenarios: its accounts and logging in to
    them over STARTTLS on 5222 (set by the subclass: world, domain, ip, users)."""

    def password(self, user):
        return dict(self.users)[user]

    def login(self, user, resource="r", presence=True):
        """user: a name on the node's domain, or "name@host" for another host it serves."""
        name, _, dom = user.partition("@")
        e = {"ip": self.ip, "starttls_port": 5222, "direct_port": None,
             "domain": dom or self.domain, "cafile": self.world.cafile()}
        return X.login(e, name, self.password(user), resource=resource,
                       name="%s@%s" % (name, dom or self.domain), presence=presence)


class Myna(Node):
    kind = "myna"

    def __init__(self, world, domain, ipn, users=(("alice", "alice-pw-1"), ("bob", "bob-pw-2")),
                 s2s_extra="", routes=None, certdir=None, modules=None, policy="verify",
                 direct_tls_port=None, extra_hosts=(), metrics_port=None):
        self.world, self.domain = world, domain
        self.extra_hosts = list(extra_hosts)  # further hosts (certificates in certdir)
        self.ip = world.ip(ipn)
        self.users = list(users)
        self.s2s_extra = s2s_extra
        self.policy = policy
        self.direct_tls_port = direct_tls_port  # an s2s listener with XEP-0368 direct TLS
        self.metrics_port = metrics_port  # an http listener with only /metrics and /health
        self.routes = routes  # None: every other domain of the world
        self.certdir = certdir or world.certdir
        self.modules = modules or ["disco", "ping", "version", "roster", "offline", "muc",
                                   "pubsub", "private"]
        self.dir = os.path.join(world.tmp, domain)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "myna.conf")
        self.log_path = os.path.join(self.dir, "mynad.log")
        self.proc = None
        b = world.builddir
        self.mynad = os.path.join(b, "mynad")
        self.mynactl = os.path.join(b, "mynactl")
        self.moddir = os.path.join(b, "modules", ".libs")
        world.nodes.append(self)
        world.routes[domain] = self.ip

    def write_config(self):
        routes = self.routes if self.routes is not None else {
            d: ip for d, ip in self.world.routes.items() if d != self.domain}
        # The servers' MUC and pubsub services live on sub-domains of the same address.
        def where(ip):  # "IP" or (IP, port, direct_tls)
            return ip if isinstance(ip, tuple) else (ip, 5269, False)
        doms = ",\n        ".join(
            '{ domain = "%s%s"; host = "%s"; port = %d; direct_tls = %s; }'
            % ((sub, d) + where(ip)[:2] + ("true" if where(ip)[2] else "false",))
            for d, ip in routes.items() for sub in ("", "conference.", "pubsub."))
        doms = "domains = ( %s );" % doms if routes else ""
        mods = ", ".join('"%s"' % m for m in self.modules)
        direct = (',\n    {{ type = "s2s"; address = "{}"; port = {}; tls = "direct"; }}'.format(
            self.ip, self.direct_tls_port) if self.direct_tls_port else "")
        if self.metrics_port:
            direct += (',\n    {{ type = "http"; address = "{}"; port = {}; tls = "none"; '
                       'insecure = true; web = false; metrics = true; }}'.format(
                           self.ip, self.metrics_port))
        c = self.certdir
        hosts = "".join(',\n         {{ domain = "{0}"; certificate = "{1}/{0}.crt"; '
                        'key = "{1}/{0}.key"; }}'.format(h, c) for h in self.extra_hosts)
        with open(self.conf, "w") as f:
            f.write(f"""# written by tests/s2s/fed.py
data_dir = "{self.dir}/data";
log = {{ level = "debug"; syslog = false; }};
hosts = ( {{ domain = "{self.domain}"; certificate = "{c}/{self.domain}.crt";
             key = "{c}/{self.domain}.key"; }}{hosts} );
listen = (
    {{ type = "c2s"; address = "{self.ip}"; port = 5222; tls = "starttls"; }},
    {{ type = "s2s"; address = "{self.ip}"; port = 5269; tls = "starttls"; }}{direct}
);
modules = {{ path = "{self.moddir}"; enabled = [ {mods} ]; }};
s2s = {{
    ca_file = "{self.world.cafile()}";
    policy = "{self.policy}";
    {doms}
    {self.s2s_extra}
}};
""")

    def start(self):
        self.write_config()
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen([self.mynad, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir, env=env)
        if not wait_port(self.ip, 5222, self.proc) or not wait_port(self.ip, 5269, self.proc):
            raise RuntimeError("mynad for %s did not start" % self.domain)
        if getattr(self, "created", False):
            return self
        self.created = True
        for u, p in self.users:
            jid = u if "@" in u else "%s@%s" % (u, self.domain)
            r = subprocess.run([self.mynactl, "-c", self.conf, "adduser", jid, p],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
            if r.returncode != 0:
                raise RuntimeError("adduser: %s" % r.stdout.decode())
        return self

    def metrics(self):
        """GET /metrics from the metrics listener: {"name{labels}": value}."""
        import urllib.request
        with urllib.request.urlopen("http://%s:%d/metrics" % (self.ip, self.metrics_port),
                                    timeout=10) as r:
            text = r.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    def ctl(self, *args):
        r = subprocess.run([self.mynactl, "-c", self.conf] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode()

    def login_other(self, user, certdir, name=None):
        """login() for a node whose certificate our CA does not vouch for (the client does
        not check it: what is tested is what the servers make of it)."""
        s = UncheckedStream(self.ip, 5222, self.domain, None,
                            name=name or "%s@%s" % (user, self.domain))
        s.open()
        s.starttls()
        ok, el = s.auth(user, self.password(user))
        if not ok:
            raise X.Fail("login %s: %s" % (user, X.show(el)))
        s.bind("r")
        s.send("<presence/>")
        return s

    def stop(self):
        if self.proc is None:
            return None
        what = "mynad " + self.domain
        problem = stop_process(self.proc, what, 20, exit_zero=True)
        self.proc = None
        self.log.close()
        return sanitizer_problem(self.log_path, what) or problem


class Prosody(Node):
    """Debian's Prosody 0.12 on its own address. Its resolver (libunbound) is given a hosts
    file of the world's domains (sub-domains included) and no DNS server, so it never
    waits for the network."""
    kind = "prosody"

    def __init__(self, world, domain, ipn, users=(("juliet", "juliet-pw-1"), ("nurse", "nurse-pw-2")),
                 secure=True):
        self.world, self.domain = world, domain
        self.ip = world.ip(ipn)
        self.users = list(users)
        self.secure = secure
        self.certdir = world.certdir
        self.dir = os.path.join(world.tmp, domain)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.conf = os.path.join(self.dir, "prosody.cfg.lua")
        self.log_path = os.path.join(self.dir, "prosody.log")
        self.hosts = os.path.join(self.dir, "hosts")
        self.proc = None
        world.nodes.append(self)
        world.routes[domain] = self.ip

    def write_config(self):
        with open(self.hosts, "w") as f:
            for d, ip in self.world.routes.items():
                f.write("%s %s conference.%s pubsub.%s\n" % (ip, d, d, d))
        c, t, d = self.certdir, self.dir, self.domain
        with open(self.conf, "w") as f:
            f.write(f"""-- written by tests/s2s/fed.py
run_as_root = true
pidfile = "{t}/prosody.pid"
data_path = "{t}/data"
interfaces = {{ "{self.ip}" }}
c2s_ports = {{ 5222 }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ 5269 }}
http_ports = {{ }}
https_ports = {{ }}
log = {{ debug = "*stdout" }}
daemonize = false
authentication = "internal_hashed"
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = {"true" if self.secure else "false"}
allow_registration = false
limits = {{ c2s = {{ rate = "100mb/s" }} }}
unbound = {{ hoststxt = "{self.hosts}"; resolvconf = false; forward = {{ "127.0.0.1@9" }} }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "version";
                    "time"; "posix"; "vcard_legacy"; "pep"; "presence"; "s2s_bidi" }}
ssl = {{ key = "{c}/{d}.key"; certificate = "{c}/{d}.crt"; cafile = "{c}/ca.crt" }}
VirtualHost "{d}"
    ssl = {{ key = "{c}/{d}.key"; certificate = "{c}/{d}.crt"; cafile = "{c}/ca.crt" }}
Component "conference.{d}" "muc"
    ssl = {{ key = "{c}/{d}.key"; certificate = "{c}/{d}.crt"; cafile = "{c}/ca.crt" }}
""")

    def start(self):
        self.write_config()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["prosody", "--config", self.conf, "-F"], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        if not wait_port(self.ip, 5222, self.proc) or not wait_port(self.ip, 5269, self.proc):
            raise RuntimeError("prosody for %s did not start" % self.domain)
        for u, p in self.users:
            subprocess.run(["prosodyctl", "--config", self.conf, "register", u, self.domain, p],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self):
        if self.proc is None:
            return None
        problem = stop_process(self.proc, "prosody " + self.domain, 20)
        self.proc = None
        self.log.close()
        return problem


class TinyDNS:
    """A DNS server on the world's address .53 (UDP 53) answering SRV queries for
    _xmpp-server._tcp.DOMAIN with the address of DOMAIN's server as the target (an IP
    literal, which resolvers turn into itself), NXDOMAIN for anything else. For peers whose
    resolver has no static map of its own (ejabberd's outgoing s2s)."""

    def __init__(self, world):
        import threading
        self.world = world
        self.ip = world.ip(53)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.ip, 53))
        self.sock.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _name(b, i):
        out = []
        while b[i]:
            out.append(b[i + 1:i + 1 + b[i]].decode())
            i += 1 + b[i]
        return ".".join(out), i + 1

    @staticmethod
    def _enc(n):
        return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"

    def answer(self, q):
        import struct
        qname, end = self._name(q, 12)
        qtype = struct.unpack(">H", q[end:end + 2])[0]
        target = None
        prefix = "_xmpp-server._tcp."
        if qtype == 33 and qname.lower().startswith(prefix):
            dom = qname.lower()[len(prefix):]
            for d, ip in self.world.routes.items():
                if dom in (d, "conference." + d, "pubsub." + d):
                    target = ip
        flags = 0x8180 if target else 0x8183
        head = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if target else 0, 0, 0)
        ans = b""
        if target:
            rdata = struct.pack(">HHH", 0, 5, 5269) + self._enc(target)
            ans = struct.pack(">HHHIH", 0xC00C, 33, 1, 60, len(rdata)) + rdata
        return head + q[12:end + 4] + ans

    def serve(self):
        while self.running:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(q), peer)
            except Exception:  # noqa: BLE001 — a malformed query is ignored
                pass

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class Ejabberd(Node):
    """Debian's ejabberd 23.01 on its own address, as root (a copy of ejabberdctl without
    the switch to the ejabberd user), its own Erlang node name, and an inetrc that maps the
    world's domains (Erlang's resolver reads it first) and sends DNS nowhere."""
    kind = "ejabberd"

    def __init__(self, world, domain, ipn, users=(("romeo", "romeo-pw-1"), ("benvolio", "benvolio-pw-2"))):
        self.world, self.domain = world, domain
        self.ip = world.ip(ipn)
        self.users = list(users)
        self.certdir = world.certdir
        self.dir = os.path.join(world.tmp, domain)
        for sub in ("db", "log"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.node = "myna%s@localhost" % hashlib.sha256(
            (world.scenario + domain + world.tmp).encode()).hexdigest()[:10]
        self.log_path = os.path.join(self.dir, "log", "ejabberd.log")
        self.ctl_script = os.path.join(self.dir, "ejabberdctl")
        self.started = False
        world.nodes.append(self)
        world.routes[domain] = self.ip

    def ctl(self, *args, check=True, timeout=120):
        d = self.dir
        cmd = ["sh", self.ctl_script, "--config-dir", d, "--config", d + "/ejabberd.yml",
               "--ctl-config", d + "/ejabberdctl.cfg", "--logs", d + "/log", "--spool",
               d + "/db", "--node", self.node] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, cwd=d)
        if check and r.returncode != 0:
            raise RuntimeError("ejabberdctl %s: %s" % (" ".join(args), r.stdout.decode()))
        return r.returncode, r.stdout.decode()

    def write_config(self):
        d, c, dom = self.dir, self.certdir, self.domain
        with open(os.path.join(c, dom + ".crt")) as f1, open(os.path.join(c, dom + ".key")) as f2:
            pem = f1.read() + f2.read()
        pem_path = os.path.join(d, "cert.pem")
        with open(pem_path, "w") as f:
            f.write(pem)
        os.chmod(pem_path, 0o600)
        with open(os.path.join(d, "inetrc"), "w") as f:
            # SRV answers from the world's TinyDNS (targets are IP literals, which
            # ejabberd's getaddrinfo takes as they are).
            if not getattr(self.world, "dns", None):
                self.world.dns = TinyDNS(self.world)
            f.write('{lookup, ["file", "dns"]}.\n{resolv_conf, ""}.\n{nameserver, {%s}, 53}.\n'
                    % ",".join(self.world.dns.ip.split(".")))
        with open(os.path.join(d, "ejabberdctl.cfg"), "w") as f:
            f.write('ERLANG_NODE=%s\nEJABBERD_PID_PATH=%s/ejabberd.pid\n'
                    'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n' % (self.node, d))
        with open("/usr/sbin/ejabberdctl") as f:
            script = f.read().replace("INSTALLUSER=ejabberd", "INSTALLUSER=")
        with open(self.ctl_script, "w") as f:
            f.write(script)
        with open(os.path.join(d, "ejabberd.yml"), "w") as f:
            f.write(f"""# written by tests/s2s/fed.py
hosts: ["{dom}"]
loglevel: info
certfiles: ["{pem_path}"]
ca_file: "{self.world.cafile()}"
s2s_use_starttls: required
s2s_dns_timeout: 1
s2s_dns_retries: 1
s2s_access: all
listen:
  - {{port: 5222, ip: "{self.ip}", module: ejabberd_c2s, starttls_required: true}}
  - {{port: 5269, ip: "{self.ip}", module: ejabberd_s2s_in}}
auth_method: internal
acl:
  local: {{user_regexp: ""}}
access_rules:
  local: {{allow: local}}
  c2s: {{allow: all}}
  register: {{deny: all}}
  muc_create: {{allow: all}}
  configure: {{deny: all}}
shaper_rules:
  c2s_shaper: none
  s2s_shaper: none
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_vcard: {{}}
  mod_s2s_dialback: {{}}
  mod_muc:
    host: "conference.@HOST@"
    access: all
    access_create: muc_create
    access_persistent: muc_create
""")

    def start(self):
        self.write_config()
        self.ctl("start")
        self.started = True
        self.ctl("started", timeout=120)
        if not wait_port(self.ip, 5222, None, 60) or not wait_port(self.ip, 5269, None, 10):
            raise RuntimeError("ejabberd for %s did not listen" % self.domain)
        for u, p in self.users:
            self.ctl("register", u, self.domain, p)
        return self

    def stop(self):
        if not self.started:
            return None
        self.started = False
        rc, out = self.ctl("stop", check=False)
        self.ctl("stopped", check=False, timeout=60)
        return None if rc == 0 else "ejabberd %s: stop failed: %s" % (self.domain, out)


class UncheckedStream(X.Stream):
    def _wrap_tls(self, alpn=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.domain)
        self.tls = True


# ---- a raw peer server (hostile tests) ------------------------------------------------------

NS_SERVER = "jabber:server"


class ZoneDNS:
    """A DNS server on the world's address `ipn`, UDP port 53, answering from `records`:
    {name: [("A", "127.x.y.z"), ("SRV", (priority, weight, port, target)), ...]}; other
    types of a known name get an empty answer, unknown names NXDOMAIN. For Myna's resolver
    (s2s.dns_servers)."""

    def __init__(self, world, ipn, records):
        import threading
        self.records = {k.lower(): v for k, v in records.items()}
        self.queries = []
        self.ip = world.ip(ipn)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.ip, 53))
        self.sock.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, q):
        import struct
        qname, end = TinyDNS._name(q, 12)
        qtype = struct.unpack(">H", q[end:end + 2])[0]
        self.queries.append((qname.lower(), qtype))
        known = qname.lower() in self.records
        ans = []
        for typ, data in self.records.get(qname.lower(), []):
            if typ == "A" and qtype == 1:
                rdata = socket.inet_aton(data)
                ans.append(struct.pack(">HHHIH", 0xC00C, 1, 1, 60, len(rdata)) + rdata)
            elif typ == "SRV" and qtype == 33:
                rdata = struct.pack(">HHH", *data[:3]) + TinyDNS._enc(data[3])
                ans.append(struct.pack(">HHHIH", 0xC00C, 33, 1, 60, len(rdata)) + rdata)
        flags = 0x8180 if known else 0x8183
        head = q[:2] + struct.pack(">HHHHH", flags, 1, len(ans), 0, 0)
        return head + q[12:end + 4] + b"".join(ans)

    serve = TinyDNS.serve

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class RawPeer(X.Stream):
    """An s2s stream we drive byte by byte, as the initiating server `local` towards
    `remote`, presenting certificate `cert`/`key`."""

    def __init__(self, ip, remote, local, cafile, cert=None, key=None, source=None):
        self.local, self.cert, self.key = local, cert, key
        super().__init__(ip, 5269, remote, cafile, name="raw:" + local, source=source)

    def _wrap_tls(self, alpn=None):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.domain)
        self.tls = True

    def open_s2s(self):
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                  "xmlns:stream='%s' from='%s' to='%s' version='1.0'>"
                  % (X.NS_STREAM, self.local, self.domain))
        self.features = self.wait_for(lambda e: e.tag == X.q(X.NS_STREAM, "features") or
                                      X.stream_error_condition(e) is not None,
                                      what="features")
        return self.features

    def secure(self):
        self.open_s2s()
        self.send("<starttls xmlns='%s'/>" % X.NS_TLS)
        el = self.next()
        if el.tag != X.q(X.NS_TLS, "proceed"):
            raise X.Fail("no proceed: %s" % X.show(el))
        self._wrap_tls()
        self._new_parser()
        return self.open_s2s()

    def external(self):
        import base64
        self.send("<auth xmlns='%s' mechanism='EXTERNAL'>%s</auth>"
                  % (X.NS_SASL, base64.b64encode(self.local.encode()).decode()))
        el = self.next()
        if el.tag != X.q(X.NS_SASL, "success"):
            return False
        self._new_parser()
        self.open_s2s()
        return True


def main(scenarios, argv):
    builddir = os.getcwd()
    args = [a for a in argv if not a.startswith("--")]
    for a in argv:
        if a.startswith("--builddir="):
            builddir = a.split("=", 1)[1]
    if not args or args[0] not in scenarios:
        print("usage: %s [--builddir=DIR] %s" % (sys.argv[0], "|".join(scenarios)))
        return 99
    name = args[0]
    world = World(name, builddir)
    rc = 0
    try:
        scenarios[name](world)
    except Exception as ex:  # noqa: BLE001 — a scenario's crash is a failure, logged
        import traceback
        traceback.print_exc()
        failures.append("%s: %s" % (name, ex))
    finally:
        for p in world.stop():
            failures.append(p)
            print("FAIL: " + p)
        if failures:
            world.dump_logs()
            rc = 1
        world.cleanup()
    print("%d failure(s)" % len(failures))
    return rc
