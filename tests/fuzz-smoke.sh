#!/usr/bin/env bash
# Short libFuzzer runs of ConfParser and of wg-ice-wireguard's packet and UAPI parsers (the long ones are
# `scripts/fuzz-confparser` and `scripts/fuzz-wireguard`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fuzz-confparser 20000
scripts/fuzz-wireguard packets 50000
scripts/fuzz-wireguard uapi 100000
