#!/usr/bin/env bash
# Kernel WireGuard, for real, in one boot of a kernel that has the module (kvm-run; this host's kernel has none):
#   1. the WireGuard module's generic netlink client against the kernel (wireguard-driver kernel-check);
#   2. the session on kernel WireGuard: generic netlink, nftables redirection, the privilege drop
#      (tests/kernel/session-lab.sh);
#   3. wg-ice-wireguard against kernel WireGuard: handshakes both ways, rekeys, roaming (tests/kernel/wireguard-lab.sh).
# The boot is emulated and costs about as much as a part, so the three share it. All three run even when one
# fails. No skip: a missing kvm-run or a failed boot fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/kernel/kvm-run.sh
find_kvm_run kernel
bin="$(swift build --show-bin-path)"
for tool in wireguard-driver wg-ice-hook wg-ice-signal wg-ice-wireguard; do
  [ -x "$bin/$tool" ] || { echo "kernel: $bin/$tool not built (swift build --build-tests)" >&2; exit 1; }
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$kvm_run" --timeout "${KVM_RUN_TIMEOUT:-1500}" -- bash tests/kernel/all.sh "$bin" \
  "${WG_ICE_WIREGUARD:-$bin/wg-ice-wireguard}" 2>&1 | tee "$log" || status=$?
for line in 'kernel-check: all [0-9]* checks passed' 'kernel-session: passed' 'wireguard-kernel: passed'; do
  grep -q "^$line\$" "$log" || { echo "kernel: FAILED: no line '$line'" >&2; status=1; }
done
[ "$status" = 0 ] || { echo "kernel: FAILED (kvm-run exit $status)" >&2; exit 1; }
echo "kernel: passed"
