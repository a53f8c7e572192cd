#!/usr/bin/env python3
"""Chaos run: `shardflow run` over KPL aggregates into jsonl output while a random process of
the group (a worker, the router, a mapper or a reducer) is killed with SIGKILL every few
seconds. Checks, and prints as a JSON summary on stdout:

  * every checkpoint the launcher stores is covered by the output at that moment (checked as
    soon as the file changes, through inotify): no shard is checkpointed past an item that is
    not durably in the output;
  * at the end: the run completed (exit 0, every shard at SHARD_END), every expected item is in
    the output, and every output line is whole JSON;
  * order (with --ordering key, the default): for every key of a shard, the first delivery of
    each of its items comes in the order of their records in the shard (and of the items in a
    record), however often processes were killed. Repeats may come later; they are not checked.
    With --ordering none the count of items delivered out of order is only reported.

Exits 1 with the reasons on stderr when any check fails.

Usage: chaos.py --bin DIR --work DIR [--records N] [--aggregate-share F] [--shards S]
                [--reducers R] [--mappers M] [--interval MIN MAX] [--seed N] [--timeout S]
                [--ordering key|none] [--no-kills]
"""
import argparse
import base64
import ctypes
import ctypes.util
import json
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

from aws_kinesis_agg.aggregator import RecordAggregator

parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--records", type=int, default=20000)
parser.add_argument("--aggregate-share", type=float, default=0.1)
parser.add_argument("--shards", type=int, default=3)
parser.add_argument("--reducers", type=int, default=2)
parser.add_argument("--mappers", type=int, default=1)
parser.add_argument("--interval", type=float, nargs=2, default=[1.0, 2.0])
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--timeout", type=float, default=600)
parser.add_argument("--batch-size", type=int, default=50)
parser.add_argument("--ordering", choices=["key", "none"], default="key")
parser.add_argument("--no-kills", action="store_true", help="kill nothing (an order check alone)")
options = parser.parse_args()
rng = random.Random(options.seed)
os.makedirs(options.work, exist_ok=True)
work = os.path.abspath(options.work)
problems = []


def md5_shard(key, shards):
    import hashlib
    value = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    return min(value // ((1 << 128) // shards), shards - 1)


# Input: plain records and KPL aggregates; expected items per (shard, line).
lines_per_shard = [[] for _ in range(options.shards)]  # [(line, itemCount)]
expected = set()
with open(os.path.join(work, "input.jsonl"), "w") as out:
    for n in range(options.records):
        line = n + 1
        if rng.random() < options.aggregate_share:
            aggregator = RecordAggregator()
            members = rng.randint(2, 12)
            users = []
            for m in range(members):
                key = "user-%d" % rng.randint(0, 999)
                data = ("aggregate %d member %d" % (n, m)).encode()
                aggregator.add_user_record(key, data)
                users.append((key, data))
            outer, _, blob = aggregator.clear_and_get().get_contents()
            out.write(json.dumps({"partitionKey": outer, "data": base64.b64encode(blob).decode()}) + "\n")
            shard = md5_shard(outer, options.shards)
            for index, (key, data) in enumerate(users):
                expected.add((key, data, index, len(users)))
            lines_per_shard[shard].append((line, len(users)))
        else:
            key = "plain-%d" % (n % 5000)
            data = ("plain record %d" % n).encode()
            out.write(json.dumps({"partitionKey": key, "data": base64.b64encode(data).decode()}) + "\n")
            expected.add((key, data, 0, 1))
            lines_per_shard[md5_shard(key, options.shards)].append((line, 1))

# The output, read incrementally: items seen per (shard, line), and each shard's complete prefix.
out_dir = os.path.join(work, "out")
state_dir = os.path.join(work, "state")
os.makedirs(out_dir, exist_ok=True)
os.makedirs(os.path.join(state_dir, "input"), exist_ok=True)  # the stream "input" (input.jsonl)
offsets = {}
seen = [dict() for _ in range(options.shards)]  # line -> set(itemIndex)
prefix = [0] * options.shards  # position in lines_per_shard[s] of the first incomplete line
delivered = set()
duplicates = 0
last_first = {}  # (shard, key) -> (line, itemIndex) of the key's latest first delivery
order_violations = 0
torn = []
lock = threading.Lock()


def read_output():
    global duplicates, order_violations
    for name in sorted(os.listdir(out_dir)):
        if not (name.startswith("reducer-") and name.endswith(".jsonl")):
            continue
        path = os.path.join(out_dir, name)
        size = os.path.getsize(path)
        start = offsets.get(name, 0)
        if size < start:
            start = size  # cut back to its last complete line after a crash: nothing consumed was removed
        with open(path, "rb") as f:
            f.seek(start)
            chunk = f.read(size - start)
        end = chunk.rfind(b"\n")
        if end < 0:
            offsets[name] = start
            continue
        offsets[name] = start + end + 1
        for raw in chunk[: end + 1].split(b"\n")[:-1]:
            try:
                item = json.loads(raw)
            except ValueError:
                torn.append("%s: %r" % (name, raw[:120]))
                continue
            sequence = item["sequenceNumber"]
            shard, line = int(sequence[2:8]), int(sequence[8:])
            key = (item["partitionKey"], base64.b64decode(item["data"]), item["itemIndex"], item["itemCount"])
            if key in delivered:
                duplicates += 1
            else:
                position = (line, item["itemIndex"])
                previous = last_first.get((shard, item["key"]))
                if previous is not None and position < previous:
                    order_violations += 1
                last_first[(shard, item["key"])] = max(position, previous or position)
            delivered.add(key)
            seen[shard].setdefault(line, set()).add(item["itemIndex"])
    for shard in range(options.shards):
        records = lines_per_shard[shard]
        while prefix[shard] < len(records):
            line, count = records[prefix[shard]]
            if len(seen[shard].get(line, ())) < count:
                break
            prefix[shard] += 1


snapshots = 0


def check_checkpoints():
    global snapshots
    try:
        with open(os.path.join(state_dir, "input", "checkpoints.json")) as f:
            checkpoints = json.load(f)
    except (OSError, ValueError):
        return
    with lock:
        read_output()
        snapshots += 1
        for shard_id, position in checkpoints.items():
            shard = int(shard_id[-12:])
            sequence = position["sequenceNumber"]
            records = lines_per_shard[shard]
            covered = records[prefix[shard] - 1][0] if prefix[shard] > 0 else 0
            if sequence == "SHARD_END":
                if prefix[shard] < len(records):
                    problems.append("%s at SHARD_END while line %d is not all in the output" % (shard_id, records[prefix[shard]][0]))
            elif sequence not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
                line = int(sequence[8:])
                if line > covered:
                    problems.append("%s checkpointed at line %d, output complete only to line %d" % (shard_id, line, covered))


def watch_checkpoints(stop):
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    libc.inotify_add_watch(fd, os.path.join(state_dir, "input").encode(), 0x00000080 | 0x00000008)  # IN_MOVED_TO | IN_CLOSE_WRITE
    import select
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not stop.is_set():
        if poller.poll(200):
            os.read(fd, 65536)
            check_checkpoints()
    os.close(fd)


# The run, in its own process group.
runtime = "/tmp/sf-chaos-%d-%d" % (os.getpid(), rng.randint(0, 1 << 30))
command = [
    os.path.join(options.bin, "shardflow"), "run", "--source", "file:input.jsonl", "--shards", str(options.shards),
    "--reducers", str(options.reducers), "--mappers", str(options.mappers), "--extract", "kpl", "--state", "state",
    "--processor", "jsonl:out", "--runtime-dir", runtime, "--checkpoint-interval", "100ms", "--records-per-batch", "200",
    "--batch-size", str(options.batch_size), "--no-progress", "--max-retry-delay", "1s", "--ordering", options.ordering,
]
log = open(os.path.join(work, "launcher.log"), "wb")
launcher = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
stop = threading.Event()
watcher = threading.Thread(target=watch_checkpoints, args=(stop,), daemon=True)
watcher.start()


def group_pids():
    """(kind, pid) of the group's processes, found by their runtime directory."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = open("/proc/%s/cmdline" % entry, "rb").read().split(b"\0")
        except OSError:
            continue
        if not argv or runtime.encode() not in argv:
            continue
        program = os.path.basename(argv[0].decode(errors="replace"))
        if program.startswith("shardflow-"):
            found.append((program[len("shardflow-"):], int(entry)))
    return found


kills = {}
started = time.time()
deadline = started + options.timeout
while launcher.poll() is None and time.time() < deadline:
    time.sleep(rng.uniform(*options.interval))
    if options.no_kills:
        continue
    targets = group_pids()
    if not targets or launcher.poll() is not None:
        continue
    kind, pid = rng.choice(targets)
    try:
        os.kill(pid, signal.SIGKILL)
        kills[kind] = kills.get(kind, 0) + 1
    except ProcessLookupError:
        pass
if launcher.poll() is None:
    problems.append("the run did not complete within %d s" % options.timeout)
    os.killpg(launcher.pid, signal.SIGKILL)
launcher.wait()
seconds = time.time() - started
stop.set()
watcher.join()
check_checkpoints()
with lock:
    read_output()
if launcher.returncode != 0:
    problems.append("shardflow run exited with %d (see %s/launcher.log)" % (launcher.returncode, work))
missing = expected - delivered
if missing:
    problems.append("%d expected items are missing, e.g. %r" % (len(missing), sorted(missing)[:3]))
if torn:
    problems.append("%d torn lines, e.g. %s" % (len(torn), torn[:3]))
if options.ordering == "key" and order_violations:
    problems.append("%d items were first delivered after a later item of their key" % order_violations)
checkpoints = json.load(open(os.path.join(state_dir, "input", "checkpoints.json")))
if len(checkpoints) != options.shards or any(v["sequenceNumber"] != "SHARD_END" for v in checkpoints.values()):
    problems.append("not every shard ended: %s" % checkpoints)
summary = {
    "records": options.records, "items": len(expected), "delivered": len(delivered), "duplicates": duplicates,
    "ordering": options.ordering, "orderViolations": order_violations,
    "kills": kills, "checkpointSnapshots": snapshots, "seconds": round(seconds, 1), "exitStatus": launcher.returncode,
    "problems": problems[:20],
}
print(json.dumps(summary))
sys.exit(1 if problems else 0)
