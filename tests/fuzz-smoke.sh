#!/usr/bin/env bash
# A short libFuzzer run of ConfParser (the full million is `scripts/fuzz-confparser`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fuzz-confparser 20000
