"""tests/modules/complib.py — a raw XEP-0114 component for module tests (the harness
configures one component domain, E2E_COMPONENT_DOMAIN, with E2E_COMPONENT_SECRET on
E2E_COMPONENT_PORT): the handshake, stanzas out, and everything received kept in order, as
xmpplib.Stream does for clients. Stanzas come in the jabber:component:accept namespace."""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import xmpplib as X  # noqa: E402

NS_COMPONENT = "jabber:component:accept"
E = os.environ


class Component(X.Stream):
    def __init__(self, name="component"):
        self.domain_name = E["E2E_COMPONENT_DOMAIN"]
        super().__init__(E["E2E_IP"], int(E["E2E_COMPONENT_PORT"]), self.domain_name,
                         E["E2E_CAFILE"], name=name)
        self.open(to=self.domain_name, ns=NS_COMPONENT, read_features=False)
        deadline = time.time() + X.TIMEOUT
        while self.header is None:
            self._read_more(deadline)
        digest = hashlib.sha1((self.header.get("id") + E["E2E_COMPONENT_SECRET"])
                              .encode()).hexdigest()
        self.send("<handshake>%s</handshake>" % digest)
        el = self.next()
        if el.tag != X.q(NS_COMPONENT, "handshake"):
            raise X.Fail("component handshake refused: %s" % X.show(el))

    def iq(self, type_, payload="", to=None, frm=None, timeout=X.TIMEOUT):
        iid = self.next_id()
        self.send("<iq type='%s' id='%s' from='%s' to='%s'>%s</iq>"
                  % (type_, iid, frm or self.domain_name, to, payload))
        return self.wait_for(lambda e: e.tag == X.q(NS_COMPONENT, "iq") and
                             e.get("id") == iid and e.get("type") in ("result", "error"),
                             timeout, "iq reply " + iid)

    def barrier(self, server_domain):
        """A ping to the server: everything the server wrote to this component before it
        answered has been read once this returns."""
        r = self.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=server_domain)
        if r.get("type") != "result":
            raise X.Fail("component ping failed: %s" % X.show(r))
