"""tests/e2e/nbxtrust.py — makes python3-nbxmpp (Gajim's library) trust exactly the test CA.

nbxmpp has no CA-file option (Gajim pins certificates instead), so every TLS client
connection GLib makes in this process gets a file database holding only that anchor: a
certificate not issued by the test CA, or for another name, fails the handshake. Used by
the nbxmpp tests in tests/e2e, tests/modules, tests/web and tests/migrate."""
import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio  # noqa: E402


def trust_only(cafile):
    """From now on, GLib TLS client connections verify against `cafile` alone; returns a
    function that undoes it."""
    db = Gio.TlsFileDatabase.new(cafile)
    orig_new = Gio.TlsClientConnection.new

    def new_with_test_ca(base, identity):
        conn = orig_new(base, identity)
        conn.set_database(db)
        return conn

    Gio.TlsClientConnection.new = new_with_test_ca

    def restore():
        Gio.TlsClientConnection.new = orig_new

    return restore
