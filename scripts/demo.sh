#!/usr/bin/env bash
# ShardFlow's main job on the embedded default: builds the release executables and runs the
# launcher with the local source on the bundled sample stream (samples/records.jsonl, with KPL
# aggregates), showing progress and a summary. Then a DynamoDB Streams job on
# samples/dynamodb.jsonl: changes of an orders table, keyed by their table item, only INSERTs
# and MODIFYs processed. Installs what a fresh Debian machine lacks first.
# Extra arguments go to both `shardflow run`s (for example --reducers 4).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDFLOW_SETUP_BUILD_ONLY=1 scripts/setup.sh
swift build -c release --product shardflow >&2
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"
rm -rf .demo
status=0
"$bin/shardflow" run \
  --source file:samples/records.jsonl --shards 4 --extract kpl \
  --state .demo/state --processor jsonl:.demo/output "$@" || status=$?
if [ -d .demo/output ]; then
  echo
  echo "Output: one JSON object per item in .demo/output/ ($(cat .demo/output/*.jsonl | wc -l) items):"
  wc -l .demo/output/*.jsonl
  echo "First item:"
  head -n 1 .demo/output/reducer-0.jsonl
  echo "Checkpoints: .demo/state/records/checkpoints.json"
fi
[ "$status" -eq 0 ] || exit $status

echo
echo "DynamoDB Streams: the orders table's changes, each table item's changes in order, INSERT and MODIFY only"
"$bin/shardflow" run \
  --source orders=file:samples/dynamodb.jsonl --shards 2 --extract dynamodb \
  --filter '{"eventName": ["INSERT", "MODIFY"]}' \
  --state .demo/state --processor jsonl:.demo/orders "$@" || status=$?
if [ -d .demo/orders ]; then
  echo
  echo "Output: $(cat .demo/orders/*.jsonl | wc -l) changes in .demo/orders/, each with eventName, keys, newImage, oldImage:"
  head -n 1 .demo/orders/reducer-0.jsonl | python3 -c 'import json, sys
item = json.loads(sys.stdin.read())
print(json.dumps({k: item[k] for k in ("stream", "eventName", "keys", "newImage", "oldImage", "streamSequenceNumber")}))'
fi
exit $status
