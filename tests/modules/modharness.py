#!/usr/bin/python3
"""tests/modules/modharness.py — runs one module test through tests/e2e/harness.py with the
feature modules under test enabled (Myna: roster, blocking; Prosody: blocklist) and extra
accounts u00..u71 so that table-driven cases each get a fresh pair of users.
MODTEST_MYNA_CONF, when set, is appended to Myna's config (e.g. a module section such as
`roster = { max_items = 3; };` for a limit test). MODTEST_STANZA_LIMIT replaces the
harness's c2s_stanza_size (16384) for tests that need big stanzas. MODTEST_HOST_CONF is
added to the test host's group (e.g. `sm_location = "...";`), MODTEST_STARTTLS_CONF to the
STARTTLS c2s listener's.
Usage: modharness.py [--builddir=DIR] TEST.py   (exit codes as the harness: 0/77/99/1)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402

EXTRA_USERS = int(os.environ.get("MODTEST_USERS", "72"))
harness.STANZA_LIMIT = int(os.environ.get("MODTEST_STANZA_LIMIT", harness.STANZA_LIMIT))
harness.USERS = harness.USERS + [("u%02d" % i, "u%02d-Secret-x" % i)
                                 for i in range(EXTRA_USERS)]

_myna_config = harness.Myna.write_config
_prosody_config = harness.Prosody.write_config


def myna_config(self):
    _myna_config(self)
    with open(self.conf) as f:
        text = f.read()
    extra = "".join(', "%s"' % m for m in os.environ.get("MODTEST_MODULES", "").split())
    text = text.replace('"time" ]', '"time", "roster", "blocking"%s ]' % extra)
    text += os.environ.get("MODTEST_MYNA_CONF", "")
    host = os.environ.get("MODTEST_HOST_CONF")
    if host:
        text = text.replace('.key"; }', '.key"; %s }' % host, 1)
    starttls = os.environ.get("MODTEST_STARTTLS_CONF")
    if starttls:
        text = text.replace('tls = "starttls"; }', 'tls = "starttls"; %s }' % starttls, 1)
    with open(self.conf, "w") as f:
        f.write(text)


def prosody_config(self):
    _prosody_config(self)
    with open(self.conf) as f:
        text = f.read()
    text = text.replace('"roster";', '"roster"; "blocklist";')
    with open(self.conf, "w") as f:
        f.write(text)


harness.Myna.write_config = myna_config
harness.Prosody.write_config = prosody_config

if __name__ == "__main__":
    sys.exit(harness.main(sys.argv[1:]))
