#!/usr/bin/env bash
# ShardFlow's end-to-end benchmark: runs the whole group (launcher with the generate source,
# workers, router, mapper, reducers) on synthetic records and prints throughput, CPU use,
# memory (peak RSS and PSS), latency at 10 % and 50 % of the measured capacity, and the CPU
# each kind of process spends per record (and, for spin:20, how the CPU the group left unused
# splits into idle cores and other processes of the host); then what the host itself allows,
# measured without ShardFlow (Benchmarks/host-baseline.c): the share of two cores pure
# computation gets, and the round-trip latency of a ring of processes that do no work. Figures,
# not pass/fail: compare them with the README.
#
#   Benchmarks/run.sh            the full matrix (about a minute on 2 cores)
#   Benchmarks/run.sh --quick    fewer records per run
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDFLOW_SETUP_BUILD_ONLY=1 scripts/setup.sh
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"
scale=1
[ "${1:-}" = "--quick" ] && scale=4
work="$(mktemp -d /tmp/shardflow-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
clang -O2 -o "$work/host-baseline" Benchmarks/host-baseline.c

run() { # name, then shardflow run arguments
  local name="$1"; shift
  # The machine's CPU counters around the run: what the group left unused splits into idle
  # cores and other processes of the host.
  head -1 /proc/stat >"$work/$name.cpu"
  "$bin/shardflow" run --no-progress --state "$work/state-$name" --reset --stats-json "$work/$name.json" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || { echo "benchmark $name failed:" >&2; tail -20 "$work/$name.err" >&2; exit 1; }
  head -1 /proc/stat >>"$work/$name.cpu"
}

for size in 100 1000; do
  count=$(( (size == 100 ? 1500000 : 500000) / scale ))
  for shards in 1 4; do
    for reducers in 1 2; do
      run "discard-$size-$shards-$reducers" --source "generate:$count,size=$size,keys=1000" \
        --shards "$shards" --reducers "$reducers" --mappers 1 --processor discard
    done
  done
done
# The cost of per-key ordering (the default) next to the opt-out, over two mappers: with one
# shard, ordering keeps the shard on one mapper; with none, its batches spread over both.
for shards in 1 4; do
  for ordering in key none; do
    run "$ordering-100-$shards-2" --source "generate:$(( 1500000 / scale )),size=100,keys=1000" --shards "$shards" --reducers 2 \
      --mappers 2 --ordering "$ordering" --processor discard
  done
done
# discard runs on the reducer's event loop; spin:0 does nothing on the processor thread, as any
# processor that may block does: the cost of handing each batch to that thread and back.
run "spin0-100-1-2" --source "generate:$(( 1500000 / scale )),size=100,keys=1000" --shards 1 --reducers 2 --mappers 1 --processor spin:0
# 20 µs of CPU per item on one shard: the ideal on 2 cores is 100,000 items/s. 300,000 items,
# counted from launch to exit (start-up included). Three runs: the host moves this figure by
# a few points from one run to the next, so the report shows all three and reads the median.
for attempt in 1 2 3; do
  run "spin20-1-2.$attempt" --source "generate:$(( 300000 / scale )),size=100,keys=1000" --shards 1 --reducers 2 --mappers 1 --processor spin:20
done
# The default group (one reducer per core, half as many mappers) on 100-byte records, for memory.
run "default-100-4" --source "generate:$(( 1500000 / scale )),size=100,keys=1000" --shards 4 --processor discard
# Latency at 10 % and 50 % of the capacity just measured (one shard, 2 reducers, discard),
# with default settings: a paced source, 3 seconds each.
capacity=$(python3 -c "import json; s=json.load(open('$work/discard-100-1-2.json')); print(int(s['records'] / s['seconds']))")
for load in 10 50; do
  rate=$(( capacity * load / 100 ))
  run "latency-$load" --source "generate:$(( rate * 3 )),size=100,keys=1000,rate=$rate" --shards 1 --reducers 2 --mappers 1 --processor discard
done
# The host without ShardFlow: pure computation on both cores (the ceiling for spin20), and a
# token around a ring of 8 processes (about as many wake-ups as an item's acknowledged path)
# at 1,000 round trips a second (the floor under the latency figures).
"$work/host-baseline" compute 1.5 >"$work/host.txt"
"$work/host-baseline" ring 8 3 1000 >>"$work/host.txt"

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def load(name):
    return json.load(open(os.path.join(work, name + ".json")))
names = sorted(n[:-5] for n in os.listdir(work) if n.endswith(".json"))
print(f"{'run':<18}{'shards':>7}{'reducers':>9}{'records':>10}{'seconds':>9}{'records/s':>11}{'MB/s':>8}{'CPU %':>7}{'RSS MiB':>9}{'PSS MiB':>9}")
for name in names:
    if name.startswith("latency"):
        continue
    s = load(name)
    kind = name.split("-")[0]
    size = int(name.split("-")[1]) if kind in ("discard", "key", "none", "default", "spin0") else 100
    rate = s["records"] / s["seconds"]
    print(f"{name:<18}{s['shards']:>7}{s['reducers']:>9}{s['records']:>10}{s['seconds']:>9.2f}{rate:>11,.0f}{rate * size / 1e6:>8.1f}"
          f"{100 * s['cpuSeconds'] / s['totalSeconds']:>7.0f}{s['peakResidentBytesSum'] / 2**20:>9.0f}{s['peakProportionalBytesSum'] / 2**20:>9.0f}"
          + ("" if s["exitStatus"] == 0 else f"  exit {s['exitStatus']}!"))
print()
spin_runs = sorted(((f"spin20-1-2.{attempt}", load(f"spin20-1-2.{attempt}")) for attempt in (1, 2, 3)), key=lambda run: run[1]["items"] / run[1]["totalSeconds"])
spins = [s for _, s in spin_runs]
spin = spins[1]
print("spin20, three runs: " + " / ".join(f"{s['items'] / s['totalSeconds'] / 1000:.1f} %" for s in spins)
      + " of the 2-core ideal (100,000 items/s) from launch to exit; the median run:")
launch_to_exit = spin["items"] / spin["totalSeconds"]
print(f"spin20: {launch_to_exit:,.0f} items/s from launch to exit = {launch_to_exit / 1000:.1f} % of the 2-core ideal (100,000/s); "
      f"{spin['items'] / spin['seconds']:,.0f} items/s while processing")
# Where the two cores' time went: launch to exit on two cores is the items' work, the group's own
# CPU (every process, the launcher included) and what the group left unused (start, stop, waits).
spin_work = 20e-6 * spin["items"]
print(f"spin20: 2 cores x {spin['totalSeconds']:.3f} s = {2 * spin['totalSeconds']:.2f} s of CPU: the items' work {spin_work:.2f} s, "
      f"the group's own {spin['cpuSeconds'] - spin_work:.2f} s, unused {2 * spin['totalSeconds'] - spin['cpuSeconds']:.2f} s "
      f"(launch to exit less processing: {spin['totalSeconds'] - spin['seconds']:.3f} s)")
# /proc/stat around each run (clock ticks, 1/100 s per core): the cores' idle time, and the CPU
# the host's other processes and kernel threads took, which the group could not have had.
hz = os.sysconf("SC_CLK_TCK")
def host_share(name, s):
    before, after = ([int(v) for v in line.split()[1:]] for line in open(os.path.join(work, name + ".cpu")))
    delta = [b - a for a, b in zip(before, after)]
    idle = (delta[3] + delta[4]) / hz
    busy = (sum(delta[:8]) - delta[3] - delta[4]) / hz
    # The group's own CPU is counted to the microsecond, the host's in ticks: a host with nothing
    # else running can come out a hair below zero.
    return idle, max(0.0, busy - s["cpuSeconds"])
shares = [host_share(name, s) for name, s in spin_runs]
print("spin20, what the group left unused in the three runs (same order): idle cores " + " / ".join(f"{idle:.2f}" for idle, _ in shares)
      + " s, the host's other processes " + " / ".join(f"{other:.2f}" for _, other in shares)
      + " s (/proc/stat, to 0.01 s per core)")
print()
capacity = load("discard-100-1-2")
print(f"latency (one shard, 2 reducers, discard, default settings; capacity {capacity['records'] / capacity['seconds']:,.0f} records/s):")
print(f"{'load':<8}{'records/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}{'samples':>9}")
for load_percent in (10, 50):
    s = load(f"latency-{load_percent}")
    l = s["latency"]
    print(f"{str(load_percent) + ' %':<8}{s['records'] / s['seconds']:>11,.0f}{l['p50Ms']:>9.2f}{l['p99Ms']:>9.2f}{l['p999Ms']:>10.2f}{l['maxMs']:>9.2f}{l['samples']:>9}")
print()
print("CPU per record, µs (worker: all workers; launcher: plays the daemon and supervises):")
kinds = ("worker", "launcher", "router", "mapper", "reducer")
print(f"{'run':<18}" + "".join(f"{k:>10}" for k in kinds) + f"{'total':>10}")
for name in ("discard-100-1-2", "discard-100-4-2", "discard-1000-4-2", "key-100-1-2", "spin0-100-1-2", "spin20-1-2"):
    s = spin if name == "spin20-1-2" else load(name)
    cost = {k: 0.0 for k in kinds}
    for process in s["processes"]:
        kind = "worker" if process["name"] == "workers" else process["name"].split("-")[0]
        cost[kind] += process["cpuSeconds"]
    # spin20: the reducers' column leaves out the 20 µs of each item's own work.
    if name.startswith("spin20"):
        cost["reducer"] -= 20e-6 * s["items"]
    row = {k: 1e6 * v / s["records"] for k, v in cost.items()}
    print(f"{name:<18}" + "".join(f"{row[k]:>10.2f}" for k in kinds) + f"{sum(row.values()):>10.2f}")
print("(spin20: the median run; the reducers' CPU beyond the 20 µs of work per item; the group's own cost at about 90,000 items/s)")
print()
print(open(os.path.join(work, "host.txt")).read(), end="")
print()
print("records/s and MB/s: records delivered end to end per second of processing, from the source's start until")
print("every shard ended with every item acknowledged (MB/s counts record payload bytes); CPU %: CPU time of every")
print("process of the group (launcher included) per second from launch to exit (200% = both cores); RSS MiB: sum of")
print("each process's peak resident memory; PSS MiB: peak of the proportional set size summed over every process at")
print("once (shared pages counted once). key / none: 2 mappers, --ordering key (the default) or none; default-100-4:")
print("the default group (one reducer per core, half as many mappers); the rest use 1 mapper. discard runs on each")
print("reducer's event loop; spin0-100-1-2 (spin:0, no work, on the processor thread like every processor that may")
print("block) shows what handing each batch to that thread and back costs.")
PY
