#!/usr/bin/env bash
# ShardFlow's main job on the embedded default: builds the release executables and runs the
# launcher with the local source on the bundled sample stream (samples/records.jsonl, with KPL
# aggregates), showing progress and a summary. Installs what a fresh Debian machine lacks first.
# Extra arguments go to `shardflow run` (for example --reducers 4).
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
  echo "Checkpoints: .demo/state/checkpoints.json"
fi
exit $status
