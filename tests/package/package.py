#!/usr/bin/python3
"""tests/package/package.py — the Debian package, built and installed as an admin would.

1. `dpkg-buildpackage -us -uc -b` in a copy of the source tree; lintian on the result
   (errors fail the test, warnings are shown).
2. A clean Debian 12 root (mmdebstrap, minbase, from the configured apt sources; cached as a
   tarball in the build directory, unpacked fresh every run), where `apt-get install` of the
   package must: create the user myna, /var/lib/myna and /etc/myna, write a config for the
   root's host name with a self-signed certificate for it and *.HOST, and enable the
   service (no systemd runs there, so it is not started: systemd is not PID 1 in CI).
3. mynad started there as the service would: the unit's ExecStart, as the user myna (the
   config's listeners moved to a free port on 127.0.0.1, since the machine is shared);
   an account made with the package's mynactl; a client on this side logs in, trusting
   the generated certificate, and pings; `mynactl check` passes.
4. `apt-get purge` removes the config, the data and the user.
Needs root, network access to the Debian mirror, dpkg-dev, debhelper, lintian, mmdebstrap.
Opt-in: `make check-package` (several minutes; not part of `make check`).
Exit codes as the e2e harness: 0 pass, 77 skip, 99 harness error, 1 failure.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
import xmpplib as X  # noqa: E402

failures = []
HOSTNAME = "chat.myna-pkg.test"


def check(name, cond, detail=""):
    print(("PASS: " if cond else "FAIL: ") + name + ("" if cond or not detail else
                                                       ": " + str(detail)[-1500:]), flush=True)
    if not cond:
        failures.append(name)
    return cond


def run(cmd, timeout=900, **kw):
    print("# $ " + (cmd if isinstance(cmd, str) else " ".join(cmd)), flush=True)
    r = subprocess.run(cmd, shell=isinstance(cmd, str), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, **kw)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def build(tmp):
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    rc, out = run("tar -C '%s' --exclude='./build*' --exclude=./.git --exclude=./autom4te.cache "
                  "-cf - . | tar -C '%s' -xf -" % (SRC, src))
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=%s" % os.environ.get("JOBS", "2"))
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    t0 = time.time()
    rc, out = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=1800)
    print("# dpkg-buildpackage took %.0f s" % (time.time() - t0))
    debs = glob.glob(os.path.join(tmp, "myna_*.deb"))
    if not check("dpkg-buildpackage -us -uc -b builds the packages", rc == 0 and debs,
                 out[-3000:]):
        return None
    changes = glob.glob(os.path.join(tmp, "*.changes"))
    rc, out = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0"] + changes,
                  timeout=600)
    for line in out.splitlines():
        print("#   lintian: " + line)
    check("lintian finds no error", rc == 0, out)
    return debs[0]


def rootfs(tmp, builddir):
    """A fresh Debian 12 root; the tarball is cached in the build directory."""
    cache = os.path.join(builddir, "pkgtest-bookworm.tar")
    if not os.path.exists(cache):
        mirror = os.environ.get("MYNA_PKGTEST_MIRROR")
        cmd = ["mmdebstrap", "--mode=root", "--format=tar", "--variant=minbase", "--include=ca-certificates",
               "bookworm", cache + ".tmp"] + ([mirror] if mirror else [])
        rc, out = run(cmd, timeout=1200)
        if rc != 0:
            raise RuntimeError("mmdebstrap failed: " + out[-2000:])
        os.rename(cache + ".tmp", cache)
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    rc, out = run(["tar", "-C", root, "-xf", cache])
    if rc != 0:
        raise RuntimeError("unpacking the root failed: " + out[-1000:])
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
    return root


class Chroot:
    def __init__(self, root):
        self.root = root
        self.mounts = []

    def __enter__(self):
        for what, where, args in (("proc", "proc", ["-t", "proc"]),
                                  ("/dev", "dev", ["--bind"])):
            target = os.path.join(self.root, where)
            subprocess.run(["mount"] + args + [what, target], check=True)
            self.mounts.append(target)
        return self

    def __exit__(self, *exc):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m])

    def sh(self, script, timeout=600):
        """Runs script in the root, in a UTS namespace of its own whose host name is
        HOSTNAME (what the package's postinst names its config after)."""
        cmd = ["unshare", "-u", "sh", "-c", 'hostname "$0" && exec chroot "$1" sh -c "$2"',
               HOSTNAME, self.root, script]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LANG": "C.UTF-8"}
        return run(cmd, timeout=timeout, env=env)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))


def exec_start(ch):
    with open(ch.path("/lib/systemd/system/myna.service")) as f:
        unit = f.read()
    m = re.search(r"^ExecStart=(.*)$", unit, re.M)
    user = re.search(r"^User=(.*)$", unit, re.M)
    return m.group(1).strip(), user.group(1).strip() if user else None, unit


def scenario(tmp, builddir):
    deb = build(tmp)
    if not deb:
        return
    root = rootfs(tmp, builddir)
    shutil.copy(deb, os.path.join(root, "tmp"))
    with Chroot(root) as ch:
        rc, out = ch.sh("apt-get update -q && apt-get install -y -q /tmp/%s"
                        % os.path.basename(deb), timeout=900)
        if not check("apt-get install ./myna_*.deb on a fresh Debian 12", rc == 0, out[-3000:]):
            return
        rc, pw = ch.sh("getent passwd myna")
        check("the system user myna exists, no login shell",
              rc == 0 and pw.strip().endswith(("/usr/sbin/nologin", "/bin/false")), pw)
        st = os.stat(ch.path("/var/lib/myna"))
        check("/var/lib/myna belongs to myna, mode 0750", oct(st.st_mode & 0o777) == "0o750",
              oct(st.st_mode))
        conf = open(ch.path("/etc/myna/myna.conf")).read()
        m = re.search(r'domain = "([^"]+)"', conf)
        dom = m.group(1) if m else None
        check("a config for the machine's host name", dom == HOSTNAME, dom)
        crt, key = ch.path("/etc/myna/certs/%s.crt" % dom), ch.path("/etc/myna/certs/%s.key" % dom)
        rc, text = run(["openssl", "x509", "-in", crt, "-noout", "-ext", "subjectAltName"])
        check("a self-signed certificate for the host and its sub-domains",
              rc == 0 and "DNS:%s" % dom in text and "DNS:*.%s" % dom in text, text)
        kst = os.stat(key)
        check("the key is private to root and group myna", kst.st_mode & 0o777 == 0o640, oct(
            kst.st_mode))
        check("the service is enabled (it starts where systemd runs)", os.path.islink(
            ch.path("/etc/systemd/system/multi-user.target.wants/myna.service")))
        cmd, user, unit = exec_start(ch)
        check("the unit runs mynad as myna, sandboxed", user == "myna" and
              "NoNewPrivileges=true" in unit and "ProtectSystem=strict" in unit and
              "StateDirectory=myna" in unit, unit)

        # Start it as systemd would, on a private port of this shared machine.
        port, = harness.free_ports(1)
        conf2 = re.sub(r"listen = \(.*?\n\);",
                       'listen = ( { type = "c2s"; address = "127.0.0.1"; port = %d; '
                       'tls = "starttls"; } );' % port, conf, flags=re.S)
        with open(ch.path("/etc/myna/myna.conf"), "w") as f:
            f.write(conf2)
        rc, out = ch.sh("mynactl adduser tester@%s 'Pkg-Test-Secret-1'" % dom)
        check("mynactl adduser in the installed system", rc == 0, out)
        log = open(os.path.join(tmp, "mynad.log"), "wb")
        proc = subprocess.Popen(["chroot", "--userspec=%s:%s" % (user, user), root, "sh", "-c",
                                 "umask 027; exec " + cmd], stdout=log, stderr=subprocess.STDOUT,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        try:
            ok = harness.wait_port(port, proc, 30)
            if not check("mynad starts from the unit's ExecStart as myna", ok,
                         open(os.path.join(tmp, "mynad.log")).read()):
                return
            e = {"ip": "127.0.0.1", "starttls_port": port, "direct_port": None, "domain": dom,
                 "cafile": crt}
            s = X.login(e, "tester", "Pkg-Test-Secret-1", mech="SCRAM-SHA-256")
            s.ping()
            s.close()
            check("a client logs in over TLS trusting the generated certificate", True)
            rc, out = ch.sh("mynactl check")
            check("mynactl check on the installed system", rc == 0, out)
            rc, out = ch.sh("mynactl export /tmp/x.xml && grep -c '<user ' /tmp/x.xml")
            check("mynactl export in the installed system", rc == 0 and out.strip().endswith("1"),
                  out)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        check("mynad exits 0 on SIGTERM", proc.returncode == 0,
              open(os.path.join(tmp, "mynad.log")).read()[-1500:])

        rc, out = ch.sh("apt-get purge -y -q myna", timeout=300)
        check("apt-get purge", rc == 0, out)
        gone = [p for p in ("/etc/myna", "/var/lib/myna",
                            "/etc/systemd/system/multi-user.target.wants/myna.service")
                if os.path.lexists(ch.path(p))]
        check("purge removed the config, the data and the service link", not gone, gone)
        rc, pw = ch.sh("getent passwd myna")
        check("purge removed the user", rc != 0, pw)


def main(argv):
    builddir = os.environ.get("E2E_BUILDDIR", os.getcwd())
    for a in argv:
        if a.startswith("--builddir="):
            builddir = a.split("=", 1)[1]
    if os.getuid() != 0:
        print("SKIP: needs root (chroot, mounts)")
        return 77
    missing = [p for p in ("dpkg-buildpackage", "dh", "lintian", "mmdebstrap") if not
               shutil.which(p)]
    if missing:
        print("SKIP: missing %s (apt-get install dpkg-dev debhelper lintian mmdebstrap)"
              % " ".join(missing))
        return 77
    tmp = tempfile.mkdtemp(prefix="myna-pkg-")
    rc = 0
    t0 = time.time()
    try:
        scenario(tmp, os.path.abspath(builddir))
    except Exception as e:  # harness or network problem: report with context
        import traceback
        traceback.print_exc()
        print("ERROR: %s: %s" % (type(e).__name__, e))
        rc = 99
    print("# package test took %.0f s" % (time.time() - t0))
    if failures and rc == 0:
        rc = 1
    if rc != 0 or os.environ.get("E2E_KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
