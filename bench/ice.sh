#!/usr/bin/env bash
# ICE benchmark: two libnice agents in one process over loopback (UDP host candidates).
# Prints the median/p90 time from agent creation to a selected pair on both sides (RUNS runs), then the
# datagram rate through the selected pair (A sends as fast as the socket accepts for SECONDS, B counts).
# Usage: bench/ice.sh [RUNS=20] [SECONDS=3] [DATAGRAM_SIZE=1200]   (CONFIG=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-release}
swift build -c "$config" --product ice-bench >&2
"$(swift build -c "$config" --show-bin-path)/ice-bench" "${1:-20}" "${2:-3}" "${3:-1200}"
