#!/usr/bin/python3
"""tests/e2e/harness.py — runs one end-to-end test against a fresh, private XMPP server.

Owns the server abstraction: Myna (the default) or Prosody (E2E_SERVER=prosody, used to prove
the clients and assertions against a known-good server). For each test it makes a temp dir with
a throwaway CA and a certificate for the test domain, writes the server config on free
127.0.0.1 ports, starts the server in the foreground, creates accounts, runs the test with the
server's facts in E2E_* environment variables, then stops the server and removes the temp dir,
even on failure. A server that crashed, or did not exit 0 on SIGTERM, fails the test.

Crash tests (Myna only): the test may SIGKILL the server itself (E2E_SERVER_PID) and then
ask the harness to start it again on the same config and data directory by writing
"start" to E2E_CONTROL (or "kill9", "restart" for both, or "stop": SIGTERM and a clean
exit); the harness answers in
E2E_CONTROL + ".done" with "ok PID" (xmpplib.server_control wraps this). The server that
runs at the end must still stop cleanly on SIGTERM.

Full-disk tests: E2E_DATA_TMPFS_KB=N puts the data directory on a tmpfs of N KiB of its own
(needs root; otherwise the test is skipped). The test may grow or shrink it with
`mount -o remount,size=...` on E2E_TMPDIR/data; it is unmounted before the temp dir goes.

Usage (automake LOG_COMPILER): harness.py [--builddir DIR] [--srcdir DIR] TEST [ARGS...]
  TEST.py  -> run with this Python; TEST.e2e -> a text file naming a check program and its
  arguments (first word = program in the build dir's tests/e2e/); else TEST is executed.
Exit codes follow automake: 0 pass, 77 skip, 99 hard error, other = fail.
"""
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procs  # noqa: E402

DOMAIN = os.environ.get("E2E_DOMAIN", "myna.test")
IP = "127.0.0.1"
STANZA_LIMIT = 16384
USERS = [("alice", "alice-Secret-1"), ("bob", "bob-Secret-2"), ("carol", "carol-Secret-3")]
HERE = os.path.dirname(os.path.abspath(__file__))


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    """Ports free right now (bound then released), chosen at random below the kernel's
    ephemeral range: a port from that range can be taken meanwhile as the local port of
    some client's outgoing connection (another test running in parallel), and the server
    then fails to listen on it."""
    rng = random.SystemRandom()
    top = max(_ephemeral_low(), 20000 + 4 * n)
    ports = []
    while len(ports) < n:
        p = rng.randrange(20000, top)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.bind((IP, p))
        except OSError:
            continue
        finally:
            s.close()
        ports.append(p)
    return ports


def wait_port(port, proc, timeout):
    return procs.wait_port(IP, port, proc, timeout)


COMPONENT_SECRET = "component-s3cret"


class Server:
    """What every server kind provides to the tests."""
    name = "?"
    mechs = ""           # SASL mechanisms the server must offer after TLS (space separated)
    has_direct_tls = True

    def __init__(self, tmp, opts):
        self.tmp, self.opts = tmp, opts
        self.certdir = os.path.join(tmp, "certs")
        (self.starttls_port, self.direct_port, self.extra_port, self.spare_port,
         self.openssl_port) = free_ports(5)
        self.proc = None
        self.log_path = os.path.join(tmp, "server.log")
        self.log = None

    def env(self):
        return {
            "E2E_SERVER": self.name, "E2E_IP": IP, "E2E_DOMAIN": DOMAIN,
            "E2E_STARTTLS_PORT": str(self.starttls_port),
            "E2E_DIRECT_PORT": str(self.direct_port) if self.has_direct_tls else "",
            "E2E_CAFILE": os.path.join(self.certdir, "ca.crt"),
            "E2E_CERTDIR": self.certdir,
            "E2E_USERS": " ".join("%s:%s" % u for u in USERS),
            "E2E_STANZA_LIMIT": str(STANZA_LIMIT),
            "E2E_MECHS": self.mechs, "E2E_TMPDIR": self.tmp,
            "E2E_SERVER_LOG": self.log_path,
            "E2E_SERVER_PID": str(self.proc.pid) if self.proc else "",
            "E2E_CONTROL": os.path.join(self.tmp, "control"),
            **self.component_env(),
        }

    def component_env(self):
        return {}

    def start(self):
        subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), self.certdir, DOMAIN],
                       check=True, env=dict(os.environ, MKCERTS_IPS=IP))
        self.write_config()
        self.log = open(self.log_path, "wb")
        self.launch()
        for user, pw in USERS:
            self.adduser(user, pw)

    def launch(self):
        """Starts the server process on the existing config and data."""
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.tmp, env=self.server_env())
        if not wait_port(self.starttls_port, self.proc, 30):
            raise RuntimeError("%s did not start listening (exit %s)"
                               % (self.name, self.proc.poll()))
        if self.has_direct_tls and not wait_port(self.direct_port, self.proc, 10):
            raise RuntimeError("%s did not open the direct TLS port" % self.name)

    def control(self, cmd):
        """A crash test's request (see the module doc): returns the answer line."""
        if cmd == "stop":  # SIGTERM: a clean shutdown, which must exit 0
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                return "error: no exit within 15 s of SIGTERM"
            return "ok %d" % self.proc.pid if rc == 0 else "error: exit status %d" % rc
        if cmd in ("kill9", "restart") and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if cmd in ("start", "restart"):
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return "error: the old server is still running"
            self.log.write(b"# --- harness: server killed; started again on the same data ---\n")
            self.log.flush()
            self.launch()
        elif cmd == "kill9":
            self.proc.wait(timeout=10)
        else:
            return "error: unknown request %r" % cmd
        return "ok %d" % self.proc.pid

    def server_env(self):
        return dict(os.environ)

    def restart(self):
        """Stops the server with SIGTERM and starts it again on the same data directory and
        ports (durability tests ask for this with SIGUSR1, see main())."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        if rc != 0:
            self.restart_problem = "%s exited with status %d on SIGTERM before a restart" % (
                self.name, rc)
        self.log.close()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.tmp, env=self.server_env())
        if not wait_port(self.starttls_port, self.proc, 30):
            raise RuntimeError("%s did not listen again after a restart" % self.name)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Returns a problem description, or None if the server stopped cleanly."""
        if self.proc is None:
            return None
        myna = self.name == "myna"
        problem = procs.stop_process(self.proc, "mynad" if myna else self.name, 15, exit_zero=myna)
        self.log.close()
        problem = problem or getattr(self, "restart_problem", None)
        if myna and problem is None:
            problem = procs.sanitizer_problem(self.log_path, "mynad")
        return problem


class Myna(Server):
    name = "myna"
    mechs = "SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS PLAIN"

    def __init__(self, tmp, opts):
        super().__init__(tmp, opts)
        b = opts["builddir"]
        self.mynad = os.environ.get("MYNAD") or os.path.join(b, "mynad")
        self.mynactl = os.environ.get("MYNACTL") or os.path.join(b, "mynactl")
        self.moddir = os.environ.get("MYNA_MODULE_PATH") or os.path.join(b, "modules", ".libs")
        self.conf = os.path.join(tmp, "myna.conf")
        # E2E_PLAIN_C2S=1: one more c2s listener without TLS (SCRAM only), for tests of the
        # plaintext write path; its port is exported as E2E_PLAIN_PORT.
        self.plain_port = self.spare_port if os.environ.get("E2E_PLAIN_C2S") else None
        # Until mynactl exists, a test-only helper writes accounts with the same code.
        self.adduser_helper = os.path.join(b, "tests", "e2e", "e2e_adduser")
        if not os.access(self.mynactl, os.X_OK) and os.access(self.adduser_helper, os.X_OK):
            self.mynactl = None
        for prog in (self.mynad, self.mynactl or self.adduser_helper):
            if not os.access(prog, os.X_OK):
                raise FileNotFoundError(prog)

    def component_env(self):
        # XEP-0114: one component domain on the extra port; mynactl for live commands. Also a second direct TLS
        # listener that keeps OpenSSL's own TLS 1.3 record layer (the reference for the
        # compact one, tests/e2e/tls_records.c).
        return {"E2E_PLAIN_PORT": str(self.plain_port or ""),
                "E2E_MYNACTL": self.mynactl or "", "E2E_CONF": self.conf,
                "E2E_COMPONENT_PORT": str(self.extra_port),
                "E2E_COMPONENT_DOMAIN": "bot." + DOMAIN,
                "E2E_COMPONENT_SECRET": COMPONENT_SECRET,
                "E2E_DIRECT_OPENSSL_PORT": str(self.openssl_port)}

    def write_config(self):
        c = self.certdir
        plain = (',\n    {{ type = "c2s"; address = "{}"; port = {}; tls = "none"; insecure = true; }}'.format(
            IP, self.plain_port) if self.plain_port else "")
        with open(self.conf, "w") as f:
            # E2E_TLS_RECORD_LAYER=openssl runs a whole test on OpenSSL's record layer.
            layer = os.environ.get("E2E_TLS_RECORD_LAYER", "compact")
            f.write(f"""# written by tests/e2e/harness.py
data_dir = "{self.tmp}/data";
tls_record_layer = "{layer}";
components = ( {{ domain = "bot.{DOMAIN}"; secret = "{COMPONENT_SECRET}"; }} );
log = {{ level = "debug"; syslog = false; }};
hosts = (
    {{ domain = "{DOMAIN}"; certificate = "{c}/{DOMAIN}.crt"; key = "{c}/{DOMAIN}.key"; }}
);
listen = (
    {{ type = "c2s"; address = "{IP}"; port = {self.starttls_port}; tls = "starttls"; }},
    {{ type = "c2s"; address = "{IP}"; port = {self.direct_port}; tls = "direct"; }},
    {{ type = "c2s"; address = "{IP}"; port = {self.openssl_port}; tls = "direct";
       tls_record_layer = "openssl"; }},
    {{ type = "component"; address = "{IP}"; port = {self.extra_port}; tls = "none"; }}{plain}
);
modules = {{
    path = "{self.moddir}";
    enabled = [ "disco", "ping", "version", "time" ];
}};
limits = {{
    {self.test_limits()}
}};
{"" if "allow_registration" in os.environ.get("E2E_MYNA_CONFIG", "") else "allow_registration = false;"}
{os.environ.get("E2E_MYNA_CONFIG", "")}
""")

    def test_limits(self):
        """E2E_MYNA_LIMITS, plus lifted limits that would get in the way of tests that log
        many clients in from 127.0.0.1 at once (unless the test sets them itself)."""
        extra = os.environ.get("E2E_MYNA_LIMITS", "")
        lifted = {"c2s_stanza_size": STANZA_LIMIT, "c2s_max_depth": 64, "c2s_max_attrs": 64,
                  "auth_timeout": 30, "max_sessions": 1000,
                  "preauth_per_address": 1000, "preauth_total": 1000,
                  "auth_failures_address": 1000}
        return extra + "".join(" %s = %d;" % (k, v) for k, v in lifted.items()
                               if k not in extra)

    def command(self):
        return [self.mynad, "-c", self.conf]

    def server_env(self):
        env = dict(os.environ)
        # ASan: fail loudly, keep the log parseable; leaks are reported at exit.
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        # A fault-injection shim for mynad alone (E2E_MYNA_PRELOAD), after ASan's runtime.
        if os.environ.get("E2E_MYNA_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["E2E_MYNA_PRELOAD"]
            env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        return env

    def adduser(self, user, pw):
        jid = "%s@%s" % (user, DOMAIN)
        if self.mynactl:
            cmd = [self.mynactl, "-c", self.conf, "adduser", jid, pw]
        else:
            cmd = [self.adduser_helper, os.path.join(self.tmp, "data"), "1024", jid, pw]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=self.server_env())
        if r.returncode != 0:
            raise RuntimeError("mynactl adduser %s failed: %s" % (user, r.stdout.decode()))


class Prosody(Server):
    name = "prosody"
    mechs = "SCRAM-SHA-1 PLAIN"

    def __init__(self, tmp, opts):
        super().__init__(tmp, opts)
        self.conf = os.path.join(tmp, "prosody.cfg.lua")

    def write_config(self):
        c, t = self.certdir, self.tmp
        os.makedirs(os.path.join(t, "data"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""-- written by tests/e2e/harness.py
run_as_root = true
pidfile = "{t}/prosody.pid"
data_path = "{t}/data"
interfaces = {{ "{IP}" }}
c2s_ports = {{ {self.starttls_port} }}
c2s_direct_tls_ports = {{ {self.direct_port} }}
s2s_ports = {{ {self.extra_port} }}
http_ports = {{ }}
https_ports = {{ }}
log = {{ debug = "*stdout" }}
daemonize = false
authentication = "internal_hashed"
c2s_require_encryption = true
allow_registration = false
c2s_stanza_size_limit = {STANZA_LIMIT}
limits = {{ c2s = {{ rate = "100mb/s" }} }}
unbound = {{ hoststxt = "/etc/hosts"; resolvconf = true }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "version"; "time"; "posix" }}
modules_disabled = {{ "s2s" }}
ssl = {{ key = "{c}/{DOMAIN}.key"; certificate = "{c}/{DOMAIN}.crt"; cafile = "{c}/ca.crt" }}
VirtualHost "{DOMAIN}"
    ssl = {{ key = "{c}/{DOMAIN}.key"; certificate = "{c}/{DOMAIN}.crt" }}
""")

    def command(self):
        return ["prosody", "--config", self.conf, "-F"]

    def adduser(self, user, pw):
        subprocess.run(["prosodyctl", "--config", self.conf, "register", user, DOMAIN, pw],
                       check=True, stdout=subprocess.DEVNULL)


KINDS = {"myna": Myna, "prosody": Prosody}


def test_command(test, args, opts):
    if test.endswith(".py"):
        return [sys.executable, test] + args
    if test.endswith(".e2e"):
        with open(test) as f:
            words = [w for line in f if not line.lstrip().startswith("#")
                     for w in shlex.split(line)]
        prog = os.path.join(opts["builddir"], "tests", "e2e", words[0])
        return [prog] + words[1:] + args
    return [test] + args


def run_test(cmd, env, server, timeout):
    """Runs the test, serving its crash-test requests; its exit code, or None on timeout."""
    control = env["E2E_CONTROL"]
    proc = subprocess.Popen(cmd, env=env)
    end = time.time() + timeout
    while True:
        try:
            return proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            pass
        if time.time() > end:
            proc.kill()
            proc.wait()
            return None
        if os.path.exists(control):
            with open(control) as f:
                req = f.read().strip()
            os.unlink(control)
            try:
                answer = server.control(req)
            except Exception as e:  # reported to the test, which fails
                answer = "error: %s" % e
            with open(control + ".tmp", "w") as f:
                f.write(answer + "\n")
            os.rename(control + ".tmp", control + ".done")


def main(argv):
    opts = {"builddir": os.environ.get("E2E_BUILDDIR", os.getcwd()), "srcdir": None}
    while argv and argv[0].startswith("--"):
        key, _, val = argv.pop(0)[2:].partition("=")
        opts[key] = val
    if not argv:
        print(__doc__, file=sys.stderr)
        return 99
    test, args = argv[0], argv[1:]
    kind = os.environ.get("E2E_SERVER", "myna")
    tmp = tempfile.mkdtemp(prefix="myna-e2e-")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    server = None
    rc = 99
    mounted = None
    try:
        size = os.environ.get("E2E_DATA_TMPFS_KB")
        if size:
            mounted = os.path.join(tmp, "data")
            os.makedirs(mounted)
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%sk,mode=0700" % size,
                                "myna-e2e-data", mounted],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                mounted = None
                print("SKIP: cannot mount a tmpfs for the data directory: %s"
                      % r.stdout.decode().strip())
                return 77
        try:
            server = KINDS[kind](tmp, opts)
        except FileNotFoundError as e:
            print("SKIP: %s not built (%s)" % (kind, e))
            return 77
        server.start()
        restarted = os.path.join(tmp, "restarted")

        def on_usr1(signum, frame):
            # A test asks for a restart (durability across restarts): the server is stopped
            # and started again, then one byte is appended to E2E_TMPDIR/restarted.
            try:
                server.restart()
            except Exception as e:  # reported as the test's failure by stop()
                server.restart_problem = "restart failed: %s" % e
            with open(restarted, "a") as f:
                f.write("x")
        signal.signal(signal.SIGUSR1, on_usr1)
        env = dict(os.environ)
        env.update(server.env())
        # Leaks inside client libraries (libpurple, GLib) are not what these tests measure.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
        cmd = test_command(test, args, opts)
        print("# server %s, STARTTLS port %d, direct TLS port %d; running: %s"
              % (kind, server.starttls_port, server.direct_port, " ".join(cmd)), flush=True)
        rc = run_test(cmd, env, server, float(os.environ.get("E2E_TIMEOUT", 90)))
        if rc is None:
            print("FAIL: test timed out")
            rc = 1
        if rc == 0 and not server.alive():
            print("FAIL: server is not running after the test")
            rc = 1
    except Exception as e:  # harness problem: report and count as a hard error
        print("ERROR: harness: %s" % e)
        rc = 99
    finally:
        problem = server.stop() if server else None
        if problem:
            print("FAIL: " + problem)
            if rc in (0, 77):
                rc = 1
        if server and (rc not in (0, 77) or os.environ.get("E2E_SHOW_LOG")):
            try:
                with open(server.log_path, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
                print("# last server log lines (%s):" % server.log_path)
                for line in lines[-60:]:
                    print("#   " + line)
            except OSError:
                pass
        if mounted and not os.environ.get("E2E_KEEP"):
            subprocess.run(["umount", mounted])
        if os.environ.get("E2E_KEEP"):
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
