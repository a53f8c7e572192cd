#!/usr/bin/env bash
# ShardFlow's whole test suite: unit tests of every library, and end-to-end tests that run the
# built executables (the launcher and the whole group, the official kclpy sample app, systemd
# unit lints and socket activation). Installs what a fresh Debian machine lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test
