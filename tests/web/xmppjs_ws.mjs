// tests/web/xmppjs_ws.mjs — xmpp.js (@xmpp/client, a browser and node client library) over
// WebSocket (RFC 7395): two clients log in with SCRAM on ws://.../xmpp-websocket, bind,
// and exchange a message both ways; each asserts what it received (body, from, to).
// Run by tests/web/webharness.py (E2E_* and NODE_MODULES in the environment).
import path from "node:path";
import { pathToFileURL } from "node:url";

const env = process.env;
// Debian 12's node (18) has no WebSocket of its own (the ws package stands in) and no
// global web crypto (xmpp.js and its SCRAM use it).
if (!globalThis.crypto) globalThis.crypto = (await import("node:crypto")).webcrypto;
if (!globalThis.WebSocket)
    globalThis.WebSocket = (await import(
        pathToFileURL(path.join(env.NODE_MODULES, "ws/wrapper.mjs")).href)).default;
const { client, xml } = await import(
    pathToFileURL(path.join(env.NODE_MODULES, "@xmpp/client/index.js")).href);
const url = `ws://${env.E2E_IP}:${env.E2E_HTTP_PORT}/xmpp-websocket`;
const users = env.E2E_USERS.split(" ").map((u) => u.split(":"));

function fail(msg) {
    console.log("FAIL: " + msg);
    process.exit(1);
}
setTimeout(() => fail("timed out"), 30000).unref();

function connect([username, password]) {
    const c = client({ service: url, domain: env.E2E_DOMAIN, username, password,
                       resource: "xmppjs" });
    c.on("error", (e) => fail(`${username}: ${e.message || e}`));
    return c;
}

function nextMessage(c) {
    return new Promise((resolve) => {
        const on = (st) => {
            if (st.is("message") && st.getChildText("body") !== null) {
                c.removeListener("stanza", on);
                resolve(st);
            }
        };
        c.on("stanza", on);
    });
}

const alice = connect(users[0]);
const bob = connect(users[1]);
const [aliceJid, bobJid] = await Promise.all([alice.start(), bob.start()]);
console.log(`bound ${aliceJid} and ${bobJid}`);
if (aliceJid.toString() !== `alice@${env.E2E_DOMAIN}/xmppjs`)
    fail(`alice bound ${aliceJid}`);
await alice.send(xml("presence"));
await bob.send(xml("presence"));

const toBob = nextMessage(bob);
await alice.send(xml("message", { to: bobJid.toString(), type: "chat", id: "m1" },
                     xml("body", {}, "hello bob over websocket")));
const m1 = await toBob;
if (m1.getChildText("body") !== "hello bob over websocket") fail("bob got " + m1);
if (m1.attrs.from !== aliceJid.toString()) fail("from is " + m1.attrs.from);

const toAlice = nextMessage(alice);
await bob.send(xml("message", { to: `alice@${env.E2E_DOMAIN}`, type: "chat", id: "m2" },
                   xml("body", {}, "hi alice <&> ünïcode")));
const m2 = await toAlice;
if (m2.getChildText("body") !== "hi alice <&> ünïcode") fail("alice got " + m2);
if (m2.attrs.from !== bobJid.toString()) fail("from is " + m2.attrs.from);

// A ping (XEP-0199) answered over the same stream: an iq round trip.
const pong = await alice.iqCaller.request(
    xml("iq", { type: "get", to: env.E2E_DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })));
if (pong.attrs.type !== "result") fail("ping: " + pong);

await Promise.all([alice.stop(), bob.stop()]);
console.log("PASS: xmpp.js over WebSocket: login, messages both ways, ping");
process.exit(0);
