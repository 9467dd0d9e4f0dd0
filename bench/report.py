#!/usr/bin/python3
"""bench/report.py: folds one bench/run.sh run (a folder of SERVER.STEM.json files written by
myna-bench) into latest.json and a markdown table with Myna/Prosody and Myna/ejabberd ratios.
A scenario a server could not run is shown as "not supported" (myna-bench said so, or the
server lacks the feature) or "failed" (anything else), never as a number.
"""
import argparse
import glob
import json
import os
import platform
import time

SERVERS = ["myna", "prosody", "ejabberd"]

# (row label, file stem, JSON key, unit, better): better is "low" or "high" for the ratio note.
METRICS = [
    ("idle RSS", "idle", "server_rss_kb", "MiB", "low"),
    ("login rate, 1k sessions", "connections-1000", "login_rate", "logins/s", "high"),
    ("server CPU per login, 1k", "connections-1000", "server_cpu_ms_per_login", "ms", "low"),
    ("memory per session, 1k", "connections-1000", "server_kib_per_session", "KiB", "low"),
    ("login rate, 1k, TLS resumed", "connections-resume-1000", "login_rate", "logins/s", "high"),
    ("server CPU per login, 1k, TLS resumed", "connections-resume-1000",
     "server_cpu_ms_per_login", "ms", "low"),
    ("TLS handshakes resumed, 1k", "connections-resume-1000", "tls_resumed", "logins", "high"),
    ("anonymous memory per session, 1k", "connections-1000", "server_anon_kib_per_session",
     "KiB", "low"),
    ("login rate, 10k sessions", "connections-10000", "login_rate", "logins/s", "high"),
    ("memory per session, 10k", "connections-10000", "server_kib_per_session", "KiB", "low"),
    ("anonymous memory per session, 10k", "connections-10000", "server_anon_kib_per_session",
     "KiB", "low"),
    ("memory per session, 2k", "connections-2000", "server_kib_per_session", "KiB", "low"),
    ("anonymous memory per session, 2k", "connections-2000", "server_anon_kib_per_session",
     "KiB", "low"),
    ("sessions held, max run", "connections-19500", "sessions_alive", "sessions", "high"),
    ("memory per session, max run", "connections-19500", "server_kib_per_session", "KiB", "low"),
    ("anonymous memory per session, max run", "connections-19500",
     "server_anon_kib_per_session", "KiB", "low"),
    ("chat 500 msg/s: delivered", "chat-500", "delivered_rate", "msg/s", "high"),
    ("chat 500 msg/s: p50", "chat-500", "latency_p50_ms", "ms", "low"),
    ("chat 500 msg/s: p99", "chat-500", "latency_p99_ms", "ms", "low"),
    ("chat 500 msg/s: server CPU/msg", "chat-500", "server_cpu_ms_per_msg", "ms", "low"),
    ("chat 2000 msg/s: delivered", "chat-2000", "delivered_rate", "msg/s", "high"),
    ("chat 2000 msg/s: p99", "chat-2000", "latency_p99_ms", "ms", "low"),
    ("chat 2000 msg/s: server CPU/msg", "chat-2000", "server_cpu_ms_per_msg", "ms", "low"),
    ("chat max sustained rate", "chatmax", "max_sustained_rate", "msg/s", "high"),
    ("MUC 100 occupants: deliveries", "muc", "delivery_rate", "/s", "high"),
    ("MUC: p99", "muc", "latency_p99_ms", "ms", "low"),
    ("MUC: server CPU/delivery", "muc", "server_cpu_ms_per_delivery", "ms", "low"),
    ("MUC 100, 10x load: deliveries", "muc-100-high", "delivery_rate", "/s", "high"),
    ("MUC 100, 10x load: p99", "muc-100-high", "latency_p99_ms", "ms", "low"),
    ("MUC 100, 10x load: server CPU/delivery", "muc-100-high", "server_cpu_ms_per_delivery",
     "ms", "low"),
    ("MUC 1000 occupants: deliveries", "muc-1000", "delivery_rate", "/s", "high"),
    ("MUC 1000: p99", "muc-1000", "latency_p99_ms", "ms", "low"),
    ("MUC 1000: server CPU/delivery", "muc-1000", "server_cpu_ms_per_delivery", "ms", "low"),
    ("MUC 1000: join time of the last occupant", "muc-1000", "last_join_ms", "ms", "low"),
    ("MUC 1000, 10x load: deliveries", "muc-1000-high", "delivery_rate", "/s", "high"),
    ("MUC 1000, 10x load: p99", "muc-1000-high", "latency_p99_ms", "ms", "low"),
    ("MUC 1000, 10x load: server CPU/delivery", "muc-1000-high",
     "server_cpu_ms_per_delivery", "ms", "low"),
    ("offline: store rate", "offline", "store_rate", "msg/s", "high"),
    ("offline: login to last message", "offline", "login_to_last_s", "s", "low"),
    ("MAM: messages archived (of 100k)", "mam", "archived", "msgs", "high"),
    ("MAM: archive fill rate", "mam", "fill_rate", "msg/s", "high"),
    ("MAM: last 50 messages, p50", "mam", "query_p50_ms", "ms", "low"),
    ("MAM: last 50 messages, p99", "mam", "query_p99_ms", "ms", "low"),
    ("MAM: server CPU/query", "mam", "server_cpu_ms_per_query", "ms", "low"),
    ("chat 500 msg/s + MAM: server CPU/msg", "chatmam-500", "server_cpu_ms_per_msg", "ms", "low"),
    ("chat 500 msg/s + MAM: p99", "chatmam-500", "latency_p99_ms", "ms", "low"),
    ("chat 2000 msg/s + MAM: server CPU/msg", "chatmam-2000", "server_cpu_ms_per_msg", "ms",
     "low"),
    ("MUC 100 + room archive: server CPU/delivery", "muc-mam", "server_cpu_ms_per_delivery",
     "ms", "low"),
    ("MUC 100 + room archive: p99", "muc-mam", "latency_p99_ms", "ms", "low"),
    ("MUC 100, 10x load + room archive: server CPU/delivery", "muc-100-high-mam",
     "server_cpu_ms_per_delivery", "ms", "low"),
    ("MUC 100, 10x load + room archive: p99", "muc-100-high-mam", "latency_p99_ms", "ms",
     "low"),
    ("MUC 1000 + room archive: server CPU/delivery", "muc-1000-mam",
     "server_cpu_ms_per_delivery", "ms", "low"),
    ("MUC 1000, 10x load + room archive: server CPU/delivery", "muc-1000-high-mam",
     "server_cpu_ms_per_delivery", "ms", "low"),
    # The websocket scenario (bench/wsbench.py, one client for both transports).
    ("WebSocket: memory per idle session", "ws-idle-ws", "kib_per_session", "KiB", "low"),
    ("TCP, same client: memory per idle session", "ws-idle-tcp", "kib_per_session", "KiB",
     "low"),
    ("WebSocket chat: delivered", "ws-chat-ws", "msgs_per_s", "msg/s", "high"),
    ("TCP chat, same client: delivered", "ws-chat-tcp", "msgs_per_s", "msg/s", "high"),
    ("WebSocket chat: p99", "ws-chat-ws", "p99_ms", "ms", "low"),
    ("TCP chat, same client: p99", "ws-chat-tcp", "p99_ms", "ms", "low"),
]


def load(run):
    res = {}
    for path in sorted(glob.glob(os.path.join(run, "*.json"))):
        server, stem = os.path.basename(path)[:-5].split(".", 1)
        try:
            with open(path) as f:
                obj = json.load(f)
        except (OSError, ValueError) as e:
            obj = {"error": "unreadable result: %s" % e}
        res.setdefault(server, {})[stem] = obj
    return res


def status(obj):
    if obj is None:
        return "not run"
    if obj.get("status") == "not supported":
        return "not supported"
    if "error" in obj:
        return "failed: " + str(obj["error"])[:60]
    return None


def value(res, server, stem, key):
    obj = res.get(server, {}).get(stem)
    if obj is None and server in res and "setup" in res[server]:
        return None, status(res[server]["setup"])
    st = status(obj)
    if st:
        return None, st
    v = obj.get(key)
    if v is None:
        return None, "n/a"
    if key == "server_rss_kb":
        v = v / 1024.0
    return v, None


def fmt(v):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def num(res, server, stem, key):
    v, st = value(res, server, stem, key)
    return v if st is None and isinstance(v, (int, float)) else None


def issue14_lines(res):
    """The derived rows of issue 14: the bare handshake limit, logins against it, resumed
    against full logins, and the chat curve up to saturation (chatmax steps)."""
    out = []
    full = num(res, "myna", "tlslimit-full", "server_cpu_ms_per_handshake")
    resumed = num(res, "myna", "tlslimit-resumed", "server_cpu_ms_per_handshake")
    if full or resumed:
        out += ["", "Bare TLS 1.3 handshake loop (bench/myna-bench-tls, Myna's settings and"
                " certificate, server on one core):", "",
                "| handshake | server CPU per handshake (ms) | single-core limit (/s) |"
                " resumed / full |", "|---|---|---|---|"]
        for kind, v in (("full", full), ("resumed", resumed)):
            if v:
                out.append("| %s | %.3f | %.0f | %s |" % (
                    kind, v, 1000.0 / v,
                    "%.2f" % (v / full) if kind == "resumed" and full else "—"))
    rows = []
    for s in SERVERS:
        stems = res.get(s, {})
        sizes = sorted(int(k.split("-")[-1]) for k in stems
                       if k.startswith("connections-") and k.split("-")[-1].isdigit())
        n = sizes[0] if sizes else 1000
        login = num(res, s, "connections-%d" % n, "server_cpu_ms_per_login")
        rlogin = num(res, s, "connections-resume-%d" % n, "server_cpu_ms_per_login")
        nres = num(res, s, "connections-resume-%d" % n, "tls_resumed")
        if login is None and rlogin is None:
            continue
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            s, fmt(login), fmt(rlogin), fmt(nres),
            "%.2f" % (rlogin / login) if login and rlogin else "—",
            "%.0f%%" % (100.0 * full / login) if full and login else "—"))
    if rows:
        out += ["", "Logins (connections scenario, its first size): server CPU per full and per"
                " resumed login (TLS tickets; \"resumed\" says how many handshakes the server"
                " actually resumed), and full logins as a share of the bare handshake limit"
                " (handshake CPU / login CPU):", "",
                "| server | full login (ms) | resumed login (ms) | resumed | resumed / full |"
                " logins / handshake limit |", "|---|---|---|---|---|---|"] + rows
    curve = []
    for s in SERVERS:
        obj = res.get(s, {}).get("chatmax") or {}
        for st in obj.get("steps") or []:
            d = st.get("delivered_rate") or 0
            cpu = st.get("server_cpu_pct")
            curve.append("| %s | %.0f | %.0f | %s | %s | %s | %s |" % (
                s, st.get("offered", 0), d,
                "%.3f" % (cpu * 10.0 / d) if d and isinstance(cpu, (int, float)) else "—",
                fmt(st.get("p99_ms")), fmt(cpu), fmt(st.get("gen_cpu_pct"))))
    if curve:
        out += ["", "Chat curve up to saturation (chatmax steps; with --pin the server has core"
                " 0 and the generator core 1):", "",
                "| server | offered msg/s | delivered msg/s | server CPU/msg (ms) | p99 (ms) |"
                " server CPU % | generator CPU % |", "|---|---|---|---|---|---|---|"] + curve
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--mode", default="quick")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()
    res = load(a.run)
    machine = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    machine["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            machine["mem_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    out = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "mode": a.mode, "machine": machine,
           "run_dir": a.run, "results": res}
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)

    lines = ["# myna-bench results (%s run, %s)" % (a.mode, out["date"]), "",
             "Machine: %s, %s cores, kernel %s." % (machine.get("cpu", "?"), machine["cpus"],
                                                     machine["kernel"]), "",
             "| metric | unit | session | Myna | Prosody | ejabberd | Myna/Prosody | Myna/ejabberd"
             " | generator CPU % (M/P/E) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, stem, key, unit, better in METRICS:
        if not any(stem in res.get(s, {}) for s in SERVERS):
            continue
        cells, vals = [], {}
        for s in SERVERS:
            v, st = value(res, s, stem, key)
            vals[s] = v
            cells.append(fmt(v) if st is None else st)
        ratios = []
        for other in ("prosody", "ejabberd"):
            if vals["myna"] is not None and vals[other]:
                ratios.append("%.2f" % (vals["myna"] / vals[other]))
            else:
                ratios.append("—")
        objs = [res.get(s, {}).get(stem) or {} for s in SERVERS]
        session = next((o["session"] for o in objs if "session" in o), "—")
        gen = "/".join("%.0f" % o["gen_cpu_pct"] if isinstance(o.get("gen_cpu_pct"), (int, float))
                       else "—" for o in objs)
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, unit + (" (lower is better)" if better == "low" else ""), session,
            " | ".join(cells), ratios[0], ratios[1], gen))
    lines += issue14_lines(res)
    lines += ["", "Ratios are Myna divided by the peer: above 1 is better for rates, below 1 is"
              " better for times, memory and CPU. Session: what each session did at login"
              " (realistic: bind, roster get, initial presence, as clients do; bare: bind only)."
              " Generator CPU: % of one core during the measured window, per server (more in"
              " latest.json, gen_cpu_*).", ""]
    with open(a.md, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
