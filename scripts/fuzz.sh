#!/usr/bin/env bash
# Runs ShardFlow's coverage-guided fuzz targets (libFuzzer with AddressSanitizer) over the
# committed seed corpus in Fuzz/Corpus/<target>.
#
#   scripts/fuzz.sh                   every target, 20,000 inputs each (what the test suite runs)
#   scripts/fuzz.sh TARGET [RUNS]     one target (FrameDecoderFuzz, DaemonLineFuzz, …)
#   scripts/fuzz.sh all RUNS          every target, RUNS inputs each (10000000 for a campaign)
#   FUZZ_JOBS=2 scripts/fuzz.sh all 10000000    the same on two cores
#
# New interesting inputs go to .build-fuzz/corpus/<target> (not committed); a crash leaves its
# input in .build-fuzz/artifacts/<target>/ and makes the script exit 1 with the reproduction
# command. Add every crash input to Fuzz/Corpus/<target> and a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
# A fatal error is the fuzzer's finding: let libFuzzer report it, not Swift's backtracer.
export SWIFT_BACKTRACE=enable=no
target="${1:-all}"
runs="${2:-20000}"
jobs="${FUZZ_JOBS:-1}"
scratch="$PWD/.build-fuzz"
(cd Fuzz && swift build -c release --sanitize fuzzer --sanitize address --scratch-path "$scratch" >&2)
bin="$(cd Fuzz && swift build -c release --sanitize fuzzer --sanitize address --scratch-path "$scratch" --show-bin-path)"
if [ "$target" = "all" ]; then
  targets=$(ls Fuzz/Corpus)
else
  targets="$target"
fi
status=0
for name in $targets; do
  work="$scratch/corpus/$name"
  artifacts="$scratch/artifacts/$name"
  mkdir -p "$work" "$artifacts"
  log="$scratch/$name.log"
  start=$(date +%s)
  if [ "$jobs" -gt 1 ]; then
    per=$(( (runs + jobs - 1) / jobs ))
    args=(-jobs="$jobs" -workers="$jobs")
  else
    per="$runs"
    args=()
  fi
  if "$bin/$name" "${args[@]}" -runs="$per" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/" "$work" "Fuzz/Corpus/$name" >"$log" 2>&1; then
    execs=$( { cat "$log"; cat fuzz-*.log 2>/dev/null || true; } | awk '/stat::number_of_executed_units/ {s+=$2} END {print s+0}')
    echo "$name: $execs inputs, no crash ($(( $(date +%s) - start )) s)"
  else
    status=1
    echo "$name: CRASH — see $log; reproduce with: $bin/$name $(ls -t "$artifacts" | head -1 | sed "s|^|$artifacts/|")" >&2
    tail -30 "$log" >&2
  fi
  rm -f fuzz-*.log
done
exit $status
