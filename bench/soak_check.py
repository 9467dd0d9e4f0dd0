#!/usr/bin/env python3
"""bench/soak_check.py: the verdict of a soak run (bench/soak.sh). Reads the sample CSV, the
generators' JSON results and mynad's log; prints each check and the figures, writes
OUT.json and OUT.md, and exits 1 when a check fails.

Rules (docs/performance.md, "Soak"):
- memory flat: over the traffic samples (the login ramp is the warm-up), the mean RSS and
  the mean anonymous memory of the last third are within 3% (+1 MiB) of the second third's,
  and neither rises at every sample of the last third by more than 1% in all;
- descriptors: at the end, with every session live, mynad holds its baseline plus one per
  connection (+-8); after every session logged out, its baseline (+-4), and so are the
  queues and tables `mynactl stats` shows (streams, XEP-0198 held and resumable sessions,
  queued output, login-throttling entries, pending server iqs);
- log: no ERROR line (and no sanitizer report); warnings are listed by kind and count;
- deliveries: every chat message sent to a session that stayed online (its login outlived
  the send by 10 s) arrived exactly once on that login;
  messages whose recipient was offline, or left before delivery, arrived at its next login
  (none lost); generator errors 0; both processes exited 0, mynad exited 0.
"""
import argparse
import collections
import csv
import json
import re
import statistics
import sys


def thirds(rows):
    n = len(rows)
    return rows[: n // 3], rows[n // 3: 2 * n // 3], rows[2 * n // 3:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--server-rc", type=int, default=0)
    ap.add_argument("--gen-rc", type=int, default=0)
    ap.add_argument("--sessions", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--build", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("gens", nargs="*")
    a = ap.parse_args()

    rows = [collections.defaultdict(float, r) for r in csv.DictReader(open(a.csv))]
    for r in rows:
        for k, v in r.items():
            if k != "phase":
                try:
                    r[k] = float(v) if v not in ("", None) else 0.0
                except ValueError:
                    r[k] = 0.0
    gens = []
    for g in a.gens:
        try:
            gens.append(json.loads(open(g).read().strip().splitlines()[-1]))
        except (OSError, ValueError, IndexError):
            gens.append({"error": "no result from " + g})

    checks = []  # (name, ok, detail)

    def check(name, ok, detail):
        checks.append((name, bool(ok), detail))

    base = next((r for r in rows if r["phase"] == "baseline"), rows[0] if rows else None)
    traffic = [r for r in rows if r["phase"] == "traffic"]
    end = next((r for r in rows if r["phase"] == "end"), None)
    after = next((r for r in rows if r["phase"] == "after"), None)

    mem = {}
    if len(traffic) >= 6:
        _, second, third = thirds(traffic)
        for key in ("rss_kb", "anon_kb"):
            m2 = statistics.mean(r[key] for r in second)
            m3 = statistics.mean(r[key] for r in third)
            vals = [r[key] for r in third]
            # Rising at every sample of the last third, by more than 1% in all.
            monotone = (len(vals) >= 3 and all(y > x for x, y in zip(vals, vals[1:]))
                        and vals[-1] > vals[0] * 1.01)
            mem[key] = (m2, m3)
            check("memory flat (%s)" % key.replace("_kb", ""),
                  m3 <= m2 * 1.03 + 1024 and not monotone,
                  "second third mean %.1f MiB, last third %.1f MiB (%+.2f%%)%s"
                  % (m2 / 1024, m3 / 1024, 100 * (m3 - m2) / m2 if m2 else 0,
                     ", grows at every sample" if monotone else ""))
    else:
        check("memory flat", False, "only %d traffic samples (need 6)" % len(traffic))

    if base and end:
        want = base["fds"] + end["connections"]
        check("descriptors with sessions live", abs(end["fds"] - want) <= 8,
              "%d open, baseline %d + %d connections = %d"
              % (end["fds"], base["fds"], end["connections"], want))
    if base and after:
        check("descriptors after logout", abs(after["fds"] - base["fds"]) <= 4
              and after["sessions"] == 0,
              "%d open, baseline %d; %d sessions left"
              % (after["fds"], base["fds"], after["sessions"]))

    if base and after:
        keys = ("streams", "sm_held", "sm_ids", "queued_bytes", "authfail_entries",
                "preauth_entries", "pending_iqs")
        left = ["%s %d (baseline %d)" % (k, after[k], base[k]) for k in keys
                if after[k] != base[k]]
        check("queues and tables back to baseline after logout", not left,
              "; ".join(left) if left else ", ".join(keys) + " as at the start")

    kinds = {}
    errors = []
    sanitizer = []
    level_re = re.compile(r"^\S+ (ERROR|WARN|INFO|DEBUG) ([\w.-]+): (.*)$")
    for line in open(a.log, errors="replace"):
        line = line.rstrip("\n")
        if ("Sanitizer" in line and "ERROR" in line) or "runtime error:" in line \
                or "SUMMARY: " in line:
            sanitizer.append(line)
            continue
        m = level_re.match(line)
        if not m:
            continue
        if m.group(1) == "ERROR":
            errors.append(line)
        elif m.group(1) == "WARN":
            # Kind: the subsystem and the message with numbers, JIDs and addresses folded.
            msg = re.sub(r"[\w.+-]+@[\w.-]+(/\S*)?", "JID", m.group(3))
            msg = re.sub(r"\d+(\.\d+)*", "N", msg)
            k = m.group(2) + ": " + msg[:90]
            kinds[k] = kinds.get(k, 0) + 1
    check("no ERROR lines in mynad's log", not errors,
          "%d ERROR lines%s" % (len(errors), (": " + errors[0][:160]) if errors else ""))
    check("no sanitizer report", not sanitizer,
          "%d lines%s" % (len(sanitizer), (": " + sanitizer[0][:160]) if sanitizer else ""))

    tot = {}
    for g in gens:
        for k, v in g.items():
            if isinstance(v, (int, float)):
                tot[k] = tot.get(k, 0) + v
    check("generator errors 0", tot.get("errors", 1) == 0 and not any("error" in g for g in gens),
          "%d errors%s" % (tot.get("errors", -1),
                           "".join("; " + g.get("first_error", g.get("error", ""))
                                   for g in gens if g.get("first_error") or g.get("error"))))
    check("chat to sessions that stayed online: exactly once",
          tot.get("online_lost", 1) == 0 and tot.get("online_duplicated", 1) == 0,
          "%d delivered once (%d of them again after the recipient's next login: not "
          "acknowledged before a cut), %d lost, %d duplicated"
          % (tot.get("online_delivered_once", 0), tot.get("online_repeated_after_cut", 0),
             tot.get("online_lost", 0), tot.get("online_duplicated", 0)))
    check("chat to offline or leaving sessions: delivered at the next login, never twice on "
          "one login",
          tot.get("offline_lost", 1) == 0 and tot.get("left_lost", 1) == 0
          and tot.get("offline_duplicated", 1) == 0 and tot.get("left_duplicated", 1) == 0,
          "offline when sent: %d once (%d again at a later login: not acknowledged before a "
          "cut), %d lost, %d duplicated; recipient left before delivery: %d once (%d at its "
          "next login, %d again at a later login), %d lost, %d duplicated"
          % (tot.get("offline_delivered_once", 0), tot.get("offline_repeated_after_cut", 0),
             tot.get("offline_lost", 0), tot.get("offline_duplicated", 0),
             tot.get("left_delivered_once", 0), tot.get("left_delivered_after_relogin", 0),
             tot.get("left_repeated_after_cut", 0), tot.get("left_lost", 0),
             tot.get("left_duplicated", 0)))
    check("all sessions up at the end", tot.get("sessions_up_at_end", 0) == a.sessions,
          "%d of %d" % (tot.get("sessions_up_at_end", 0), a.sessions))
    check("processes exited 0", a.server_rc == 0 and a.gen_rc == 0,
          "mynad %d, generators %d" % (a.server_rc, a.gen_rc))

    def at(frac):
        if not traffic:
            return None
        return traffic[min(len(traffic) - 1, int(frac * len(traffic)))]

    fig = {"sessions": a.sessions, "minutes": a.minutes, "samples": len(rows)}
    for name, r in (("baseline", base), ("start", at(0)), ("middle", at(0.5)),
                    ("end", traffic[-1] if traffic else None), ("after", after)):
        if r:
            fig[name] = {"rss_mib": round(r["rss_kb"] / 1024, 1),
                         "anon_mib": round(r["anon_kb"] / 1024, 1),
                         "fds": int(r["fds"]), "sessions": int(r["sessions"]),
                         "heap_used_mib": round(r["heap_used_bytes"] / 1048576, 1)}
    if traffic and len(traffic) > 1:
        t0, t1 = traffic[0], traffic[-1]
        wall = t1["t"] - t0["t"]
        if wall > 0:
            fig["server_cpu_pct"] = round(100 * (t1["server_cpu_ms"] - t0["server_cpu_ms"])
                                          / 1000 / wall, 1)
            fig["gen_cpu_pct"] = round(100 * (t1["gen_cpu_ms"] - t0["gen_cpu_ms"]) / 1000 / wall, 1)
            busy = (t1["machine_busy_ms"] - t0["machine_busy_ms"]) / 1000 / wall
            fig["machine_busy_cores"] = round(busy, 2)
            fig["other_cpu_pct"] = round(100 * busy - fig["server_cpu_pct"] - fig["gen_cpu_pct"], 1)
            fig["load1_mean"] = round(statistics.mean(r["load1"] for r in traffic), 2)
    fig["generators"] = tot
    fig["warnings"] = kinds
    fig["checks"] = [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks]

    lines = ["# Soak: %d sessions, %g min of mixed traffic" % (a.sessions, a.minutes), ""]
    lines.append("| check | result | detail |")
    lines.append("|---|---|---|")
    for n, ok, d in checks:
        lines.append("| %s | %s | %s |" % (n, "ok" if ok else "FAILED", d))
    lines += ["", "| sample | RSS MiB | anonymous MiB | heap used MiB | descriptors | sessions |",
              "|---|---|---|---|---|---|"]
    for name in ("baseline", "start", "middle", "end", "after"):
        if name in fig:
            f = fig[name]
            lines.append("| %s | %.1f | %.1f | %.1f | %d | %d |" % (
                name, f["rss_mib"], f["anon_mib"], f["heap_used_mib"], f["fds"], f["sessions"]))
    lines += ["", "Traffic (both generators): %d chat messages sent, %d received; %d logins, "
              "%d clean reconnects, %d FIN and %d RST cuts, %d XEP-0198 resumes; %d presence "
              "changes, %d roster adds, %d removes; %d acks asked, %d got."
              % (tot.get("sent", 0), tot.get("received", 0), tot.get("logins", 0),
                 tot.get("clean_reconnects", 0), tot.get("drops_fin", 0),
                 tot.get("drops_rst", 0), tot.get("resumed", 0),
                 tot.get("presence_changes", 0), tot.get("roster_adds", 0),
                 tot.get("roster_removes", 0), tot.get("acks_asked", 0),
                 tot.get("acks_got", 0))]
    if "server_cpu_pct" in fig:
        lines.append("CPU during traffic: mynad %.1f%% of a core, generators %.1f%%, the rest "
                     "of the machine %.1f%% (load average %.2f)." % (
                         fig["server_cpu_pct"], fig["gen_cpu_pct"], fig["other_cpu_pct"],
                         fig["load1_mean"]))
    lines += ["", "Warnings in mynad's log: " + (", ".join(
        "%s (%d)" % (k, v) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        if kinds else "none") + "."]
    text = "\n".join(lines) + "\n"
    open(a.out + ".md", "w").write(text)
    open(a.out + ".json", "w").write(json.dumps(fig, indent=1) + "\n")
    print(text)
    failed = [n for n, ok, _ in checks if not ok]
    print("soak: %s" % ("FAILED: " + "; ".join(failed) if failed else "all checks passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
