#!/usr/bin/env bash
# ShardFlow's whole test suite: unit tests of every library, and end-to-end tests that run the
# built executables (the launcher and the whole group, the official kclpy sample app, systemd
# unit lints and socket activation, faults and chaos), then every fuzz target for a bounded
# number of inputs. Installs what a fresh Debian machine lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test
# Coverage-guided fuzzing of every decoder and parser, a bounded number of inputs per target
# (a long campaign: scripts/fuzz.sh all 10000000).
scripts/fuzz.sh all 200000
