#!/usr/bin/python3
"""tests/web/webharness.py — runs one web test (WebSocket, BOSH, HTTP) through
tests/e2e/harness.py: Myna gets an HTTP listener without TLS on a free port (exported as
E2E_HTTP_PORT), one with TLS (E2E_HTTPS_PORT), one serving only /metrics and /health (E2E_METRICS_PORT), and
the modules a web client uses (roster, blocking, carbons, muc, offline, private).
Tests written for node (*.mjs) run with node; the npm packages they need are installed by
tests/web/npm-setup.sh into the build directory first (NODE_MODULES points there).
Its `http` group allows any CORS origin (the test pages come from another port), lets
WebSocket connections come from pages served at http://127.0.0.1:E2E_PAGE_PORT, plus
WEBTEST_HTTP_CONF (e.g. `bosh_inactivity = 3;`, "{port}" replaced by the listener's
port); WEBTEST_MYNA_CONF is appended to the config; WEBTEST_MODULES are enabled too.
Usage: webharness.py [--builddir=DIR] TEST   (exit codes as the harness: 0/77/99/1)
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402

_myna_config = harness.Myna.write_config
_myna_env = harness.Myna.component_env
HTTP_PORT, METRICS_PORT, HTTPS_PORT, PAGE_PORT = harness.free_ports(4)


def myna_config(self):
    _myna_config(self)
    with open(self.conf) as f:
        text = f.read()
    text = text.replace('"time" ]', '"time", "roster", "blocking", "carbons", "muc", '
                        '"offline", "private"%s ]' % "".join(
                            ', "%s"' % m for m in os.environ.get("WEBTEST_MODULES", "").split()))
    text = text.replace("listen = (\n", 'listen = (\n    { type = "http"; address = "%s"; '
                        'port = %d; tls = "none"; insecure = true; },\n' % (harness.IP, HTTP_PORT))
    # The same over TLS from the first byte (wss://, https://; E2E_HTTPS_PORT).
    text = text.replace("listen = (\n", 'listen = (\n    { type = "http"; address = "%s"; '
                        'port = %d; tls = "direct"; },\n' % (harness.IP, HTTPS_PORT))
    # /metrics and /health on a listener of their own (E2E_METRICS_PORT).
    text = text.replace("listen = (\n", 'listen = (\n    { type = "http"; address = "%s"; '
                        'port = %d; tls = "none"; web = false; metrics = true; },\n'
                        % (harness.IP, METRICS_PORT))
    http_conf = os.environ.get("WEBTEST_HTTP_CONF", "").replace("{port}", str(HTTP_PORT))
    # WebSocket from browsers: the test pages' origin (E2E_PAGE_PORT) besides Myna's own.
    text += ("http = { cors_origin = \"*\"; websocket_origins = [ \"http://%s:%d\" ]; %s };\n"
             % (harness.IP, PAGE_PORT, http_conf))
    text += os.environ.get("WEBTEST_MYNA_CONF", "")
    with open(self.conf, "w") as f:
        f.write(text)


def myna_env(self):
    return dict(_myna_env(self), E2E_HTTP_PORT=str(HTTP_PORT), E2E_METRICS_PORT=str(METRICS_PORT),
                E2E_HTTPS_PORT=str(HTTPS_PORT), E2E_PAGE_PORT=str(PAGE_PORT))


_test_command = harness.test_command


def test_command(test, args, opts):
    if test.endswith(".mjs"):
        return ["node", test] + args
    return _test_command(test, args, opts)


harness.Myna.write_config = myna_config
harness.Myna.component_env = myna_env
harness.test_command = test_command


def main(argv):
    builddir = os.getcwd()
    for a in argv:
        if a.startswith("--builddir="):
            builddir = a.split("=", 1)[1]
    test = [a for a in argv if not a.startswith("--")][0]
    if test.endswith(".mjs"):
        modules = os.path.join(builddir, "tests", "web", "node_modules")
        r = subprocess.run(["sh", os.path.join(HERE, "npm-setup.sh"),
                            os.path.join(builddir, "tests", "web")])
        # WEBTEST_NODE_MODULES: a node_modules prepared by hand (other package versions).
        modules = os.environ.get("WEBTEST_NODE_MODULES", modules)
        if r.returncode != 0 and "WEBTEST_NODE_MODULES" not in os.environ:
            print("SKIP: the npm packages of the web tests could not be installed")
            return 77
        os.environ["NODE_MODULES"] = modules
        # tests/web/converse.mjs drives a Pidgin user with tests/e2e/purple_smoke.
        os.environ["PURPLE_SMOKE"] = os.path.join(builddir, "tests", "e2e", "purple_smoke")
        os.environ["WEB_ARTIFACTS"] = os.path.join(builddir, "tests", "web", "artifacts")
        os.makedirs(os.environ["WEB_ARTIFACTS"], exist_ok=True)
    return harness.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
