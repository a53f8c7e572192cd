#!/usr/bin/env python3
"""An exec processor for tests (and an example of the protocol in docs/processors.md).

Reads one batch per line on stdin, appends every item it accepts to $OUTPUT (JSON lines), and
answers {"batchItemFailures": [...]} naming the items it rejects:
  * items whose data contains FAIL_ONCE fail the first time they are seen (state in $OUTPUT.seen);
  * items whose data contains FAIL_ALWAYS always fail;
  * with EXIT_AFTER=n the process exits without answering its n-th batch (a crash).
"""
import json
import os
import sys

output = os.environ["OUTPUT"]
exit_after = int(os.environ.get("EXIT_AFTER", "0"))
seen_path = output + ".seen"
seen = set(open(seen_path).read().split()) if os.path.exists(seen_path) else set()
batches = 0
for line in sys.stdin:
    batch = json.loads(line)
    batches += 1
    if exit_after and batches == exit_after:
        sys.stderr.write(f"exec_processor: exiting on purpose at batch {batches}\n")
        sys.exit(3)
    failures = []
    accepted = []
    for item in batch["items"]:
        text = __import__("base64").b64decode(item["data"]).decode("utf-8", "replace")
        ident = f'{item["shardId"]}/{item["sequenceNumber"]}/{item["itemIndex"]}'
        if "FAIL_ALWAYS" in text or ("FAIL_ONCE" in text and ident not in seen):
            seen.add(ident)
            failures.append({"itemIdentifier": item["itemIdentifier"], "reason": "rejected by the test processor"})
        else:
            accepted.append(item)
    with open(seen_path, "w") as state:
        state.write("\n".join(sorted(seen)))
    with open(output, "a") as out:
        for item in accepted:
            out.write(json.dumps(item) + "\n")
        out.flush()
        os.fsync(out.fileno())
    sys.stdout.write(json.dumps({"batchItemFailures": failures}) + "\n")
    sys.stdout.flush()
