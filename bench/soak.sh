#!/usr/bin/env bash
# Soak: a 10/s ping through the NAT lab (scripts/lab) for MINUTES minutes per scenario, with the session doing
# whatever it does meanwhile (relayed pairs: the controlling side's relay → direct retry every 20-30 s; direct
# pairs: consent checks, rekeys). Prints per scenario: pings sent, lost (and %), the longest run of unanswered
# pings (a gap of N pings is N/10 s), the session's restarts, and the pair at the end.
# Target: loss ≤ 0.5 %, no gap over 1 s.
# Usage: bench/soak.sh [SCENARIO...]   (default: symmetric cone); MINUTES=10 SIGNALING=ws
set -uo pipefail
MINUTES=${MINUTES:-10} SIGNALING=${SIGNALING:-ws}
scenarios=${*:-symmetric cone}
NAME_PREFIX=soak
. "$(dirname "$0")/lab-common.sh"
status() { lab exec "$1" sh -c 'wg-ice-hook status "$IFACE" --json'; }

for scenario in $scenarios; do
  lab up "$scenario" --signaling "$SIGNALING" >/dev/null || { echo "scripts/lab up $scenario failed" >&2; exit 1; }
  for _ in $(seq 60); do lab exec a sh -c 'ping -c 1 -W 1 "$PEER"' >/dev/null 2>&1 && break; sleep 0.5; done
  log=$(mktemp)
  lab exec a sh -c "exec ping -n -i 0.1 -W 1 -w $((MINUTES * 60)) \"\$PEER\"" >"$log" 2>&1
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$log")
  sed -n 's/.*bytes from.*icmp_seq=\([0-9]*\) .*/\1/p' "$log" | sort -n | uniq |
    awk -v sent="$sent" -v scenario="$scenario" -v minutes="$MINUTES" '
      NR == 1 { prev = $1 - 1 } { if ($1 - prev - 1 > gap) gap = $1 - prev - 1; prev = $1; n++ }
      END { lost = sent - n; printf "soak %s %d min: %d pings, %d lost (%.2f %%), longest gap %d pings (%.1f s)\n",
            scenario, minutes, sent, lost, 100 * lost / sent, gap, gap / 10 }'
  for s in a b; do
    echo "  site $s: $(status "$s" | jq -c '.peers[0] | {restarts, dataPath, pair: "\(.selectedPair.localType)/\(.selectedPair.remoteType)"}')"
  done
  rm -f "$log"
  lab down >/dev/null
done
