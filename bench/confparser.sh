#!/usr/bin/env bash
# ConfParser's time on inputs far past real files: 10,000 peers, 50 MB of junk lines, 100,000
# commented #[ICE] blocks, 20,000 `Peers =` lines. Each is parsed in one process by the release build of
# `confparser-fuzz` (its replayer: parse, and for a valid file parse the stripped file again, so a valid file
# counts twice; peers-10k-dup is the same peers plus the first one repeated at the end, which is an error, so it
# is parsed once), so the time is the parser's, not `check`'s file limit (1 MiB, which refuses the larger
# inputs) or its printing of errors. Prints the median wall and CPU time (user + sys) of RUNS runs per input.
#   bench/confparser.sh                   REPLAYER=/path/to/confparser-fuzz bench/confparser.sh  (another build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}

if [ -z "${REPLAYER:-}" ]; then
  build_log=$(mktemp)
  swift build -c release --product confparser-fuzz >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
  rm -f "$build_log"
  REPLAYER="$(swift build -c release --show-bin-path)/confparser-fuzz"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import base64, random, sys
work = sys.argv[1]
random.seed(13)
key = lambda: base64.b64encode(random.randbytes(32)).decode()
peers = [key() for _ in range(10_000)]
with open(f"{work}/peers-10k.conf", "w") as f:
    f.write(f"[Interface]\nPrivateKey = {key()}\n\n#[ICE]\n# Signaling = ws://192.0.2.1:8080\n")
    for i, peer in enumerate(peers):
        f.write(f"\n[Peer]\nPublicKey = {peer}\nAllowedIPs = 10.{i >> 8}.{i & 255}.1/32\n")
with open(f"{work}/peers-10k.conf") as f, open(f"{work}/peers-10k-dup.conf", "w") as g:
    g.write(f.read() + f"\n[Peer]\nPublicKey = {peers[0]}\n")
with open(f"{work}/junk-50MB.conf", "w") as f:
    f.write("[Interface]\n")
    while f.tell() < 50_000_000:
        f.write(base64.b64encode(random.randbytes(45)).decode().replace("=", "x") + "\n")
with open(f"{work}/ice-blocks-100k.conf", "w") as f:
    f.write(f"[Interface]\nPrivateKey = {key()}\n")
    for i in range(100_000):
        f.write(f"#[ICE]\n# Signaling = ws://192.0.2.1:{i % 60_000 + 1}\n")
with open(f"{work}/peers-lines-20k.conf", "w") as f:
    f.write("[ICE]\nSignaling = ws://192.0.2.1\n")
    for _ in range(20_000):
        f.write(f"Peers = {key()}\n")
PY

echo "replayer: $REPLAYER"
printf '%-22s %10s %9s %10s %10s\n' input bytes lines "wall (s)" "cpu (s)"
for file in "$work"/peers-10k.conf "$work"/peers-10k-dup.conf "$work"/junk-50MB.conf "$work"/ice-blocks-100k.conf "$work"/peers-lines-20k.conf; do
  walls=() cpus=()
  for _ in $(seq "$RUNS"); do
    read -r wall user sys < <( { /usr/bin/time -f '%e %U %S' "$REPLAYER" "$file" >/dev/null; } 2>&1 | tail -1)
    walls+=("$wall") cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
  printf '%-22s %10d %9d %10s %10s\n' "$(basename "$file")" "$(stat -c %s "$file")" "$(wc -l <"$file")" \
    "$(median "${walls[@]}")" "$(median "${cpus[@]}")"
done
