#!/usr/bin/env bash
# Memory over a long run: the default group on a paced source for MINUTES minutes (default 10)
# at RATE records/s (default 500000), sampling the proportional set size (PSS) summed over every
# process of the run every 2 s. Memory moves with what is in flight (a hiccup of the machine
# leaves a backlog that takes a few seconds to drain), so each minute is summed up by its median
# sample (its level) and its highest one. Memory must stay flat: no later minute's level may
# exceed the first minute's by more than 10 %. Figures, and a verdict.
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
while os.path.exists(f"/proc/{launcher}") and time.time() - start < minutes * 60 + 30:
    time.sleep(2)
    total = sum(pss(pid) for pid in descendants(launcher))
    if total == 0:
        break
    samples.append(((time.time() - start) / 60, total / 2**20))
by_minute = {}
for minute, value in samples:
    by_minute.setdefault(int(minute), []).append(value)
def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
print(f"{'minute':>7}{'level MiB':>11}{'lowest':>8}{'highest':>9}   (PSS of the whole group; level = median of the minute's samples)")
for minute, values in sorted(by_minute.items()):
    print(f"{minute + 1:>7}{median(values):>11.1f}{min(values):>8.1f}{max(values):>9.1f}")
first = by_minute.get(0, [0])
later = [median(values) for minute, values in by_minute.items() if minute > 0]
highest_later = max((value for minute, values in by_minute.items() if minute > 0 for value in values), default=0)
if not later:
    verdict = "too short to judge (run at least 2 minutes)"
elif max(later) <= median(first) * 1.10:
    verdict = "flat"
else:
    verdict = "GROWING"
if later:
    print(f"level in the first minute {median(first):.1f} MiB, highest level after it {max(later):.1f} MiB: {verdict}")
    print(f"highest sample in the first minute {max(first):.1f} MiB, after it {highest_later:.1f} MiB")
else:
    print(f"level in the first minute {median(first):.1f} MiB: {verdict}")
PY
wait "$launcher"
tail -4 "$work/out"
