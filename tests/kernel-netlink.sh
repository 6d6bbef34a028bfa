#!/usr/bin/env bash
# The WireGuard module's generic netlink client against the real kernel WireGuard module: boots a kernel that
# has it with kvm-run (this host's kernel does not) and runs `wireguard-driver kernel-check` inside.
# Fails when kvm-run is missing, the guest fails to boot, or any check fails: there is no skip.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/kernel/kvm-run.sh
find_kvm_run kernel-netlink
driver="$(swift build --show-bin-path)/wireguard-driver"
[ -x "$driver" ] || { echo "kernel-netlink: $driver not built (swift build --build-tests)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$kvm_run" --timeout "${KVM_RUN_TIMEOUT:-900}" -- "$driver" kernel-check 2>&1 | tee "$log" || status=$?
[ "$status" = 0 ] || { echo "kernel-netlink: FAILED (kvm-run exit $status)" >&2; exit 1; }
grep -q '^kernel-check: all [0-9]* checks passed$' "$log" || { echo "kernel-netlink: FAILED (no pass line)" >&2; exit 1; }
