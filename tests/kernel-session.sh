#!/usr/bin/env bash
# The session on KERNEL WireGuard (generic netlink, nftables redirection): boots a kernel with the WireGuard module
# with kvm-run (this host's kernel has none) and runs tests/kernel/session-lab.sh inside. No skip: a missing
# kvm-run or a failed boot fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/kernel/kvm-run.sh
find_kvm_run kernel-session
bin="$(swift build --show-bin-path)"
for tool in wg-ice-hook wg-ice-signal; do
  [ -x "$bin/$tool" ] || { echo "kernel-session: $bin/$tool not built (swift build)" >&2; exit 1; }
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$kvm_run" --timeout "${KVM_RUN_TIMEOUT:-900}" -- bash tests/kernel/session-lab.sh "$bin" 2>&1 | tee "$log" || status=$?
[ "$status" = 0 ] || { echo "kernel-session: FAILED (kvm-run exit $status)" >&2; exit 1; }
grep -q '^kernel-session: passed$' "$log" || { echo "kernel-session: FAILED (no pass line)" >&2; exit 1; }
