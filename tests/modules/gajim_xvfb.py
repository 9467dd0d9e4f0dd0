"""tests/modules/gajim_xvfb.py — real Gajim (Debian's package) against a fresh mynad under
Xvfb, by hand (not part of `make check`: it needs the gajim and xvfb packages and a
non-root user, since Gajim refuses to run as root). Run it from the build directory:

    useradd -m gajimtest   # once
    MODTEST_MODULES="private pubsub carbons offline" /usr/bin/python3 \\
        ../tests/modules/modharness.py --builddir=$PWD ../tests/modules/gajim_xvfb.py OUT.png

It writes a Gajim profile for u71 (custom host, the server's certificate in Gajim's own
certificate store, no keyring), starts Xvfb and Gajim in a private D-Bus session, waits
until Gajim has logged in and discovered the server, opens Gajim's Server Info window
(the list of features Gajim checks: PEP, publish-options, XEP-0398, XEP-0411, XEP-0402
compat; with xdotool installed its Features tab is selected and scrolled), takes
screenshots into OUT.png and OUT-end.png and checks Gajim's own log for what it
discovered. Look at the screenshot: every feature but MUC, In-Band Registration, security
labels, MAM and HTTP upload should read "Available"."""
import os
import pwd
import shutil
import subprocess
import sys
import time

E = os.environ
USER = "gajimtest"
DOMAIN, IP, PORT = E["E2E_DOMAIN"], E["E2E_IP"], E["E2E_STARTTLS_PORT"]
ACCOUNT_USER, PW = "u71", dict(u.split(":", 1) for u in E["E2E_USERS"].split())["u71"]

SETTINGS = r'''
import sys
from gajim.common import configpaths
configpaths.set_config_root(sys.argv[1])
configpaths.init()
from gajim.common.settings import Settings
s = Settings()
s.init()
s.set('use_keyring', False)
s.set('show_main_window_on_startup', 'always')
s.add_account('myna')
for k, v in {'name': %(user)r, 'hostname': %(domain)r, 'resource': 'gajim',
             'password': %(pw)r, 'savepass': True, 'active': True, 'autoconnect': True,
             'use_custom_host': True, 'custom_host': %(ip)r, 'custom_port': %(port)d,
             'custom_type': 'START TLS'}.items():
    s.set_account_setting('myna', k, v)
s._commit()
'''

SESSION = r'''
set -e
gajim -c "$1" -l gajim=INFO > "$1/gajim.log" 2>&1 &
pid=$!
for i in $(seq 1 60); do
    grep -q "Discovered PEP support" "$1/gajim.log" 2>/dev/null && break
    sleep 1
done
sleep 3
gapplication action org.gajim.Gajim myna-server-info "'myna'" || true
sleep 4
import -window root "$1/screen-server.png"
# The Features tab of the Server Info window.
if command -v xdotool >/dev/null; then
    # No window manager under Xvfb: click the tab, 326,18 from the window's corner.
    win=$(xdotool search --sync --name "Server Info" | head -1)
    eval "$(xdotool getwindowgeometry --shell "$win")"
    xdotool mousemove $((X + 326)) $((Y + 18)) click 1 || true
    sleep 2
fi
import -window root "$1/screen.png"
if command -v xdotool >/dev/null; then
    xdotool mousemove $((X + 250)) $((Y + 400)) click --repeat 15 5 || true
    sleep 1
fi
import -window root "$1/screen-end.png"
kill $pid; wait $pid || true
'''


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "gajim-server-info.png"
    if not shutil.which("gajim") or not shutil.which("Xvfb"):
        print("SKIP: gajim or Xvfb not installed")
        return 77
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        print("SKIP: no user %s (Gajim does not run as root)" % USER)
        return 77
    cfg = os.path.join(E["E2E_TMPDIR"], "gajim")
    os.makedirs(os.path.join(cfg, "cert_store"))
    shutil.copy(os.path.join(E["E2E_CERTDIR"], DOMAIN + ".crt"),
                os.path.join(cfg, "cert_store", "myna"))
    os.chmod(E["E2E_TMPDIR"], 0o755)
    for root, dirs, files in os.walk(cfg):
        for n in [root] + [os.path.join(root, f) for f in dirs + files]:
            os.chown(n, pw.pw_uid, pw.pw_gid)
    as_user = ["runuser", "-u", USER, "--"]
    script = SETTINGS % {"user": ACCOUNT_USER, "domain": DOMAIN, "pw": PW, "ip": IP,
                         "port": int(PORT)}
    subprocess.run(as_user + ["/usr/bin/python3", "-c", script, cfg], check=True)
    xvfb = subprocess.Popen(["Xvfb", ":77", "-screen", "0", "1280x900x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        env = dict(os.environ, DISPLAY=":77", HOME=pw.pw_dir)
        subprocess.run(as_user + ["env", "DISPLAY=:77", "HOME=" + pw.pw_dir,
                                  "dbus-run-session", "--", "sh", "-c", SESSION, "sh", cfg],
                       env=env, timeout=120)
    finally:
        xvfb.terminate()
        xvfb.wait()
    shutil.copy(os.path.join(cfg, "screen.png"), out)
    end = os.path.join(cfg, "screen-end.png")
    if os.path.exists(end):
        shutil.copy(end, out.replace(".png", "-end.png"))
    with open(os.path.join(cfg, "gajim.log"), errors="replace") as f:
        log = f.read()
    for line in log.splitlines():
        if "Discovered" in line or "support" in line.lower():
            print("# " + line)
    ok = all(s in log for s in ("Discovered PEP support", "Discovered Pubsub publish options"))
    print(("PASS" if ok else "FAIL") + ": Gajim discovered PEP and publish-options; "
          "screenshot in %s" % out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
