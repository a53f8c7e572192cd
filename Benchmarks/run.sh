#!/usr/bin/env bash
# ShardFlow's end-to-end benchmark: runs the whole group (launcher with the generate source,
# workers, router, mapper, reducers) on synthetic records and prints throughput, CPU use and
# peak memory. Figures, not pass/fail: compare them with the README's table.
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

run() { # name, then shardflow run arguments
  local name="$1"; shift
  "$bin/shardflow" run --no-progress --state "$work/state-$name" --reset --stats-json "$work/$name.json" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || { echo "benchmark $name failed:" >&2; tail -20 "$work/$name.err" >&2; exit 1; }
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
# A longer run: a steady-state figure, with start-up and the last batch a small share of it.
run "spin20-1-2" --source "generate:$(( 1000000 / scale )),size=100,keys=1000" --shards 1 --reducers 2 --mappers 1 --processor spin:20

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
rows = []
for name in sorted(os.listdir(work)):
    if not name.endswith(".json"):
        continue
    s = json.load(open(os.path.join(work, name)))
    kind = name.split("-")[0]
    size = int(name.split("-")[1]) if kind in ("discard", "key", "none") else 100
    rate = s["records"] / s["seconds"]
    rows.append((name[:-5], kind, size, s["shards"], s["reducers"], s["records"], s["items"], s["seconds"], rate,
                 rate * size / 1e6, 100 * s["cpuSeconds"] / s["totalSeconds"], s["peakResidentBytesSum"] / 2**20, s["exitStatus"]))
print(f"{'run':<22}{'shards':>7}{'reducers':>9}{'records':>10}{'seconds':>9}{'records/s':>11}{'MB/s':>8}{'CPU %':>8}{'peak MiB':>10}")
for r in rows:
    print(f"{r[0]:<22}{r[3]:>7}{r[4]:>9}{r[5]:>10}{r[7]:>9.2f}{r[8]:>11,.0f}{r[9]:>8.1f}{r[10]:>8.0f}{r[11]:>10.0f}" + ("" if r[12] == 0 else f"  exit {r[12]}!"))
print()
print("records/s and MB/s: records delivered end to end per second of processing, from the source's start until")
print("every shard ended with every item acknowledged (MB/s counts record payload bytes);")
print("CPU %: CPU time of every process of the group (launcher included) per second from launch to exit (200% = both cores);")
print("peak MiB: sum of each process's peak resident memory. spin20: 20 µs of CPU per item, one shard, 2 reducers.")
print("key / none: 2 mappers, --ordering key (the default: each shard's records through one mapper, every key in")
print("shard order) or none (batches to any mapper); the rest use 1 mapper and the default.")
PY
