#!/usr/bin/env bash
# Installs what ShardFlow needs to build and test on a fresh Debian machine (run as root).
# Idempotent: installs only what is missing.
#   - libsystemd-dev and pkg-config: the CSystemd module (sd_notify, socket activation);
#   - systemd's tools (systemd-analyze, systemd-socket-activate): the deployment tests;
#   - aws-kinesis-agg (PyPI): an independent KPL aggregator the tests check against;
#   - amazon-kclpy 3.2.0's sdist, unpacked in .tools/: the official MultiLangDaemon client the
#     tests drive (its pure-Python module runs from the unpacked folder);
#   - prometheus (Debian): promtool lints the scraped metrics, and a test runs the server (only
#     in a test's own directory and port: its packaged service is not started here);
#   - systemd-container (systemd-nspawn) and a JDK (javac, jar): a test boots a real systemd as
#     PID 1 in a throwaway container and runs the group's units there, with a stand-in KCL
#     daemon compiled from the test fixtures;
#   - nodejs: the Node.js Lambda shim in Examples/Lambda runs an unchanged handler in a test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
dpkg -s libsystemd-dev >/dev/null 2>&1 || missing+=(libsystemd-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ "${SHARDFLOW_SETUP_BUILD_ONLY:-}" != "1" ]; then
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
  command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  # --no-install-recommends: prometheus would bring its exporters along.
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ "${SHARDFLOW_SETUP_BUILD_ONLY:-}" != "1" ]; then
  if ! python3 -c "import aws_kinesis_agg" 2>/dev/null; then
    echo "setup: installing aws-kinesis-agg" >&2
    python3 -m pip install --quiet --disable-pip-version-check aws-kinesis-agg==1.2.3
  fi
  if [ ! -f .tools/amazon_kclpy-3.2.0/samples/sample_kclpy_app.py ]; then
    echo "setup: fetching amazon-kclpy 3.2.0 (sdist) into .tools/" >&2
    mkdir -p .tools
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
      --dest .tools amazon-kclpy==3.2.0
    tar -xzf .tools/amazon_kclpy-3.2.0.tar.gz -C .tools
  fi
fi
