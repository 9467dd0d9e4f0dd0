// tests/web/converse.mjs [websocket|bosh] — Converse.js (npm, served by this script: no
// CDN) in Debian's headless Chromium, driven by playwright-core: alice logs in over
// WebSocket (RFC 7395) or BOSH (XEP-0206), a second client (bob, xmpp.js over WebSocket)
// sends her a message that must show in her chat, she answers from the chat box and bob
// must receive it; she joins a room (XEP-0045), bob joins it too and must see her
// occupant presence, his groupchat message must show on her page. Then carol logs in with
// Pidgin's libpurple (tests/e2e/purple_smoke in its PURPLE_PEER mode, $PURPLE_SMOKE) and
// writes to alice: the message must show in her chat with carol, her answer from the chat
// box must reach Pidgin (the program asserts body and sender and exits 0). A screenshot is
// kept in $WEB_ARTIFACTS. Skips (77) only when Chromium cannot start at all.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";

const env = process.env;
const mode = process.argv[2] || "websocket";
const nm = env.NODE_MODULES;
const load = (p) => import(pathToFileURL(path.join(nm, p)).href);
// Debian 12's node (18) has no WebSocket of its own (the ws package stands in) and no
// global web crypto (xmpp.js and its SCRAM use it).
if (!globalThis.crypto) globalThis.crypto = (await import("node:crypto")).webcrypto;
if (!globalThis.WebSocket) globalThis.WebSocket = (await load("ws/wrapper.mjs")).default;
const { client, xml } = await load("@xmpp/client/index.js");
const { chromium } = (await load("playwright-core/index.js")).default
    ? (await load("playwright-core/index.js")).default : await load("playwright-core/index.js");

const domain = env.E2E_DOMAIN;
const users = env.E2E_USERS.split(" ").map((u) => u.split(":"));
const base = `http://${env.E2E_IP}:${env.E2E_HTTP_PORT}`;
const room = `lobby@conference.${domain}`;
const shot = path.join(env.WEB_ARTIFACTS || ".", `converse-${mode}.png`);
let browser, server, bob;

async function fail(msg) {
    console.log("FAIL: " + msg);
    if (browser) {
        try {
            const page = browser.contexts()[0]?.pages()[0];
            if (page) await page.screenshot({ path: shot });
            console.log("# screenshot: " + shot);
        } catch (e) { /* the failure above is what counts */ }
    }
    process.exit(1);
}
setTimeout(() => fail("timed out"), 150000).unref();

// The page: Converse from node_modules, connecting straight to Myna's endpoint.
const dist = path.join(nm, "converse.js", "dist");
const settings = {
    [mode === "bosh" ? "bosh_service_url" : "websocket_url"]:
        mode === "bosh" ? `${base}/http-bind` : `ws://${env.E2E_IP}:${env.E2E_HTTP_PORT}/xmpp-websocket`,
    discover_connection_methods: false,
    assets_path: "/dist/",
    auto_login: true,
    jid: `${users[0][0]}@${domain}`,
    password: users[0][1],
    view_mode: "fullscreen",
    auto_join_rooms: [{ jid: room, nick: "alice" }],
    allow_non_roster_messaging: true,
    play_sounds: false,
    show_desktop_notifications: false,
    loglevel: "info",
};
const page_html = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/dist/converse.min.css">
<script type="module" src="/dist/converse.min.js"></script></head>
<body class="converse-fullscreen"><script type="module">
converse.initialize(${JSON.stringify(settings)});
</script></body></html>`;
const types = { ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
                ".wasm": "application/wasm", ".svg": "image/svg+xml", ".png": "image/png",
                ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf" };
server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/") {
        res.writeHead(200, { "Content-Type": "text/html" });
        return res.end(page_html);
    }
    const file = path.join(dist, path.normalize(url.pathname.replace(/^\/dist\//, "/")));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404);
        return res.end();
    }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
});
// On the port Myna lists in http.websocket_origins (tests/web/webharness.py).
await new Promise((r) => server.listen(Number(env.E2E_PAGE_PORT), env.E2E_IP, r));
const pageUrl = `http://${env.E2E_IP}:${server.address().port}/`;

try {
    browser = await chromium.launch({
        executablePath: env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
} catch (e) {
    console.log("SKIP: Chromium cannot start: " + String(e.message || e).split("\n")[0]);
    process.exit(77);
}
const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
page.on("pageerror", (e) => console.log("# page error: " + e.message));
await page.goto(pageUrl);

// Bob, the second client.
bob = client({ service: `ws://${env.E2E_IP}:${env.E2E_HTTP_PORT}/xmpp-websocket`, domain,
               username: users[1][0], password: users[1][1], resource: "xmppjs" });
bob.on("error", (e) => fail("bob: " + (e.message || e)));
const stanzas = [];
const waiters = [];
bob.on("stanza", (st) => {
    stanzas.push(st);
    for (const w of waiters.splice(0)) w();
});
async function bobGets(pred, what) {
    const end = Date.now() + 40000;
    for (;;) {
        const st = stanzas.find(pred);
        if (st) return st;
        if (Date.now() > end) await fail("bob never got " + what);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 500); });
    }
}
const bobJid = (await bob.start()).toString();
await bob.send(xml("presence"));

// Alice is online once her room shows her as an occupant (she joined it on login).
await page.locator(".occupant-list .occupant").getByText("alice").first()
    .waitFor({ timeout: 40000 })
    .catch(() => fail("Converse did not log in and open the room"));

await bob.send(xml("message", { to: `alice@${domain}`, type: "chat", id: "c1" },
                   xml("body", {}, "hello alice from bob")));
// Her page shows the room; the new chat (one unread message) is a click away in her list.
const entry = page.locator("converse-controlbox").getByText(`bob@${domain}`).first();
await entry.waitFor({ timeout: 30000 }).catch(() => fail("no chat with bob in Converse"));
await entry.click();
await page.getByText("hello alice from bob").first().waitFor({ timeout: 30000 })
    .catch(() => fail("bob's message did not show in Converse"));

const textarea = page.locator("converse-chats .chatbox:not(.hidden) .chat-textarea").first();
await textarea.fill("hello bob from converse");
await textarea.press("Enter");
const answer = await bobGets((st) => st.is("message") &&
    st.getChildText("body") === "hello bob from converse", "alice's answer");
if (!answer.attrs.from.startsWith(`alice@${domain}/`)) await fail("from " + answer.attrs.from);

await bob.send(xml("presence", { to: `${room}/bob` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
await bobGets((st) => st.is("presence") && st.attrs.from === `${room}/alice`,
              "alice's occupant presence in the room");
await bobGets((st) => st.is("presence") && st.attrs.from === `${room}/bob`, "his own join");
await bob.send(xml("message", { to: room, type: "groupchat", id: "g1" },
                   xml("body", {}, "bob says hi to the room")));
await page.locator("converse-controlbox").getByText("lobby").first().click();
await page.getByText("bob says hi to the room").first().waitFor({ timeout: 30000 })
    .catch(() => fail("bob's room message did not show in Converse"));

// Carol on Pidgin: libpurple over TCP (STARTTLS) and Converse over the web transport.
const purple = env.PURPLE_SMOKE;
if (!purple || !fs.existsSync(purple)) await fail("no libpurple test program at " + purple);
const pidgin = spawn(purple, [], { env: { ...env, PURPLE_PEER: `alice@${domain}`, PURPLE_USER: "2" },
                                  stdio: ["ignore", "pipe", "inherit"] });
let pidginOut = "";
pidgin.stdout.on("data", (d) => { pidginOut += d; process.stdout.write(d); });
const pidginExit = new Promise((r) => pidgin.on("exit", (code) => r(code)));
const carol = page.locator("converse-controlbox").getByText(`${users[2][0]}@${domain}`).first();
await carol.waitFor({ timeout: 60000 }).catch(() => fail("no chat with the Pidgin user in Converse"));
await carol.click();
await page.getByText("hello from pidgin").first().waitFor({ timeout: 30000 })
    .catch(() => fail("Pidgin's message did not show in Converse"));
const box = page.locator("converse-chats .chatbox:not(.hidden) .chat-textarea").first();
await box.fill("hi pidgin");
await box.press("Enter");
const code = await Promise.race([pidginExit, new Promise((r) => setTimeout(() => r("timeout"), 60000))]);
if (code !== 0 || !pidginOut.includes(`PASS: alice@${domain} -> libpurple`)) {
    pidgin.kill();
    await fail(`Pidgin did not get alice's answer (exit ${code})`);
}

await page.screenshot({ path: shot });
console.log("# screenshot: " + shot);
await bob.stop();
await browser.close();
server.close();
console.log(`PASS: Converse.js over ${mode}: login, chat both ways with ${bobJid}, room, ` +
            "chat both ways with a Pidgin (libpurple) user");
process.exit(0);
