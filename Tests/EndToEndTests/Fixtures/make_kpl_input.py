#!/usr/bin/env python3
"""Writes a local-source input with KPL aggregates made by the independent aws-kinesis-agg
package, and the user records the pipeline must deliver.

Usage: make_kpl_input.py INPUT.jsonl EXPECTED.jsonl [aggregates] [plain]
EXPECTED lines: {"partitionKey": user key, "data": base64, "itemCount": n, "itemIndex": i}.
"""
import base64
import json
import random
import sys

from aws_kinesis_agg.aggregator import RecordAggregator

input_path, expected_path = sys.argv[1], sys.argv[2]
aggregates = int(sys.argv[3]) if len(sys.argv) > 3 else 60
plain = int(sys.argv[4]) if len(sys.argv) > 4 else 40
rng = random.Random(7)
records, expected = [], []
for n in range(aggregates + plain):
    if n < aggregates:
        aggregator = RecordAggregator()
        members = rng.randint(1, 30) if n % 10 else 200
        users = []
        for m in range(members):
            key = f"user-{rng.randint(0, 500)}"
            data = f"aggregate {n} member {m} {'x' * rng.randint(0, 40)}".encode()
            aggregator.add_user_record(key, data)
            users.append((key, data))
        outer_key, _, blob = aggregator.clear_and_get().get_contents()
        records.append({"partitionKey": outer_key, "data": base64.b64encode(blob).decode()})
        # aws-kinesis-agg emits a single user record as an aggregate too; either way the
        # pipeline must deliver the user records, numbered in order.
        for index, (key, data) in enumerate(users):
            expected.append({"partitionKey": key, "data": base64.b64encode(data).decode(),
                             "itemCount": len(users), "itemIndex": index})
    else:
        key = f"plain-{n}"
        data = f"plain record {n}".encode()
        records.append({"partitionKey": key, "data": base64.b64encode(data).decode()})
        expected.append({"partitionKey": key, "data": base64.b64encode(data).decode(), "itemCount": 1, "itemIndex": 0})
rng.shuffle(records)
with open(input_path, "w") as out:
    for record in records:
        out.write(json.dumps(record) + "\n")
with open(expected_path, "w") as out:
    for item in expected:
        out.write(json.dumps(item) + "\n")
