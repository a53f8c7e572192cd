#!/usr/bin/env python3
"""Writes samples/dynamodb.jsonl: a DynamoDB Streams sample for `--extract dynamodb`.

Each line is one record as the local source reads it, {"partitionKey", "data",
"approximateArrivalTimestamp"}, whose data is a DynamoDB Streams change of an `orders` table
(composite key: customer `pk`, order `sk`) in the JSON the DynamoDB Streams Kinesis adapter
delivers: eventName INSERT, MODIFY or REMOVE, dynamodb.Keys / NewImage / OldImage in DynamoDB's
typed JSON, SequenceNumber, ApproximateCreationDateTime. As in real stream records, `Keys` lists
its attributes in no fixed order; ShardFlow keys items by its canonical form. The partition key
(the customer) only spreads the changes over the local source's shards. Deterministic.

Usage: python3 samples/generate_dynamodb_samples.py [count] > samples/dynamodb.jsonl
"""
import base64
import json
import random
import sys

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 600
rng = random.Random(20261130)
customers = [f"customer#{n:03d}" for n in range(40)]
statuses = ["placed", "paid", "packed", "shipped", "delivered"]
orders = {}  # (pk, sk) -> image
start = 1_764_460_800_000  # 2025-11-30T00:00:00Z, in milliseconds

for n in range(COUNT):
    if orders and rng.random() < 0.65:
        key = rng.choice(sorted(orders))
        old = orders[key]
        if old["status"]["S"] == "delivered" or rng.random() < 0.05:
            name, new = "REMOVE", None
            del orders[key]
        else:
            name = "MODIFY"
            new = dict(old, status={"S": statuses[statuses.index(old["status"]["S"]) + 1]})
            orders[key] = new
    else:
        key = (rng.choice(customers), f"order#{n:05d}")
        name, old = "INSERT", None
        new = {"pk": {"S": key[0]}, "sk": {"S": key[1]}, "status": {"S": "placed"},
               "total": {"N": f"{rng.uniform(5, 400):.2f}"}}
        orders[key] = new
    members = [("pk", {"S": key[0]}), ("sk", {"S": key[1]})]
    rng.shuffle(members)
    created = start + n * 250
    change = {"ApproximateCreationDateTime": created, "Keys": dict(members),
              "SequenceNumber": f"{4000000000000000000000 + n * 100:d}", "SizeBytes": 120,
              "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    record = {"awsRegion": "eu-west-1", "dynamodb": change, "eventID": f"{n:032x}", "eventName": name,
              "eventSource": "aws:dynamodb", "eventVersion": "1.1"}
    data = json.dumps(record, separators=(",", ":")).encode()
    print(json.dumps({"partitionKey": key[0], "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": created},
                     separators=(",", ":")))
