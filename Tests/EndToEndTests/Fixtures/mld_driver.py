#!/usr/bin/env python3
"""Plays the KCL MultiLangDaemon for one shard against a worker command, like the Java daemon:
initialize, processRecords batches, checkpoint replies, shardEnded, then closes the worker's
stdin. Prints a JSON summary on stdout.

Usage: mld_driver.py --records N [--batch B] [--pause SECONDS] [--shard ID] [--millis-behind MS]
                     [--poison I] [--hold-until FILE] [--graceful-term] -- WORKER COMMAND...
Records: partition key "key-<i mod 50>", data {"n": i} (record I with --poison: "FAIL_ALWAYS I").
--millis-behind is the lag reported with every batch; --hold-until waits for FILE to exist before
shardEnded, keeping the worker (and its shard) alive meanwhile. --graceful-term plays the Java
daemon's shutdown hook: on SIGTERM, after the batch in flight, shutdownRequested (the worker
checkpoints what is complete) instead of the remaining records and shardEnded.
"""
import argparse
import base64
import json
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--records", type=int, required=True)
parser.add_argument("--batch", type=int, default=100)
parser.add_argument("--pause", type=float, default=0.0)
parser.add_argument("--shard", default="shardId-000000000000")
parser.add_argument("--millis-behind", type=int, default=0)
parser.add_argument("--poison", type=int, default=-1)
parser.add_argument("--hold-until", default=None)
parser.add_argument("--graceful-term", action="store_true")
parser.add_argument("worker", nargs=argparse.REMAINDER)
options = parser.parse_args()
command = options.worker[1:] if options.worker and options.worker[0] == "--" else options.worker

worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
checkpoints = []


def send(message):
    worker.stdin.write(json.dumps(message) + "\n")
    worker.stdin.flush()


def exchange(message, largest):
    send(message)
    while True:
        line = worker.stdout.readline()
        if not line:
            sys.exit(f"mld_driver: the worker closed its stdout while {message['action']} awaited its status")
        line = line.strip()
        if not line:
            continue
        reply = json.loads(line)
        if reply["action"] == "checkpoint":
            sequence = reply["sequenceNumber"]
            if sequence is None:
                sequence = "SHARD_END" if message["action"] == "shardEnded" else largest
            checkpoints.append(sequence)
            send({"action": "checkpoint", "sequenceNumber": reply["sequenceNumber"],
                  "subSequenceNumber": reply["subSequenceNumber"], "error": None})
        elif reply["action"] == "status":
            if reply["responseFor"] != message["action"]:
                sys.exit(f"mld_driver: status for {reply['responseFor']} while {message['action']} awaited one")
            return


terminated = False
if options.graceful_term:
    import signal

    def on_term(signum, frame):
        global terminated
        terminated = True

    signal.signal(signal.SIGTERM, on_term)

exchange({"action": "initialize", "shardId": options.shard, "sequenceNumber": "TRIM_HORIZON", "subSequenceNumber": None}, None)
sent = 0
while sent < options.records and not terminated:
    records = []
    for n in range(sent, min(options.records, sent + options.batch)):
        sequence = str(49000000000000000000 + n)
        data = (b"FAIL_ALWAYS %d" % n) if n == options.poison else json.dumps({"n": n}).encode()
        records.append({"action": "record", "data": base64.b64encode(data).decode(),
                        "partitionKey": f"key-{n % 50}", "sequenceNumber": sequence, "subSequenceNumber": 0,
                        "approximateArrivalTimestamp": int(time.time() * 1000)})
    sent += len(records)
    exchange({"action": "processRecords", "records": records, "millisBehindLatest": options.millis_behind}, records[-1]["sequenceNumber"])
    if options.pause:
        time.sleep(options.pause)
if options.hold_until:
    import os
    while not os.path.exists(options.hold_until) and not terminated:
        time.sleep(0.05)
if terminated:
    exchange({"action": "shutdownRequested"}, None)
else:
    exchange({"action": "shardEnded"}, None)
worker.stdin.close()
status = worker.wait(timeout=60)
print(json.dumps({"shard": options.shard, "records": sent, "checkpoints": checkpoints, "exit": status,
                  "ended": "shutdownRequested" if terminated else "shardEnded"}), flush=True)
