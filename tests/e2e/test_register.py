"""tests/e2e/test_register.py — in-band registration (XEP-0077, server/stream/register.c).

`register.sh` runs it with allow_registration = true, registration_allow = [ "127.0.0.0/29" ]
and one registration per address per 3 s (slixmpp and nbxmpp both come from 127.0.0.1); `register-off.sh` runs the "off" case on the
default config. Asserts what clients receive:
- off (the default): no <register/> stream feature, the form request gets
  service-unavailable, and a logged-in user can still change the password and remove the
  account (disco#info of the server lists jabber:iq:register);
- on: the feature only after TLS, the form (fields and a jabber:x:data form), registration
  with plain fields and with a submitted data form, the new account logs in, conflict for a
  taken name, not-acceptable for missing fields, jid-malformed for a bad name,
  resource-constraint for a second registration from the same address, not-allowed from
  an address outside registration_allow;
- real clients: slixmpp's xep_0077 (register, log in, change the password, other session
  ended with <reset/>, cancel the registration) and nbxmpp's Register module (data form,
  password change, unregister).
"""
import asyncio
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmpplib as X  # noqa: E402

E = X.env()
(A, PA), (B, PB) = E["users"][:2]
NS_REG = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_FEATURE = "http://jabber.org/features/iq-register"


def q(name, ns=NS_REG):
    return X.q(ns, name)


def preauth(source, tls=True):
    s = X.Stream(E["ip"], E["starttls_port"], E["domain"], E["cafile"], name="reg@" + source,
                 source=source)
    s.open()
    if tls:
        s.starttls()
    return s


def error_of(r):
    if r.get("type") != "error":
        raise X.Fail("expected an error, got %s" % X.show(r))
    return X.stanza_error_condition(r)


def register_plain(s, user, password):
    return s.iq("set", "<query xmlns='%s'><username>%s</username><password>%s</password>"
                "</query>" % (NS_REG, user, password))


def expect_login(user, password):
    X.login(E, user, password, resource="check").close()


def expect_refused(user, password):
    s = preauth("127.0.0.1")
    ok, _ = s.auth(user, password)
    s.close()
    if ok:
        raise X.Fail("%s still logs in with %s" % (user, password))


# ---- off ----

def off():
    s = preauth("127.0.0.1")
    if s.features.find(q("register", NS_FEATURE)) is not None:
        raise X.Fail("registration feature offered while off")
    if error_of(s.iq("get", "<query xmlns='%s'/>" % NS_REG)) != "service-unavailable":
        raise X.Fail("form request while off")
    s.close()
    # Always available once logged in: disco feature, password change, removal.
    a = X.login(E, A, PA, resource="off")
    info = a.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", E["domain"])
    vars_ = [f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")]
    if NS_REG not in vars_:
        raise X.Fail("jabber:iq:register not in the server's disco#info: %r" % vars_)
    r = a.iq("get", "<query xmlns='%s'/>" % NS_REG)
    if r.find("%s/%s" % (q("query"), q("registered"))) is None:
        raise X.Fail("logged-in get: %s" % X.show(r))
    r = register_plain(a, A, "changed-pw")
    if r.get("type") != "result":
        raise X.Fail("password change: %s" % X.show(r))
    expect_login(A, "changed-pw")
    expect_refused(A, PA)
    r = a.iq("set", "<query xmlns='%s'><remove/></query>" % NS_REG)
    if r.get("type") != "result":
        raise X.Fail("removal: %s" % X.show(r))
    a.expect_stream_error("not-authorized")
    expect_refused(A, "changed-pw")


# ---- on ----

def form_and_plain_registration():
    s = preauth("127.0.0.4", tls=False)
    if s.features.find(q("register", NS_FEATURE)) is not None:
        raise X.Fail("registration offered before TLS")
    s.starttls()
    if s.features.find(q("register", NS_FEATURE)) is None:
        raise X.Fail("no registration feature after TLS: %s" % X.show(s.features))
    r = s.iq("get", "<query xmlns='%s'/>" % NS_REG)
    qr = r.find(q("query"))
    if r.get("type") != "result" or qr.find(q("username")) is None or \
            qr.find(q("password")) is None:
        raise X.Fail("form: %s" % X.show(r))
    x = qr.find(X.q(NS_DATA, "x"))
    vars_ = [f.get("var") for f in x.findall(X.q(NS_DATA, "field"))] if x is not None else []
    if vars_ != ["FORM_TYPE", "username", "password"]:
        raise X.Fail("data form fields: %r" % vars_)
    if error_of(s.iq("set", "<query xmlns='%s'><username>x</username></query>" % NS_REG)) \
            != "not-acceptable":
        raise X.Fail("missing password")
    if error_of(register_plain(s, "bad@name", "pw")) != "jid-malformed":
        raise X.Fail("bad username")
    if error_of(register_plain(s, B, "pw")) != "conflict":
        raise X.Fail("taken username")
    r = register_plain(s, "newbie", "newbie-pw")
    if r.get("type") != "result":
        raise X.Fail("registration: %s" % X.show(r))
    # The same stream goes on to authenticate as the new account (XEP-0077 §3.1).
    ok, el = s.auth("newbie", "newbie-pw")
    if not ok:
        raise X.Fail("login on the registering stream: %s" % X.show(el))
    s.bind("first")
    s.ping()
    s.close()
    # One registration per address per interval.
    s = preauth("127.0.0.4")
    if error_of(register_plain(s, "second", "pw")) != "resource-constraint":
        raise X.Fail("second registration from one address")
    s.close()


def data_form_registration():
    s = preauth("127.0.0.3")
    form = ("<x xmlns='%s' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
            "<field var='username'><value>formuser</value></field>"
            "<field var='password'><value>form-pw</value></field></x>" % (NS_DATA, NS_REG))
    r = s.iq("set", "<query xmlns='%s'>%s</query>" % (NS_REG, form))
    if r.get("type") != "result":
        raise X.Fail("data-form registration: %s" % X.show(r))
    s.close()
    expect_login("formuser", "form-pw")


def outside_allow_list():
    s = preauth("127.0.0.9")
    if s.features.find(q("register", NS_FEATURE)) is not None:
        raise X.Fail("registration offered outside registration_allow")
    if error_of(register_plain(s, "outsider", "pw")) != "not-allowed":
        raise X.Fail("registration outside registration_allow")
    s.close()


def slixmpp_register():
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import slixmpp
    from slixmpp.exceptions import IqError

    jid = "slixuser@%s" % E["domain"]

    class Client(slixmpp.ClientXMPP):
        def __init__(self, password, register=False):
            super().__init__(jid + "/slix", password)
            self.ssl_context = ssl.create_default_context(cafile=E["cafile"])
            self.register_plugin("xep_0077")
            self.register_plugin("xep_0030")
            self.register_plugin("xep_0004")
            self.register_plugin("xep_0066")
            self["xep_0077"].force_registration = register
            # Debian 12's slixmpp (1.8.3) holds every stanza until the session starts, which
            # would hold xep_0077's own pre-login <iq/>s forever ("NOT SENT" in its log);
            # its stream object lets them through with this switch.
            self._always_send_everything = register
            self.started = asyncio.Event()
            self.failed = asyncio.Event()
            self.registered = False
            self.add_event_handler("session_start", lambda _e: self.started.set())
            self.add_event_handler("failed_all_auth", lambda _e: self.failed.set())
            if register:
                self.add_event_handler("register", self.on_register)

        async def on_register(self, _form):
            iq = self.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = self.boundjid.user
            iq["register"]["password"] = self.password
            await iq.send()
            self.registered = True

    async def connect(c):
        c.connect(address=(E["ip"], E["starttls_port"]), force_starttls=True)
        await asyncio.wait([asyncio.ensure_future(c.started.wait()),
                            asyncio.ensure_future(c.failed.wait())],
                           timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not c.started.is_set():
            raise X.Fail("slixmpp could not log in")

    async def main():
        c = Client("slix-pw", register=True)
        await connect(c)
        if not c.registered:
            raise X.Fail("slixmpp did not register")
        other = X.login(E, "slixuser", "slix-pw", resource="other")
        await c["xep_0077"].change_password("slix-new")
        other.expect_stream_error("reset")  # sessions with the old password end
        expect_login("slixuser", "slix-new")
        await c["xep_0077"].cancel_registration()
        await asyncio.sleep(0.5)
        c.disconnect()
        expect_refused("slixuser", "slix-new")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main())


def nbxmpp_register():
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import GLib
    from nbxmpp.client import Client
    from nbxmpp.const import ConnectionProtocol, ConnectionType, Mode
    import nbxtrust

    untrust = nbxtrust.trust_only(E["cafile"])
    loop = GLib.MainLoop()
    out = {"error": None, "done": False}

    def client(user, password, mode):
        c = Client()
        c.set_domain(E["domain"])
        c.set_username(user)
        c.set_password(password)
        c.set_resource("nb")
        c.set_mode(mode)
        c.set_custom_host("%s:%d" % (E["ip"], E["starttls_port"]), ConnectionProtocol.TCP,
                          ConnectionType.START_TLS)
        c.subscribe("connection-failed",
                    lambda cl, _s: finish("connection failed: %s" % (cl.get_error(),)))
        return c

    def finish(error=None):
        out["error"] = out["error"] or error
        out["done"] = True
        loop.quit()

    def on_form(task):
        try:
            data = task.finish()
        except Exception as ex:  # noqa: BLE001
            finish("form: %r" % ex)
            return
        form = data.form
        if form is None:
            finish("no data form in the answer")
            return
        form["username"].value = "nbuser"
        form["password"].value = "nb-pw"
        form.type_ = "submit"
        reg.get_module("Register").submit_register_form(form, callback=on_submitted)

    def on_submitted(task):
        try:
            task.finish()
        except Exception as ex:  # noqa: BLE001
            finish("submit: %r" % ex)
            return
        reg.disconnect()
        user = client("nbuser", "nb-pw", Mode.CLIENT)
        out["user"] = user
        user.subscribe("connected", lambda cl, _s: cl.get_module("Register").change_password(
            "nb-new", callback=on_changed))
        user.connect()

    def on_changed(task):
        try:
            task.finish()
        except Exception as ex:  # noqa: BLE001
            finish("change_password: %r" % ex)
            return
        out["user"].get_module("Register").unregister(callback=on_unregistered)

    def on_unregistered(task):
        try:
            task.finish()
        except Exception as ex:  # noqa: BLE001
            finish("unregister: %r" % ex)
            return
        finish()

    import time
    time.sleep(3.5)  # slixmpp registered from 127.0.0.1 too: let the interval pass
    reg = client("", "", Mode.REGISTER)
    reg.subscribe("connected",
                  lambda cl, _s: cl.get_module("Register").request_register_form(
                      callback=on_form))
    reg.connect()
    GLib.timeout_add_seconds(40, lambda: finish("timeout") or False)
    loop.run()
    untrust()
    if out["error"]:
        raise X.Fail("nbxmpp: " + out["error"])
    expect_refused("nbuser", "nb-new")


if __name__ == "__main__":
    if sys.argv[1:] == ["off"]:
        sys.exit(X.run([("registration off: refused; change and removal still work", off)]))
    sys.exit(X.run([
        ("feature after TLS, form, errors, plain registration, throttle",
         form_and_plain_registration),
        ("registration with a submitted data form", data_form_registration),
        ("not-allowed outside registration_allow", outside_allow_list),
        ("slixmpp xep_0077: register, change password, cancel", slixmpp_register),
        ("nbxmpp Register: data form, change password, unregister", nbxmpp_register),
    ]))
