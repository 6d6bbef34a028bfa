#!/usr/bin/env bash
# wg-ice-wireguard (issue 16) against KERNEL WireGuard: boots a kernel with the WireGuard module with kvm-run
# (this host's kernel has none) and runs tests/kernel/wireguard-lab.sh inside with the debug build of the
# daemon: handshakes both ways, IPv4 and IPv6 ping, `wg show` agreeing, two rekeys and REJECT_AFTER_TIME with
# the debug build's shortened timers, roaming, exit on interface deletion. No skip: a missing kvm-run or a
# failed boot fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/kernel/kvm-run.sh
find_kvm_run wireguard-kernel
daemon="${WG_ICE_WIREGUARD:-$(swift build --show-bin-path)/wg-ice-wireguard}"
[ -x "$daemon" ] || { echo "wireguard-kernel: $daemon not built (swift build)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$kvm_run" --timeout "${KVM_RUN_TIMEOUT:-300}" -- bash tests/kernel/wireguard-lab.sh "$daemon" 2>&1 | tee "$log" || status=$?
[ "$status" = 0 ] && grep -q '^wireguard-kernel: passed$' "$log" && exit 0
echo "wireguard-kernel: FAILED (kvm-run exit $status)" >&2
exit 1
