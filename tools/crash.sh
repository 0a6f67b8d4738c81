#!/usr/bin/env bash
# Crash tests in release: SIGKILLs a child appending to (and one restoring
# into) a ledger N times (default 300; the restore test runs N/2), checking
# after each kill that every acknowledged batch survived, none is half there
# and the chain verifies. Prints a one-line summary; exits non-zero on failure.
#
#   tools/crash.sh [N]        (JISSEKI_CRASH_SEED=<seed> replays a schedule)
set -uo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-300}"
log="$(mktemp "${TMPDIR:-/tmp}/jisseki-crash.XXXXXX.log")"
start=$(date +%s)
JISSEKI_CRASH_ITERATIONS="$iterations" cargo test --release --test crash -- --nocapture >"$log" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
summaries="$(grep -o 'CRASH-SUMMARY .*' "$log" | sed 's/^CRASH-SUMMARY //' | paste -sd '|' - | sed 's/|/ | /g')"
if [ "$status" -eq 0 ]; then
    echo "crash: PASS ${iterations} iterations in ${elapsed}s: ${summaries} (log: $log)"
else
    first_failure="$(grep -m1 -A2 "panicked at" "$log" | tail -n +2 | tr '\n' ' ')"
    [ -n "$first_failure" ] || first_failure="$(grep -m1 -E '^error' "$log")"
    echo "crash: FAIL (exit $status) after ${elapsed}s: ${first_failure} (log: $log)"
fi
exit "$status"
