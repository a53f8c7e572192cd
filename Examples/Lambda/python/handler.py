"""An ordinary Kinesis Lambda handler with partial batch responses, as AWS documents them: it runs
unchanged under ShardFlow behind shardflow_lambda.py. It sums the "amount" of JSON records and
reports records that are not JSON as failed (ShardFlow retries them)."""
import base64
import json


def handler(event, context):
    failures = []
    total = 0.0
    for record in event["Records"]:
        try:
            payload = json.loads(base64.b64decode(record["kinesis"]["data"]))
            total += float(payload.get("amount", 0))
        except ValueError:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    print(f"{context.function_name}: {len(event['Records'])} records, amount {total:.2f}, {len(failures)} failed")
    return {"batchItemFailures": failures}
