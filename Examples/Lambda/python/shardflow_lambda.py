#!/usr/bin/env python3
"""Runs an unchanged AWS Lambda handler as a ShardFlow exec: processor.

    shardflow run --source ... --exec-format lambda \
        --processor 'exec:python3 Examples/Lambda/python/shardflow_lambda.py handler.handler'

The argument names the handler as Lambda does, MODULE.FUNCTION (the module is looked up in the
current directory, then on PYTHONPATH). Each batch arrives on stdin as one JSON line holding the
event a Lambda function subscribed to the stream receives ({"Records": [...]}, Kinesis or
DynamoDB Streams records); the shim calls handler(event, context) and writes its partial batch
response, {"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}, as one line on stdout.

As under Lambda:
  * a handler that returns nothing (or no batchItemFailures) processed every record;
  * a handler that raises failed the whole batch: every record is named, and ShardFlow retries
    them (the error and its traceback go to stderr);
  * print() and logging go to the logs: here stderr, so they never mix with the replies.
"""
import importlib
import json
import os
import sys
import time
import traceback
import uuid


class Context:
    """The parts of Lambda's context object handlers commonly read."""

    def __init__(self, name):
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'local')}:000000000000:function:{name}"
        self.memory_limit_in_mb = "0"
        self.log_group_name = "/shardflow/" + name
        self.log_stream_name = "reducer-" + os.environ.get("SHARDFLOW_REDUCER_INDEX", "0")
        self.aws_request_id = ""
        self._deadline = 0.0

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def load(spec):
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        sys.exit(f"shardflow_lambda: name the handler as MODULE.FUNCTION, not {spec!r}")
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(module_name), function_name)


def identifiers(event):
    for record in event.get("Records", []):
        if "kinesis" in record:
            yield record["kinesis"]["sequenceNumber"]
        else:
            yield record["dynamodb"]["SequenceNumber"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: shardflow_lambda.py MODULE.FUNCTION")
    replies = sys.stdout
    sys.stdout = sys.stderr  # the handler's prints are logs
    handler = load(sys.argv[1])
    context = Context(sys.argv[1].rpartition(".")[0])
    timeout = float(os.environ.get("SHARDFLOW_PROCESSOR_TIMEOUT_SECONDS", "60"))
    for line in sys.stdin:
        event = json.loads(line)
        context.aws_request_id = str(uuid.uuid4())
        context._deadline = time.time() + timeout
        try:
            response = handler(event, context) or {}
            failures = response.get("batchItemFailures") or []
        except Exception:
            traceback.print_exc()
            failures = [{"itemIdentifier": identifier} for identifier in identifiers(event)]
        replies.write(json.dumps({"batchItemFailures": failures}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
