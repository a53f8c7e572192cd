#!/usr/bin/env bash
# The long chaos run: `shardflow run` over RECORDS records (a tenth of them KPL aggregates)
# into jsonl output, with a random process of the group killed (SIGKILL) every INTERVAL
# seconds, over two mappers, checking every stored checkpoint against the output, every key's
# first deliveries against the shard's order and, at the end, that every item arrived and no
# line is torn. Prints the summary as JSON (Tests/EndToEndTests/Fixtures/chaos.py).
#
#   scripts/chaos.sh [RECORDS] [INTERVAL]      defaults: 3000000 records, a kill every 0.5 s
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-3000000}"
interval="${2:-0.5}"
scripts/setup.sh >&2
swift build -c release >&2
work="$(mktemp -d /tmp/shardflow-chaos.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 Tests/EndToEndTests/Fixtures/chaos.py --bin "$(swift build -c release --show-bin-path)" --work "$work/run" \
  --records "$records" --interval "$interval" "$interval" --timeout 7200 --batch-size 500 --mappers 2
