"""tests/moddev/moddev.py — shared pieces of the module-developer tests (issue 4).

Owns: installing Myna into a throwaway DESTDIR, building example modules out of tree with the
one documented cc command against the installed headers (pkg-config, with
PKG_CONFIG_SYSROOT_DIR pointing into the DESTDIR), and a mynad started by tests/e2e/harness.py
with a module directory and module list chosen by the test. Clients are tests/e2e/xmpplib.py.
Invariant: every temp dir and server is removed/stopped, also on failure. Exit codes follow
automake: 0 pass, 77 skip, 99 hard error, other = fail.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
# `make check` runs tests in the top build dir; E2E_BUILDDIR overrides (as for the harness).
BUILDDIR = os.path.abspath(os.environ.get("E2E_BUILDDIR") or os.getcwd())
sys.path.insert(0, os.path.join(SRCDIR, "tests", "e2e"))
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"

import harness  # noqa: E402  (tests/e2e/harness.py)
import xmpplib as X  # noqa: E402

PASS, SKIP, HARD = 0, 77, 99
# The exact command docs/modules.md teaches (run in the module's source directory).
CC_COMMAND = "cc -shared -fPIC $(pkg-config --cflags myna-module) -o {name}.so {name}.c"
DOMAIN = harness.DOMAIN
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"


class Skip(Exception):
    pass


def clean_env():
    """The environment for a nested make: no jobserver or flags of the `make check` above."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
        env.pop(k, None)
    return env


class Installed:
    """Myna installed with `make install DESTDIR=dest` from the build dir."""

    def __init__(self, tmp):
        self.dest = os.path.join(tmp, "dest")
        # MODDEV_INSTALL_TARGETS lets a developer install only the module-developer parts
        # while other programs do not build; the test suite always runs a full install.
        targets = os.environ.get("MODDEV_INSTALL_TARGETS", "install").split()
        r = subprocess.run(["make", "-s", "-C", BUILDDIR] + targets + ["DESTDIR=" + self.dest],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env())
        if r.returncode != 0:
            raise RuntimeError("make install DESTDIR=%s failed:\n%s"
                               % (self.dest, r.stdout.decode(errors="replace")[-3000:]))
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(self.dest) for f in fs
               if f == "myna-module.pc"]
        if len(pcs) != 1:
            raise AssertionError("make install put %d myna-module.pc files under %s"
                                 % (len(pcs), self.dest))
        print("# make %s DESTDIR=%s: ok" % (" ".join(targets), self.dest), flush=True)
        self.pcdir = os.path.dirname(pcs[0])
        if os.path.basename(self.pcdir) != "pkgconfig":
            raise AssertionError("myna-module.pc installed outside a pkgconfig dir: " + pcs[0])
        self.env = dict(clean_env(), PKG_CONFIG_PATH=self.pcdir,
                        PKG_CONFIG_SYSROOT_DIR=self.dest, PKG_CONFIG_LIBDIR=self.pcdir)

    def example(self, name):
        """The installed copy of examples/NAME (a partial install, or bad-abi, which is a
        test module and not installed: the source tree's)."""
        if name.startswith("bad-abi/"):
            return example(name)
        found = [os.path.join(d, f) for d, _, fs in os.walk(self.dest) for f in fs
                 if os.path.join(d, f).endswith("/doc/myna/examples/" + name)]
        if found:
            return found[0]
        if "MODDEV_INSTALL_TARGETS" in os.environ:
            return example(name)
        raise AssertionError("examples/%s not installed under DOCDIR/examples" % name)

    def pkg_config(self, *args):
        r = subprocess.run(["pkg-config"] + list(args) + ["myna-module"], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("pkg-config %s myna-module: %s"
                                 % (" ".join(args), r.stdout.decode().strip()))
        return r.stdout.decode().strip()

    def check_headers(self):
        """The public headers are installed where the .pc file's -I points."""
        incs = [f[2:] for f in self.pkg_config("--cflags").split() if f.startswith("-I")]
        if not incs:
            raise AssertionError("pkg-config --cflags myna-module gives no -I flag")
        for h in ("myna.h", "myna/module.h", "myna/xml.h", "myna/jid.h", "myna/store.h"):
            if not any(os.path.isfile(os.path.join(i, h)) for i in incs):
                raise AssertionError("%s not installed under %s" % (h, " ".join(incs)))
        for i in incs:
            if not os.path.realpath(i).startswith(os.path.realpath(self.dest)):
                raise AssertionError("-I%s points outside the install tree" % i)

    def build(self, src, outdir):
        """Copies one example module source into outdir and builds it there with the one
        documented cc command; returns the path of the .so."""
        name = os.path.splitext(os.path.basename(src))[0]
        os.makedirs(outdir, exist_ok=True)
        shutil.copy(src, outdir)
        cmd = CC_COMMAND.format(name=name)
        r = subprocess.run(["sh", "-c", cmd], cwd=outdir, env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode(errors="replace")
        if r.returncode != 0 or "warning:" in out:
            raise AssertionError("out-of-tree build failed or warned: %s\n%s" % (cmd, out))
        print("# built %s out of tree: %s" % (name, cmd), flush=True)
        return os.path.join(outdir, name + ".so")


def example(*parts):
    return os.path.join(SRCDIR, "examples", *parts)


def build_examples(tmp, names):
    """Installs Myna into tmp/dest and builds the named examples (paths below examples/)
    into tmp/modules, next to copies of the installed first-party modules. Returns
    (Installed, module dir)."""
    inst = Installed(tmp)
    inst.check_headers()
    moddir = os.path.join(tmp, "modules")
    os.makedirs(moddir)
    installed_mods = inst.pkg_config("--variable=moduledir")
    if os.path.isdir(installed_mods):
        for f in os.listdir(installed_mods):
            if f.endswith(".so"):
                shutil.copy(os.path.join(installed_mods, f), moddir)
    else:  # a partial install (MODDEV_INSTALL_TARGETS): take them from the build dir
        libs = os.path.join(BUILDDIR, "modules", ".libs")
        for f in os.listdir(libs):
            if f.endswith(".so"):
                shutil.copy(os.path.join(libs, f), moddir)
    for n in names:
        # Paths under examples/ are built from the copy `make install` put under the doc
        # directory (DOCDIR/examples/NAME/NAME.c), as a module author without the source
        # tree would; test modules under tests/ from the source tree.
        src = os.path.join(SRCDIR, n) if n.startswith("tests/") else inst.example(n)
        so = inst.build(src, os.path.join(tmp, "src", os.path.dirname(n)))
        shutil.copy(so, moddir)
    return inst, moddir


class ModMyna(harness.Myna):
    """The harness's mynad with our module dir, module list and module sections."""

    def __init__(self, tmp, moddir, enabled, sections=""):
        super().__init__(tmp, {"builddir": BUILDDIR})
        self.moddir = moddir
        self.enabled, self.sections = enabled, sections

    def write_config(self):
        super().write_config()
        self.set_modules(self.enabled, self.sections)

    def set_modules(self, enabled, sections=""):
        """Rewrites the module list (and module sections) of the config file in place."""
        with open(self.conf) as f:
            text = f.read()
        text = re.sub(r"\n# moddev sections\n.*", "\n", text, flags=re.S)
        block = 'modules = {\n    path = "%s";\n    enabled = [ %s ];\n};' % (
            self.moddir, ", ".join('"%s"' % e for e in enabled))
        text, n = re.subn(r"modules\s*=\s*\{[^}]*\};", lambda _: block, text)
        if n != 1:
            raise RuntimeError("harness config has no single modules = { ... }; block")
        if sections:
            text += "\n# moddev sections\n" + sections + "\n"
        with open(self.conf, "w") as f:
            f.write(text)
        self.enabled, self.sections = enabled, sections

    def log_text(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def run(body, enabled, examples=(), sections=""):
    """Builds `examples` out of tree, starts mynad with `enabled` modules, runs
    body(server, env) and returns the automake exit code."""
    tmp = tempfile.mkdtemp(prefix="myna-moddev-")
    server = None
    rc = HARD
    try:
        try:
            inst, moddir = build_examples(tmp, examples)
        except AssertionError as e:
            print("FAIL: %s" % e)
            return 1
        try:
            server = ModMyna(tmp, moddir, enabled, sections)
        except FileNotFoundError as e:
            print("SKIP: server programs not built (%s)" % e)
            return SKIP
        server.start()
        os.environ.update(server.env())
        try:
            body(server, X.env())
            rc = PASS
        except Skip as e:
            print("SKIP: %s" % e)
            rc = SKIP
        except (AssertionError, X.Fail, X.StreamClosed, TimeoutError) as e:
            print("FAIL: %s: %s" % (type(e).__name__, e))
            rc = 1
        if rc in (PASS, SKIP) and not server.alive():
            print("FAIL: mynad is not running after the test")
            rc = 1
    except Exception:  # a harness problem, not a test verdict
        traceback.print_exc()
        rc = HARD
    finally:
        problem = server.stop() if server else None
        if problem:
            print("FAIL: " + problem)
            rc = 1 if rc in (PASS, SKIP) else rc
        if server and (rc not in (PASS, SKIP) or os.environ.get("E2E_SHOW_LOG")):
            try:
                with open(server.log_path, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
                print("# last server log lines:")
                for line in lines[-40:]:
                    print("#   " + line)
            except OSError:
                pass
        if os.environ.get("E2E_KEEP"):
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


# ---- reloads ---------------------------------------------------------------------------------

def reload_cmd(server):
    """Reloads through mynactl (or the control socket it uses); returns its reply."""
    if server.mynactl and os.access(server.mynactl, os.X_OK):
        r = subprocess.run([server.mynactl, "-c", server.conf, "reload"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=server.server_env(), timeout=30)
        out = r.stdout.decode(errors="replace").strip()
        print("# mynactl reload -> exit %d: %s" % (r.returncode, out), flush=True)
        return r.returncode == 0, out
    path = os.path.join(server.tmp, "data", "mynad.sock")
    if not os.path.exists(path):
        raise Skip("reload not available: no mynactl and no control socket %s" % path)
    print("# mynactl not built: sending 'reload' on %s as mynactl would" % path, flush=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(30)
        c.connect(path)
        c.sendall(b"reload\n")
        out = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            out += d
    out = out.decode(errors="replace").strip()
    print("# control socket reload -> %s" % out, flush=True)
    return out.startswith("ok"), out


def mynactl(server, *args):
    """Runs mynactl -c CONF ARGS; returns (exit status, output). Skips without mynactl."""
    if not (server.mynactl and os.access(server.mynactl, os.X_OK)):
        raise Skip("mynactl not built")
    r = subprocess.run([server.mynactl, "-c", server.conf] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=server.server_env(), timeout=60)
    out = r.stdout.decode(errors="replace").strip()
    print("# mynactl %s -> exit %d: %s" % (" ".join(args), r.returncode, out), flush=True)
    return r.returncode, out


def control_line(server, line):
    """Sends one raw line (bytes, newline included or not) on mynad's control socket and
    returns the reply."""
    path = os.path.join(server.tmp, "data", "mynad.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(30)
        c.connect(path)
        c.sendall(line)
        out = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            out += d
    return out.decode(errors="replace").strip()


def count_reloads(server):
    return server.log_text().count("control: reloaded ")


def sighup_reload(server):
    before = count_reloads(server)
    server.proc.send_signal(signal.SIGHUP)
    end = time.time() + 10
    while time.time() < end:
        if count_reloads(server) > before:
            return
        if not server.alive():
            raise AssertionError("mynad died on SIGHUP")
        time.sleep(0.05)
    raise AssertionError("no 'reloaded' log line within 10 s of SIGHUP")


# ---- client helpers (xmpplib streams) ------------------------------------------------------

def text_of(el, ns, name):
    c = el.find(X.q(ns, name))
    return c.text if c is not None else None


def error_condition(el):
    return X.stanza_error_condition(el)


def chat(s, to, body, what="reply"):
    """Sends a chat message and returns the first message that comes back from `to`."""
    mid = s.next_id()
    s.send("<message to='%s' type='chat' id='%s'><body>%s</body></message>"
           % (to, mid, body.replace("&", "&amp;").replace("<", "&lt;")))
    return s.wait_for(lambda e: e.tag == X.q(X.NS_CLIENT, "message") and e.get("from") == to,
                      what="%s from %s" % (what, to))


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def echo_works(s, echo, body="hello & <world>"):
    r = chat(s, echo, body, "echo")
    expect(r.get("type") == "chat", "echo reply is not type chat: " + X.show(r))
    expect(text_of(r, X.NS_CLIENT, "body") == body,
           "echo body differs: sent %r, got %s" % (body, X.show(r)))
    expect(r.get("to") == s.jid, "echo reply not addressed to %s: %s" % (s.jid, X.show(r)))


def disco_items(s, to):
    r = s.iq("get", "<query xmlns='%s'/>" % NS_DISCO_ITEMS, to)
    expect(r.get("type") == "result", "disco#items to %s failed: %s" % (to, X.show(r)))
    return [i.get("jid") for i in r.iter(X.q(NS_DISCO_ITEMS, "item"))]


def main(body, **kw):
    sys.exit(run(body, **kw))
