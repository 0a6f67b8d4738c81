#!/usr/bin/env bash
# Prints the performance figures of jisseki as plain Markdown tables:
# import (end to end and its parts) at 100k and 1M events, durable record
# latency (library and CLI), export and verify.
#
#   tools/bench.sh                 # the full set (a few minutes on 2 cores)
#   tools/bench.sh --quick         # 100k only, fewer record samples, no 1M ledger
#
# Builds in release first (an incremental build; a cold build of the
# dependencies takes longer than the run). Environment:
#   CARGO_TARGET_DIR          where cargo builds (default: target)
#   JISSEKI_BENCH_DIR         where ledgers are created (default: $TMPDIR or
#                             /tmp); put it on the disk you want measured
#   JISSEKI_BENCH_SIZES, JISSEKI_BENCH_RECORD_SAMPLES, JISSEKI_BENCH_CLI_RUNS,
#   JISSEKI_BENCH_RECORD_BASE, JISSEKI_BENCH_RECORD_PART_SAMPLES,
#   JISSEKI_BENCH_DETAIL_MAX, JISSEKI_BENCH_REPEAT, JISSEKI_BENCH_RECORD_BIG
#                             see benches/journal.rs
#
# `cargo bench --bench journal` runs the same code under criterion instead.
set -euo pipefail

cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
export CARGO_TARGET_DIR="$target"

if [[ "${1:-}" == "--quick" ]]; then
    export JISSEKI_BENCH_SIZES="${JISSEKI_BENCH_SIZES:-100000}"
    export JISSEKI_BENCH_RECORD_SAMPLES="${JISSEKI_BENCH_RECORD_SAMPLES:-300}"
    export JISSEKI_BENCH_CLI_RUNS="${JISSEKI_BENCH_CLI_RUNS:-50}"
    export JISSEKI_BENCH_RECORD_BIG="${JISSEKI_BENCH_RECORD_BIG:-0}"
fi

echo "building (release) ..." >&2
cargo build --release --quiet --bin jisseki
cargo bench --quiet --bench journal --no-run
# The bench binary: the executable of the artifact whose target is the
# bench `journal` (cargo also reports the `jisseki` binary it builds).
bench_bin="$(cargo bench --bench journal --no-run --message-format=json 2>/dev/null |
    grep '"kind":\["bench"\]' | grep '"name":"journal"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
if [[ -z "$bench_bin" || ! -x "$bench_bin" ]]; then
    echo "could not build the bench binary (cargo bench --bench journal --no-run)" >&2
    exit 1
fi

export JISSEKI_BIN="$target/release/jisseki"
[[ "$JISSEKI_BIN" == /* ]] || JISSEKI_BIN="$PWD/$JISSEKI_BIN"

echo "# jisseki benchmark figures"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "- cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "- memory: $(free -h 2>/dev/null | awk '/^Mem:/ {print $2}')"
echo "- kernel: $(uname -sr)"
bench_dir="${JISSEKI_BENCH_DIR:-${TMPDIR:-/tmp}}"
echo "- ledgers on: $(df -T "$bench_dir" 2>/dev/null | awk 'NR==2 {print $1 " (" $2 ")"}')"
echo "- rustc: $(rustc --version)"
echo

start=$(date +%s)
JISSEKI_BENCH_FIGURES=1 JISSEKI_BENCH_DIR="$bench_dir" "$bench_bin"
echo
echo "(figures took $(( $(date +%s) - start )) s)"
