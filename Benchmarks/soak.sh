#!/usr/bin/env bash
# Memory over a long run: the default group on a paced source for MINUTES minutes (default 10)
# at RATE records/s (default 500000), sampling the proportional set size (PSS) summed over every
# process of the run every 10 s. Memory must stay flat: after the first minute, no sample may
# exceed the largest of the first minute by more than 10 %. Figures, and a verdict.
#
#   Benchmarks/soak.sh [MINUTES] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDFLOW_SETUP_BUILD_ONLY=1 scripts/setup.sh
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"
minutes="${1:-10}"
rate="${2:-500000}"
work="$(mktemp -d /tmp/shardflow-soak.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$bin/shardflow" run --no-progress --state "$work/state" --processor discard --shards 4 \
  --source "generate:$(( rate * minutes * 60 )),size=100,keys=1000,rate=$rate" --stats-json "$work/stats.json" \
  >"$work/out" 2>"$work/err" &
launcher=$!
python3 - "$launcher" "$minutes" <<'PY'
import os, sys, time
launcher, minutes = int(sys.argv[1]), float(sys.argv[2])

def descendants(root):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
                parents[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except OSError:
                pass
    found, frontier = [root], {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += frontier
    return found

def pss(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

start = time.time()
samples = []
print(f"{'minute':>7}{'PSS MiB':>9}")
while os.path.exists(f"/proc/{launcher}") and time.time() - start < minutes * 60 + 30:
    time.sleep(10)
    total = sum(pss(pid) for pid in descendants(launcher))
    if total == 0:
        break
    minute = (time.time() - start) / 60
    samples.append((minute, total))
    print(f"{minute:>7.1f}{total / 2**20:>9.1f}", flush=True)
first = max((value for minute, value in samples if minute <= 1.0), default=0)
later = max((value for minute, value in samples if minute > 1.0), default=0)
verdict = "flat" if later <= first * 1.10 else "GROWING"
print(f"largest in the first minute {first / 2**20:.1f} MiB, largest after it {later / 2**20:.1f} MiB: {verdict}")
PY
wait "$launcher"
tail -4 "$work/out"
