"""A Kinesis (or DynamoDB Streams) Lambda handler for the --exec-format lambda tests, written as
for AWS Lambda: it appends each record it accepts to $OUTPUT (JSON lines), prints a log line per
batch, names records whose data contains FAIL_ONCE in batchItemFailures the first time it sees
them, and raises (failing the whole batch) the first time it meets RAISE_ONCE."""
import base64
import json
import os

seen = set()


def handler(event, context):
    failures = []
    accepted = []
    for record in event["Records"]:
        if "kinesis" in record:
            identifier = record["kinesis"]["sequenceNumber"]
            text = base64.b64decode(record["kinesis"]["data"]).decode()
            source = record["eventSourceARN"]
        else:
            identifier = record["dynamodb"]["SequenceNumber"]
            text = json.dumps(record["dynamodb"].get("NewImage") or record["dynamodb"]["Keys"])
            source = record["eventSourceARN"]
        if "RAISE_ONCE" in text and ("raise", identifier) not in seen:
            seen.add(("raise", identifier))
            raise RuntimeError(f"cannot handle {identifier} yet")
        if "FAIL_ONCE" in text and identifier not in seen:
            seen.add(identifier)
            failures.append({"itemIdentifier": identifier})
            continue
        accepted.append({"id": identifier, "text": text, "source": source, "remaining": context.get_remaining_time_in_millis() > 0})
    with open(os.environ["OUTPUT"], "a") as output:
        for entry in accepted:
            output.write(json.dumps(entry) + "\n")
    print(f"handled {len(event['Records'])} records, {len(failures)} failed")
    return {"batchItemFailures": failures}
