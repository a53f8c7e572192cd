#!/usr/bin/env python3
"""Writes samples/records.jsonl: the sample stream the README's first command processes.

Each line is one Kinesis record, {"partitionKey": "...", "data": "<base64>"}. Most records are
plain JSON events; every 25th line is a KPL aggregate of 2 to 12 user records produced by the
independent `aws-kinesis-agg` package (pip install aws-kinesis-agg), so `--extract kpl` has
something to de-aggregate. The output is deterministic (fixed seed).

Usage: python3 samples/generate_samples.py [count] > samples/records.jsonl
"""
import base64
import json
import random
import sys

from aws_kinesis_agg.aggregator import RecordAggregator

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rng = random.Random(20261127)
users = [f"user-{n:04d}" for n in range(150)]
actions = ["view", "click", "add_to_cart", "purchase", "search"]


def event(n, user):
    return json.dumps({"event": n, "user": user, "action": rng.choice(actions),
                       "amount": round(rng.uniform(1, 200), 2)}, separators=(",", ":")).encode()


lines = []
for n in range(COUNT):
    if n % 25 == 24:
        aggregator = RecordAggregator()
        members = rng.randint(2, 12)
        for m in range(members):
            user = rng.choice(users)
            aggregator.add_user_record(user, event(n * 100 + m, user))
        outer_key, _, data = aggregator.clear_and_get().get_contents()
        lines.append({"partitionKey": outer_key, "data": base64.b64encode(data).decode()})
    else:
        user = rng.choice(users)
        lines.append({"partitionKey": user, "data": base64.b64encode(event(n, user)).decode()})

for line in lines:
    print(json.dumps(line, separators=(",", ":")))
