#!/usr/bin/env bash
# Short libFuzzer runs of ConfParser and of wg-ice-wireguard's packet and UAPI parsers (the long ones are
# `scripts/fuzz-confparser` and `scripts/fuzz-wireguard`).
#   tests/fuzz-smoke.sh [build|run]   only the sanitizer builds (scripts/test runs them in the background), or
#                                     only the runs (the builds are then up to date in seconds); both by default
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${1:-all}
if [ "$phase" = build ]; then
  FUZZ_BUILD_ONLY=1 scripts/fuzz-confparser
  FUZZ_BUILD_ONLY=1 scripts/fuzz-wireguard packets
  exit 0
fi
scripts/fuzz-confparser 20000
scripts/fuzz-wireguard packets 50000
scripts/fuzz-wireguard uapi 100000
