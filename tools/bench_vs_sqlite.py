#!/usr/bin/env python3
"""jisseki beside SQLite, on the same events (issue 6, item 4).

Run through `cargo xtask bench-vs-sqlite --events N`, which builds jisseki in
release, generates the events (`synth::bc`: B and C menus only, so that the
figures depend on O-BC1, O-BC2, XO-3, C-BC1, C-BC2, XC-6 and XC-7 alone) and
calls:

    tools/bench_vs_sqlite.py --jisseki BIN --events FILE --work DIR [--as-of DATE]

It then
1. imports the events into a new jisseki ledger (`jisseki import`, in parts
   of at most 4M lines) and into SQLite (Python's `sqlite3`: the JSON parsed
   in Python, then one transaction of `executemany` inserts);
2. computes the B/C output and outcome per menu, and the totals, with
   `jisseki report --cumulative --format json` and with the one SQL query
   below, cold (a new process, after dropping the page cache when this user
   may) and warm (the same again), SQLite without and with indexes;
3. fails unless both give the same numbers;
4. prints import time, report time, disk size and peak memory for each, and
   each ratio, as Markdown.

Each measured step runs as its own process, so its peak memory (ru_maxrss)
is its own.
"""

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

# B/C output (O-BC1, O-BC2; XO-3; XO-1: one person per menu, first counted
# attendance by (date, seq)) and outcome (C-BC1, C-BC2; XC-6; XC-7; per menu
# distinct people; totals counted once, C-DEDUP), cumulative as of :as_of.
QUERY = """
WITH first AS MATERIALIZED (                                -- XO-1, XC-7, C-RES
    SELECT menu, person, rule, date FROM (
        SELECT menu, person, date,
               CASE WHEN residence = 'in_region' THEN 'O-BC1' ELSE 'O-BC2' END AS rule,
               ROW_NUMBER() OVER (PARTITION BY menu, person ORDER BY date, seq) AS rn
        FROM attendance
        WHERE role = 'job_seeker'                           -- XO-3: not an employed skill-up
          AND intent = 1                                    -- XO-3: intent confirmed
          AND date <= :as_of                                -- T-1
          AND (residence = 'in_region'                      -- O-BC1
               OR (residence = 'out_region'                 -- O-BC2 (unknown residence: XO-3)
                   AND wants_in = 1)))
    WHERE rn = 1
),
outcome AS MATERIALIZED (
    SELECT DISTINCT f.menu, f.person
    FROM first f JOIN hire h ON h.person = f.person
    WHERE h.hours >= 20                                     -- XC-6
      AND h.start_date <= :as_of                            -- T-1
      AND COALESCE(h.offer_date, h.start_date) > f.date     -- XC-7
      AND (f.rule = 'O-BC1'                                 -- C-BC1: any workplace
           OR h.workplace = 'in_region')                    -- C-BC2: in the region
)
SELECT menu, SUM(o), SUM(c) FROM (
    SELECT menu, 1 AS o, 0 AS c FROM first
    UNION ALL
    SELECT menu, 0, 1 FROM outcome)
GROUP BY menu
UNION ALL
SELECT 'total', (SELECT COUNT(*) FROM first), (SELECT COUNT(DISTINCT person) FROM outcome)
ORDER BY 1
"""

SCHEMA = """
CREATE TABLE attendance (seq INTEGER, menu TEXT, person TEXT, date TEXT, role TEXT,
                         residence TEXT, intent INTEGER, wants_in INTEGER);
CREATE TABLE hire (seq INTEGER, person TEXT, offer_date TEXT, start_date TEXT,
                   hours REAL, workplace TEXT);
"""

INDEXES = """
CREATE INDEX attendance_by_menu_person ON attendance
    (menu, person, date, seq, role, intent, residence, wants_in);
CREATE INDEX hire_person ON hire (person);
"""

PART_LINES = 4_000_000


def drop_caches():
    """Empties the page cache when allowed (root); says whether it did."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def run(cmd, capture=False):
    """Runs cmd as a child process: (seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                             stderr=err)
        out = p.stdout.read() if capture else b""
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"bench-vs-sqlite: {' '.join(map(str, cmd))} failed:\n"
                     f"{err.read().decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024, out


def child(step, *args):
    """Runs a step of this script in its own process; its JSON result."""
    cmd = [sys.executable, __file__, "--step", step, *map(str, args)]
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench-vs-sqlite: step {step} failed:\n{p.stderr.decode(errors='replace')}")
    r = json.loads(p.stdout)
    r["process_s"] = wall
    return r


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- steps run in their own process -------------------------------------

def step_load(events, db):
    t0 = time.perf_counter()
    att, hires = [], []
    with open(events, "rb") as f:
        for seq, line in enumerate(f, 1):
            e = json.loads(line)
            t = e["type"]
            if t == "attendance":
                att.append((seq, e["menu"], e["person"], e["date"], e["role"],
                            e.get("residence"), 1 if e.get("intent_confirmed") is True else 0,
                            1 if e.get("wants_in_region") is True else 0))
            elif t == "hire":
                hires.append((seq, e["person"], e.get("offer_date"), e.get("start_date"),
                               float(e["weekly_hours"]), e.get("workplace")))
    t1 = time.perf_counter()
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.execute("BEGIN")
    con.executemany("INSERT INTO attendance VALUES (?,?,?,?,?,?,?,?)", att)
    con.executemany("INSERT INTO hire VALUES (?,?,?,?,?,?)", hires)
    con.commit()
    con.close()
    t2 = time.perf_counter()
    print(json.dumps({"parse_s": t1 - t0, "insert_s": t2 - t1, "rows": len(att) + len(hires),
                      "peak_mb": peak_mb()}))


def step_query(db, as_of, runs):
    con = sqlite3.connect(db)
    times, rows = [], None
    for _ in range(int(runs)):
        t = time.perf_counter()
        rows = con.execute(QUERY, {"as_of": as_of}).fetchall()
        times.append(time.perf_counter() - t)
    con.close()
    print(json.dumps({"times": times, "rows": rows, "peak_mb": peak_mb()}))


def step_index(db):
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.executescript(INDEXES)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    print(json.dumps({"index_s": time.perf_counter() - t, "peak_mb": peak_mb()}))


# --- the driver ----------------------------------------------------------

def du_mb(path):
    total = 0
    if os.path.isfile(path):
        return os.path.getsize(path) / 1e6
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / 1e6


def jisseki_figures(report):
    r = json.loads(report)
    rows = [(m["menu"], m["output"], m["outcome"]) for m in r["menus"]]
    rows.append(("total", r["totals"]["output"], r["totals"]["outcome"]))
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step")
    ap.add_argument("--jisseki")
    ap.add_argument("--events")
    ap.add_argument("--work")
    ap.add_argument("--as-of", default="2027-09-30")
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    if a.step == "load":
        return step_load(*a.rest)
    if a.step == "query":
        return step_query(*a.rest)
    if a.step == "index":
        return step_index(*a.rest)

    os.makedirs(a.work, exist_ok=True)
    ledger = os.path.join(a.work, "ledger")
    db = os.path.join(a.work, "events.sqlite")
    for p in (db, db + "-journal"):
        if os.path.exists(p):
            os.remove(p)
    if os.path.exists(ledger):
        subprocess.run(["rm", "-rf", ledger], check=True)
    with open(a.events, "rb") as f:
        lines = sum(1 for _ in f)
    size_mb = os.path.getsize(a.events) / 1e6
    j = a.jisseki

    # jisseki: import, in parts of at most PART_LINES lines (an import
    # reads at most 1 GiB).
    run([j, "init", "--ledger", ledger])
    # Streamed, so that this process stays small: a child's peak memory
    # starts from its parent's size at fork (Linux keeps it across exec).
    parts = []
    with open(a.events, "rb") as f:
        out = None
        for n, line in enumerate(f):
            if n % PART_LINES == 0:
                if out:
                    out.close()
                parts.append(os.path.join(a.work, f"part{len(parts)}.jsonl"))
                out = open(parts[-1], "wb")
            out.write(line)
        if out:
            out.close()
    j_import_s, j_import_mb = 0.0, 0.0
    for p in parts:
        s, mb, _ = run([j, "import", "--ledger", ledger, p])
        j_import_s += s
        j_import_mb = max(j_import_mb, mb or 0)
    for p in parts:
        os.remove(p)
    j_disk = du_mb(ledger)
    report = [j, "report", "--ledger", ledger, "--as-of", a.as_of, "--cumulative", "--format", "json"]
    dropped = drop_caches()
    j_cold_s, j_cold_mb, out = run(report + ["--no-checkpoint"], capture=True)
    j_warm_s, j_warm_mb, out2 = run(report + ["--no-checkpoint"], capture=True)
    j_ck_s, j_ck_mb, _ = run([j, "checkpoint", "--ledger", ledger])
    j_from_ck_s, j_from_ck_mb, out3 = run(report, capture=True)
    j_kept_s, j_kept_mb, out4 = run(report, capture=True)
    ours = jisseki_figures(out)
    for o in (out2, out3, out4):
        if jisseki_figures(o) != ours:
            sys.exit("bench-vs-sqlite: jisseki gave different figures from one run to the next")

    # SQLite.
    load = child("load", a.events, db)
    s_disk = du_mb(db)
    drop_caches()
    q_plain = child("query", db, a.as_of, 2)
    idx = child("index", db)
    s_disk_idx = du_mb(db)
    drop_caches()
    q_idx = child("query", db, a.as_of, 2)
    theirs = sorted(tuple(r) for r in q_plain["rows"])
    if sorted(tuple(r) for r in q_idx["rows"]) != theirs:
        sys.exit("bench-vs-sqlite: SQLite gave different figures with indexes")

    print(f"# jisseki beside SQLite: {lines:,} events ({size_mb:.0f} MB of JSON Lines)\n")
    print(f"- as of {a.as_of}, cumulative (F-2); SQLite {sqlite3.sqlite_version} through Python {sys.version.split()[0]}")
    print(f"- page cache dropped before the cold runs: {'yes' if dropped else 'no (not permitted; cold = new process only)'}")
    print(f"- machine: {os.cpu_count()} CPUs; {os.uname().sysname} {os.uname().release}\n")
    print("## The figures (both must agree)\n")
    print("| menu | jisseki output | SQLite output | jisseki outcome | SQLite outcome |")
    print("|---|---:|---:|---:|---:|")
    theirs_by = {r[0]: r for r in theirs}
    same = True
    for menu, o, c in ours:
        t = theirs_by.get(menu, (menu, None, None))
        same &= (t[1], t[2]) == (o, c)
        print(f"| {menu} | {o} | {t[1]} | {c} | {t[2]} |")
    if len(theirs) != len(ours):
        same = False
    print()
    if not same:
        print("**The figures differ.**")
        sys.exit(1)
    print("Both give the same figures.\n")
    rows = load["rows"]
    s_import = load["parse_s"] + load["insert_s"]
    print("## Times, sizes, memory\n")
    print("| step | jisseki | SQLite | jisseki ÷ SQLite |")
    print("|---|---:|---:|---:|")

    def value(v, unit, fmt):
        if v is None:
            return "–"
        # Times under a second in milliseconds: a kept report takes a few.
        if unit == "s" and v < 1:
            return f"{v * 1000:.1f} ms"
        return fmt.format(v) + f" {unit}"

    def line(name, js, ss, unit="s", fmt="{:.2f}"):
        ratio = (f"{js / ss:.4f}" if js / ss < 0.01 else f"{js / ss:.2f}") if js and ss else "–"
        jv = value(js, unit, fmt)
        sv = value(ss, unit, fmt)
        print(f"| {name} | {jv} | {sv} | {ratio} |")

    line("import, whole (jisseki import / Python JSON parse + insert)", j_import_s, s_import)
    line("import: the insert alone (SQLite: one transaction, rows already parsed)", None, load["insert_s"])
    print(f"| import rate | {lines / j_import_s:,.0f} events/s | {rows / load['insert_s']:,.0f} rows/s inserted; {lines / s_import:,.0f} events/s whole | {j_import_s / load['insert_s']:.2f} (against the insert alone) |")
    line("report, cold: jisseki full replay / SQLite without indexes", j_cold_s, q_plain["process_s"])
    line("report, warm: jisseki full replay / SQLite without indexes (same connection)", j_warm_s, q_plain["times"][1])
    line("indexes (SQLite: CREATE INDEX + ANALYZE; jisseki: `jisseki checkpoint`)", j_ck_s, idx["index_s"])
    line("report, cold: jisseki from its checkpoint / SQLite with indexes", j_from_ck_s, q_idx["process_s"])
    line("report, warm: jisseki kept result / SQLite with indexes (same connection)", j_kept_s, q_idx["times"][1])
    line("report, warm: jisseki from its checkpoint / SQLite with indexes (same connection)", j_from_ck_s, q_idx["times"][1])
    line("disk, before indexes/checkpoint", j_disk, s_disk, "MB", "{:.0f}")
    line("disk, after", du_mb(ledger), s_disk_idx, "MB", "{:.0f}")
    line("peak memory, import", j_import_mb, load["peak_mb"], "MB", "{:.0f}")
    line("peak memory, report (full replay / no index)", j_cold_mb, q_plain["peak_mb"], "MB", "{:.0f}")
    line("peak memory, report (checkpoint / index)", j_from_ck_mb, q_idx["peak_mb"], "MB", "{:.0f}")
    print()
    print("SQLite's cold query time is its process's wall time (Python start, open, query);"
          " warm is the second run of the query on the same connection. jisseki's times are"
          " whole processes (`jisseki report`), which include opening the ledger.")


if __name__ == "__main__":
    main()
