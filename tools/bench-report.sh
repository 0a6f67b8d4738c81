#!/usr/bin/env bash
# The counting engine at scale: a cold `jisseki report`, run as its own
# process, on a generated council of N events (synth::bulk).
#
#   tools/bench-report.sh              # 10,000,000 events, 3 runs
#   tools/bench-report.sh 1000000 5    # 1M events, 5 runs
#   JISSEKI_BENCH_PAUSE=3 tools/bench-report.sh 10000000 5
#                                      # 3 s idle before each run
#
# Why pause: on a virtual machine that gives freed memory back to its host
# (Linux free page reporting, as on this project's Firecracker machines),
# memory a run frees is handed back about 2 s later, and a run that starts
# after that pays the host for every page it first writes (0.9-1.3 s of
# system time at 10M events, against 0.3 s for a run started at once). Runs
# back to back therefore alternate fast and slow; a pause makes every run
# the slow kind, which is what a report after idle costs.
#
# The ledger is built once and kept in $JISSEKI_BENCH_DIR (default $TMPDIR
# or /tmp) as report-<N>-<seed>; delete it to rebuild. Building 10M events
# takes about 45 s (generating ~4 s, importing ~36 s) and 0.9 GB of disk.
# Prints a Markdown table: wall time, user and system CPU, peak RSS, and
# events per second of wall time.
set -euo pipefail

cd "$(dirname "$0")/.."
events="${1:-10000000}"
runs="${2:-3}"
seed="${JISSEKI_BENCH_SEED:-2024}"
as_of="${JISSEKI_BENCH_AS_OF:-2026-02-28}"
pause="${JISSEKI_BENCH_PAUSE:-0}"
target="${CARGO_TARGET_DIR:-target}"
export CARGO_TARGET_DIR="$target"
bench_dir="${JISSEKI_BENCH_DIR:-${TMPDIR:-/tmp}}"
ledger="$bench_dir/report-$events-$seed"

echo "building (release) ..." >&2
cargo build --release --quiet --bin jisseki -p jisseki
cargo build --release --quiet -p xtask
bin="$target/release/jisseki"

if [[ ! -f "$ledger/JISSEKI" ]]; then
    echo "generating and importing $events events into $ledger ..." >&2
    rm -rf "$ledger" "$ledger.parts"
    mkdir -p "$ledger.parts"
    "$target/release/xtask" gen --events "$events" --seed "$seed" --out "$ledger.parts/all.jsonl"
    # One import is at most 1 GiB; 4M lines are about 600 MB.
    split -l 4000000 -d "$ledger.parts/all.jsonl" "$ledger.parts/part."
    rm "$ledger.parts/all.jsonl"
    "$bin" init --ledger "$ledger" >/dev/null
    start=$(date +%s.%N)
    for part in "$ledger.parts"/part.*; do
        "$bin" import --ledger "$ledger" "$part" >/dev/null
    done
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f\n", e - s }' > "$ledger/IMPORT_SECONDS"
    rm -rf "$ledger.parts"
fi

echo "# jisseki report at scale"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "- cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "- ledger: $events events (synth::bulk seed $seed), $(du -sh "$ledger" | cut -f1) on disk"
if [[ -f "$ledger/IMPORT_SECONDS" ]]; then
    echo "- import (jisseki import, 4M-line files, when the ledger was built): $(cat "$ledger/IMPORT_SECONDS") s"
fi
echo "- command: jisseki report --as-of $as_of --format json --no-checkpoint (own process, output to /dev/null; checkpoints cleared first, so every run replays from seq 1)"
echo "- pause before each run: $pause s"
echo
# A cold full replay: no checkpoint to start from, none saved, no kept report.
"$bin" checkpoint --clear --ledger "$ledger" >/dev/null
echo "| run | wall s | user s | sys s | peak RSS MB | events/s |"
echo "|---|---|---|---|---|---|"
for i in $(seq 1 "$runs"); do
    sleep "$pause"
    # Wall time, CPU and peak RSS of the child, measured by Python (on
    # every fresh machine, unlike GNU time).
    out="$(python3 - "$bin" "$ledger" "$as_of" <<'PY'
import resource, subprocess, sys, time
bin, ledger, as_of = sys.argv[1:4]
t = time.monotonic()
subprocess.run([bin, "report", "--ledger", ledger, "--as-of", as_of, "--format", "json",
                "--no-checkpoint"],
               stdout=subprocess.DEVNULL, check=True)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.2f} {r.ru_utime:.2f} {r.ru_stime:.2f} {r.ru_maxrss}")
PY
)"
    read -r wall user sys rss <<<"$out"
    rate="$(awk -v n="$events" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')"
    echo "| $i | $wall | $user | $sys | $((rss / 1024)) | $rate |"
done
